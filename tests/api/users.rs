use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    admins_create_list_and_change_users,
    only_admins_manage_users,
    new_users_are_validated_field_by_field,
    managers_must_be_senior_and_not_loop,
    the_last_admin_stays,
    bodies_that_are_too_large_or_malformed,
);

async fn admins_create_list_and_change_users(app: TestApp) {
    let admin = app.admin_token().await;
    let manager = app
        .post("/api/users", Some(&admin), json!({ "email": "Rina@Toko.test", "name": "Rina", "role": "manager", "password": "teh manis hangat", "locale": "en" }))
        .await;
    assert_eq!(manager.status, 201, "{}", manager.body);
    assert_eq!(manager.body["email"], "rina@toko.test");
    assert_eq!(manager.body["locale"], "en");
    let manager_id = manager.body["id"].as_i64().unwrap();
    let agent = app
        .post("/api/users", Some(&admin), json!({ "email": "budi@toko.test", "name": "Budi", "role": "agent", "password": "nasi goreng pedas", "manager_id": manager_id }))
        .await;
    assert_eq!(agent.status, 201, "{}", agent.body);
    assert_eq!(agent.body["manager_id"], manager_id);
    assert_eq!(agent.body["locale"], "id", "the shop's default language");
    let agent_id = agent.body["id"].as_i64().unwrap();

    let list = app.get("/api/users", Some(&admin)).await;
    assert_eq!(list.status, 200);
    let emails: Vec<&str> = list.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"rina@toko.test") && emails.contains(&"budi@toko.test"));

    let duplicate = app
        .post("/api/users", Some(&admin), json!({ "email": "BUDI@toko.test", "name": "Budi 2", "role": "agent", "password": "nasi goreng pedas" }))
        .await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.body["error"]["code"], "email_taken");

    let changed = app
        .patch(
            &format!("/api/users/{agent_id}"),
            Some(&admin),
            json!({ "name": "Budi Santoso", "role": "manager", "locale": "en", "away": true }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["name"], "Budi Santoso");
    assert_eq!(changed.body["role"], "manager");
    assert_eq!(changed.body["away"], true);
    assert_eq!(changed.body["manager_id"], manager_id, "absent fields stay");
    let cleared = app
        .patch(
            &format!("/api/users/{agent_id}"),
            Some(&admin),
            json!({ "manager_id": null }),
        )
        .await;
    assert_eq!(cleared.status, 200);
    assert!(cleared.body["manager_id"].is_null());
    let fetched = app
        .get(&format!("/api/users/{agent_id}"), Some(&admin))
        .await;
    assert_eq!(fetched.body["name"], "Budi Santoso");
    assert_eq!(app.get("/api/users/99999", Some(&admin)).await.status, 404);
    assert_eq!(
        app.patch("/api/users/99999", Some(&admin), json!({ "name": "x" }))
            .await
            .status,
        404
    );
}

async fn only_admins_manage_users(app: TestApp) {
    for role in ["agent", "manager"] {
        let (id, token) = app.user_with_role(role).await;
        assert_eq!(
            app.get("/api/users", Some(&token)).await.status,
            403,
            "{role} lists"
        );
        let create = app
            .post("/api/users", Some(&token), json!({ "email": "x@toko.test", "name": "X", "role": "admin", "password": "nasi goreng pedas" }))
            .await;
        assert_eq!(create.status, 403, "{role} creates");
        assert_eq!(create.body["error"]["code"], "forbidden");
        let promote = app
            .patch(
                &format!("/api/users/{id}"),
                Some(&token),
                json!({ "role": "admin" }),
            )
            .await;
        assert_eq!(promote.status, 403, "{role} promotes themself");
    }
    assert_eq!(app.get("/api/users", None).await.status, 401);
}

async fn new_users_are_validated_field_by_field(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post("/api/users", Some(&admin), json!({ "email": "not-an-email", "name": "  ", "role": "owner", "password": "short", "locale": "fr" }))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "validation");
    let fields = &reply.body["error"]["fields"];
    for field in ["email", "name", "role", "password", "locale"] {
        assert!(fields[field].is_string(), "{field} is named: {fields}");
    }
    let common = app
        .post("/api/users", Some(&admin), json!({ "email": "a@toko.test", "name": "A", "role": "agent", "password": "bismillah" }))
        .await;
    assert_eq!(common.status, 422);
    assert!(common.body["error"]["fields"]["password"]
        .as_str()
        .unwrap()
        .contains("common"));
    let missing = app
        .post(
            "/api/users",
            Some(&admin),
            json!({ "email": "a@toko.test", "role": "agent", "password": "nasi goreng pedas" }),
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing.body["error"]["fields"]["name"].is_string(),
        "{}",
        missing.body
    );
    let long_passphrase = "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh ".repeat(3);
    let ok = app
        .post("/api/users", Some(&admin), json!({ "email": "a@toko.test", "name": "A", "role": "agent", "password": long_passphrase }))
        .await;
    assert_eq!(ok.status, 201, "long passphrases are welcome: {}", ok.body);
}

async fn managers_must_be_senior_and_not_loop(app: TestApp) {
    let admin = app.admin_token().await;
    let (agent_id, _) = app.user_with_role("agent").await;
    let (manager_id, _) = app.user_with_role("manager").await;
    let under_agent = app
        .post("/api/users", Some(&admin), json!({ "email": "c@toko.test", "name": "C", "role": "agent", "password": "nasi goreng pedas", "manager_id": agent_id }))
        .await;
    assert_eq!(under_agent.status, 422);
    assert!(under_agent.body["error"]["fields"]["manager_id"].is_string());
    let unknown = app
        .patch(
            &format!("/api/users/{agent_id}"),
            Some(&admin),
            json!({ "manager_id": 424242 }),
        )
        .await;
    assert_eq!(unknown.status, 422);
    let (boss_id, _) = app.user_with_role("manager").await;
    assert_eq!(
        app.patch(
            &format!("/api/users/{manager_id}"),
            Some(&admin),
            json!({ "manager_id": boss_id })
        )
        .await
        .status,
        200
    );
    let cycle = app
        .patch(
            &format!("/api/users/{boss_id}"),
            Some(&admin),
            json!({ "manager_id": manager_id }),
        )
        .await;
    assert_eq!(cycle.status, 422, "{}", cycle.body);
    let own = app
        .patch(
            &format!("/api/users/{boss_id}"),
            Some(&admin),
            json!({ "manager_id": boss_id }),
        )
        .await;
    assert_eq!(own.status, 422);
}

async fn the_last_admin_stays(app: TestApp) {
    let admin = app.admin_token().await;
    let me = app.get("/api/me", Some(&admin)).await;
    let id = me.body["id"].as_i64().unwrap();
    let reply = app
        .patch(
            &format!("/api/users/{id}"),
            Some(&admin),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["error"]["code"], "last_admin");
    let demote = app
        .patch(
            &format!("/api/users/{id}"),
            Some(&admin),
            json!({ "role": "agent" }),
        )
        .await;
    assert_eq!(demote.status, 409);
    assert_eq!(app.get("/api/me", Some(&admin)).await.status, 200);
}

async fn bodies_that_are_too_large_or_malformed(app: TestApp) {
    let admin = app.admin_token().await;
    let huge = "x".repeat(200 * 1024);
    let too_large = app
        .post("/api/users", Some(&admin), json!({ "email": "big@toko.test", "name": huge, "role": "agent", "password": "nasi goreng pedas" }))
        .await;
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(too_large.body["error"]["code"], "payload_too_large");
    let malformed = app
        .client
        .post(app.url("/api/users"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"email\": ");
    let malformed = app.send(malformed).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["error"]["code"], "bad_request");
    let not_json = app
        .client
        .post(app.url("/api/users"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("hello");
    assert_eq!(app.send(not_json).await.status, 400);
    let wrong_type = app
        .patch("/api/users/1", Some(&admin), json!({ "active": "yes" }))
        .await;
    assert_eq!(wrong_type.status, 422, "{}", wrong_type.body);
    let unknown_field = app
        .patch(
            "/api/users/1",
            Some(&admin),
            json!({ "password_hash": "x" }),
        )
        .await;
    assert_eq!(unknown_field.status, 422);
    assert!(unknown_field.body["error"]["fields"]["password_hash"].is_string());
}
