//! Faults, with the real binary: a server killed with SIGKILL in the middle of sending mail
//! and started again, and two app servers on one PostgreSQL racing for the same work (the
//! scheduler's passes, the outbox, and edits of one ticket).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use serde_json::{json, Value};
use tanggap::config::DatabaseUrl;
use tanggap::db::outbox::OutboxMail;
use tanggap::db::DbPool;

use crate::helpers::{
    postgres_base_url, spawn_app_with, Backend, TestApp, TestDatabase, ADMIN_PASSWORD, JWT_SECRET,
};
use crate::smtp::{Received, SmtpServer};

const BIN: &str = env!("CARGO_BIN_EXE_tanggap");

/// The lease the spawned servers hold a mail for (TANGGAP_MAIL_LEASE_SECONDS): short, so that
/// the restarted server takes over the mail in flight within the test's time.
const LEASE_SECONDS: i64 = 3;

mod kill_9_mid_send_delivers_every_mail_and_doubles_only_the_one_in_flight {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::kill_9_mid_send_delivers_every_mail_and_doubles_only_the_one_in_flight(
            crate::helpers::Backend::Sqlite,
        )
        .await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if crate::helpers::postgres_base_url().is_some() {
            super::kill_9_mid_send_delivers_every_mail_and_doubles_only_the_one_in_flight(
                crate::helpers::Backend::Postgres,
            )
            .await
        }
    }
}

/// How many customer mails wait in the outbox, and which of them is in flight at the kill:
/// mid-batch (a claim takes 20), so claimed-but-unsent mails are stranded too.
const MAILS: usize = 36;
const HELD: usize = 7;

async fn kill_9_mid_send_delivers_every_mail_and_doubles_only_the_one_in_flight(backend: Backend) {
    let smtp = SmtpServer::start_holding(HELD).await;
    // The desk where the mails are written. Its own scheduler is off (the test settings), so
    // only the spawned servers send.
    let app = spawn_app_with(backend, &[])
        .await
        .expect("backend available");
    let admin = app.admin_token().await;
    quiet_digests(&app, &admin).await;
    for i in 0..MAILS {
        let ticket = app
            .ticket(
                &admin,
                json!({ "customer": { "name": format!("Pelanggan {i}"), "email": customer(i) } }),
            )
            .await;
        app.step(
            &admin,
            ticket["id"].as_i64().unwrap(),
            "acknowledge",
            json!({ "message": "Terima kasih, Kak. Kami cek dulu ya." }),
        )
        .await;
    }
    let queued = outbox(&app.pool);
    assert_eq!(queued.len(), MAILS, "one acknowledgement per ticket");
    assert!(queued
        .iter()
        .all(|m| m.status == "pending" && m.kind == "customer_acknowledged"));

    let dir = tempfile::tempdir().unwrap();
    let env = server_env(dir.path(), &database_url(&app), &smtp.url());
    let mut first = Process::serve(dir.path(), &env).await;
    let held = wait_for(Duration::from_secs(20), || smtp.held())
        .await
        .unwrap_or_else(|| panic!("mail {HELD} never arrived; log:\n{}", first.log()));
    // SIGKILL: no shutdown hook runs, nothing is marked, the held mail's answer never comes.
    first.kill();

    assert_eq!(
        smtp.received().len(),
        HELD,
        "the dispatcher was waiting for the answer to mail {HELD}"
    );
    let held_id = held.header("Message-ID").expect("a Message-ID");
    let rows = outbox(&app.pool);
    let in_flight = rows
        .iter()
        .find(|m| m.message_id == held_id)
        .expect("the held mail is an outbox row");
    assert_eq!(
        (in_flight.status.as_str(), in_flight.attempts),
        ("sending", 1),
        "killed after the SMTP server had it, before it was marked sent"
    );
    let lease_end = in_flight.locked_until.expect("a sending mail has a lease");
    assert_eq!(
        rows.iter().filter(|m| m.status == "sent").count(),
        HELD - 1,
        "the mails answered before the kill are marked sent"
    );
    smtp.release();

    let mut second = Process::serve(dir.path(), &env).await;
    let drained = wait_for(Duration::from_secs(20), || {
        let rows = outbox(&app.pool);
        rows.iter().all(|m| m.status == "sent").then_some(rows)
    })
    .await;
    second.kill();
    let rows = drained.unwrap_or_else(|| {
        let left: Vec<_> = outbox(&app.pool)
            .into_iter()
            .filter(|m| m.status != "sent")
            .map(|m| (m.id, m.status, m.locked_until))
            .collect();
        panic!(
            "the outbox was not drained after the restart: {left:?}; log:\n{}",
            second.log()
        )
    });

    assert_eq!(rows.len(), MAILS, "nothing else was queued meanwhile");
    let resent = rows.iter().find(|m| m.message_id == held_id).unwrap();
    assert_eq!(resent.attempts, 2, "claimed again once, after the restart");
    assert!(
        resent.sent_at.unwrap() >= lease_end,
        "the mail in flight was taken over only when its lease ran out ({:?} < {lease_end})",
        resent.sent_at
    );
    let received = smtp.received();
    for row in &rows {
        // Counted by recipient (one customer per mail), so the Message-ID check below means
        // something: a resend must carry the Message-ID of the first copy.
        let copies: Vec<&Received> = received
            .iter()
            .filter(|m| m.to.contains(&row.to_address))
            .collect();
        let expected = if row.message_id == held_id { 2 } else { 1 };
        assert_eq!(
            copies.len(),
            expected,
            "copies of mail {} to {}",
            row.id,
            row.to_address
        );
        for copy in copies {
            assert_eq!(
                copy.header("Message-ID").as_deref(),
                Some(row.message_id.as_str()),
                "every copy of mail {} carries its Message-ID",
                row.id
            );
        }
    }
    assert_eq!(received.len(), MAILS + 1, "no mail beyond the outbox's");
}

/// Promises made on two app servers: reminders, overdue alerts and climbed alerts.
const PROMISES: usize = 6;
const EDIT_ROUNDS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_app_servers_on_one_postgres_send_each_mail_once_and_refuse_stale_edits() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let database = TestDatabase::create(&base);
    let smtp = SmtpServer::start().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env_a = server_env(dir_a.path(), &database.url, &smtp.url());
    let env_b = server_env(dir_b.path(), &database.url, &smtp.url());
    let server_a = Process::serve(dir_a.path(), &env_a).await;
    let one_time = server_a
        .stdout
        .iter()
        .find_map(|l| l.trim_start().strip_prefix("password:"))
        .expect("the first server prints the first admin's password")
        .trim()
        .to_owned();
    let server_b = Process::serve(dir_b.path(), &env_b).await;
    let (a, b) = (server_a.base.as_str(), server_b.base.as_str());
    let pool = tanggap::db::connect_pool(&DatabaseUrl::Postgres(database.url.clone()), 2).unwrap();
    let http = Http(reqwest::Client::new());

    // The admin changes the one-time password on A and signs in on B: one user table.
    let first = http.login(a, ADMIN_EMAIL, &one_time).await;
    let changed = http
        .post(
            &format!("{a}/api/auth/password"),
            &first,
            json!({ "current_password": one_time, "new_password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(changed.0, 200, "{}", changed.1);
    let admin = http.login(b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let quiet = http
        .patch(
            &format!("{b}/api/settings"),
            &admin,
            json!({ "digest_time": "23:59" }),
        )
        .await;
    assert_eq!(quiet.0, 200, "{}", quiet.1);
    let (boss, boss_email) = http.user(a, &admin, "manager", "Bos", None).await;
    let (manager, manager_email) = http.user(b, &admin, "manager", "Rina", Some(boss)).await;
    let (_, agent_email) = http.user(a, &admin, "agent", "Budi", Some(manager)).await;
    let agent = http.login(b, &agent_email, USER_PASSWORD).await;

    // Promises made half on A, half on B, each acknowledged on the other server.
    let due = workday(14, jakarta_date(Utc::now()) + chrono::Duration::days(2));
    let mut promised = Vec::new();
    for i in 0..PROMISES {
        let (here, there) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let id = http.ticket(here, &agent, &customer(i)).await;
        http.acknowledge(there, &agent, id).await;
        let promise = http
            .post(
                &format!("{here}/api/tickets/{id}/promises"),
                &agent,
                json!({ "due_at": due, "what": "Kabari hasil cek gudang" }),
            )
            .await;
        assert_eq!(promise.0, 201, "{}", promise.1);
        promised.push(id);
    }
    // The customers' acknowledgements and promises go out through the servers' own passes.
    let rows = drain(&pool, &[&server_a, &server_b]).await;
    assert_eq!(rows.len(), 2 * PROMISES, "{:?}", kinds(&rows));
    assert_delivered_once(&rows, &smtp);

    // The follow-up cycle, each step as two passes at the same time (one per server's
    // configuration, like two crons), while both servers' schedulers also run every second.
    let steps = [
        (
            at(due, 13, 0),
            "reminders",
            "promise_reminder",
            &agent_email,
        ),
        (
            at(due, 15, 0),
            "overdue_alerts",
            "promise_overdue",
            &manager_email,
        ),
        (
            workday(16, jakarta_date(due)),
            "escalated_alerts",
            "promise_overdue_escalated",
            &boss_email,
        ),
    ];
    for (now, counter, kind, recipient) in steps {
        let reports = two_passes(&env_a, &env_b, dir_a.path(), now).await;
        assert_eq!(
            reports
                .iter()
                .map(|r| r[counter].as_u64().unwrap())
                .sum::<u64>(),
            PROMISES as u64,
            "{counter}: each promise once over both passes: {reports:?}"
        );
        let again = two_passes(&env_a, &env_b, dir_a.path(), now).await;
        assert!(
            again.iter().all(|r| r[counter] == 0),
            "{counter}: nothing left to do: {again:?}"
        );
        let rows = drain(&pool, &[&server_a, &server_b]).await;
        let mut tickets: Vec<i64> = rows
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| {
                assert_eq!(&m.to_address, recipient, "{kind} goes to the right person");
                m.ticket_id.unwrap()
            })
            .collect();
        tickets.sort();
        assert_eq!(tickets, promised, "one {kind} per promise");
        assert_delivered_once(&rows, &smtp);
    }

    // One ticket edited from both servers at once, with the version both of them saw.
    let id = http.ticket(a, &agent, "rebutan@mail.test").await;
    http.acknowledge(b, &agent, id).await;
    let start = http.get(&format!("{a}/api/tickets/{id}"), &agent).await;
    let first_version = start.1["version"].as_i64().unwrap();
    let mut winners = Vec::new();
    for round in 0..EDIT_ROUNDS {
        let version = first_version + round as i64;
        let subject_a = format!("Ronde {round}: dari server A");
        let subject_b = format!("Ronde {round}: dari server B");
        let (url_a, url_b) = (
            format!("{a}/api/tickets/{id}"),
            format!("{b}/api/tickets/{id}"),
        );
        let (reply_a, reply_b) = tokio::join!(
            http.patch(
                &url_a,
                &agent,
                json!({ "subject": subject_a, "version": version })
            ),
            http.patch(
                &url_b,
                &agent,
                json!({ "subject": subject_b, "version": version })
            ),
        );
        let (winner, subject, loser, other) = match (reply_a.0, reply_b.0) {
            (200, 409) => (reply_a, subject_a, reply_b, b),
            (409, 200) => (reply_b, subject_b, reply_a, a),
            (x, y) => panic!("round {round}: A {x} {}, B {y} {}", reply_a.1, reply_b.1),
        };
        assert_eq!(loser.1["error"]["code"], "stale", "{}", loser.1);
        assert!(loser.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(winner.1["subject"], subject.as_str());
        assert_eq!(winner.1["version"], version + 1);
        // The other server reads what the winner wrote.
        let stored = http.get(&format!("{other}/api/tickets/{id}"), &agent).await;
        assert_eq!(
            (&stored.1["subject"], &stored.1["version"]),
            (&json!(subject), &json!(version + 1)),
            "round {round}"
        );
        winners.push(subject);
    }
    let events = http
        .get(&format!("{b}/api/tickets/{id}/events"), &agent)
        .await;
    let edits: Vec<String> = events.1["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "updated")
        .map(|e| {
            let data = match &e["data"] {
                Value::String(text) => serde_json::from_str(text).unwrap(),
                other => other.clone(),
            };
            data["after"]["subject"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        edits, winners,
        "every winning edit in the timeline, in order"
    );

    // Late duplicates would show now: the schedulers ran all along.
    let rows = drain(&pool, &[&server_a, &server_b]).await;
    assert_delivered_once(&rows, &smtp);
    drop((server_a, server_b));
}

const ADMIN_EMAIL: &str = "admin@tanggap.local";
const USER_PASSWORD: &str = "kopi susu gula aren";

fn customer(i: usize) -> String {
    format!("pelanggan{i}@mail.test")
}

/// Every outbox row was received exactly once, under its Message-ID and to its recipient, and
/// nothing else was received.
fn assert_delivered_once(rows: &[OutboxMail], smtp: &SmtpServer) {
    let received = smtp.received();
    for row in rows {
        let copies: Vec<&Received> = received
            .iter()
            .filter(|m| m.header("Message-ID").as_deref() == Some(row.message_id.as_str()))
            .collect();
        assert_eq!(
            copies.len(),
            1,
            "mail {} ({}) to {}",
            row.id,
            row.kind,
            row.to_address
        );
        assert_eq!(copies[0].to, vec![row.to_address.clone()]);
    }
    assert_eq!(received.len(), rows.len(), "no mail outside the outbox");
}

fn kinds(rows: &[OutboxMail]) -> Vec<&str> {
    rows.iter().map(|m| m.kind.as_str()).collect()
}

/// Digests have tests of their own; here they would add mail whenever a test runs after 08:00.
async fn quiet_digests(app: &TestApp, admin: &str) {
    let quiet = app
        .patch(
            "/api/settings",
            Some(admin),
            json!({ "digest_time": "23:59" }),
        )
        .await;
    assert_eq!(quiet.status, 200, "{}", quiet.body);
}

fn database_url(app: &TestApp) -> String {
    match &app.state.settings.database_url {
        DatabaseUrl::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

fn outbox(pool: &DbPool) -> Vec<OutboxMail> {
    let mut conn = pool.get().expect("a connection");
    let mut rows = tanggap::db::outbox::list(&mut conn, None, 10_000, None).expect("the outbox");
    rows.reverse();
    rows
}

/// Waits until every outbox row is sent; panics with the servers' logs if that takes too long.
async fn drain(pool: &DbPool, servers: &[&Process]) -> Vec<OutboxMail> {
    let drained = wait_for(Duration::from_secs(15), || {
        let rows = outbox(pool);
        rows.iter().all(|m| m.status == "sent").then_some(rows)
    })
    .await;
    drained.unwrap_or_else(|| {
        let logs: Vec<String> = servers.iter().map(|s| s.log()).collect();
        panic!(
            "the outbox was not drained; logs:\n{}",
            logs.join("\n---\n")
        )
    })
}

/// Polls `check` until it gives something, or `None` after `limit`.
async fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a spawned server reads from its environment: port 0, a scheduler pass every second,
/// mail to the test SMTP server, a short lease.
fn server_env(data_dir: &Path, database_url: &str, mail_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TANGGAP_BIND", "127.0.0.1:0".into()),
        ("TANGGAP_DATA_DIR", data_dir.display().to_string()),
        ("DATABASE_URL", database_url.into()),
        ("TANGGAP_JWT_SECRET", JWT_SECRET.into()),
        ("TANGGAP_ADMIN_EMAIL", ADMIN_EMAIL.into()),
        ("TANGGAP_MAIL_URL", mail_url.into()),
        ("TANGGAP_TICK_SECONDS", "1".into()),
        ("TANGGAP_MAIL_LEASE_SECONDS", LEASE_SECONDS.to_string()),
        ("TANGGAP_WORKERS", "2".into()),
        ("TANGGAP_DB_POOL_SIZE", "4".into()),
        ("RUST_LOG", "warn,tanggap=info".into()),
    ]
}

/// The binary with the developer's own configuration removed, run in `dir` (so no `.env`).
fn tanggap(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("TANGGAP_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// A `tanggap serve` process; killed (SIGKILL) and reaped when dropped, even on a failure.
struct Process {
    child: Child,
    base: String,
    /// Standard output up to the "listening" line.
    stdout: Vec<String>,
    log: PathBuf,
}

impl Process {
    /// Starts `serve` and waits until it listens; its log (stderr) goes to a file in `dir`.
    async fn serve(dir: &Path, env: &[(&'static str, String)]) -> Self {
        let log = dir.join(format!("serve-{}.log", uuid::Uuid::new_v4().simple()));
        let mut command = tanggap(dir, env);
        command
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        tokio::task::spawn_blocking(move || {
            let child = command.spawn().expect("spawn tanggap serve");
            let mut process = Process {
                child,
                base: String::new(),
                stdout: Vec::new(),
                log,
            };
            let mut lines = BufReader::new(process.child.stdout.take().unwrap()).lines();
            for line in lines.by_ref() {
                let line = line.expect("stdout is text");
                process.stdout.push(line.clone());
                if let Some(address) = line.strip_prefix("Tanggap listening on ") {
                    process.base = address.trim().to_owned();
                    break;
                }
            }
            assert!(
                !process.base.is_empty(),
                "serve exited before listening: {:?}\n{}",
                process.stdout,
                process.log()
            );
            // Keep reading, so that a later line never finds the pipe closed.
            std::thread::spawn(move || lines.for_each(drop));
            process
        })
        .await
        .expect("start-up task")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two `tanggap tick --now` passes started together; their reports.
async fn two_passes(
    env_a: &[(&'static str, String)],
    env_b: &[(&'static str, String)],
    dir: &Path,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let now = now.to_rfc3339();
    let children: Vec<Child> = [env_a, env_b]
        .iter()
        .map(|env| {
            tanggap(dir, env)
                .args(["tick", "--now", &now])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn tanggap tick")
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().unwrap();
                let stdout = String::from_utf8_lossy(&output.stdout);
                assert!(
                    output.status.success(),
                    "tick failed: {stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                serde_json::from_str(stdout.lines().last().unwrap_or_default())
                    .unwrap_or_else(|e| panic!("a JSON report ({e}): {stdout}"))
            })
            .collect()
    })
    .await
    .unwrap()
}

/// HTTP calls to either server; each reply as (status, JSON body).
struct Http(reqwest::Client);

impl Http {
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body read");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, url: &str, token: &str) -> (u16, Value) {
        self.send(self.0.get(url).bearer_auth(token)).await
    }

    async fn post(&self, url: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(self.0.post(url).bearer_auth(token).json(&body))
            .await
    }

    async fn patch(&self, url: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(self.0.patch(url).bearer_auth(token).json(&body))
            .await
    }

    async fn login(&self, base: &str, email: &str, password: &str) -> String {
        let reply = self
            .send(
                self.0
                    .post(format!("{base}/api/auth/login"))
                    .json(&json!({ "email": email, "password": password })),
            )
            .await;
        assert_eq!(reply.0, 200, "sign-in of {email}: {}", reply.1);
        reply.1["token"].as_str().expect("a token").to_owned()
    }

    /// A user made by the admin; returns (id, email). Their password is `USER_PASSWORD`.
    async fn user(
        &self,
        base: &str,
        admin: &str,
        role: &str,
        name: &str,
        manager: Option<i64>,
    ) -> (i64, String) {
        let email = format!("{}@toko.test", name.to_lowercase());
        let reply = self
            .post(
                &format!("{base}/api/users"),
                admin,
                json!({ "email": email, "name": name, "role": role, "password": USER_PASSWORD, "manager_id": manager }),
            )
            .await;
        assert_eq!(reply.0, 201, "{}", reply.1);
        (reply.1["id"].as_i64().unwrap(), email)
    }

    /// A low-priority ticket from a customer with an email address; returns its id.
    async fn ticket(&self, base: &str, token: &str, email: &str) -> i64 {
        let reply = self
            .post(
                &format!("{base}/api/tickets"),
                token,
                json!({
                    "channel": "email",
                    "priority": "low",
                    "customer": { "name": "Sari Wulandari", "email": email },
                    "subject": "Kaos sobek di jahitan",
                    "words": "Kak, kaos yang saya terima sobek di bagian jahitan.",
                }),
            )
            .await;
        assert_eq!(reply.0, 201, "{}", reply.1);
        reply.1["id"].as_i64().unwrap()
    }

    /// Acknowledges a ticket (its first-response target is met; the customer is emailed).
    async fn acknowledge(&self, base: &str, token: &str, id: i64) {
        let current = self.get(&format!("{base}/api/tickets/{id}"), token).await;
        let reply = self
            .post(
                &format!("{base}/api/tickets/{id}/acknowledge"),
                token,
                json!({ "message": "Terima kasih, Kak.", "version": current.1["version"] }),
            )
            .await;
        assert_eq!(reply.0, 200, "{}", reply.1);
    }
}

/// `hour`:00 WIB on the first working day (Monday–Friday, not a national holiday) after `after`.
fn workday(hour: u32, after: NaiveDate) -> DateTime<Utc> {
    let holidays: Vec<&str> = tanggap::domain::business_time::INDONESIAN_HOLIDAYS
        .iter()
        .map(|(d, _)| *d)
        .collect();
    let mut day = after + chrono::Duration::days(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
        || holidays.contains(&day.format("%Y-%m-%d").to_string().as_str())
    {
        day += chrono::Duration::days(1);
    }
    at_local(day, hour, 0)
}

/// `hour`:`minute` WIB on the day of `day`.
fn at(day: DateTime<Utc>, hour: u32, minute: u32) -> DateTime<Utc> {
    at_local(jakarta_date(day), hour, minute)
}

fn at_local(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Jakarta
        .with_ymd_and_hms(day.year(), day.month(), day.day(), hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn jakarta_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Asia::Jakarta).date_naive()
}
