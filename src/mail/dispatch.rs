//! The dispatcher: claims due mails with a lease, sends them, and records the outcome.
//! Failures are retried with exponential backoff; after `MAX_ATTEMPTS` a mail is dead, kept
//! with its last error for an admin to retry. A mail whose sender crashed mid-send is claimed
//! again when its lease runs out and resent with the same Message-ID.

use chrono::{Duration, NaiveDateTime};

use super::transport::Mailer;
use crate::db::{outbox, DbPool};

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
    from: &str,
    worker: &str,
    now: NaiveDateTime,
) -> anyhow::Result<DispatchReport> {
    dispatch_with_lease(pool, mailer, from, worker, now, LEASE).await
}

/// `dispatch` holding each claimed mail for `lease` (the configured TANGGAP_MAIL_LEASE_SECONDS).
pub async fn dispatch_with_lease(
    pool: &DbPool,
    mailer: &Mailer,
    from: &str,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> anyhow::Result<DispatchReport> {
    // A catch-up pass with a past `now` still sends what is due by the wall clock (mail is
    // queued at the real time), and a pass ahead of the clock sends what is due by then.
    let now = now.max(crate::db::now());
    let mut report = DispatchReport::default();
    loop {
        let (pool2, worker2) = (pool.clone(), worker.to_owned());
        let claimed = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut conn = pool2.get()?;
            // Leases run on the wall clock, whatever time the pass is "as of".
            let wall = crate::db::now();
            Ok(outbox::claim(
                &mut conn,
                &worker2,
                now,
                wall,
                wall + lease,
                BATCH,
            )?)
        })
        .await??;
        if claimed.is_empty() {
            return Ok(report);
        }
        for mail in claimed {
            let (pool2, worker2, id) = (pool.clone(), worker.to_owned(), mail.id);
            let still_ours = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
                let mut conn = pool2.get()?;
                Ok(outbox::renew(&mut conn, id, &worker2, crate::db::now() + lease)? > 0)
            })
            .await??;
            if !still_ours {
                continue;
            }
            let result = mailer.send(from, &mail).await;
            let (pool2, worker2) = (pool.clone(), worker.to_owned());
            let (id, attempts) = (mail.id, mail.attempts);
            let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
                let mut conn = pool2.get()?;
                match result {
                    Ok(()) => {
                        outbox::mark_sent(&mut conn, id, &worker2, crate::db::now())?;
                        Ok(Outcome::Sent)
                    }
                    Err(error) => {
                        let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts));
                        tracing::warn!(mail.id = id, mail.attempts = attempts, error = %error, "sending a mail failed");
                        outbox::mark_failed(&mut conn, id, &worker2, &error, retry_at)?;
                        Ok(if retry_at.is_some() { Outcome::Retry } else { Outcome::Dead })
                    }
                }
            })
            .await??;
            match outcome {
                Outcome::Sent => report.sent += 1,
                Outcome::Retry => report.failed += 1,
                Outcome::Dead => report.dead += 1,
            }
        }
    }
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
