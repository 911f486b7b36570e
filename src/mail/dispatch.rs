//! The dispatcher: claims due mails with a lease, sends them, and records the outcome.
//! Failures are retried with exponential backoff; after `MAX_ATTEMPTS` a mail is dead, kept
//! with its last error for an admin to retry. A mail whose sender crashed mid-send is claimed
//! again when its lease runs out and resent with the same Message-ID.

use chrono::{Duration, NaiveDateTime};

use super::transport::Mailer;
use super::Mailroom;
use crate::db::pool::PooledConnection;
use crate::db::{outbox, DbConnection, DbPool};

pub const MAX_ATTEMPTS: i32 = 8;
/// The default lease (TANGGAP_MAIL_LEASE_SECONDS): long past the SMTP timeout, so a slow send
/// is never taken over while it may still succeed.
pub const LEASE: Duration = Duration::minutes(5);
/// Small batches: a lease covers only a few sends, so a slow SMTP server cannot outlast it.
const BATCH: i64 = 20;

/// The wait before attempt `attempts + 1`: 1, 2, 4 … minutes, at most 2 hours.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 8) - 1;
    Duration::minutes((1i64 << exponent).min(120))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DispatchReport {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
}

/// What became of one attempt.
enum Outcome {
    Sent,
    Retry,
    Dead,
}

/// Sends every mail due at `now`, batch after batch, until none is left. A failed mail waits
/// for its backoff, so it is not claimed again in the same pass.
pub async fn dispatch(
    pool: &DbPool,
    mailer: &Mailer,
    mailroom: &Mailroom,
    worker: &str,
    now: NaiveDateTime,
) -> anyhow::Result<DispatchReport> {
    dispatch_with_lease(pool, mailer, mailroom, worker, now, LEASE).await
}

/// `dispatch` holding each claimed mail for `lease` (the configured TANGGAP_MAIL_LEASE_SECONDS).
pub async fn dispatch_with_lease(
    pool: &DbPool,
    mailer: &Mailer,
    mailroom: &Mailroom,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> anyhow::Result<DispatchReport> {
    // A catch-up pass with a past `now` still sends what is due by the wall clock (mail is
    // queued at the real time), and a pass ahead of the clock sends what is due by then.
    let now = now.max(crate::db::now());
    let mut report = DispatchReport::default();
    // One connection for the whole pass, moved into each blocking step and back (a checkout
    // per mail cost a validity query each time).
    let mut conn = {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || pool.get()).await??
    };
    loop {
        let worker2 = worker.to_owned();
        let claimed;
        (conn, claimed) = blocking(conn, move |conn| {
            // Leases run on the wall clock, whatever time the pass is "as of".
            let wall = crate::db::now();
            Ok(outbox::claim(
                conn,
                &worker2,
                now,
                wall,
                wall + lease,
                BATCH,
            )?)
        })
        .await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        // One commit per mail: the previous mail's outcome and this mail's fresh lease are
        // written together (two commits per mail halved the rate on SQLite's synchronous=FULL).
        // A mail is still marked sent before the next one goes out, so a crash resends at
        // most the one in flight.
        let mut previous: Option<Attempt> = None;
        for mail in claimed {
            let (outcome, still_ours);
            (conn, (outcome, still_ours)) =
                settle_and_renew(conn, worker, previous.take(), Some(mail.id), now, lease).await?;
            report.count(outcome);
            if !still_ours {
                continue;
            }
            let (id, attempts) = (mail.id, mail.attempts);
            let result = match mailroom.fill(mail) {
                Ok(mail) => mailer.send(&mailroom.settings.mail_from, &mail).await,
                Err(error) => Err(format!("{error:#}")),
            };
            previous = Some(Attempt {
                id,
                attempts,
                result,
            });
        }
        let outcome;
        (conn, (outcome, _)) = settle_and_renew(conn, worker, previous, None, now, lease).await?;
        report.count(outcome);
    }
}

/// A mail that was just tried, and how it went.
struct Attempt {
    id: i64,
    attempts: i32,
    result: Result<(), String>,
}

impl DispatchReport {
    fn count(&mut self, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Sent) => self.sent += 1,
            Some(Outcome::Retry) => self.failed += 1,
            Some(Outcome::Dead) => self.dead += 1,
            None => {}
        }
    }
}

/// Runs `f` on `conn` on a blocking thread, and hands the connection back.
async fn blocking<T, F>(conn: PooledConnection, f: F) -> anyhow::Result<(PooledConnection, T)>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> anyhow::Result<T> + Send + 'static,
{
    let (conn, result) = tokio::task::spawn_blocking(move || {
        let mut conn = conn;
        let result = f(&mut conn);
        (conn, result)
    })
    .await?;
    Ok((conn, result?))
}

/// In one transaction: records `previous`'s outcome, and extends the lease on `next` (false
/// when the lease was lost: it ran out and another worker took the mail).
async fn settle_and_renew(
    conn: PooledConnection,
    worker: &str,
    previous: Option<Attempt>,
    next: Option<i64>,
    now: NaiveDateTime,
    lease: Duration,
) -> anyhow::Result<(PooledConnection, (Option<Outcome>, bool))> {
    if previous.is_none() && next.is_none() {
        return Ok((conn, (None, false)));
    }
    let worker = worker.to_owned();
    blocking(conn, move |conn| {
        crate::db::write(conn, |conn| -> anyhow::Result<_> {
            let outcome = match &previous {
                None => None,
                Some(Attempt { id, result: Ok(()), .. }) => {
                    outbox::mark_sent(conn, *id, &worker, crate::db::now())?;
                    Some(Outcome::Sent)
                }
                Some(Attempt { id, attempts, result: Err(error) }) => {
                    let retry_at = (*attempts < MAX_ATTEMPTS).then(|| now + backoff(*attempts));
                    tracing::warn!(mail.id = id, mail.attempts = attempts, error = %error, "sending a mail failed");
                    outbox::mark_failed(conn, *id, &worker, error, retry_at)?;
                    Some(if retry_at.is_some() { Outcome::Retry } else { Outcome::Dead })
                }
            };
            let still_ours = match next {
                Some(id) => outbox::renew(conn, id, &worker, crate::db::now() + lease)? > 0,
                None => false,
            };
            Ok((outcome, still_ours))
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_two_hours() {
        assert_eq!(backoff(1), Duration::minutes(1));
        assert_eq!(backoff(2), Duration::minutes(2));
        assert_eq!(backoff(4), Duration::minutes(8));
        assert_eq!(backoff(20), Duration::minutes(120));
    }
}
