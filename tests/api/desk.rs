//! Customers, canned responses, the calm-reply check, attachments and the OpenAPI document.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    customers_are_created_found_and_changed,
    canned_responses_come_in_both_languages_and_render,
    canned_responses_are_managed_by_managers,
    the_tone_check_reads_both_languages,
    attachments_are_typed_by_content_and_kept_private,
    the_openapi_document_lists_every_route,
);

async fn customers_are_created_found_and_changed(app: TestApp) {
    let token = app.admin_token().await;
    let created = app
        .post("/api/customers", Some(&token), json!({ "name": "Rudi Hartono", "phone": "0857 1234 5678", "email": "Rudi@Mail.test", "locale": "en" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["phone"], "6285712345678");
    assert_eq!(created.body["email"], "rudi@mail.test");
    let id = created.body["id"].as_i64().unwrap();
    let duplicate = app
        .post(
            "/api/customers",
            Some(&token),
            json!({ "name": "Rudi H", "whatsapp": "+62 857-1234-5678" }),
        )
        .await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.body["error"]["code"], "customer_exists");
    let unreachable = app
        .post("/api/customers", Some(&token), json!({ "name": "Nobody" }))
        .await;
    assert_eq!(unreachable.status, 422);
    assert!(unreachable.body["error"]["fields"]["contact"].is_string());

    for q in ["rudi", "hartono", "0857", "rudi@"] {
        let found = app
            .get(&format!("/api/customers?q={q}"), Some(&token))
            .await;
        assert_eq!(found.body["customers"].as_array().unwrap().len(), 1, "{q}");
    }
    assert_eq!(
        app.get("/api/customers?q=%25", Some(&token)).await.body["customers"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "% is literal"
    );

    let changed = app
        .patch(
            &format!("/api/customers/{id}"),
            Some(&token),
            json!({ "instagram": "@rudi.h", "notes": "Suka warna gelap", "version": 1 }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["instagram"], "rudi.h");
    assert_eq!(changed.body["version"], 2);
    let stale = app
        .patch(
            &format!("/api/customers/{id}"),
            Some(&token),
            json!({ "notes": "x", "version": 1 }),
        )
        .await;
    assert_eq!(stale.status, 409);
    let no_version = app
        .patch(
            &format!("/api/customers/{id}"),
            Some(&token),
            json!({ "notes": "x" }),
        )
        .await;
    assert_eq!(no_version.status, 422);
    let cleared = app
        .patch(
            &format!("/api/customers/{id}"),
            Some(&token),
            json!({ "email": "", "phone": "", "instagram": "", "version": 2 }),
        )
        .await;
    assert_eq!(
        cleared.status, 422,
        "a customer keeps one way to reach them"
    );
    assert_eq!(
        app.get(&format!("/api/customers/{id}"), Some(&token))
            .await
            .body["notes"],
        "Suka warna gelap"
    );
    assert_eq!(
        app.get("/api/customers/999", Some(&token)).await.status,
        404
    );
}

async fn canned_responses_come_in_both_languages_and_render(app: TestApp) {
    let token = app.admin_token().await;
    let id_list = app
        .get("/api/canned-responses?locale=id", Some(&token))
        .await;
    let en_list = app
        .get("/api/canned-responses?locale=en", Some(&token))
        .await;
    let id_items = id_list.body["canned_responses"].as_array().unwrap();
    let en_items = en_list.body["canned_responses"].as_array().unwrap();
    assert!(
        id_items.len() >= 16 && id_items.len() == en_items.len(),
        "{} {}",
        id_items.len(),
        en_items.len()
    );
    for step in ["acknowledge", "empathise", "propose", "promise"] {
        assert!(id_items.iter().any(|c| c["step"] == step), "{step}");
    }
    let ticket = app
        .ticket(&token, json!({ "customer": { "name": "Maya", "email": "maya@mail.test" }, "subject": "Sepatu lecet" }))
        .await;
    let tid = ticket["id"].as_i64().unwrap();
    app.post(
        &format!("/api/tickets/{tid}/promises"),
        Some(&token),
        json!({ "due_at": "2999-11-23T07:00:00Z", "what": "Kabari" }),
    )
    .await;
    let promise_template = id_items
        .iter()
        .find(|c| c["step"] == "promise" && c["body"].as_str().unwrap().contains("{{promise.due}}"))
        .expect("a promise template");
    let rendered = app
        .post(
            &format!("/api/canned-responses/{}/render", promise_template["id"]),
            Some(&token),
            json!({ "ticket_id": tid }),
        )
        .await;
    assert_eq!(rendered.status, 200, "{}", rendered.body);
    let text = rendered.body["text"].as_str().unwrap();
    assert!(text.contains("Maya"), "{text}");
    assert!(
        text.contains("23 Nov 2999 14.00 WIB"),
        "Indonesian date in the shop's zone: {text}"
    );
    assert!(!text.contains("{{"), "{text}");
    let ack = id_items
        .iter()
        .find(|c| c["body"].as_str().unwrap().contains("{{ticket.number}}"))
        .unwrap();
    let rendered = app
        .post(
            &format!("/api/canned-responses/{}/render", ack["id"]),
            Some(&token),
            json!({ "ticket_id": tid }),
        )
        .await;
    assert!(rendered.body["text"]
        .as_str()
        .unwrap()
        .contains(&format!("TGP-{tid:06}")));
    // A ticket that does not exist is a field error in the body; the canned response is there.
    let missing_ticket = app
        .post(
            &format!("/api/canned-responses/{}/render", ack["id"]),
            Some(&token),
            json!({ "ticket_id": 9999 }),
        )
        .await;
    assert_eq!(missing_ticket.status, 422, "{}", missing_ticket.body);
    assert!(
        missing_ticket.body["error"]["fields"]["ticket_id"].is_string(),
        "{}",
        missing_ticket.body
    );
    let missing_response = app
        .post(
            "/api/canned-responses/999999/render",
            Some(&token),
            json!({ "ticket_id": tid }),
        )
        .await;
    assert_eq!(missing_response.status, 404, "{}", missing_response.body);
}

async fn canned_responses_are_managed_by_managers(app: TestApp) {
    let (_, agent) = app.user_with_role("agent").await;
    let (_, manager) = app.user_with_role("manager").await;
    let body = json!({ "step": "empathise", "locale": "id", "title": "Paham", "body": "Kami paham kekecewaan Kak {{customer.name}}." });
    assert_eq!(
        app.post("/api/canned-responses", Some(&agent), body.clone())
            .await
            .status,
        403
    );
    let created = app
        .post("/api/canned-responses", Some(&manager), body)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let broken = app
        .post(
            "/api/canned-responses",
            Some(&manager),
            json!({ "step": "sing", "locale": "fr", "title": "", "body": "{{#if}}" }),
        )
        .await;
    assert_eq!(broken.status, 422);
    for field in ["step", "locale", "title", "body"] {
        assert!(
            broken.body["error"]["fields"][field].is_string(),
            "{field}: {}",
            broken.body
        );
    }
    let changed = app
        .patch(
            &format!("/api/canned-responses/{id}"),
            Some(&manager),
            json!({ "title": "Kami paham", "version": 1 }),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["title"], "Kami paham");
    assert_eq!(
        app.patch(
            &format!("/api/canned-responses/{id}"),
            Some(&manager),
            json!({ "title": "x", "version": 1 })
        )
        .await
        .status,
        409
    );
    let off = app
        .patch(
            &format!("/api/canned-responses/{id}"),
            Some(&manager),
            json!({ "active": false, "version": 2 }),
        )
        .await;
    assert_eq!(off.body["active"], false);
    let visible = app
        .get(
            "/api/canned-responses?step=empathise&locale=id",
            Some(&agent),
        )
        .await;
    assert!(!visible.body["canned_responses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id));
}

async fn the_tone_check_reads_both_languages(app: TestApp) {
    let token = app.admin_token().await;
    let calm = app.post("/api/tone-check", Some(&token), json!({ "text": "Terima kasih atas masukannya, Kak. Mohon maaf atas ketidaknyamanannya.", "locale": "id" })).await;
    assert_eq!(calm.status, 200);
    assert_eq!(calm.body["calm"], true);
    let cases = [
        (
            "id",
            "Itu bukan salah kami, harusnya Anda baca deskripsi",
            &["defensive", "blaming"][..],
        ),
        (
            "en",
            "That's not our fault. You should have read the description!!!",
            &["defensive", "blaming", "exclamations"][..],
        ),
        ("en", "WHY DID YOU ORDER THE WRONG SIZE", &["shouting"][..]),
    ];
    for (locale, text, kinds) in cases {
        let reply = app
            .post(
                "/api/tone-check",
                Some(&token),
                json!({ "text": text, "locale": locale }),
            )
            .await;
        let found: Vec<&str> = reply.body["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["kind"].as_str().unwrap())
            .collect();
        for kind in kinds {
            assert!(found.contains(kind), "{text}: {kind} in {found:?}");
        }
        assert_eq!(reply.body["calm"], false);
        let advice = reply.body["warnings"][0]["advice"].as_str().unwrap();
        assert!(!advice.is_empty());
    }
    assert_eq!(
        app.post(
            "/api/tone-check",
            Some(&token),
            json!({ "text": "x", "locale": "de" })
        )
        .await
        .status,
        422
    );
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0u8; 64]);
    bytes
}

async fn upload(
    app: &TestApp,
    token: &str,
    ticket: i64,
    name: &str,
    bytes: Vec<u8>,
) -> crate::helpers::Reply {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    app.send(
        app.client
            .post(app.url(&format!("/api/tickets/{ticket}/attachments")))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

async fn attachments_are_typed_by_content_and_kept_private(app: TestApp) {
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let stored = upload(&app, &token, id, "../../foto \"rusak\".jpg", png()).await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    assert_eq!(
        stored.body["content_type"], "image/png",
        "the content decides, not the name"
    );
    assert_eq!(stored.body["filename"], "foto rusak.jpg");
    let aid = stored.body["id"].as_i64().unwrap();
    let listed = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    assert_eq!(
        listed.body["attachments"][0]["id"], aid,
        "the ticket lists its attachments"
    );
    let again = upload(&app, &token, id, "copy.png", png()).await;
    assert_eq!(again.body["sha256"], stored.body["sha256"]);

    let download = app
        .client
        .get(app.url(&format!("/api/attachments/{aid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(download.bytes().await.unwrap().to_vec(), png());
    assert_eq!(
        app.get(&format!("/api/attachments/{aid}"), None)
            .await
            .status,
        401,
        "signed-in users only"
    );
    assert_eq!(
        app.get("/api/attachments/9999", Some(&token)).await.status,
        404
    );

    let html = upload(
        &app,
        &token,
        id,
        "evil.png",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await;
    assert_eq!(html.status, 422);
    assert!(html.body["error"]["fields"]["file"].is_string());
    let big = upload(&app, &token, id, "big.png", {
        let mut b = png();
        b.resize(1024 * 1024 + 10, 0);
        b
    })
    .await;
    assert_eq!(big.status, 413, "{}", big.body);
    assert_eq!(upload(&app, &token, 9999, "x.png", png()).await.status, 404);
}

async fn the_openapi_document_lists_every_route(app: TestApp) {
    let doc = app.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    // The routes the issues name; outside clients are written against them.
    let contract = [
        ("post", "/api/auth/login"),
        ("get", "/api/me"),
        ("get", "/api/users"),
        ("post", "/api/users"),
        ("patch", "/api/users/{id}"),
        ("post", "/api/customers"),
        ("get", "/api/customers"),
        ("get", "/api/customers/{id}"),
        ("patch", "/api/customers/{id}"),
        ("post", "/api/partners"),
        ("get", "/api/partners"),
        ("post", "/api/tickets"),
        ("get", "/api/tickets"),
        ("get", "/api/tickets/{id}"),
        ("get", "/api/tickets/{id}/events"),
        ("patch", "/api/tickets/{id}"),
        ("post", "/api/tickets/{id}/acknowledge"),
        ("post", "/api/tickets/{id}/record"),
        ("post", "/api/tickets/{id}/diagnose"),
        ("post", "/api/tickets/{id}/propose"),
        ("post", "/api/tickets/{id}/customer-response"),
        ("post", "/api/tickets/{id}/escalate"),
        ("post", "/api/tickets/{id}/assign"),
        ("post", "/api/tickets/{id}/replies"),
        ("post", "/api/tickets/{id}/notes"),
        ("post", "/api/tickets/{id}/promises"),
        ("post", "/api/tickets/{id}/promises/{pid}/keep"),
        ("post", "/api/tickets/{id}/resolve"),
        ("post", "/api/tickets/{id}/close"),
        ("post", "/api/tickets/{id}/reopen"),
        ("post", "/api/tickets/{id}/replacements"),
        ("patch", "/api/replacements/{id}"),
        ("get", "/api/canned-responses"),
        ("post", "/api/canned-responses"),
        ("patch", "/api/canned-responses/{id}"),
        ("post", "/api/canned-responses/{id}/render"),
        ("post", "/api/tone-check"),
        ("post", "/api/tickets/{id}/attachments"),
        ("get", "/api/attachments/{id}"),
        ("get", "/healthz"),
        ("get", "/readyz"),
    ];
    for (method, path) in contract {
        assert!(
            doc.body["paths"][path][method].is_object(),
            "{method} {path} is missing from /api/openapi.json"
        );
    }
    // And every documented route answers (it is not the catch-all 404).
    let token = app.admin_token().await;
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "1").replace("{pid}", "1"));
            let request = app
                .client
                .request(method.to_uppercase().parse().unwrap(), url)
                .bearer_auth(&token);
            let reply = app.send(request).await;
            assert_ne!(
                reply.body["error"]["message"], "no such route",
                "{method} {path}"
            );
        }
    }
}
