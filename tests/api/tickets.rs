//! The playbook through the API: intake, every step to resolved and closed, refusals, stale
//! edits, the queue and its search.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    a_complaint_walks_the_six_steps,
    intake_finds_the_same_customer_again,
    intake_is_validated_field_by_field,
    steps_out_of_order_say_what_is_missing,
    stale_versions_are_refused,
    feedback_is_thanked_and_resolved,
    a_rejected_proposal_goes_back_and_can_be_escalated,
    reopening_returns_to_acknowledged,
    the_queue_filters_and_pages,
    full_text_search_finds_words_and_numbers,
    a_narrowed_search_reaches_matches_behind_a_thousand_newer_hits,
    tickets_can_be_edited_and_the_timeline_keeps_both_sides,
);

async fn a_complaint_walks_the_six_steps(app: TestApp) {
    let admin = app.admin_token().await;
    let (_, agent) = app.user_with_role("agent").await;
    let created = app.ticket(&agent, json!({})).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["stage"], "new");
    assert_eq!(created["step"], 1);
    assert_eq!(created["number"], format!("TGP-{id:06}"));
    assert_eq!(created["next_step"], "acknowledge");
    assert_eq!(created["version"], 1);

    let acknowledged = app.step(&agent, id, "acknowledge", json!({ "message": "Terima kasih sudah mengabari kami, Kak. Mohon maaf atas kaosnya." })).await;
    assert_eq!(acknowledged["stage"], "acknowledged");
    assert_eq!(acknowledged["version"], 2);
    assert!(acknowledged["acknowledged_at"].is_string());
    assert_eq!(acknowledged["warnings"], json!([]));
    let recorded = app.step(&agent, id, "record", json!({ "category": "defective", "details": "Jahitan bahu kiri lepas 5 cm, terlihat di foto." })).await;
    assert_eq!(recorded["stage"], "listened");
    assert_eq!(recorded["category"], "defective");
    let understood = app
        .step(
            &agent,
            id,
            "diagnose",
            json!({ "root_cause": "Batch jahitan 11/2026 dari penjahit baru tidak dicek QC." }),
        )
        .await;
    assert_eq!(understood["stage"], "understood");
    let proposed = app.step(&agent, id, "propose", json!({ "solution_type": "replacement", "solution": "Kami kirim kaos pengganti ukuran M hari ini." })).await;
    assert_eq!(proposed["stage"], "solution_proposed");
    assert_eq!(proposed["awaiting"], "customer");
    assert_eq!(proposed["proposal_state"], "pending");
    let accepted = app
        .step(
            &agent,
            id,
            "customer-response",
            json!({ "accepted": true, "comment": "Oke kak, ditunggu" }),
        )
        .await;
    assert_eq!(accepted["proposal_state"], "accepted");
    assert_eq!(accepted["awaiting"], "us");
    assert_eq!(accepted["next_step"], "resolve");

    // An accepted replacement holds the ticket open until the goods arrive.
    let early = app
        .act(&agent, id, "resolve", json!({ "summary": "Diganti" }))
        .await;
    assert_eq!(early.status, 409);
    assert_eq!(
        early.body["error"]["message"],
        "record the replacement before resolving"
    );
    let replacement = app
        .post(&format!("/api/tickets/{id}/replacements"), Some(&agent), json!({ "item": "Kaos Batik Parang M", "quantity": 1, "reason": "cacat jahitan", "cost": 85000 }))
        .await;
    assert_eq!(replacement.status, 201, "{}", replacement.body);
    let rid = replacement.body["id"].as_i64().unwrap();
    let while_open = app
        .act(&agent, id, "resolve", json!({ "summary": "Diganti" }))
        .await;
    assert!(while_open.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("delivered or cancelled"));
    for (status, extra) in [
        ("approved", json!({})),
        (
            "shipped",
            json!({ "courier": "JNE", "tracking_number": "JNE123" }),
        ),
        ("delivered", json!({})),
    ] {
        let mut body = json!({ "status": status });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let reply = app
            .patch(&format!("/api/replacements/{rid}"), Some(&agent), body)
            .await;
        assert_eq!(reply.status, 200, "{status}: {}", reply.body);
        assert_eq!(reply.body["status"], status);
    }
    let resolved = app
        .step(
            &agent,
            id,
            "resolve",
            json!({ "summary": "Kaos pengganti diterima pelanggan." }),
        )
        .await;
    assert_eq!(resolved["stage"], "resolved");
    assert_eq!(resolved["awaiting"], "none");
    let closed = app.step(&admin, id, "close", json!({})).await;
    assert_eq!(closed["stage"], "closed");
    assert_eq!(closed["step"], 6);

    let events = app
        .get(&format!("/api/tickets/{id}/events"), Some(&agent))
        .await;
    let kinds: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "created",
        "acknowledged",
        "recorded",
        "diagnosed",
        "proposed",
        "customer_response",
        "replacement_requested",
        "replacement_shipped",
        "resolved",
        "closed",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let stage_change = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "recorded")
        .unwrap();
    assert_eq!(
        stage_change["data"]["stage"],
        json!({ "before": "acknowledged", "after": "listened" })
    );
    assert_eq!(stage_change["visibility"], "internal");
}

async fn intake_finds_the_same_customer_again(app: TestApp) {
    let token = app.admin_token().await;
    let first = app.ticket(&token, json!({ "customer": { "name": "Budi", "whatsapp": "0813-1111-2222", "email": "Budi@Mail.test" } })).await;
    let again = app
        .ticket(&token, json!({ "channel": "instagram", "customer": { "name": "budi s", "phone": "+62 813 1111 2222" } }))
        .await;
    assert_eq!(
        first["customer"]["id"], again["customer"]["id"],
        "one person is one customer"
    );
    assert_eq!(again["customer"]["name"], "Budi");
    // Intake answers from what it wrote, without reading it back: the same as a later read,
    // also when the customer was found rather than created.
    let stored = app
        .get(&format!("/api/tickets/{}", again["id"]), Some(&token))
        .await;
    assert_eq!(stored.body, again);
    let by_email = app
        .ticket(
            &token,
            json!({ "channel": "email", "customer": { "email": "budi@mail.test" } }),
        )
        .await;
    assert_eq!(by_email["customer"]["id"], first["customer"]["id"]);
    let by_id = app
        .ticket(
            &token,
            json!({ "customer": null, "customer_id": first["customer"]["id"] }),
        )
        .await;
    assert_eq!(by_id["customer"]["id"], first["customer"]["id"]);
    let other = app
        .ticket(
            &token,
            json!({ "customer": { "name": "Ani", "instagram": "@ani.shop" } }),
        )
        .await;
    assert_ne!(other["customer"]["id"], first["customer"]["id"]);
    assert_eq!(other["customer"]["instagram"], "ani.shop");
    // Twelve intakes at once for one new customer: each is answered 201 and all name one
    // customer (on PostgreSQL an insert that loses the race writes nothing and finds the
    // winner's customer).
    let posts = (0..12).map(|i| {
        app.post(
            "/api/tickets",
            Some(&token),
            json!({ "channel": "whatsapp", "subject": format!("Serentak {i}"), "words": "Paket belum sampai.",
                    "customer": { "name": "Wati", "whatsapp": "0857-7777-0001" } }),
        )
    });
    let replies = futures_util::future::join_all(posts).await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let customers: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| r.body["customer"]["id"].to_string())
        .collect();
    assert_eq!(customers.len(), 1, "{customers:?}");
}

async fn intake_is_validated_field_by_field(app: TestApp) {
    let token = app.admin_token().await;
    let reply = app
        .post(
            "/api/tickets",
            Some(&token),
            json!({ "channel": "pigeon", "kind": "rant", "priority": "asap", "category": "bad", "subject": " ", "words": "", "customer": { "name": "No Contact" } }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let fields = &reply.body["error"]["fields"];
    for field in [
        "channel", "kind", "priority", "category", "subject", "words",
    ] {
        assert!(fields[field].is_string(), "{field}: {fields}");
    }
    let unreachable = app
        .post("/api/tickets", Some(&token), json!({ "channel": "phone", "subject": "x", "words": "y", "customer": { "name": "No Contact" } }))
        .await;
    assert_eq!(unreachable.status, 422);
    assert!(
        unreachable.body["error"]["fields"]["customer.contact"].is_string(),
        "{}",
        unreachable.body
    );
    let bad_phone = app
        .post("/api/tickets", Some(&token), json!({ "channel": "phone", "subject": "x", "words": "y", "customer": { "name": "A", "phone": "12ab" } }))
        .await;
    assert!(bad_phone.body["error"]["fields"]["customer.phone"].is_string());
    let long = app.post("/api/tickets", Some(&token), json!({ "channel": "phone", "subject": "x".repeat(201), "words": "y", "customer_id": 1 })).await;
    assert_eq!(long.status, 422);
    let unknown_customer = app
        .post(
            "/api/tickets",
            Some(&token),
            json!({ "channel": "phone", "subject": "x", "words": "y", "customer_id": 999 }),
        )
        .await;
    assert_eq!(unknown_customer.status, 422);
    assert!(unknown_customer.body["error"]["fields"]["customer_id"].is_string());
    assert_eq!(
        app.get("/api/tickets/424242", Some(&token)).await.status,
        404
    );
}

async fn steps_out_of_order_say_what_is_missing(app: TestApp) {
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let cases = [
        (
            "record",
            json!({ "category": "defective", "details": "x" }),
            "thank the customer (acknowledge) before recording the complaint",
        ),
        (
            "propose",
            json!({ "solution_type": "refund", "solution": "x" }),
            "thank the customer (acknowledge) before proposing a solution",
        ),
        ("close", json!({}), "resolve the ticket before closing it"),
    ];
    for (action, body, message) in cases {
        let reply = app.act(&token, id, action, body).await;
        assert_eq!(reply.status, 409, "{action}");
        assert_eq!(reply.body["error"]["code"], "invalid_transition");
        assert_eq!(reply.body["error"]["message"], message);
    }
    app.step(
        &token,
        id,
        "acknowledge",
        json!({ "message": "Terima kasih, Kak." }),
    )
    .await;
    let reply = app
        .act(
            &token,
            id,
            "propose",
            json!({ "solution_type": "refund", "solution": "x" }),
        )
        .await;
    assert_eq!(
        reply.body["error"]["message"],
        "record the complaint before proposing a solution"
    );
    let twice = app
        .act(&token, id, "acknowledge", json!({ "message": "Lagi" }))
        .await;
    assert_eq!(twice.status, 409);
    let missing = app
        .act(&token, id, "record", json!({ "details": "x" }))
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.body["error"]["fields"]["category"].is_string());
    let no_version = app
        .post(
            &format!("/api/tickets/{id}/record"),
            Some(&token),
            json!({ "category": "defective", "details": "x" }),
        )
        .await;
    assert_eq!(no_version.status, 422);
    assert!(no_version.body["error"]["fields"]["version"].is_string());
}

async fn stale_versions_are_refused(app: TestApp) {
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let first = app
        .post(
            &format!("/api/tickets/{id}/acknowledge"),
            Some(&token),
            json!({ "message": "Terima kasih", "version": 1 }),
        )
        .await;
    assert_eq!(first.status, 200);
    // A second client still holding version 1 is refused, and nothing it sent is written.
    let second = app
        .patch(
            &format!("/api/tickets/{id}"),
            Some(&token),
            json!({ "priority": "urgent", "version": 1 }),
        )
        .await;
    assert_eq!(second.status, 409);
    assert_eq!(second.body["error"]["code"], "stale");
    let ticket = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    assert_eq!(ticket.body["priority"], "normal");
    assert_eq!(ticket.body["version"], 2);
    let stale_action = app
        .post(
            &format!("/api/tickets/{id}/record"),
            Some(&token),
            json!({ "category": "defective", "details": "x", "version": 1 }),
        )
        .await;
    assert_eq!(stale_action.status, 409);
    assert_eq!(stale_action.body["error"]["code"], "stale");
    let stale_note = app
        .post(
            &format!("/api/tickets/{id}/notes"),
            Some(&token),
            json!({ "body": "x", "version": 1 }),
        )
        .await;
    assert_eq!(stale_note.status, 409);
}

async fn feedback_is_thanked_and_resolved(app: TestApp) {
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({ "kind": "feedback", "category": "praise", "subject": "Bahannya adem!", "words": "Suka banget bahannya." })).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.act(&token, id, "resolve", json!({ "summary": "x" }))
            .await
            .status,
        409
    );
    app.step(
        &token,
        id,
        "acknowledge",
        json!({ "message": "Terima kasih banyak atas pujiannya, Kak!" }),
    )
    .await;
    let record = app
        .act(
            &token,
            id,
            "record",
            json!({ "category": "praise", "details": "x" }),
        )
        .await;
    assert_eq!(record.status, 409);
    let resolved = app
        .step(
            &token,
            id,
            "resolve",
            json!({ "summary": "Diteruskan ke tim produksi." }),
        )
        .await;
    assert_eq!(resolved["stage"], "resolved");
}

async fn a_rejected_proposal_goes_back_and_can_be_escalated(app: TestApp) {
    let (_, agent) = app.user_with_role("agent").await;
    let (manager_id, manager) = app.user_with_role("manager").await;
    let (agent2_id, _) = app.user_with_role("agent").await;
    let id = app.ticket(&agent, json!({})).await["id"].as_i64().unwrap();
    app.step(
        &agent,
        id,
        "acknowledge",
        json!({ "message": "Terima kasih, Kak." }),
    )
    .await;
    app.step(
        &agent,
        id,
        "record",
        json!({ "category": "late_delivery", "details": "Paket belum sampai 9 hari." }),
    )
    .await;
    app.step(
        &agent,
        id,
        "diagnose",
        json!({ "root_cause": "Kurir salah sortir ke Makassar." }),
    )
    .await;
    app.step(
        &agent,
        id,
        "propose",
        json!({ "solution_type": "voucher", "solution": "Voucher ongkir Rp20.000." }),
    )
    .await;
    let rejected = app
        .step(
            &agent,
            id,
            "customer-response",
            json!({ "accepted": false, "comment": "Saya mau refund" }),
        )
        .await;
    assert_eq!(rejected["stage"], "understood");
    assert_eq!(rejected["proposal_state"], "rejected");
    assert_eq!(rejected["customer_comment"], "Saya mau refund");

    let to_agent = app
        .act(
            &agent,
            id,
            "escalate",
            json!({ "to_user_id": agent2_id, "reason": "refund" }),
        )
        .await;
    assert_eq!(
        to_agent.status, 422,
        "only managers and admins take escalations"
    );
    let escalated = app.step(&agent, id, "escalate", json!({ "to_user_id": manager_id, "reason": "Pelanggan minta refund; di atas wewenang saya." })).await;
    assert_eq!(escalated["stage"], "escalated");
    assert_eq!(escalated["escalated_to"], manager_id);
    assert_eq!(escalated["assignee_id"], manager_id);
    assert_eq!(escalated["escalated_from"], "understood");
    let mine = app
        .get("/api/tickets?escalated_to=me", Some(&manager))
        .await;
    assert_eq!(mine.body["tickets"].as_array().unwrap().len(), 1);
    // The agent no longer holds it; the manager continues from `understood`.
    assert_eq!(
        app.act(
            &agent,
            id,
            "propose",
            json!({ "solution_type": "refund", "solution": "x" })
        )
        .await
        .status,
        403
    );
    let proposed = app
        .step(
            &manager,
            id,
            "propose",
            json!({ "solution_type": "refund", "solution": "Refund penuh Rp150.000 hari ini." }),
        )
        .await;
    assert_eq!(proposed["stage"], "solution_proposed");
    assert!(proposed["escalated_from"].is_null());
    app.step(
        &manager,
        id,
        "customer-response",
        json!({ "accepted": true }),
    )
    .await;
    let resolved = app
        .step(
            &manager,
            id,
            "resolve",
            json!({ "summary": "Refund ditransfer." }),
        )
        .await;
    assert_eq!(resolved["stage"], "resolved");
}

async fn reopening_returns_to_acknowledged(app: TestApp) {
    let token = app.admin_token().await;
    let id = app
        .ticket(
            &token,
            json!({ "kind": "question", "subject": "Ada ukuran XL?", "words": "Ada XL kak?" }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.step(
        &token,
        id,
        "acknowledge",
        json!({ "message": "Terima kasih sudah bertanya, Kak." }),
    )
    .await;
    app.step(&token, id, "resolve", json!({ "summary": "XL ready." }))
        .await;
    let no_reason = app.act(&token, id, "reopen", json!({})).await;
    assert_eq!(no_reason.status, 422);
    let reopened = app
        .step(
            &token,
            id,
            "reopen",
            json!({ "reason": "Pelanggan tanya lagi soal warna." }),
        )
        .await;
    assert_eq!(reopened["stage"], "acknowledged");
    assert!(reopened["resolved_at"].is_null());
    let promise = app
        .post(
            &format!("/api/tickets/{id}/promises"),
            Some(&token),
            json!({ "due_at": "2999-01-01T07:00:00Z", "what": "Kabari stok warna" }),
        )
        .await;
    assert_eq!(promise.status, 201, "a reopened ticket is open again");
}

async fn the_queue_filters_and_pages(app: TestApp) {
    let admin = app.admin_token().await;
    let (agent_id, agent) = app.user_with_role("agent").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let channel = if i % 2 == 0 { "instagram" } else { "whatsapp" };
        ids.push(
            app.ticket(
                &agent,
                json!({ "channel": channel, "priority": if i == 4 { "urgent" } else { "normal" } }),
            )
            .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let unassigned = app.ticket(&admin, json!({})).await["id"].as_i64().unwrap();
    app.post(
        &format!("/api/tickets/{unassigned}/assign"),
        Some(&admin),
        json!({ "user_id": null }),
    )
    .await;
    app.step(
        &agent,
        ids[0],
        "acknowledge",
        json!({ "message": "Terima kasih, Kak." }),
    )
    .await;

    let count = |reply: &crate::helpers::Reply| reply.body["tickets"].as_array().unwrap().len();
    assert_eq!(
        count(&app.get("/api/tickets?assignee=me", Some(&agent)).await),
        5
    );
    assert_eq!(
        count(
            &app.get(&format!("/api/tickets?assignee={agent_id}"), Some(&admin))
                .await
        ),
        5
    );
    assert_eq!(
        count(&app.get("/api/tickets?assignee=none", Some(&agent)).await),
        1
    );
    assert_eq!(
        count(
            &app.get("/api/tickets?channel=instagram&assignee=me", Some(&agent))
                .await
        ),
        3
    );
    assert_eq!(
        count(
            &app.get("/api/tickets?stage=acknowledged", Some(&agent))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get("/api/tickets?stage=new,acknowledged", Some(&agent))
                .await
        ),
        6
    );
    assert_eq!(
        count(&app.get("/api/tickets?priority=urgent", Some(&agent)).await),
        1
    );
    assert_eq!(
        count(&app.get("/api/tickets?awaiting=us", Some(&agent)).await),
        6
    );
    assert_eq!(
        count(
            &app.get("/api/tickets?awaiting=customer", Some(&agent))
                .await
        ),
        0
    );
    let bad = app
        .get(
            "/api/tickets?stage=lost&channel=fax&awaiting=god&limit=0",
            Some(&agent),
        )
        .await;
    assert_eq!(bad.status, 422);
    for field in ["stage", "channel", "awaiting", "limit"] {
        assert!(
            bad.body["error"]["fields"][field].is_string(),
            "{field}: {}",
            bad.body
        );
    }

    // Keyset pages: newest first, no overlap, nothing skipped.
    let seen = every_page(&app, &agent, "/api/tickets?limit=2").await;
    let mut expected: Vec<i64> = ids.iter().copied().chain([unassigned]).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected);

    // The same with a list of stages (read ids first, then the rows: db::tickets::queue_rows).
    let whole = app
        .get(
            "/api/tickets?stage=new,acknowledged&limit=100",
            Some(&agent),
        )
        .await;
    let whole: Vec<i64> = whole.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(whole.len(), 6);
    assert!(
        whole.windows(2).all(|w| w[0] > w[1]),
        "newest first: {whole:?}"
    );
    let seen = every_page(&app, &agent, "/api/tickets?stage=new,acknowledged&limit=4").await;
    assert_eq!(seen, whole);
}

/// The ids on every page of a queue query, following `next_before` to the end.
async fn every_page(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let before = cursor.map(|b| format!("&before={b}")).unwrap_or_default();
        let page = app.get(&format!("{query}{before}"), Some(token)).await;
        seen.extend(
            page.body["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        match page.body["next_before"].as_i64() {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

async fn full_text_search_finds_words_and_numbers(app: TestApp) {
    let token = app.admin_token().await;
    let sandal = app
        .ticket(&token, json!({ "subject": "Sandal kulit kebesaran", "words": "Ukuran 42 kebesaran, minta tukar 41", "order_ref": "SHP-99812", "customer": { "name": "Dewi Lestari", "email": "dewi@mail.test" } }))
        .await["id"]
        .as_i64()
        .unwrap();
    let tas = app
        .ticket(
            &token,
            json!({ "subject": "Tas rotan pecah", "words": "Anyaman rotan pecah waktu diterima" }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let ids = |reply: crate::helpers::Reply| -> Vec<i64> {
        reply.body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(app.get("/api/tickets?q=sandal", Some(&token)).await),
        vec![sandal]
    );
    assert_eq!(
        ids(app.get("/api/tickets?q=ROTAN", Some(&token)).await),
        vec![tas]
    );
    assert_eq!(
        ids(app.get("/api/tickets?q=kebesar", Some(&token)).await),
        vec![sandal],
        "prefix search"
    );
    assert_eq!(
        ids(app.get("/api/tickets?q=dewi", Some(&token)).await),
        vec![sandal],
        "by customer name"
    );
    assert_eq!(
        ids(app.get("/api/tickets?q=SHP-99812", Some(&token)).await),
        vec![sandal],
        "by order reference"
    );
    assert_eq!(
        ids(app
            .get(&format!("/api/tickets?q=TGP-{tas:06}"), Some(&token))
            .await),
        vec![tas],
        "by ticket number"
    );
    assert!(
        ids(app.get("/api/tickets?q=sandal%20rotan", Some(&token)).await).is_empty(),
        "every word must match"
    );
    assert!(
        ids(app.get("/api/tickets?q=%22%20OR%20*", Some(&token)).await).is_empty(),
        "query syntax is not passed through"
    );
    // What the record step adds is searchable too.
    app.step(
        &token,
        tas,
        "acknowledge",
        json!({ "message": "Terima kasih, Kak." }),
    )
    .await;
    app.step(&token, tas, "record", json!({ "category": "damaged_in_transit", "details": "Bubble wrap tipis", "product": "Tas Rotan Bali" })).await;
    assert_eq!(
        ids(app.get("/api/tickets?q=bubble", Some(&token)).await),
        vec![tas]
    );
}

/// A search narrowed by another filter (a tab, a priority) reads on through the search's hits
/// until the page is full: a match with more than a thousand newer hits in front of it (the
/// most one batch of hits holds) is still found, on the first page, and the newer hits page
/// through to the end as before.
async fn a_narrowed_search_reaches_matches_behind_a_thousand_newer_hits(app: TestApp) {
    use futures_util::stream::{self, StreamExt};
    let token = app.admin_token().await;
    let urgent = app
        .ticket(
            &token,
            json!({ "subject": "Kaca etalase retak", "priority": "urgent" }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let newer = 2 * tanggap::db::tickets::SEARCH_HITS_CAP as usize + 50;
    let made: Vec<i64> = stream::iter(0..newer)
        .map(|n| {
            let app = &app;
            let token = &token;
            async move {
                app.ticket(
                    token,
                    json!({ "subject": format!("Gelas retak nomor {n}"), "priority": "low" }),
                )
                .await["id"]
                    .as_i64()
                    .unwrap()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(made.len(), newer);
    let found = app
        .get("/api/tickets?q=retak&priority=urgent", Some(&token))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let ids: Vec<i64> = found.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![urgent], "{}", found.body);
    assert!(found.body["next_before"].is_null(), "{}", found.body);
    // The same search narrowed to the low ones pages through every one of them.
    let mut seen = 0;
    let mut before: Option<i64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/api/tickets?q=retak&priority=low&limit=200&before={b}"),
            None => "/api/tickets?q=retak&priority=low&limit=200".to_string(),
        };
        let page = app.get(&path, Some(&token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen += page.body["tickets"].as_array().unwrap().len();
        match page.body["next_before"].as_i64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(seen, newer);
}

async fn tickets_can_be_edited_and_the_timeline_keeps_both_sides(app: TestApp) {
    let token = app.admin_token().await;
    let partner = app
        .post(
            "/api/partners",
            Some(&token),
            json!({ "name": "Reseller Bu Rina", "kind": "reseller", "contact": "0812" }),
        )
        .await;
    assert_eq!(partner.status, 201, "{}", partner.body);
    let id = app
        .ticket(&token, json!({ "partner_id": partner.body["id"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    let edited = app
        .patch(
            &format!("/api/tickets/{id}"),
            Some(&token),
            json!({ "priority": "high", "subject": "Kaos sobek (foto dikirim)", "version": 1 }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.body["priority"], "high");
    assert_eq!(edited.body["partner_id"], partner.body["id"]);
    let reply = app
        .post(
            &format!("/api/tickets/{id}/replies"),
            Some(&token),
            json!({ "body": "Kami cek dulu ke gudang ya, Kak." }),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["event"]["visibility"], "public");
    let heated = app
        .post(
            &format!("/api/tickets/{id}/replies"),
            Some(&token),
            json!({ "body": "ITU BUKAN SALAH KAMI!!!" }),
        )
        .await;
    assert_eq!(heated.status, 201, "warnings never block");
    let kinds: Vec<&str> = heated.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"shouting")
            && kinds.contains(&"exclamations")
            && kinds.contains(&"defensive"),
        "{kinds:?}"
    );
    let note = app
        .post(
            &format!("/api/tickets/{id}/notes"),
            Some(&token),
            json!({ "body": "Cek stok M di gudang 2" }),
        )
        .await;
    assert_eq!(note.body["event"]["visibility"], "internal");
    let public = app
        .get(
            &format!("/api/tickets/{id}/events?visibility=public"),
            Some(&token),
        )
        .await;
    let bodies: Vec<&str> = public.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["body"].as_str())
        .collect();
    assert!(bodies.contains(&"Kami cek dulu ke gudang ya, Kak."));
    assert!(
        !bodies.contains(&"Cek stok M di gudang 2"),
        "internal notes stay internal"
    );
    let updated = app
        .get(&format!("/api/tickets/{id}/events"), Some(&token))
        .await;
    let update = updated.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "updated")
        .unwrap()
        .clone();
    assert_eq!(update["data"]["before"]["priority"], "normal");
    assert_eq!(update["data"]["after"]["priority"], "high");
    let partners = app.get("/api/partners?kind=reseller", Some(&token)).await;
    assert_eq!(partners.body["partners"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.post(
            "/api/partners",
            Some(&token),
            json!({ "name": "X", "kind": "franchise" })
        )
        .await
        .status,
        422
    );
}
