//! Step 6 (promises), replacements and who may act on what.

use diesel::prelude::*;
use serde_json::json;
use tanggap::db::schema::promises;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    promises_replace_each_other_and_are_kept,
    an_overdue_promise_shows_in_the_overdue_queue,
    expensive_replacements_need_a_manager,
    replacement_status_changes_are_checked,
    agents_act_on_their_own_and_unassigned_tickets,
    auto_assignment_picks_the_least_busy_present_agent,
);

async fn promises_replace_each_other_and_are_kept(app: TestApp) {
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let past = app
        .post(
            &format!("/api/tickets/{id}/promises"),
            Some(&token),
            json!({ "due_at": "2020-01-01T00:00:00Z", "what": "Kabari resi" }),
        )
        .await;
    assert_eq!(past.status, 422);
    assert!(past.body["error"]["fields"]["due_at"].is_string());
    let bad_date = app
        .post(
            &format!("/api/tickets/{id}/promises"),
            Some(&token),
            json!({ "due_at": "besok", "what": "Kabari resi" }),
        )
        .await;
    assert_eq!(bad_date.status, 422);

    let first = app
        .post(
            &format!("/api/tickets/{id}/promises"),
            Some(&token),
            json!({ "due_at": "2999-01-01T07:00:00Z", "what": "Kabari resi pengganti" }),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["status"], "open");
    let ticket = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    assert_eq!(ticket.body["next_promise_due_at"], "2999-01-01T07:00:00Z");

    let second = app
        .post(
            &format!("/api/tickets/{id}/promises"),
            Some(&token),
            json!({ "due_at": "2999-01-02T07:00:00+07:00", "what": "Kabari resi (mundur sehari)" }),
        )
        .await;
    assert_eq!(second.status, 201);
    let ticket = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    let list = ticket.body["promises"].as_array().unwrap();
    assert_eq!(
        list[0]["status"], "broken",
        "a new date breaks the old promise"
    );
    assert_eq!(list[0]["replaced_by"], second.body["id"]);
    assert_eq!(list[1]["status"], "open");
    assert_eq!(
        ticket.body["next_promise_due_at"], "2999-01-02T00:00:00Z",
        "stored in UTC"
    );

    let pid = second.body["id"].as_i64().unwrap();
    let kept = app
        .post(
            &format!("/api/tickets/{id}/promises/{pid}/keep"),
            Some(&token),
            json!({ "note": "Resi dikirim via WA" }),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.body["status"], "kept");
    let again = app
        .post(
            &format!("/api/tickets/{id}/promises/{pid}/keep"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        app.post(
            &format!("/api/tickets/{id}/promises/99999/keep"),
            Some(&token),
            json!({})
        )
        .await
        .status,
        404
    );
    let ticket = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    assert!(ticket.body["next_promise_due_at"].is_null());
    let kinds: Vec<String> = app
        .get(&format!("/api/tickets/{id}/events"), Some(&token))
        .await
        .body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["promise_made", "promise_broken", "promise_kept"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind}");
    }
}

async fn an_overdue_promise_shows_in_the_overdue_queue(app: TestApp) {
    let token = app.admin_token().await;
    let late = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let on_time = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    for id in [late, on_time] {
        let reply = app
            .post(
                &format!("/api/tickets/{id}/promises"),
                Some(&token),
                json!({ "due_at": "2999-01-01T07:00:00Z", "what": "Kabari" }),
            )
            .await;
        assert_eq!(reply.status, 201);
    }
    // Time passes for one of them: its due time (and the ticket's) moves into the past.
    let past = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
        .unwrap()
        .and_hms_opt(3, 0, 0)
        .unwrap();
    {
        let mut conn = app.conn();
        diesel::update(promises::table.filter(promises::ticket_id.eq(late)))
            .set(promises::due_at.eq(past))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(tanggap::db::schema::tickets::table.find(late))
            .set(tanggap::db::schema::tickets::next_promise_due_at.eq(Some(past)))
            .execute(&mut **conn)
            .unwrap();
    }
    let overdue = app.get("/api/tickets?overdue=true", Some(&token)).await;
    let rows = overdue.body["tickets"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", overdue.body);
    assert_eq!(rows[0]["id"], late);
    assert_eq!(rows[0]["overdue"], true);
    let ticket = app.get(&format!("/api/tickets/{late}"), Some(&token)).await;
    assert_eq!(ticket.body["promises"][0]["overdue"], true);
    let fine = app
        .get(&format!("/api/tickets/{on_time}"), Some(&token))
        .await;
    assert_eq!(fine.body["overdue"], false);
}

async fn expensive_replacements_need_a_manager(app: TestApp) {
    let admin = app.admin_token().await;
    let settings = app
        .patch(
            "/api/settings",
            Some(&admin),
            json!({ "replacement_approval_threshold": 100000 }),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let (_, agent) = app.user_with_role("agent").await;
    let (_, manager) = app.user_with_role("manager").await;
    assert_eq!(
        app.patch(
            "/api/settings",
            Some(&agent),
            json!({ "auto_assign": true })
        )
        .await
        .status,
        403
    );
    let id = app.ticket(&agent, json!({})).await["id"].as_i64().unwrap();
    let cheap = app
        .post(
            &format!("/api/tickets/{id}/replacements"),
            Some(&agent),
            json!({ "item": "Kaos", "quantity": 1, "reason": "cacat", "cost": 85000 }),
        )
        .await;
    assert_eq!(cheap.body["needs_approval"], false);
    let dear = app
        .post(
            &format!("/api/tickets/{id}/replacements"),
            Some(&agent),
            json!({ "item": "Jaket kulit", "quantity": 1, "reason": "cacat", "cost": 1250000 }),
        )
        .await;
    assert_eq!(dear.status, 201);
    assert_eq!(dear.body["needs_approval"], true);
    let cheap_ok = app
        .patch(
            &format!("/api/replacements/{}", cheap.body["id"]),
            Some(&agent),
            json!({ "status": "approved" }),
        )
        .await;
    assert_eq!(cheap_ok.status, 200);
    let refused = app
        .patch(
            &format!("/api/replacements/{}", dear.body["id"]),
            Some(&agent),
            json!({ "status": "approved" }),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let approved = app
        .patch(
            &format!("/api/replacements/{}", dear.body["id"]),
            Some(&manager),
            json!({ "status": "approved" }),
        )
        .await;
    assert_eq!(approved.status, 200);
    assert!(approved.body["approved_by"].is_i64());
    let invalid = app
        .post(
            &format!("/api/tickets/{id}/replacements"),
            Some(&agent),
            json!({ "item": "", "quantity": -1, "reason": "x", "cost": -5 }),
        )
        .await;
    assert_eq!(invalid.status, 422);
    for field in ["item", "quantity", "cost"] {
        assert!(
            invalid.body["error"]["fields"][field].is_string(),
            "{field}"
        );
    }
}

async fn replacement_status_changes_are_checked(app: TestApp) {
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/tickets/{id}/replacements"),
            Some(&token),
            json!({ "item": "Kaos", "quantity": 2, "reason": "salah ukuran", "cost": 0 }),
        )
        .await;
    let rid = r.body["id"].as_i64().unwrap();
    let skip = app
        .patch(
            &format!("/api/replacements/{rid}"),
            Some(&token),
            json!({ "status": "shipped", "courier": "JNE", "tracking_number": "X" }),
        )
        .await;
    assert_eq!(skip.status, 409);
    assert_eq!(skip.body["error"]["code"], "invalid_transition");
    app.patch(
        &format!("/api/replacements/{rid}"),
        Some(&token),
        json!({ "status": "approved" }),
    )
    .await;
    let no_tracking = app
        .patch(
            &format!("/api/replacements/{rid}"),
            Some(&token),
            json!({ "status": "shipped", "courier": "JNE" }),
        )
        .await;
    assert_eq!(no_tracking.status, 422);
    assert!(no_tracking.body["error"]["fields"]["tracking_number"].is_string());
    let stale = app.patch(&format!("/api/replacements/{rid}"), Some(&token), json!({ "status": "shipped", "courier": "JNE", "tracking_number": "JN1", "version": 1 })).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["error"]["code"], "stale");
    let shipped = app.patch(&format!("/api/replacements/{rid}"), Some(&token), json!({ "status": "shipped", "courier": "JNE", "tracking_number": "JN1", "version": 2 })).await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    assert_eq!(shipped.body["tracking_number"], "JN1");
    let no_reason = app
        .patch(
            &format!("/api/replacements/{rid}"),
            Some(&token),
            json!({ "status": "cancelled" }),
        )
        .await;
    assert_eq!(no_reason.status, 422);
    let cancelled = app
        .patch(
            &format!("/api/replacements/{rid}"),
            Some(&token),
            json!({ "status": "cancelled", "reason": "Paket hilang, diganti refund" }),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let listed = app
        .get("/api/replacements?status=cancelled", Some(&token))
        .await;
    assert_eq!(listed.body["replacements"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.patch(
            "/api/replacements/9999",
            Some(&token),
            json!({ "status": "approved" })
        )
        .await
        .status,
        404
    );
}

async fn agents_act_on_their_own_and_unassigned_tickets(app: TestApp) {
    let admin = app.admin_token().await;
    let (a_id, a) = app.user_with_role("agent").await;
    let (b_id, b) = app.user_with_role("agent").await;
    let id = app.ticket(&a, json!({})).await["id"].as_i64().unwrap();
    let other = app
        .act(&b, id, "acknowledge", json!({ "message": "Terima kasih" }))
        .await;
    assert_eq!(other.status, 403);
    assert_eq!(other.body["error"]["code"], "forbidden");
    assert_eq!(
        app.post(
            &format!("/api/tickets/{id}/replies"),
            Some(&b),
            json!({ "body": "Halo" })
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.post(
            &format!("/api/tickets/{id}/notes"),
            Some(&b),
            json!({ "body": "FYI" })
        )
        .await
        .status,
        201,
        "anyone may add a note"
    );
    let steal = app
        .post(
            &format!("/api/tickets/{id}/assign"),
            Some(&b),
            json!({ "user_id": b_id }),
        )
        .await;
    assert_eq!(steal.status, 403);
    // Released, the ticket is free: B acting on it takes it.
    let release = app
        .post(
            &format!("/api/tickets/{id}/assign"),
            Some(&a),
            json!({ "user_id": null }),
        )
        .await;
    assert_eq!(release.status, 200);
    assert!(release.body["assignee_id"].is_null());
    let taken = app
        .step(
            &b,
            id,
            "acknowledge",
            json!({ "message": "Terima kasih, Kak." }),
        )
        .await;
    assert_eq!(taken["assignee_id"], b_id);
    let reassigned = app
        .post(
            &format!("/api/tickets/{id}/assign"),
            Some(&admin),
            json!({ "user_id": a_id }),
        )
        .await;
    assert_eq!(reassigned.body["assignee_id"], a_id);
    assert_eq!(
        app.post(
            "/api/tickets/9999/assign",
            Some(&admin),
            json!({ "user_id": a_id })
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.post(
            &format!("/api/tickets/{id}/assign"),
            Some(&admin),
            json!({ "user_id": 9999 })
        )
        .await
        .status,
        422
    );
}

async fn auto_assignment_picks_the_least_busy_present_agent(app: TestApp) {
    let admin = app.admin_token().await;
    let (busy, busy_token) = app.user_with_role("agent").await;
    let (free, _) = app.user_with_role("agent").await;
    let (away, _) = app.user_with_role("agent").await;
    app.patch(
        &format!("/api/users/{away}"),
        Some(&admin),
        json!({ "away": true }),
    )
    .await;
    app.ticket(&busy_token, json!({})).await;
    let on = app
        .patch(
            "/api/settings",
            Some(&admin),
            json!({ "auto_assign": true }),
        )
        .await;
    assert_eq!(on.body["auto_assign"], true);
    let first = app.ticket(&admin, json!({})).await;
    assert_eq!(first["assignee_id"], free, "fewest open tickets, present");
    let second = app.ticket(&admin, json!({})).await;
    assert_eq!(
        second["assignee_id"], busy,
        "a tie goes round to the one who waited"
    );
    let third = app.ticket(&admin, json!({})).await;
    assert_ne!(third["assignee_id"], away, "away agents are skipped");
}
