//! Step 6 end to end: reminders, overdue alerts (exactly once, to the right manager, climbing
//! a level), target warnings and breaches, digests, customer emails, and delivery that loses
//! nothing — against a real SMTP server on loopback. Time comes from each pass's `now`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{postgres_base_url, spawn_app_with, Backend, TestApp};
use crate::smtp::SmtpServer;

/// Runs each test on SQLite and (when configured) PostgreSQL, with its own SMTP server.
macro_rules! mail_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::helpers::postgres_base_url().is_some() {
                    super::$name(crate::helpers::Backend::Postgres).await
                }
            }
        }
    )*};
}

mail_tests!(
    reminders_come_before_due_and_overdue_alerts_go_to_the_manager_once,
    an_agent_without_a_manager_alerts_every_manager,
    overdue_alerts_are_written_in_the_order_promises_were_made,
    a_pass_with_one_connection_writes_every_alert,
    a_down_smtp_server_loses_nothing_and_doubles_nothing,
    dead_letters_wait_for_an_admin_retry,
    two_dispatchers_send_every_mail_once,
    customer_emails_thread_and_resist_header_injection,
    the_daily_digest_comes_once_and_only_with_news,
    a_digest_lists_the_oldest_few_and_counts_the_rest,
    targets_warn_the_agent_then_alert_the_manager,
    the_resolution_clock_pauses_while_the_customer_decides,
    calendar_targets_and_knobs_are_admin_settings,
);

async fn start(backend: Backend) -> (SmtpServer, TestApp) {
    let server = SmtpServer::start().await;
    let url = server.url();
    let app = spawn_app_with(
        backend,
        &[
            ("TANGGAP_MAIL_URL", url.as_str()),
            ("TANGGAP_BASE_URL", "https://desk.toko.test"),
        ],
    )
    .await
    .expect("backend available");
    // Digests have a test of their own; elsewhere they would add a mail to every pass after 08:00.
    let admin = app.admin_token().await;
    let quiet = app
        .patch(
            "/api/settings",
            Some(&admin),
            json!({ "digest_time": "23:59" }),
        )
        .await;
    assert_eq!(quiet.status, 200, "{}", quiet.body);
    (server, app)
}

/// 14:00 (or `hour`) WIB on a working day at least three days ahead: Monday–Friday, not a
/// national holiday.
fn workday(hour: u32, after: NaiveDate) -> DateTime<Utc> {
    let holidays: Vec<&str> = tanggap::domain::business_time::INDONESIAN_HOLIDAYS
        .iter()
        .map(|(d, _)| *d)
        .collect();
    let mut day = after + Duration::days(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
        || holidays.contains(&day.format("%Y-%m-%d").to_string().as_str())
    {
        day += Duration::days(1);
    }
    chrono_tz::Asia::Jakarta
        .with_ymd_and_hms(day.year(), day.month(), day.day(), hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn at(day: DateTime<Utc>, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.with_timezone(&chrono_tz::Asia::Jakarta).date_naive();
    chrono_tz::Asia::Jakarta
        .with_ymd_and_hms(local.year(), local.month(), local.day(), hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn jakarta_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Asia::Jakarta).date_naive()
}

/// Creates a user through the API; returns (id, email, token).
async fn user(
    app: &TestApp,
    role: &str,
    name: &str,
    manager: Option<i64>,
) -> (i64, String, String) {
    let admin = app.admin_token().await;
    let email = format!(
        "{}.{}@toko.test",
        name.to_lowercase(),
        uuid::Uuid::new_v4().simple()
    );
    let reply = app
        .post("/api/users", Some(&admin), json!({ "email": email, "name": name, "role": role, "password": "kopi susu gula aren", "manager_id": manager }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (
        reply.body["id"].as_i64().unwrap(),
        email.clone(),
        app.token(&email, "kopi susu gula aren").await,
    )
}

/// An acknowledged ticket (so its first-response target is met; no customer email) held by
/// `token`'s user, with a promise due at `due`.
async fn promised(app: &TestApp, token: &str, due: DateTime<Utc>) -> (i64, i64) {
    let id = app.ticket(token, json!({ "priority": "low", "customer": { "name": "Sari Wulandari", "whatsapp": format!("0812{}", &uuid::Uuid::new_v4().as_u128().to_string()[..7]) } })).await["id"].as_i64().unwrap();
    app.step(
        token,
        id,
        "acknowledge",
        json!({ "message": "Terima kasih, Kak." }),
    )
    .await;
    let promise = app
        .post(
            &format!("/api/tickets/{id}/promises"),
            Some(token),
            json!({ "due_at": due, "what": "Kabari hasil cek gudang" }),
        )
        .await;
    assert_eq!(promise.status, 201, "{}", promise.body);
    (id, promise.body["id"].as_i64().unwrap())
}

async fn reminders_come_before_due_and_overdue_alerts_go_to_the_manager_once(backend: Backend) {
    let (server, app) = start(backend).await;
    let (boss, boss_email, _) = user(&app, "manager", "Bos", None).await;
    let (manager, manager_email, _) = user(&app, "manager", "Rina", Some(boss)).await;
    let (_, other_manager_email, _) = user(&app, "manager", "Lain", None).await;
    let (_, agent_email, agent) = user(&app, "agent", "Budi", Some(manager)).await;
    let due = workday(14, jakarta_date(Utc::now()) + Duration::days(2));
    let (ticket, _) = promised(&app, &agent, due).await;

    let early = app.tick(at(due, 9, 0)).await;
    assert_eq!(
        early.reminders, 0,
        "5 business hours ahead is too early for a reminder"
    );
    let reminded = app.tick(at(due, 13, 0)).await;
    assert_eq!(reminded.reminders, 1);
    assert_eq!(reminded.mail.sent, 1);
    app.tick(at(due, 13, 30)).await;
    let reminders = server.to(&agent_email);
    assert_eq!(reminders.len(), 1, "one reminder");
    assert!(reminders[0]
        .header("Subject")
        .unwrap()
        .contains(&format!("TGP-{ticket:06}")));

    let alerted = app.tick(at(due, 15, 0)).await;
    assert_eq!(alerted.overdue_alerts, 1);
    for later in [at(due, 15, 5), at(due, 16, 0)] {
        assert_eq!(app.tick(later).await.overdue_alerts, 0);
    }
    let alerts = server.to(&manager_email);
    assert_eq!(alerts.len(), 1, "exactly once, to the agent's own manager");
    assert!(
        server.to(&other_manager_email).is_empty(),
        "not to other managers"
    );
    let text = &alerts[0].data;
    for expected in [
        "Sari Wulandari",
        "Kabari hasil cek gudang",
        "Budi",
        &format!("https://desk.toko.test/tickets/{ticket}"),
    ] {
        assert!(text.contains(expected), "{expected} in the overdue email");
    }
    let events = app
        .get(&format!("/api/tickets/{ticket}/events"), Some(&agent))
        .await;
    let kinds: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"overdue_alert_sent") && kinds.contains(&"promise_reminder_sent"),
        "{kinds:?}"
    );

    // Still unkept a business day later: the alert climbs to the manager's own manager.
    let next_day = workday(16, jakarta_date(due));
    assert_eq!(
        app.tick(at(due, 17, 0)).await.escalated_alerts,
        0,
        "not yet"
    );
    let climbed = app.tick(next_day).await;
    assert_eq!(climbed.escalated_alerts, 1);
    app.tick(next_day + Duration::hours(1)).await;
    assert_eq!(server.to(&boss_email).len(), 1);
}

async fn an_agent_without_a_manager_alerts_every_manager(backend: Backend) {
    let (server, app) = start(backend).await;
    let (_, m1, _) = user(&app, "manager", "Satu", None).await;
    let (_, m2, _) = user(&app, "manager", "Dua", None).await;
    let (_, _, agent) = user(&app, "agent", "Solo", None).await;
    let due = workday(10, jakarta_date(Utc::now()) + Duration::days(2));
    promised(&app, &agent, due).await;
    app.tick(at(due, 11, 0)).await;
    let subjects: Vec<String> = server
        .to(&m1)
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    assert_eq!(server.to(&m1).len(), 1, "{subjects:?}");
    assert_eq!(server.to(&m2).len(), 1);
}

/// A pass writes its overdue alerts in the order the promises were made (the order their rows,
/// their tickets' timelines and their mail keys are stored in), not by due time: alerts written
/// one after another then share database pages, which made the pass at a million tickets about
/// twice as fast (BENCHMARKS.md §3).
/// The keys of the overdue alerts' mails, in the order they were queued.
fn queued_overdue_keys(app: &TestApp) -> Vec<String> {
    use tanggap::db::schema::outbox;
    outbox::table
        .filter(outbox::idempotency_key.like("overdue:promise:%"))
        .order(outbox::id.asc())
        .select(outbox::idempotency_key)
        .load(&mut **app.conn())
        .unwrap()
}

/// The keys the alerts of these promises to this manager carry.
fn overdue_keys(promises: &[i64], manager: i64) -> Vec<String> {
    promises
        .iter()
        .map(|id| format!("overdue:promise:{id}:to:{manager}"))
        .collect()
}

/// A manager's agent makes three promises, due 15:00, 10:00 and 13:00 of a workday, in that
/// order; gives the manager's id, the promises' ids in making order and the day.
async fn three_promises_due_at_15_10_13(
    backend: Backend,
) -> (SmtpServer, TestApp, i64, Vec<i64>, DateTime<Utc>) {
    let (server, app) = start(backend).await;
    let (manager, _, _) = user(&app, "manager", "Rina", None).await;
    let (_, _, agent) = user(&app, "agent", "Budi", Some(manager)).await;
    let day = workday(14, jakarta_date(Utc::now()) + Duration::days(2));
    let mut made = Vec::new();
    for hour in [15, 10, 13] {
        made.push(promised(&app, &agent, at(day, hour, 0)).await.1);
    }
    (server, app, manager, made, day)
}

async fn overdue_alerts_are_written_in_the_order_promises_were_made(backend: Backend) {
    let (_server, app, manager, made, day) = three_promises_due_at_15_10_13(backend).await;
    // Across batches too: the ids the pass walks come sorted (the index holds them by due time).
    let ids =
        tanggap::db::promises::overdue_unalerted_ids(&mut app.conn(), at(day, 16, 0).naive_utc())
            .unwrap();
    let mut sorted = made.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    let report = app.tick(at(day, 16, 0)).await;
    assert_eq!(report.overdue_alerts, 3);
    // The report tells finding the work apart from doing it: a part of the scan's wall time.
    assert!(
        report.find_ms > 0.0 && report.find_ms <= report.scan_ms as f64 + 1.0,
        "find_ms {} within scan_ms {}",
        report.find_ms,
        report.scan_ms
    );
    let (queued, expected) = (queued_overdue_keys(&app), overdue_keys(&made, manager));
    assert_eq!(
        queued, expected,
        "due 15:00, 10:00, 13:00, made in that order"
    );
    // The pass held the writer's checkpoints for its reading thread, and gave them back.
    let pages = tanggap::db::pool::autocheckpoint_pages(&mut app.conn()).unwrap();
    let expected = (backend == Backend::Sqlite).then_some(tanggap::db::pool::AUTOCHECKPOINT_PAGES);
    assert_eq!(pages, expected);
}

/// The overdue pass on SQLite reads and renders the next batch on a second connection while it
/// writes; with none free (here a pool of one, which `TANGGAP_DB_POOL_SIZE=1` allows) it does
/// both on its own, instead of waiting for a connection that never comes and failing the pass.
/// (PostgreSQL always works one batch after another.)
async fn a_pass_with_one_connection_writes_every_alert(backend: Backend) {
    let (_server, app, manager, made, day) = three_promises_due_at_15_10_13(backend).await;
    let one = tanggap::db::connect_pool(&app.state.settings.database_url, 1).unwrap();
    let report = tanggap::jobs::follow_up::scan(&one, &app.state.mailroom, at(day, 16, 0)).unwrap();
    assert_eq!(report.overdue_alerts, 3);
    let (queued, expected) = (queued_overdue_keys(&app), overdue_keys(&made, manager));
    assert_eq!(queued, expected);
}

async fn a_down_smtp_server_loses_nothing_and_doubles_nothing(backend: Backend) {
    let (server, app) = start(backend).await;
    let admin = app.admin_token().await;
    let (manager, manager_email, _) = user(&app, "manager", "Rina", None).await;
    let (_, _, agent) = user(&app, "agent", "Budi", Some(manager)).await;
    let due = workday(14, jakarta_date(Utc::now()) + Duration::days(2));
    promised(&app, &agent, due).await;

    server.stop();
    let failed = app.tick(at(due, 15, 0)).await;
    assert_eq!(
        (failed.overdue_alerts, failed.mail.sent, failed.mail.failed),
        (1, 0, 1)
    );
    let pending = app.get("/api/outbox?status=pending", Some(&admin)).await;
    let mails = pending.body["mails"].as_array().unwrap();
    assert_eq!(mails.len(), 1, "{}", pending.body);
    assert_eq!(mails[0]["attempts"], 1);
    assert!(mails[0]["last_error"].is_string());

    let server = server.restart().await;
    assert_eq!(
        app.tick(at(due, 15, 0)).await.mail.sent,
        0,
        "a retry waits for its backoff"
    );
    assert_eq!(app.tick(at(due, 15, 2)).await.mail.sent, 1);
    assert_eq!(app.tick(at(due, 16, 0)).await.mail.sent, 0);
    assert_eq!(server.to(&manager_email).len(), 1, "delivered once");
    let sent = app.get("/api/outbox?status=sent", Some(&admin)).await;
    assert_eq!(sent.body["mails"].as_array().unwrap().len(), 1);
}

async fn dead_letters_wait_for_an_admin_retry(backend: Backend) {
    let (server, app) = start(backend).await;
    let admin = app.admin_token().await;
    let (manager, manager_email, manager_token) = user(&app, "manager", "Rina", None).await;
    let (_, _, agent) = user(&app, "agent", "Budi", Some(manager)).await;
    let due = workday(9, jakarta_date(Utc::now()) + Duration::days(2));
    promised(&app, &agent, due).await;
    server.stop();
    let mut now = at(due, 10, 0);
    for _ in 0..tanggap::mail::dispatch::MAX_ATTEMPTS {
        app.tick(now).await;
        now += Duration::hours(3);
    }
    let dead = app.get("/api/outbox?status=dead", Some(&admin)).await;
    let mails = dead.body["mails"].as_array().unwrap();
    assert_eq!(mails.len(), 1, "{}", dead.body);
    assert_eq!(mails[0]["attempts"], tanggap::mail::dispatch::MAX_ATTEMPTS);
    assert!(!mails[0]["last_error"].as_str().unwrap().is_empty());
    let id = mails[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.tick(now).await.mail.sent,
        0,
        "dead mail is not retried by itself"
    );
    assert_eq!(
        app.post(
            &format!("/api/outbox/{id}/retry"),
            Some(&manager_token),
            json!({})
        )
        .await
        .status,
        403,
        "admins only"
    );

    let server = server.restart().await;
    let retried = app
        .post(&format!("/api/outbox/{id}/retry"), Some(&admin), json!({}))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["status"], "pending");
    assert_eq!(
        app.tick(Utc::now() + Duration::minutes(1)).await.mail.sent,
        1
    );
    assert_eq!(server.to(&manager_email).len(), 1);
    assert_eq!(
        app.post(&format!("/api/outbox/{id}/retry"), Some(&admin), json!({}))
            .await
            .status,
        409,
        "sent mail stays sent"
    );
}

async fn two_dispatchers_send_every_mail_once(backend: Backend) {
    let (server, app) = start(backend).await;
    let (manager, _, _) = user(&app, "manager", "Rina", None).await;
    let (_, _, agent) = user(&app, "agent", "Budi", Some(manager)).await;
    let due = workday(9, jakarta_date(Utc::now()) + Duration::days(2));
    for _ in 0..15 {
        promised(&app, &agent, due).await;
    }
    let now = at(due, 12, 0);
    let scanned = tanggap::jobs::follow_up::scan(&app.pool, &app.state.mailroom, now).unwrap();
    assert_eq!(scanned.overdue_alerts, 15);
    // A second app server: its own pool and its own SMTP connections, on the same database.
    let second_pool = tanggap::db::connect_pool(&app.state.settings.database_url, 4).unwrap();
    let second_mailer =
        tanggap::mail::transport::Mailer::from_settings(&app.state.settings).unwrap();
    let (a, b) = tokio::join!(
        tanggap::mail::dispatch::dispatch(
            &app.pool,
            &app.state.mailer,
            &app.state.mailroom,
            "server-a",
            now.naive_utc()
        ),
        tanggap::mail::dispatch::dispatch(
            &second_pool,
            &second_mailer,
            &app.state.mailroom,
            "server-b",
            now.naive_utc()
        ),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 15, "{a:?} {b:?}");
    let mut ids: Vec<String> = server
        .received()
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 15);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 15, "no mail sent twice");
}

async fn customer_emails_thread_and_resist_header_injection(backend: Backend) {
    let (server, app) = start(backend).await;
    let token = app.admin_token().await;
    let ticket = app
        .ticket(&token, json!({ "subject": "Kaos sobek\r\nBcc: evil@attacker.test", "customer": { "name": "Maya", "email": "maya@mail.test", "locale": "en" } }))
        .await;
    let id = ticket["id"].as_i64().unwrap();
    app.step(
        &token,
        id,
        "acknowledge",
        json!({ "message": "Thank you for telling us, Maya." }),
    )
    .await;
    app.step(
        &token,
        id,
        "record",
        json!({ "category": "defective", "details": "Seam" }),
    )
    .await;
    app.step(&token, id, "diagnose", json!({ "root_cause": "QC" }))
        .await;
    app.step(
        &token,
        id,
        "propose",
        json!({ "solution_type": "refund", "solution": "A full refund today." }),
    )
    .await;
    app.step(&token, id, "customer-response", json!({ "accepted": true }))
        .await;
    app.step(
        &token,
        id,
        "resolve",
        json!({ "summary": "Refunded.", "notify_customer": false }),
    )
    .await;
    app.tick(Utc::now()).await;

    let mails = server.to("maya@mail.test");
    assert_eq!(
        mails.len(),
        2,
        "acknowledgement and proposal; the resolution was not to be emailed"
    );
    assert!(server
        .received()
        .iter()
        .all(|m| !m.to.iter().any(|t| t.contains("attacker"))));
    let thread = format!("<ticket-{id}@localhost>");
    for mail in &mails {
        assert_eq!(
            mail.from, "tanggap@localhost",
            "the envelope sender is TANGGAP_MAIL_FROM"
        );
        assert_eq!(mail.header_count("Subject"), 1);
        assert_eq!(
            mail.header_count("Bcc"),
            0,
            "the subject could not add a header"
        );
        assert!(mail
            .header("Subject")
            .unwrap()
            .contains(&format!("TGP-{id:06}")));
        assert_eq!(mail.header("In-Reply-To").as_deref(), Some(thread.as_str()));
        assert_eq!(mail.header("References").as_deref(), Some(thread.as_str()));
        assert!(mail
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"));
    }
    assert_ne!(mails[0].header("Message-ID"), mails[1].header("Message-ID"));
    assert!(
        mails[1].data.contains("A full refund today."),
        "the proposal, in the customer's English template"
    );
    let events = app
        .get(&format!("/api/tickets/{id}/events"), Some(&token))
        .await;
    let emailed = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "customer_emailed")
        .count();
    assert_eq!(emailed, 2);

    // A customer who opted out gets nothing.
    let quiet = app
        .ticket(
            &token,
            json!({ "customer": { "name": "Diam", "email": "diam@mail.test" } }),
        )
        .await;
    let customer = quiet["customer"]["id"].as_i64().unwrap();
    app.patch(
        &format!("/api/customers/{customer}"),
        Some(&token),
        json!({ "email_opt_out": true, "version": 1 }),
    )
    .await;
    app.step(
        &token,
        quiet["id"].as_i64().unwrap(),
        "acknowledge",
        json!({ "message": "Terima kasih" }),
    )
    .await;
    app.tick(Utc::now()).await;
    assert!(server.to("diam@mail.test").is_empty());
}

/// Digests at 08:00, a manager (Rina) and her agent (Budi): the manager's address and the
/// agent's token.
async fn digest_team(app: &TestApp) -> (String, String) {
    let (manager, manager_email, _) = user(app, "manager", "Rina", None).await;
    let admin = app.admin_token().await;
    app.patch(
        "/api/settings",
        Some(&admin),
        json!({ "digest_time": "08:00" }),
    )
    .await;
    let (_, _, agent) = user(app, "agent", "Budi", Some(manager)).await;
    (manager_email, agent)
}

async fn the_daily_digest_comes_once_and_only_with_news(backend: Backend) {
    let (server, app) = start(backend).await;
    let (manager_email, agent) = digest_team(&app).await;
    let (_, quiet_email, _) = user(&app, "manager", "Tenang", None).await;
    let due = workday(10, jakarta_date(Utc::now()) + Duration::days(2));
    let (ticket, _) = promised(&app, &agent, due).await;
    let next = workday(7, jakarta_date(due));
    let digests_of = |server: &SmtpServer| -> Vec<crate::smtp::Received> {
        server
            .to(&manager_email)
            .into_iter()
            .filter(|m| m.header("In-Reply-To").is_none())
            .collect()
    };
    assert_eq!(
        app.tick(at(due, 11, 0)).await.digests,
        1,
        "the promise went overdue today: today's digest has it"
    );
    let before = app.tick(at(next, 7, 0)).await;
    assert_eq!(before.digests, 0, "not before 08:00 local");
    let digest = app.tick(at(next, 8, 5)).await;
    assert_eq!(digest.digests, 1);
    assert_eq!(
        app.tick(at(next, 9, 0)).await.digests,
        0,
        "one digest a day"
    );
    let digests = digests_of(&server);
    assert_eq!(digests.len(), 2);
    assert!(digests[1].data.contains(&format!("TGP-{ticket:06}")));
    assert!(digests[1].data.contains("Budi"));
    assert!(
        server
            .to(&quiet_email)
            .iter()
            .all(|m| m.header("In-Reply-To").is_some()),
        "no digest when there is nothing to report"
    );
}

/// A digest stays a short mail however much is overdue: ten items per agent, the oldest first,
/// and a count of the rest with a link to the queue (a million tickets once made a 3 GB mail).
async fn a_digest_lists_the_oldest_few_and_counts_the_rest(backend: Backend) {
    let (server, app) = start(backend).await;
    let (manager_email, agent) = digest_team(&app).await;
    let first_due = workday(9, jakarta_date(Utc::now()) + Duration::days(2));
    let mut tickets = Vec::new();
    for n in 0..13 {
        let (ticket, _) = promised(&app, &agent, first_due + Duration::minutes(n)).await;
        tickets.push(ticket);
    }
    let next = workday(7, jakarta_date(first_due));
    assert_eq!(app.tick(at(next, 8, 5)).await.digests, 1);
    let digest = server
        .to(&manager_email)
        .into_iter()
        .find(|m| m.header("In-Reply-To").is_none())
        .expect("a digest (the only mail not about one ticket)");
    // Long lines come quoted-printable: undo the soft breaks and the escaped "=".
    let text = digest
        .data
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let listed: Vec<i64> = tickets
        .iter()
        .copied()
        .filter(|t| text.contains(&format!("TGP-{t:06}")))
        .collect();
    assert_eq!(listed, tickets[..10], "the ten most overdue");
    let places: Vec<usize> = listed
        .iter()
        .map(|t| text.find(&format!("TGP-{t:06}")).unwrap())
        .collect();
    assert!(places.is_sorted(), "listed in order of due time");
    // The manager reads Indonesian (the shop's default language).
    assert!(
        text.contains("Budi: 13 janji terlambat"),
        "the true count: {}",
        text
    );
    assert!(
        text.contains("dan 3 lainnya di antrean"),
        "the rest counted"
    );
    let agent_id = app.get("/api/me", Some(&agent)).await.body["id"]
        .as_i64()
        .unwrap();
    let link = format!("https://desk.toko.test/queue?tab=all&overdue=true&assignee={agent_id}");
    assert!(
        text.contains(&link),
        "a link to this agent's overdue tickets ({link}): {}",
        text
    );
    // The link opens.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&link.replace("https://desk.toko.test", "")))
        .header("cookie", format!("tanggap_session={agent}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
}

async fn targets_warn_the_agent_then_alert_the_manager(backend: Backend) {
    let (server, app) = start(backend).await;
    let (manager, manager_email, _) = user(&app, "manager", "Rina", None).await;
    let (_, agent_email, agent) = user(&app, "agent", "Budi", Some(manager)).await;
    let ticket = app.ticket(&agent, json!({ "priority": "urgent" })).await;
    let id = ticket["id"].as_i64().unwrap();
    let due: DateTime<Utc> = ticket["first_response_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ticket["resolution_due_at"].is_string());

    let warned = app.tick(due - Duration::minutes(10)).await;
    assert_eq!(warned.target_warnings, 1);
    assert_eq!(server.to(&agent_email).len(), 1);
    let breached = app.tick(due + Duration::minutes(1)).await;
    assert_eq!(breached.target_breaches, 1);
    app.tick(due + Duration::minutes(30)).await;
    assert_eq!(server.to(&manager_email).len(), 1, "one breach alert");
    let view = app.get(&format!("/api/tickets/{id}"), Some(&agent)).await;
    assert_eq!(view.body["first_response_breached"], true);
    let listed = app.get("/api/tickets?breached=true", Some(&agent)).await;
    assert_eq!(listed.body["tickets"][0]["id"], id);

    // A new priority recomputes the targets from when the ticket came in.
    let low = app
        .patch(
            &format!("/api/tickets/{id}"),
            Some(&agent),
            json!({ "priority": "low", "version": view.body["version"] }),
        )
        .await;
    assert_eq!(low.status, 200);
    let new_due: DateTime<Utc> = low.body["first_response_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(new_due > due, "low priority allows longer");
    assert_eq!(low.body["first_response_breached"], false);
}

async fn the_resolution_clock_pauses_while_the_customer_decides(backend: Backend) {
    let (_server, app) = start(backend).await;
    let token = app.admin_token().await;
    let id = app.ticket(&token, json!({})).await["id"].as_i64().unwrap();
    let proposed = app.walk_to_proposal(&token, id, "voucher", "Voucher").await;
    assert_eq!(proposed["clock_paused"], true);
    let before: DateTime<Utc> = proposed["resolution_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The customer took a week to answer.
    {
        use tanggap::db::schema::tickets;
        let week_ago = (Utc::now() - Duration::days(7)).naive_utc();
        diesel::update(tickets::table.find(id))
            .set(tickets::clock_paused_at.eq(Some(week_ago)))
            .execute(&mut **app.conn())
            .unwrap();
    }
    let answered = app
        .step(&token, id, "customer-response", json!({ "accepted": true }))
        .await;
    assert_eq!(answered["clock_paused"], false);
    let after: DateTime<Utc> = answered["resolution_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        after >= before + Duration::days(5),
        "the week of waiting (≥ 5 working days) moves the target: {before} → {after}"
    );
}

async fn calendar_targets_and_knobs_are_admin_settings(backend: Backend) {
    let (_server, app) = start(backend).await;
    let admin = app.admin_token().await;
    let (_, _, agent) = user(&app, "agent", "Budi", None).await;
    let targets = app.get("/api/targets", Some(&agent)).await;
    assert_eq!(targets.status, 200, "{}", targets.body);
    let urgent = targets.body["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["priority"] == "urgent")
        .unwrap_or_else(|| panic!("{}", targets.body))
        .clone();
    assert_eq!(urgent["first_response_minutes"], 60);
    assert_eq!(app.put_json("/api/targets/urgent", &agent, json!({ "first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 300 })).await.status, 403);
    let changed = app.put_json("/api/targets/urgent", &admin, json!({ "first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 300 })).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["first_response_minutes"], 30);
    assert_eq!(app.put_json("/api/targets/asap", &admin, json!({ "first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 300 })).await.status, 422);

    let hours = app.get("/api/business-hours", Some(&agent)).await;
    assert_eq!(hours.body["timezone"], "Asia/Jakarta");
    assert_eq!(
        hours.body["days"][0],
        json!({ "weekday": 0, "open": "08:00", "close": "17:00" })
    );
    assert!(hours.body["days"][6]["open"].is_null(), "closed on Sunday");
    let bad = app
        .put_json(
            "/api/business-hours",
            &admin,
            json!({ "days": [{ "weekday": 0, "open": "17:00", "close": "08:00" }] }),
        )
        .await;
    assert_eq!(bad.status, 422);
    let sunday = app
        .put_json(
            "/api/business-hours",
            &admin,
            json!({ "days": [{ "weekday": 6, "open": "10:00", "close": "14:00" }] }),
        )
        .await;
    assert_eq!(sunday.body["days"][6]["open"], "10:00");

    let holidays = app.get("/api/holidays", Some(&agent)).await;
    assert!(
        holidays.body["holidays"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["date"] == "2026-08-17"),
        "Independence Day ships by default"
    );
    let added = app
        .post(
            "/api/holidays",
            Some(&admin),
            json!({ "date": "2026-12-31", "name": "Cuti bersama" }),
        )
        .await;
    assert_eq!(added.status, 201);
    let client = app
        .client
        .delete(app.url("/api/holidays/2026-12-31"))
        .bearer_auth(&admin);
    assert_eq!(app.send(client).await.status, 204);
    let again = app
        .client
        .delete(app.url("/api/holidays/2026-12-31"))
        .bearer_auth(&admin);
    assert_eq!(app.send(again).await.status, 404);

    let knobs = app
        .patch(
            "/api/settings",
            Some(&admin),
            json!({ "reminder_lead_minutes": 60, "digest_time": "07:30" }),
        )
        .await;
    assert_eq!(knobs.status, 200, "{}", knobs.body);
    assert_eq!(knobs.body["reminder_lead_minutes"], 60);
    assert_eq!(knobs.body["digest_time"], "07:30");
    let bad = app
        .patch(
            "/api/settings",
            Some(&admin),
            json!({ "digest_time": "25:00", "target_warning_minutes": -5 }),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body["error"]["fields"]["digest_time"].is_string()
            && bad.body["error"]["fields"]["target_warning_minutes"].is_string()
    );
    assert_eq!(app.get("/api/outbox", Some(&agent)).await.status, 403);

    // What intake and the clock read in one statement is what the admin stored.
    let added = app
        .post(
            "/api/holidays",
            Some(&admin),
            json!({ "date": "2026-12-30", "name": "Cuti bersama" }),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let zone: chrono_tz::Tz = "Asia/Jakarta".parse().unwrap();
    let stored = |auto: bool| {
        let mut conn = app.conn();
        let rules = tanggap::desk::targets::rules(&mut conn, zone, "urgent").unwrap();
        assert_eq!(rules.auto_assign, auto);
        assert_eq!(
            (
                rules.policy.first_response_minutes,
                rules.policy.next_response_minutes,
                rules.policy.resolution_minutes
            ),
            (30, 60, 300),
            "the stored urgent policy"
        );
        assert_eq!(rules.policy.priority, "urgent");
        let week = rules.calendar.week;
        assert_eq!(week[0].map(|h| (h.open, h.close)), Some((8 * 60, 17 * 60)));
        assert_eq!(
            week[6].map(|h| (h.open, h.close)),
            Some((10 * 60, 14 * 60)),
            "Sunday opened"
        );
        let days = &rules.calendar.holidays;
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        assert!(days.contains(&day("2026-12-30")) && days.contains(&day("2026-08-17")));
        assert!(
            !days.contains(&day("2026-12-31")),
            "a removed holiday is gone"
        );
        let listed = tanggap::desk::targets::holiday_list(&mut conn).unwrap();
        assert_eq!(days.len(), listed.len());
        let normal = tanggap::desk::targets::rules(&mut conn, zone, "normal").unwrap();
        assert_eq!(
            normal.policy,
            tanggap::desk::targets::policy_for(&mut conn, "normal").unwrap()
        );
        // A priority whose stored row is gone falls back to its built-in policy.
        diesel::delete(
            tanggap::db::schema::target_policies::table
                .filter(tanggap::db::schema::target_policies::priority.eq("low")),
        )
        .execute(&mut **conn)
        .unwrap();
        let low = tanggap::desk::targets::rules(&mut conn, zone, "low").unwrap();
        let built_in = tanggap::desk::targets::default_policies()
            .into_iter()
            .find(|p| p.priority == "low")
            .unwrap();
        assert_eq!(low.policy, built_in);
    };
    stored(false);
    let on = app
        .patch(
            "/api/settings",
            Some(&admin),
            json!({ "auto_assign": true }),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    stored(true);
    let _ = postgres_base_url();
}
