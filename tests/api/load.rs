//! Load: 64 concurrent clients for a while, mixing intake, queue reads and playbook actions,
//! on SQLite and on PostgreSQL.
//!
//! What must hold under the load: no 5xx, no failed connection, no "database is locked" (or
//! "busy") reaching a client, and no lost write — every ticket answered 201 is in the database
//! with the subject sent, and every action answered 200 left the ticket at the stage and
//! version that answer showed.
//!
//! Each client runs for `TANGGAP_LOAD_SECONDS` (default 60) per backend. The two backends run
//! as two tests, so cargo runs them side by side: the whole takes about a minute plus set-up
//! and the final check. The throughput printed is the debug build's on the CI machine (and
//! shares it with the rest of the suite): a figure for the log, not a benchmark.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};

const CLIENTS: usize = 64;
const AGENTS: usize = 8;
/// Customers who come back: intake finds them by contact, concurrently, instead of creating
/// them again.
const RETURNING_CUSTOMERS: u64 = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let app = spawn_loaded_app(Backend::Sqlite).await;
    sixty_four_clients(app.expect("SQLite is always available"), "sqlite").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    if let Some(app) = spawn_loaded_app(Backend::Postgres).await {
        sixty_four_clients(app, "postgres").await
    }
}

/// The app sized for 64 clients: a few HTTP workers and a pool large enough that a request
/// rarely waits for a connection (SQLite still has one writer at a time; the rest queue on
/// the busy timeout).
async fn spawn_loaded_app(backend: Backend) -> Option<TestApp> {
    let mut app = spawn_app_with(
        backend,
        &[("TANGGAP_WORKERS", "4"), ("TANGGAP_DB_POOL_SIZE", "16")],
    )
    .await?;
    app.client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        // The server closes a connection idle for 5 s (actix-web's keep-alive). A client that
        // picks such a connection just then sees "connection closed before message
        // completed" and never reaches the server; forget idle connections sooner instead.
        .pool_idle_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client");
    Some(app)
}

fn load_duration() -> Duration {
    let seconds = std::env::var("TANGGAP_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(60);
    Duration::from_secs(seconds.max(1))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Intake,
    Read,
    Action,
}

/// A ticket a client opened, as its last successful answer showed it.
struct Own {
    id: i64,
    subject: String,
    /// Index into the agents who opened it (they may act on it; so may the manager).
    agent: usize,
    version: i64,
    stage: String,
}

#[derive(Default)]
struct ClientLog {
    /// (kind, status) → count.
    statuses: BTreeMap<(Kind, u16), u64>,
    /// Transport failures and answers that must not happen, with what was sent.
    failures: Vec<String>,
    tickets: Vec<Own>,
    actions_ok: u64,
    /// How long each answered request took, by kind.
    latencies: BTreeMap<Kind, Vec<Duration>>,
}

struct Accounts {
    agents: Vec<String>,
    manager: String,
}

async fn sixty_four_clients(app: TestApp, backend: &'static str) {
    let mut agents = Vec::new();
    for _ in 0..AGENTS {
        agents.push(app.user_with_role("agent").await.1);
    }
    let manager = app.user_with_role("manager").await.1;
    let accounts = Arc::new(Accounts { agents, manager });
    let app = Arc::new(app);
    let duration = load_duration();

    let started = Instant::now();
    let deadline = started + duration;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let app = app.clone();
            let accounts = accounts.clone();
            tokio::spawn(async move { client(&app, &accounts, n, backend, deadline).await })
        })
        .collect();
    let mut logs = Vec::new();
    for c in clients {
        logs.push(c.await.expect("a client task finished"));
    }
    let elapsed = started.elapsed();

    let mut statuses: BTreeMap<(Kind, u16), u64> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut latencies: BTreeMap<Kind, Vec<Duration>> = BTreeMap::new();
    let mut actions_ok = 0;
    for log in &mut logs {
        for (key, n) in &log.statuses {
            *statuses.entry(*key).or_default() += n;
        }
        failures.append(&mut log.failures);
        for (kind, took) in &mut log.latencies {
            latencies.entry(*kind).or_default().append(took);
        }
        actions_ok += log.actions_ok;
    }
    let tickets: Vec<Own> = logs.into_iter().flat_map(|l| l.tickets).collect();
    let total: u64 = statuses.values().sum();
    let per_kind = |kind: Kind| -> u64 {
        statuses
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    };
    let shown: Vec<String> = statuses
        .iter()
        .map(|((kind, status), n)| format!("{kind:?}/{status}={n}"))
        .collect();
    let timing: Vec<String> = latencies
        .iter_mut()
        .map(|(kind, took)| {
            took.sort_unstable();
            let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize].as_secs_f64();
            format!(
                "{kind:?} p50 {:.3}s p99 {:.3}s max {:.3}s",
                at(0.5),
                at(0.99),
                at(1.0)
            )
        })
        .collect();
    report(format!(
        "load[{backend}]: {CLIENTS} clients, {:.1}s, {total} requests ({:.1}/s): intake {}, reads {}, actions {} ({actions_ok} ok); statuses {}; failures {}; {}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        per_kind(Kind::Intake),
        per_kind(Kind::Read),
        per_kind(Kind::Action),
        shown.join(" "),
        failures.len(),
        timing.join(", "),
    ));
    assert!(
        failures.is_empty(),
        "{} failures under load, the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(per_kind(Kind::Intake) > 0 && per_kind(Kind::Read) > 0 && actions_ok > 0);

    // No lost writes: what the clients were told is what the database holds.
    let checked = tickets.len();
    let app_for_check = app.clone();
    let lost = tokio::task::spawn_blocking(move || lost_writes(&app_for_check, &tickets))
        .await
        .expect("the check ran");
    assert!(
        lost.is_empty(),
        "{} lost writes, the first ones:\n{}",
        lost.len(),
        lost.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    report(format!(
        "load[{backend}]: all {checked} created tickets and {actions_ok} actions are in the database"
    ));
}

/// Tickets whose row differs from the last answer its client was given (or is missing), and
/// tickets in the database that no client was told about.
fn lost_writes(app: &TestApp, tickets: &[Own]) -> Vec<String> {
    use diesel::{QueryDsl, RunQueryDsl};
    use tanggap::db::schema::tickets as t;

    let mut conn = app.conn();
    let mut lost = Vec::new();
    for own in tickets {
        let Some(row) = tanggap::db::tickets::find(&mut conn, own.id).expect("a ticket query")
        else {
            lost.push(format!("ticket {} ({}) is missing", own.id, own.subject));
            continue;
        };
        if row.subject != own.subject
            || i64::from(row.version) != own.version
            || row.stage != own.stage
        {
            lost.push(format!(
                "ticket {}: answered {:?} v{} {}, stored {:?} v{} {}",
                own.id, own.subject, own.version, own.stage, row.subject, row.version, row.stage
            ));
        }
        if own.stage != "new" && row.acknowledged_at.is_none() {
            lost.push(format!(
                "ticket {} was acknowledged but has no acknowledged_at",
                own.id
            ));
        }
    }
    let stored: i64 = t::table
        .count()
        .get_result(&mut **conn)
        .expect("a count of tickets");
    if stored != tickets.len() as i64 {
        lost.push(format!(
            "{stored} tickets stored, {} answered 201",
            tickets.len()
        ));
    }
    lost
}

/// One client: until the deadline, 40% intake, 40% queue reads, 20% the next playbook step on
/// one of its own tickets.
async fn client(
    app: &TestApp,
    accounts: &Accounts,
    n: usize,
    backend: &str,
    deadline: Instant,
) -> ClientLog {
    let mut log = ClientLog::default();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1).wrapping_mul(0x2545_F491));
    let mut seq = 0u64;
    while Instant::now() < deadline {
        let roll = rng.below(100);
        if roll < 40 || log.tickets.is_empty() {
            seq += 1;
            intake(app, accounts, &mut log, &mut rng, n, seq, backend).await;
        } else if roll < 80 {
            queue_read(app, accounts, &mut log, &mut rng, n).await;
        } else {
            let i = rng.below(log.tickets.len() as u64) as usize;
            action(app, accounts, &mut log, &mut rng, i).await;
        }
    }
    log
}

async fn intake(
    app: &TestApp,
    accounts: &Accounts,
    log: &mut ClientLog,
    rng: &mut XorShift,
    n: usize,
    seq: u64,
    backend: &str,
) {
    let agent = rng.below(AGENTS as u64) as usize;
    let customer = if rng.below(2) == 0 {
        let c = rng.below(RETURNING_CUSTOMERS);
        json!({ "name": format!("Pelanggan Tetap {c}"), "whatsapp": format!("081399000{c:02}"), "email": format!("tetap{c}@pelanggan.test") })
    } else {
        json!({ "name": format!("Pelanggan Baru {n}-{seq}"), "whatsapp": format!("0812{n:02}{seq:05}") })
    };
    let subject = format!("Beban {backend} k{n}x{seq} kaos sobek");
    let body = json!({
        "channel": "whatsapp",
        "customer": customer,
        "subject": subject,
        "words": "Kak, kaos yang saya terima sobek di bagian jahitan. Tolong dibantu.",
        "order_ref": format!("INV-{n}-{seq}"),
        "product": "Kaos Batik Parang M",
    });
    let request = app
        .client
        .post(app.url("/api/tickets"))
        .bearer_auth(&accounts.agents[agent])
        .json(&body);
    let what = format!("POST /api/tickets {subject}");
    if let Some((201, reply)) = call(log, Kind::Intake, request, &what, &[201]).await {
        let id = reply["id"].as_i64();
        let version = reply["version"].as_i64();
        match (id, version) {
            (Some(id), Some(version)) => log.tickets.push(Own {
                id,
                subject,
                agent,
                version,
                stage: reply["stage"].as_str().unwrap_or_default().to_owned(),
            }),
            _ => log
                .failures
                .push(format!("{what}: 201 without id: {reply}")),
        }
    }
}

async fn queue_read(
    app: &TestApp,
    accounts: &Accounts,
    log: &mut ClientLog,
    rng: &mut XorShift,
    n: usize,
) {
    let token = match rng.below(AGENTS as u64 + 1) as usize {
        AGENTS => &accounts.manager,
        agent => &accounts.agents[agent],
    };
    let own_word = format!("k{n}x{}", 1 + rng.below(log.tickets.len().max(1) as u64));
    let path = match rng.below(5) {
        0 => "/api/tickets?assignee=me".to_owned(),
        1 => "/api/tickets?overdue=true".to_owned(),
        2 => "/api/tickets?awaiting=customer".to_owned(),
        3 => "/api/tickets?q=jahitan&limit=20".to_owned(),
        _ => format!("/api/tickets?q={own_word}"),
    };
    let request = app.client.get(app.url(&path)).bearer_auth(token);
    call(log, Kind::Read, request, &format!("GET {path}"), &[200]).await;
}

/// The next step for the ticket's stage, with the version its client last saw. A rejected
/// proposal goes back to `understood`, so a ticket cycles through diagnose–propose–reject.
async fn action(
    app: &TestApp,
    accounts: &Accounts,
    log: &mut ClientLog,
    rng: &mut XorShift,
    i: usize,
) {
    let (id, agent, version) = {
        let own = &log.tickets[i];
        (own.id, own.agent, own.version)
    };
    let token = if rng.below(5) == 0 {
        &accounts.manager
    } else {
        &accounts.agents[agent]
    };
    let (step, mut body) = match log.tickets[i].stage.as_str() {
        "new" => (
            "acknowledge",
            json!({ "message": "Terima kasih sudah mengabari kami, Kak." }),
        ),
        "acknowledged" => (
            "record",
            json!({ "category": "defective", "details": "Jahitan bahu kiri lepas 5 cm." }),
        ),
        "listened" => (
            "diagnose",
            json!({ "root_cause": "Batch jahitan tidak dicek QC." }),
        ),
        "understood" => (
            "propose",
            json!({ "solution_type": "voucher", "solution": "Voucher belanja sebagai ganti." }),
        ),
        "solution_proposed" => (
            "customer-response",
            json!({ "accepted": false, "comment": "Saya mau kaos baru saja." }),
        ),
        other => {
            let failure = format!("ticket {id} reached an unexpected stage {other}");
            log.failures.push(failure);
            return;
        }
    };
    body["version"] = json!(version);
    let path = format!("/api/tickets/{id}/{step}");
    let request = app
        .client
        .post(app.url(&path))
        .bearer_auth(token)
        .json(&body);
    // A stale version is a fair answer under load; the client then looks again.
    match call(
        log,
        Kind::Action,
        request,
        &format!("POST {path}"),
        &[200, 409],
    )
    .await
    {
        Some((200, reply)) => {
            log.actions_ok += 1;
            remember(log, i, &reply);
        }
        Some((_, reply)) if reply["error"]["code"] == "stale" => {
            let path = format!("/api/tickets/{id}");
            let request = app.client.get(app.url(&path)).bearer_auth(token);
            if let Some((200, reply)) =
                call(log, Kind::Read, request, &format!("GET {path}"), &[200]).await
            {
                remember(log, i, &reply);
            }
        }
        Some((status, reply)) => log
            .failures
            .push(format!("POST {path}: {status} (not stale): {reply}")),
        None => {}
    }
}

fn remember(log: &mut ClientLog, i: usize, reply: &Value) {
    let own = &mut log.tickets[i];
    match (reply["version"].as_i64(), reply["stage"].as_str()) {
        (Some(version), Some(stage)) => {
            own.version = version;
            own.stage = stage.to_owned();
        }
        _ => log.failures.push(format!(
            "ticket {}: an answer without version or stage: {reply}",
            own.id
        )),
    }
}

/// Sends, records the status, and checks the answer: a transport error, a status outside
/// `expected` or a body that talks of a locked or busy database is a failure. Returns the
/// status and body when the request got an answer.
async fn call(
    log: &mut ClientLog,
    kind: Kind,
    request: reqwest::RequestBuilder,
    what: &str,
    expected: &[u16],
) -> Option<(u16, Value)> {
    let sent = Instant::now();
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            // The whole chain: "error sending request" alone does not say which side gave up.
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            log.failures.push(format!("{what}: no answer: {why}"));
            return None;
        }
    };
    let status = response.status().as_u16();
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) => {
            log.failures
                .push(format!("{what}: {status}, body unreadable: {e}"));
            return None;
        }
    };
    log.latencies.entry(kind).or_default().push(sent.elapsed());
    *log.statuses.entry((kind, status)).or_default() += 1;
    let lower = text.to_lowercase();
    if lower.contains("database is locked") || lower.contains("busy") {
        log.failures.push(format!(
            "{what}: {status}, the database's trouble shown: {text}"
        ));
    }
    if !expected.contains(&status) {
        log.failures.push(format!("{what}: {status}: {text}"));
    }
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Some((status, body))
}

/// Writes a line for the CI log. Straight to the stderr handle: libtest captures `println!`
/// and `eprintln!` of passing tests, and these figures are wanted when the test passes.
fn report(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A small deterministic generator, so a failing run can be told apart from its mix.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
