//! The scheduler's passes: reminders before promises fall due, overdue alerts to managers
//! (climbing a level when still unkept), warnings and alerts for service targets, and daily
//! digests — then the dispatcher sends what they queued. One pass is `tanggap tick`; `serve`
//! runs a pass on an interval. Every pass takes its time from the caller (`--now` in tests
//! and catch-up runs), never from a sleep.

pub mod follow_up;

use chrono::{DateTime, Utc};

use crate::db::DbPool;
use crate::mail::dispatch::{dispatch_with_lease, DispatchReport};
use crate::mail::transport::Mailer;
use crate::mail::Mailroom;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct TickReport {
    pub reminders: usize,
    pub overdue_alerts: usize,
    pub escalated_alerts: usize,
    pub target_warnings: usize,
    pub target_breaches: usize,
    pub digests: usize,
    pub mail: DispatchReport,
    /// Wall time of the scan (everything but sending), and of the sending.
    pub scan_ms: u64,
    pub send_ms: u64,
    /// Of `scan_ms`, the time spent finding what is due (the queries for reminders due,
    /// overdue promises, alerts to climb and tickets near their targets); the rest is
    /// reading the found rows, composing and writing the alerts and mails, and digests.
    pub find_ms: f64,
    /// SQLite: the longest one commit held the write lock during the scan (what intake
    /// could have waited behind); absent on PostgreSQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longest_write_ms: Option<f64>,
    /// Linux: the CPU time the scan's thread used (`scan_ms` also counts waiting: for the
    /// disk, for the writer, for a busy machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_cpu_ms: Option<f64>,
}

impl TickReport {
    /// Adds the time since `started` to `find_ms`.
    fn found(&mut self, started: std::time::Instant) {
        self.find_ms += started.elapsed().as_secs_f64() * 1000.0;
    }
}

/// One pass as of `now`: queue what is due, then send the outbox.
pub async fn tick(
    pool: &DbPool,
    mailroom: &Mailroom,
    mailer: &Mailer,
    worker: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<TickReport> {
    let (pool2, mailroom2) = (pool.clone(), mailroom.clone());
    let started = std::time::Instant::now();
    let mut report = tokio::task::spawn_blocking(move || {
        // The measurement is best effort: it never fails the pass.
        let longest_hold = || {
            let mut conn = pool2.get().ok()?;
            crate::db::take_longest_write_hold(&mut conn).ok().flatten()
        };
        longest_hold();
        let cpu_before = thread_cpu();
        let mut report = follow_up::scan(&pool2, &mailroom2, now)?;
        report.scan_cpu_ms = cpu_before
            .zip(thread_cpu())
            .map(|(before, after)| after.saturating_sub(before).as_secs_f64() * 1000.0);
        report.longest_write_ms = longest_hold().map(|d| d.as_secs_f64() * 1000.0);
        anyhow::Ok(report)
    })
    .await??;
    report.scan_ms = started.elapsed().as_millis() as u64;
    let started = std::time::Instant::now();
    report.mail = dispatch_with_lease(
        pool,
        mailer,
        mailroom,
        worker,
        now.naive_utc(),
        mailroom.settings.mail_lease,
    )
    .await?;
    report.send_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The CPU time the calling thread has used so far, where the system tells it (Linux: the
/// first field of `/proc/thread-self/schedstat`, nanoseconds on a CPU).
fn thread_cpu() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(nanos))
}

/// A name for this process in outbox leases: host and pid.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "tanggap".into());
    format!("{host}:{}", std::process::id())
}

/// Runs a pass every `every` inside `serve`. A failed pass is logged and the next one tries
/// again; nothing is lost, because everything a pass does is in the database.
pub fn spawn_scheduler(
    state: std::sync::Arc<crate::startup::AppState>,
    every: std::time::Duration,
) {
    let worker = worker_name();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match tick(
                &state.pool,
                &state.mailroom,
                &state.mailer,
                &worker,
                Utc::now(),
            )
            .await
            {
                Ok(report) => tracing::debug!(?report, "scheduler pass"),
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "scheduler pass failed")
                }
            }
        }
    });
}
