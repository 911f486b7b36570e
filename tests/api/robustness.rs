//! Hostile and failing conditions: every route refuses the anonymous, the database going away
//! and coming back.

use diesel::RunQueryDsl;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{postgres_base_url, TestApp, TestDatabase, PUBLIC_ROUTES};

backend_tests!(
    every_documented_route_refuses_the_anonymous,
    agents_are_refused_every_admin_route,
    text_with_a_nul_character_is_refused_wherever_it_arrives
);

async fn every_documented_route_refuses_the_anonymous(app: TestApp) {
    let mut checked = 0;
    for (method, path) in app.documented_routes().await {
        if PUBLIC_ROUTES.contains(&path.as_str()) {
            continue;
        }
        let url = app.url(
            &path
                .replace("{id}", "1")
                .replace("{pid}", "1")
                .replace("{priority}", "urgent")
                .replace("{date}", "2026-08-17"),
        );
        let request = app
            .client
            .request(method.parse().unwrap(), url)
            .json(&json!({}));
        let reply = app.send(request).await;
        assert_eq!(
            reply.status, 401,
            "{method} {path} without a token: {}",
            reply.body
        );
        assert_eq!(
            reply.body["error"]["code"], "unauthorized",
            "{method} {path}: an error, never data"
        );
        checked += 1;
    }
    assert!(checked > 40, "{checked}");
}

async fn agents_are_refused_every_admin_route(app: TestApp) {
    let (_, agent) = app.user_with_role("agent").await;
    // Well-formed bodies: the refusal is about the role, not the input. (An agent sending a
    // malformed body may hear 422 first; the schema is public in /api/openapi.json anyway.)
    let admin_only = [
        ("GET", "/api/users", json!(null)),
        (
            "POST",
            "/api/users",
            json!({ "email": "x@toko.test", "name": "X", "role": "admin", "password": "kopi susu gula aren" }),
        ),
        ("GET", "/api/users/1", json!(null)),
        ("PATCH", "/api/users/1", json!({ "role": "agent" })),
        ("PATCH", "/api/settings", json!({ "auto_assign": true })),
        ("GET", "/api/outbox", json!(null)),
        ("POST", "/api/outbox/1/retry", json!(null)),
        (
            "PUT",
            "/api/targets/urgent",
            json!({ "first_response_minutes": 1, "next_response_minutes": 1, "resolution_minutes": 1 }),
        ),
        ("PUT", "/api/business-hours", json!({ "days": [] })),
        (
            "POST",
            "/api/holidays",
            json!({ "date": "2026-12-31", "name": "x" }),
        ),
        ("DELETE", "/api/holidays/2026-08-17", json!(null)),
        (
            "POST",
            "/api/canned-responses",
            json!({ "step": "empathise", "locale": "id", "title": "x", "body": "y" }),
        ),
        (
            "PATCH",
            "/api/canned-responses/1",
            json!({ "title": "x", "version": 1 }),
        ),
    ];
    for (method, path, body) in admin_only {
        let mut request = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&agent);
        if !body.is_null() {
            request = request.json(&body);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
    }
    let holidays = app.get("/api/holidays", Some(&agent)).await;
    assert_eq!(holidays.status, 200, "reading the calendar is for everyone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_database_away_and_back() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let database = TestDatabase::create(&base);
    let data_dir = tempfile::tempdir().unwrap();
    let settings = crate::helpers::test_settings(data_dir.path(), Some(&database.url));
    let app = crate::helpers::spawn_with(settings, data_dir, None).await;
    assert_eq!(app.get("/readyz", None).await.status, 200);
    // The database goes away (its connections cut) …
    let name = database_name(&database);
    let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&base).unwrap();
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .unwrap();
    cut_connections(&mut admin, &name);
    let down = app.get("/readyz", None).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.body["error"]["code"], "unavailable");
    assert_eq!(
        app.get("/healthz", None).await.status,
        200,
        "the process is still up"
    );
    // … and comes back: the service recovers without a restart.
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .unwrap();
    let mut ready = false;
    for _ in 0..20 {
        if app.get("/readyz", None).await.status == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(ready, "ready again once the database is back");
    let token = app.admin_token().await;
    assert_eq!(app.get("/api/me", Some(&token)).await.status, 200);
}

/// A pooled PostgreSQL connection is trusted without a ping for a second after it answered
/// (a ping at every checkout was a round trip more per request). One whose server went away
/// fails the request it serves and is never handed out again (diesel marks it broken, r2d2
/// drops it): the request after the failure gets a new, working connection.
#[tokio::test]
async fn a_pooled_connection_whose_server_went_away_is_replaced() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let database = TestDatabase::create(&base);
    let url = tanggap::config::DatabaseUrl::parse(&database.url).unwrap();
    let pool = tanggap::db::connect_pool(&url, 1).unwrap();
    let backend_pid = |conn: &mut tanggap::db::DbConnection| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
            "pg_backend_pid()",
        ))
        .get_result::<i32>(conn)
    };
    let first = backend_pid(&mut pool.get().unwrap()).unwrap();
    let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&base).unwrap();
    cut_connections(&mut admin, &database_name(&database));
    let mut conn = pool.get().unwrap();
    match backend_pid(&mut conn) {
        // Handed out unpinged (it answered less than a second ago): the query fails …
        Err(_) => {}
        // … or, on a slow machine, the second had passed, it was pinged and replaced.
        Ok(pid) => assert_ne!(pid, first),
    }
    drop(conn);
    let second = backend_pid(&mut pool.get().unwrap()).expect("a working connection");
    assert_ne!(second, first, "the dead connection was handed out again");
}

/// Through the app: a request served by a connection whose server went away answers 503
/// `unavailable` (never a 500), and the request after it is served by a new connection (the
/// failed one was dropped). A pool of one, so both requests get the connection in question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_a_dead_connection_is_a_503_and_the_next_reconnects() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let database = TestDatabase::create(&base);
    let data_dir = tempfile::tempdir().unwrap();
    let settings = crate::helpers::test_settings_with(
        data_dir.path(),
        Some(&database.url),
        &[("TANGGAP_DB_POOL_SIZE", "1")],
    );
    let app = crate::helpers::spawn_with(settings, data_dir, None).await;
    let token = app.admin_token().await;
    assert_eq!(app.get("/api/me", Some(&token)).await.status, 200);
    let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&base).unwrap();
    cut_connections(&mut admin, &database_name(&database));
    let first = app.get("/api/me", Some(&token)).await;
    match first.status {
        // The connection answered less than a second ago: handed out unpinged, it fails.
        503 => assert_eq!(first.body["error"]["code"], "unavailable", "{}", first.body),
        // A machine slow enough that the second passed: pinged, replaced, served.
        status => assert_eq!(status, 200, "never a 500: {}", first.body),
    }
    let second = app.get("/api/me", Some(&token)).await;
    assert_eq!(second.status, 200, "{}", second.body);
}

/// Two intakes for one new customer on PostgreSQL, the second while the first's insert is not
/// yet committed: the second's insert waits on the unique contact index, writes nothing once
/// the first commits, and the second intake finds the first's customer (its transaction still
/// usable, no savepoint needed).
#[tokio::test]
async fn the_intake_that_loses_a_race_for_a_new_customer_finds_the_winners() {
    use diesel::connection::SimpleConnection;
    use diesel::QueryDsl;
    use tanggap::desk::customers::{find_or_create, CustomerInput};
    let Some(base) = postgres_base_url() else {
        return;
    };
    let database = TestDatabase::create(&base);
    let url = tanggap::config::DatabaseUrl::parse(&database.url).unwrap();
    let pool = tanggap::db::connect_pool(&url, 2).unwrap();
    let input = CustomerInput {
        name: Some("Wati".into()),
        whatsapp: Some("0857-7777-0002".into()),
        ..Default::default()
    };
    let locale = tanggap::config::Locale::Id;
    let mut first = pool.get().unwrap();
    first.batch_execute("BEGIN").unwrap();
    let (winner, created) = find_or_create(&mut first, &input, locale, "").unwrap();
    assert!(created);
    let second = std::thread::spawn({
        let (pool, input) = (pool.clone(), input.clone());
        move || {
            let mut conn = pool.get().unwrap();
            diesel::Connection::transaction(&mut **conn, |conn| {
                let found = find_or_create(conn, &input, locale, "");
                // The transaction is still usable after the insert that wrote nothing.
                let customers: i64 = tanggap::db::schema::customers::table
                    .count()
                    .get_result(conn)?;
                Ok::<_, tanggap::error::AppError>((found, customers))
            })
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !second.is_finished(),
        "the second insert waits for the first to commit"
    );
    first.batch_execute("COMMIT").unwrap();
    let (found, customers) = second.join().unwrap().unwrap();
    let (found, created) = found.unwrap();
    assert!(!created, "the loser creates nothing");
    assert_eq!(found.id, winner.id);
    assert_eq!(customers, 1);
}

/// Multi-row inserts stay under the parameters a statement takes (PostgreSQL 65,535, SQLite
/// 32,766): an overdue pass can queue a mail per manager for each of 500 alerts in one
/// transaction (15 columns a mail), and a bulk load writes thousands of events. 5,000 mails
/// (75,000 values) and 10,000 events (70,000) each went out as one statement and failed before.
/// The ids come back in row order: each is the id of the row at its place.
async fn bulk_inserts_stay_under_the_parameter_limit(app: TestApp) {
    use tanggap::db::{events, outbox};
    let token = app.admin_token().await;
    let ticket_id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let admin = app.get("/api/me", Some(&token)).await.body["id"]
        .as_i64()
        .unwrap();
    let mut conn = app.conn();
    let now = tanggap::db::now();
    // Every column given (a None is a NULL parameter too).
    let mails: Vec<outbox::NewMail> = (0..5_000)
        .map(|n| outbox::NewMail {
            idempotency_key: format!("bulk:{n}"),
            kind: "test".into(),
            ticket_id: Some(ticket_id),
            to_address: "rina@toko.test".into(),
            to_name: Some("Rina".into()),
            subject: format!("Janji #{n} lewat"),
            text_body: String::new(),
            html_body: String::new(),
            message_id: format!("<bulk-{n}@toko.test>"),
            in_reply_to: Some("<ticket@toko.test>".into()),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            template_data: Some("{}".into()),
        })
        .collect();
    let queued = outbox::insert_new(&mut conn, &mails).unwrap();
    assert_eq!(queued.len(), 5_000);
    // Queued once: the same keys again queue nothing.
    assert!(outbox::insert_new(&mut conn, &mails[..10])
        .unwrap()
        .is_empty());

    let many: Vec<events::NewEvent> = (0..10_000)
        .map(|n| events::NewEvent {
            ticket_id,
            actor_id: Some(admin),
            kind: "note".into(),
            visibility: "internal".into(),
            body: Some(format!("catatan {n}")),
            data: Some("{}".into()),
            created_at: now,
        })
        .collect();
    let ids = events::append_many(&mut conn, &many).unwrap();
    assert_eq!(ids.len(), 10_000);
    let stored = events::for_ticket(&mut conn, ticket_id, false).unwrap();
    let body_of: std::collections::HashMap<i64, String> = stored
        .into_iter()
        .map(|e| (e.id, e.body.unwrap_or_default()))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(body_of[id], format!("catatan {n}"), "id {id} at place {n}");
    }
}

backend_tests!(bulk_inserts_stay_under_the_parameter_limit);

/// The API document lists each vocabulary's words for every field that takes one, so every
/// route refuses a word outside it — also an action that does not read the field — and reads
/// the words as `parse` does ("EN" is English).
async fn vocabulary_fields_mean_the_same_on_every_route(app: TestApp) {
    let token = app.admin_token().await;
    let ticket = app.ticket(&token, json!({})).await;
    let id = ticket["id"].as_i64().unwrap();
    let version = ticket["version"].as_i64().unwrap();
    for (field, word) in [
        ("category", "salah_kirim"),
        ("solution_type", "uang_kembali"),
    ] {
        let reply = app
            .post(
                &format!("/api/tickets/{id}/acknowledge"),
                Some(&token),
                json!({"version": version, "message": "Terima kasih, Kak.", field: word}),
            )
            .await;
        assert_eq!(reply.status, 422, "{field}: {}", reply.body);
        assert!(reply.body.to_string().contains(field), "{}", reply.body);
    }
    // Nothing happened to the ticket.
    let after = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    assert_eq!(after.body["stage"], "new");
    // A known word is fine where it is not read.
    let reply = app
        .post(
            &format!("/api/tickets/{id}/acknowledge"),
            Some(&token),
            json!({"version": version, "message": "Terima kasih, Kak.", "category": "defective"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let lower = app
        .get("/api/canned-responses?locale=en", Some(&token))
        .await;
    let upper = app
        .get("/api/canned-responses?locale=EN", Some(&token))
        .await;
    assert_eq!(lower.status, 200);
    assert!(
        !lower.body["canned_responses"]
            .as_array()
            .unwrap()
            .is_empty(),
        "English canned responses are seeded"
    );
    assert_eq!(upper.body, lower.body);
    let wrong = app
        .get("/api/canned-responses?locale=fr", Some(&token))
        .await;
    assert_eq!(wrong.status, 422);
}

backend_tests!(vocabulary_fields_mean_the_same_on_every_route);

/// PostgreSQL cannot store a NUL in text (the fuzzer found 500s: a note body, a search `q`);
/// whichever way one arrives, the answer is a 422 naming the field, and nothing is written.
async fn text_with_a_nul_character_is_refused_wherever_it_arrives(app: TestApp) {
    let admin = app.admin_token().await;
    let ticket = app.ticket(&admin, json!({})).await["id"].as_i64().unwrap();
    let events = format!("/api/tickets/{ticket}/events");
    let before = app.get(&events, Some(&admin)).await.body;

    let refused = [
        (app.get("/api/customers?limit=5&q=h%F1%BC%87%93%00x", Some(&admin)).await, "q"),
        (app.get("/api/tickets?q=kaos%00", Some(&admin)).await, "q"),
        (
            app.post(&format!("/api/tickets/{ticket}/notes"), Some(&admin), json!({ "body": "kain\u{0}robek" }))
                .await,
            "body",
        ),
        (
            app.post("/api/auth/login", None, json!({ "email": "admin\u{0}@toko.test", "password": "x" }))
                .await,
            "email",
        ),
        (
            app.post("/api/tickets", Some(&admin), json!({ "channel": "whatsapp", "customer": { "name": "Sari\u{0}" }, "subject": "x" }))
                .await,
            "customer.name",
        ),
    ];
    for (reply, field) in refused {
        assert_eq!(reply.status, 422, "{field}: {}", reply.body);
        assert_eq!(
            reply.body["error"]["fields"][field], "must not contain a NUL character",
            "{}",
            reply.body
        );
    }
    let form = app
        .send(
            app.client
                .post(app.url("/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("email=a%00&password=x&csrf=x"),
        )
        .await;
    assert_eq!(form.status, 422, "{}", form.body);
    assert!(
        form.body["error"]["fields"]["email"].is_string(),
        "{}",
        form.body
    );

    // Nothing was written, and text that merely spells the escape is ordinary text.
    assert_eq!(app.get(&events, Some(&admin)).await.body, before);
    let spelled = app
        .post(
            &format!("/api/tickets/{ticket}/notes"),
            Some(&admin),
            json!({ "body": "ketik \\u0000 di kolom itu" }),
        )
        .await;
    assert_eq!(spelled.status, 201, "{}", spelled.body);
}

/// The name of a test database (a UUID of ours: safe to write into SQL).
fn database_name(database: &TestDatabase) -> String {
    url::Url::parse(&database.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned()
}

/// Ends every connection to the test database `name`, waiting (up to 5 s each) until its
/// backend has gone, so the next use of a pooled connection meets a dead one.
fn cut_connections(admin: &mut diesel::PgConnection, name: &str) {
    // The name is ours (a UUID); identifiers cannot be bound.
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(admin)
    .unwrap();
}
