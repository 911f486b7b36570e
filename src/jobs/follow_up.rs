//! What the scheduler looks for in the data, and the mails and timeline events it writes.
//! Each item's mark that says "done", its outbox row(s) and its timeline event are written
//! together (a savepoint), and items commit in short batches (`in_short_transactions`), so a
//! crash never sends twice or loses one, and a long scan never holds the write lock long.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::TrySendError;

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::TickReport;
use crate::config::Locale;
use crate::db::customers::{self, Customer};
use crate::db::events::{self, NewEvent};
use crate::db::outbox::{self, NewMail};
use crate::db::promises::{self, FollowUpStep, Promise};
use crate::db::tickets::{self as ticket_db, Ticket, TicketChanges};
use crate::db::users::{self, User};
use crate::db::{app_settings, replacements, DbConnection, DbPool};
use crate::desk::targets;
use crate::domain::business_time::Calendar;
use crate::domain::ticket_number;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::i18n::{format_date, format_datetime, format_duration};
use crate::mail::{Mailroom, Recipient};

/// Knobs an admin sets through /api/settings (stored in app_settings), with their defaults.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FollowUpSettings {
    /// Remind the agent this many business minutes before a promise is due.
    pub reminder_lead_minutes: i64,
    /// Warn the agent this many business minutes before a target is breached.
    pub target_warning_minutes: i64,
    /// Climb a level when a promise is still unkept this long after the manager's alert.
    pub escalate_after_minutes: i64,
    /// Local time of the daily digest, HH:MM.
    pub digest_time: String,
    /// Replacements not shipped after this many days appear in the digest.
    pub unshipped_after_days: i64,
}

pub const KNOBS: [(&str, &str); 5] = [
    ("reminder_lead_minutes", "120"),
    ("target_warning_minutes", "30"),
    ("escalate_after_minutes", "540"),
    ("digest_time", "08:00"),
    ("unshipped_after_days", "3"),
];

impl FollowUpSettings {
    pub fn load(conn: &mut DbConnection) -> Result<Self, AppError> {
        let get = |conn: &mut DbConnection, key: &str| -> Result<String, AppError> {
            let default = KNOBS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .unwrap_or("0");
            Ok(app_settings::get(conn, key)?.unwrap_or_else(|| default.to_owned()))
        };
        let number = |text: String| text.parse::<i64>().unwrap_or(0);
        Ok(Self {
            reminder_lead_minutes: number(get(conn, "reminder_lead_minutes")?),
            target_warning_minutes: number(get(conn, "target_warning_minutes")?),
            escalate_after_minutes: number(get(conn, "escalate_after_minutes")?),
            digest_time: get(conn, "digest_time")?,
            unshipped_after_days: number(get(conn, "unshipped_after_days")?),
        })
    }
}

/// A local time of day written HH:MM (or H:MM).
pub fn parse_time(value: &str) -> Option<NaiveTime> {
    let value = value.trim();
    NaiveTime::parse_from_str(value, "%H:%M")
        .ok()
        .filter(|_| value.chars().all(|c| c.is_ascii_digit() || c == ':'))
}

/// Checks a knob before it is stored; the message names what is wrong.
pub fn check_knob(key: &str, value: &str) -> Result<(), String> {
    match key {
        "digest_time" => parse_time(value)
            .map(|_| ())
            .ok_or_else(|| "must be a time like 08:00".into()),
        _ => match value.parse::<i64>() {
            Ok(n) if (0..=100_000).contains(&n) => Ok(()),
            _ => Err("must be a whole number from 0 to 100000".into()),
        },
    }
}

fn recipient(user: &User) -> Recipient {
    Recipient {
        address: user.email.clone(),
        name: Some(user.name.clone()),
        locale: Locale::parse(&user.locale).unwrap_or(Locale::Id),
    }
}

/// Everyone on the desk, loaded once per pass: a shop has tens of users, and a pass may touch
/// tens of thousands of promises.
struct People(Vec<User>);

impl People {
    fn load(conn: &mut DbConnection) -> Result<Self, AppError> {
        Ok(Self(users::list(conn)?))
    }

    fn find(&self, id: i64) -> Option<&User> {
        self.0.iter().find(|u| u.id == id)
    }

    /// Who hears about `agent`'s missed promises: their manager, or every manager, or (with
    /// no managers at all) the admins.
    fn managers_of(&self, agent: Option<&User>) -> Vec<User> {
        if let Some(manager) = agent
            .and_then(|a| a.manager_id)
            .and_then(|id| self.find(id))
            .filter(|m| m.active)
        {
            return vec![manager.clone()];
        }
        let active = |role: Role| -> Vec<User> {
            self.0
                .iter()
                .filter(|u| u.active && u.role() == role)
                .cloned()
                .collect()
        };
        let managers = active(Role::Manager);
        if managers.is_empty() {
            active(Role::Admin)
        } else {
            managers
        }
    }

    /// One level above `manager`: their own manager, or the admins.
    fn above(&self, manager: &User) -> Vec<User> {
        if let Some(up) = manager
            .manager_id
            .and_then(|id| self.find(id))
            .filter(|u| u.active)
        {
            return vec![up.clone()];
        }
        self.0
            .iter()
            .filter(|u| u.active && u.role() == Role::Admin && u.id != manager.id)
            .cloned()
            .collect()
    }

    /// Who holds a promise now: the ticket's assignee, else whoever made it.
    fn holder(&self, ticket: &Ticket, promise: &Promise) -> Option<User> {
        self.find(ticket.assignee_id.unwrap_or(promise.promised_by))
            .cloned()
    }

    fn name(&self, id: i64) -> String {
        self.find(id).map(|u| u.name.clone()).unwrap_or_default()
    }
}

fn system_event(
    ticket_id: i64,
    kind: &str,
    body: Option<String>,
    data: Value,
    at: NaiveDateTime,
) -> NewEvent {
    NewEvent {
        ticket_id,
        actor_id: None,
        kind: kind.into(),
        visibility: "system".into(),
        body,
        data: Some(data.to_string()),
        created_at: at,
    }
}

struct Context<'a> {
    pool: &'a DbPool,
    mailroom: &'a Mailroom,
    people: People,
    calendar: Calendar,
    knobs: FollowUpSettings,
    now: DateTime<Utc>,
    report: TickReport,
}

impl Context<'_> {
    fn zone(&self) -> chrono_tz::Tz {
        self.mailroom.settings.timezone
    }

    fn when(&self, at: NaiveDateTime, locale: Locale) -> String {
        format_datetime(at.and_utc(), self.zone(), locale)
    }

    /// The common variables of a mail about a ticket.
    fn ticket_data(&self, conn: &mut DbConnection, ticket: &Ticket) -> Result<Value, AppError> {
        let customer = customers::find(conn, ticket.customer_id)?;
        Ok(self.ticket_data_with(ticket, customer.as_ref()))
    }

    fn ticket_data_with(&self, ticket: &Ticket, customer: Option<&Customer>) -> Value {
        let contact = customer.and_then(|c| {
            c.whatsapp
                .clone()
                .or(c.phone.clone())
                .or(c.email.clone())
                .or(c.instagram.clone().map(|h| format!("@{h}")))
        });
        json!({
            "ticket": { "number": ticket_number(ticket.id), "subject": ticket.subject, "url": self.mailroom.ticket_url(ticket.id), "stage": ticket.stage },
            "customer": { "name": customer.map(|c| c.name.as_str()).unwrap_or_default(), "contact": contact.unwrap_or_default() },
        })
    }
}

/// The whole scan as of `now`.
pub fn scan(pool: &DbPool, mailroom: &Mailroom, now: DateTime<Utc>) -> anyhow::Result<TickReport> {
    let mut conn = pool.get()?;
    let conn = &mut **conn;
    let calendar = targets::calendar(conn, mailroom.settings.timezone)?;
    let knobs = FollowUpSettings::load(conn).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut ctx = Context {
        pool,
        mailroom,
        people: People::load(conn)?,
        calendar,
        knobs,
        now,
        report: TickReport::default(),
    };
    let run = |result: Result<(), AppError>| result.map_err(|e| anyhow::anyhow!("{e}"));
    run(reminders(conn, &mut ctx))?;
    run(overdue_alerts(conn, &mut ctx))?;
    run(climb(conn, &mut ctx))?;
    run(target_checks(conn, &mut ctx))?;
    run(digests(conn, &mut ctx))?;
    Ok(ctx.report)
}

/// The latest due time that is at most `lead` business minutes away: everything due before
/// the instant `lead + 1` business minutes from now (weekends and holidays counted out), and
/// never beyond three weeks. Queries load only these rows, not every future promise.
fn horizon(ctx: &Context<'_>, lead: i64) -> NaiveDateTime {
    let exact = ctx.calendar.add(ctx.now, lead.saturating_add(1));
    exact.min(ctx.now + Duration::days(21)).naive_utc()
}

/// Handles `items` in short write transactions rather than one per item: each ends after 25
/// items or 3 ms of work, whichever comes first. A long scan (50,000 overdue promises) then
/// makes a few thousand commits instead of 50,000, and ticket intake, queued on the same
/// writer, waits behind at most one of them (see the scan's batch size below). An item's own
/// `db::write` inside is a savepoint. The transactions are redoable (`db::write_redoable`):
/// each marks its items done with their mails, so a pass that loses one in a power cut
/// finds those items again.
fn in_short_transactions<T: Sync>(
    conn: &mut DbConnection,
    items: &[T],
    mut each: impl FnMut(&mut DbConnection, &T) -> Result<(), AppError> + Send,
) -> Result<(), AppError> {
    const MAX_ITEMS: usize = 25;
    const MAX_HOLD: std::time::Duration = std::time::Duration::from_millis(3);
    let mut rest = items;
    while !rest.is_empty() {
        let mut done = 0;
        crate::db::write_redoable(conn, |conn| -> Result<(), AppError> {
            // From the moment this holds the writer (not from the wait for it).
            let started = std::time::Instant::now();
            for item in rest {
                each(conn, item)?;
                done += 1;
                if done >= MAX_ITEMS || started.elapsed() >= MAX_HOLD {
                    break;
                }
            }
            Ok(())
        })?;
        rest = &rest[done..];
    }
    Ok(())
}

fn reminders(conn: &mut DbConnection, ctx: &mut Context<'_>) -> Result<(), AppError> {
    let now = ctx.now.naive_utc();
    let finding = std::time::Instant::now();
    let due: Vec<Promise> =
        promises::due_for_reminder(conn, now, horizon(ctx, ctx.knobs.reminder_lead_minutes))?
            .into_iter()
            .filter(|p| {
                ctx.calendar.minutes_between(ctx.now, p.due_at.and_utc())
                    <= ctx.knobs.reminder_lead_minutes
            })
            .collect();
    ctx.report.found(finding);
    in_short_transactions(conn, &due, |conn, promise| {
        let Some(ticket) = ticket_db::find(conn, promise.ticket_id)? else {
            return Ok(());
        };
        crate::db::write(conn, |conn| -> Result<(), AppError> {
            if promises::mark(conn, promise.id, FollowUpStep::Reminded, now)? == 0 {
                return Ok(());
            }
            if let Some(agent) = ctx.people.holder(&ticket, promise).filter(|u| u.active) {
                let to = recipient(&agent);
                let promiser = ctx.people.name(promise.promised_by);
                let mut data = ctx.ticket_data(conn, &ticket)?;
                data["promise"] = json!({ "what": promise.what, "due": ctx.when(promise.due_at, to.locale), "promised_by": promiser });
                ctx.mailroom.enqueue(
                    conn,
                    &format!("reminder:promise:{}", promise.id),
                    "promise_reminder",
                    &to,
                    Some(ticket.id),
                    data,
                )?;
                events::append(
                    conn,
                    &system_event(
                        ticket.id,
                        "promise_reminder_sent",
                        Some(promise.what.clone()),
                        json!({ "promise_id": promise.id, "to": agent.id }),
                        now,
                    ),
                )?;
                ctx.report.reminders += 1;
            }
            Ok(())
        })
    })
}

/// One overdue promise's alert, composed (mails rendered) before any write lock is taken.
struct OverdueAlert {
    promise_id: i64,
    ticket_id: Option<i64>,
    /// Each manager's id and mail.
    mails: Vec<(i64, NewMail)>,
    body: String,
}

/// The managers' alerts for promises past due, in promise order (consecutive alerts then share
/// database pages), in batches of 2,000 (500 beside a reading thread), each 25 alerts (500 on
/// PostgreSQL) written in one short transaction (marks, outbox rows and timeline events,
/// multi-row statements). On SQLite, while this thread writes a batch, another reads the next
/// batch's promises, tickets and customers on a connection of its own, renders its mails and
/// runs the log's checkpoints (`write_beside_reader`); with no connection free (and on
/// PostgreSQL), one batch after another here.
/// Each alert exactly once: a promise another app server marked first is skipped, and a mail
/// key that exists is not queued again, so a batch composed from a read that is already stale
/// writes nothing twice.
fn overdue_alerts(conn: &mut DbConnection, ctx: &mut Context<'_>) -> Result<(), AppError> {
    const BATCH: usize = 2000;
    // Beside a reading thread, smaller: it checkpoints between batches, and the log the writer
    // adds meanwhile is what the writer's own checkpoint must copy should the log outgrow its
    // bound (measured: 2,000 held one commit 95-115 ms, 500 67-76 ms, scans alike).
    const BATCH_BESIDE_READER: usize = 500;
    let now = ctx.now.naive_utc();
    let finding = std::time::Instant::now();
    let ids = promises::overdue_unalerted_ids(conn, now)?;
    ctx.report.found(finding);
    if ids.is_empty() {
        return Ok(());
    }
    let shared: &Context<'_> = ctx;
    // On PostgreSQL the pass waits for the server's commits, not for its own work: measured
    // at a million tickets, a reading thread made the scan slower (8.1-8.8 s -> 9.7-11.4 s),
    // its queries competing with those commits for the same cores. There, one thread.
    let reader = match conn {
        DbConnection::Sqlite(_) => shared.pool.try_get(),
        DbConnection::Postgres(_) => None,
    };
    let written = match reader {
        Some(reader) => {
            // Checkpoints move to the reading thread (measured at a million tickets: the scan
            // 7.8-9.3 s -> 5.7-6.9 s; BENCHMARKS.md section 3).
            crate::db::pool::hold_checkpoints(conn, true)?;
            let written = write_beside_reader(conn, reader, shared, &ids, BATCH_BESIDE_READER);
            // The last batch's log, copied here rather than by the next commit (intake's).
            let copied = crate::db::pool::checkpoint(conn);
            crate::db::pool::hold_checkpoints(conn, false)?;
            let written = written?;
            copied?;
            written
        }
        None => {
            let mut written = 0;
            for ids in ids.chunks(BATCH) {
                let batch = compose_batch(conn, shared, ids)?;
                written += write_alerts(conn, &batch, now)?;
            }
            written
        }
    };
    ctx.report.overdue_alerts += written;
    Ok(())
}

/// Writes the alerts of `ids`, `batch` at a time, while `reader` (another connection, on a
/// thread of its own) reads and composes the next batch and, while the writer is still busy
/// with the batch before, copies the log's committed pages into the database file (each
/// checkpoint a commit would otherwise stop for, with the write lock free but intake's next
/// write waiting behind it).
fn write_beside_reader(
    conn: &mut DbConnection,
    mut reader: crate::db::pool::PooledConnection,
    ctx: &Context<'_>,
    ids: &[i64],
    batch: usize,
) -> Result<usize, AppError> {
    let now = ctx.now.naive_utc();
    std::thread::scope(|scope| {
        // At most one composed batch waits: the reader stays one batch ahead.
        let (sender, composed) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for ids in ids.chunks(batch) {
                let mut alerts = compose_batch(&mut reader, ctx, ids);
                let failed = alerts.is_err();
                loop {
                    // A failed checkpoint loses nothing: the writer's own (at ten times the
                    // usual log) would copy the pages instead.
                    let _ = crate::db::pool::checkpoint(&mut reader);
                    match sender.try_send(alerts) {
                        Ok(()) => break,
                        Err(TrySendError::Full(back)) => {
                            alerts = back;
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                        // A writer that stopped (its error ends the pass) takes no more.
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
                if failed {
                    return;
                }
            }
        });
        let mut written = 0;
        for alerts in composed {
            written += write_alerts(conn, &alerts?, now)?;
        }
        Ok(written)
    })
}

/// Writes composed alerts in short transactions; returns how many were written.
fn write_alerts(
    conn: &mut DbConnection,
    alerts: &[OverdueAlert],
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    // Measured at a million tickets (BENCHMARKS.md, section 3): 200 alerts per transaction
    // held the writer ~20 ms and intake at 4 clients waited behind it (p50 23 ms, p99 114 ms
    // during the scan, 5 / 20 ms alone); 25 per transaction gave p50 8 ms, p99 37 ms, for a
    // scan 25 % longer. 10 gained nothing more and made the scan 60 % longer.
    // PostgreSQL has no database-wide write lock (intake waits on no alert's transaction),
    // so there a transaction carries 500: the scan is bound by commits, not by waiting.
    let per_transaction = match conn {
        DbConnection::Sqlite(_) => 25,
        DbConnection::Postgres(_) => 500,
    };
    let mut written = 0;
    for chunk in alerts.chunks(per_transaction) {
        written += crate::db::write_redoable(conn, |conn| write_overdue(conn, chunk, now))?;
    }
    Ok(written)
}

/// Reads the promises among `ids` that are still open and unalerted, with their tickets and
/// customers, and composes their alerts (mails rendered), in promise order.
fn compose_batch(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    ids: &[i64],
) -> Result<Vec<OverdueAlert>, AppError> {
    let batch = promises::unalerted_among(conn, ids)?;
    let ticket_ids: Vec<i64> = batch.iter().map(|p| p.ticket_id).collect();
    let tickets: HashMap<i64, Ticket> = ticket_db::find_many(conn, &ticket_ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let customer_ids: Vec<i64> = tickets.values().map(|t| t.customer_id).collect();
    let customers: HashMap<i64, Customer> = customers::find_many(conn, &customer_ids)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    batch
        .iter()
        .map(|promise| {
            let ticket = tickets.get(&promise.ticket_id);
            let customer = ticket.and_then(|t| customers.get(&t.customer_id));
            compose_overdue(ctx, promise, ticket, customer)
        })
        .collect()
}

fn compose_overdue(
    ctx: &Context<'_>,
    promise: &Promise,
    ticket: Option<&Ticket>,
    customer: Option<&Customer>,
) -> Result<OverdueAlert, AppError> {
    let now = ctx.now.naive_utc();
    let mut alert = OverdueAlert {
        promise_id: promise.id,
        ticket_id: ticket.map(|t| t.id),
        mails: Vec::new(),
        body: format!(
            "{} ({})",
            promise.what,
            ctx.when(promise.due_at, Locale::En)
        ),
    };
    let Some(ticket) = ticket else {
        return Ok(alert);
    };
    let agent = ctx.people.holder(ticket, promise);
    let promiser = ctx.people.name(promise.promised_by);
    let late = (now - promise.due_at).num_minutes();
    let common = ctx.ticket_data_with(ticket, customer);
    for manager in ctx.people.managers_of(agent.as_ref()) {
        let to = recipient(&manager);
        let mut data = common.clone();
        data["promise"] = json!({ "what": promise.what, "due": ctx.when(promise.due_at, to.locale), "promised_by": promiser, "overdue_by": format_duration(late, to.locale) });
        data["agent"] =
            json!({ "name": agent.as_ref().map(|a| a.name.clone()).unwrap_or_default() });
        let key = format!("overdue:promise:{}:to:{}", promise.id, manager.id);
        let mail = ctx
            .mailroom
            .compose(&key, "promise_overdue", &to, Some(ticket.id), data)?;
        alert.mails.push((manager.id, mail));
    }
    Ok(alert)
}

/// Writes composed alerts: marks the promises, queues the mails of those this call marked,
/// and records each on its ticket's timeline. Returns how many alerts were written.
fn write_overdue(
    conn: &mut DbConnection,
    alerts: &[OverdueAlert],
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let ids: Vec<i64> = alerts.iter().map(|a| a.promise_id).collect();
    let marked: HashSet<i64> = promises::mark_overdue_alerted(conn, &ids, now)?
        .into_iter()
        .collect();
    let ours: Vec<&OverdueAlert> = alerts
        .iter()
        .filter(|a| marked.contains(&a.promise_id) && a.ticket_id.is_some())
        .collect();
    let mails: Vec<NewMail> = ours
        .iter()
        .flat_map(|a| a.mails.iter().map(|(_, mail)| mail.clone()))
        .collect();
    let queued: HashSet<String> = outbox::insert_new(conn, &mails)?.into_iter().collect();
    let events: Vec<NewEvent> = ours
        .iter()
        .filter_map(|a| {
            let sent_to: Vec<i64> = a
                .mails
                .iter()
                .filter(|(_, mail)| queued.contains(&mail.idempotency_key))
                .map(|(manager, _)| *manager)
                .collect();
            Some(system_event(
                a.ticket_id?,
                "overdue_alert_sent",
                Some(a.body.clone()),
                json!({ "promise_id": a.promise_id, "to": sent_to }),
                now,
            ))
        })
        .collect();
    events::append_many(conn, &events)?;
    Ok(events.len())
}

fn climb(conn: &mut DbConnection, ctx: &mut Context<'_>) -> Result<(), AppError> {
    let now = ctx.now.naive_utc();
    // Business minutes never outnumber the clock's, so only promises alerted at least that
    // many clock minutes ago can be due to climb; the calendar decides among those.
    let alerted_by = now - Duration::minutes(ctx.knobs.escalate_after_minutes);
    let finding = std::time::Instant::now();
    let due: Vec<Promise> = promises::alerted_not_escalated(conn, alerted_by)?
        .into_iter()
        .filter(|p| {
            p.overdue_alerted_at.is_some_and(|at| {
                ctx.calendar.minutes_between(at.and_utc(), ctx.now)
                    >= ctx.knobs.escalate_after_minutes
            })
        })
        .collect();
    ctx.report.found(finding);
    in_short_transactions(conn, &due, |conn, promise| {
        let Some(alerted) = promise.overdue_alerted_at else {
            return Ok(());
        };
        let Some(ticket) = ticket_db::find(conn, promise.ticket_id)? else {
            return Ok(());
        };
        crate::db::write(conn, |conn| -> Result<(), AppError> {
            if promises::mark(conn, promise.id, FollowUpStep::Escalated, now)? == 0 {
                return Ok(());
            }
            let agent = ctx.people.holder(&ticket, promise);
            let promiser = ctx.people.name(promise.promised_by);
            let mut sent_to = Vec::new();
            for manager in ctx.people.managers_of(agent.as_ref()) {
                for up in ctx.people.above(&manager) {
                    let to = recipient(&up);
                    let late = (now - promise.due_at).num_minutes();
                    let mut data = ctx.ticket_data(conn, &ticket)?;
                    data["promise"] = json!({ "what": promise.what, "due": ctx.when(promise.due_at, to.locale), "promised_by": promiser, "overdue_by": format_duration(late, to.locale) });
                    data["agent"] = json!({ "name": agent.as_ref().map(|a| a.name.clone()).unwrap_or_default() });
                    data["manager"] = json!({ "name": manager.name });
                    data["first_alert_at"] = json!(ctx.when(alerted, to.locale));
                    let key = format!("overdue-escalated:promise:{}:to:{}", promise.id, up.id);
                    if ctx.mailroom.enqueue(
                        conn,
                        &key,
                        "promise_overdue_escalated",
                        &to,
                        Some(ticket.id),
                        data,
                    )? {
                        sent_to.push(up.id);
                    }
                }
            }
            events::append(
                conn,
                &system_event(
                    ticket.id,
                    "overdue_alert_escalated",
                    Some(promise.what.clone()),
                    json!({ "promise_id": promise.id, "to": sent_to }),
                    now,
                ),
            )?;
            ctx.report.escalated_alerts += 1;
            Ok(())
        })
    })
}

#[derive(Clone, Copy)]
enum Target {
    FirstResponse,
    Resolution,
}

impl Target {
    fn kind(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::Resolution => "resolution",
        }
    }
}

fn target_checks(conn: &mut DbConnection, ctx: &mut Context<'_>) -> Result<(), AppError> {
    let h = horizon(ctx, ctx.knobs.target_warning_minutes);
    // Only tickets with something to do: breached now, or due for their warning.
    let acts = |ctx: &Context<'_>, due: Option<NaiveDateTime>, warned: bool| {
        due.is_some_and(|due| {
            due <= ctx.now.naive_utc()
                || (!warned
                    && ctx.calendar.minutes_between(ctx.now, due.and_utc())
                        <= ctx.knobs.target_warning_minutes)
        })
    };
    let finding = std::time::Instant::now();
    let first: Vec<Ticket> = ticket_db::first_response_candidates(conn, h)?
        .into_iter()
        .filter(|t| acts(ctx, t.first_response_due_at, t.first_response_warned))
        .collect();
    ctx.report.found(finding);
    in_short_transactions(conn, &first, |conn, ticket| {
        check_target(
            conn,
            ctx,
            ticket,
            Target::FirstResponse,
            ticket.first_response_due_at,
            ticket.first_response_warned,
        )
    })?;
    let finding = std::time::Instant::now();
    let resolution: Vec<Ticket> = ticket_db::resolution_candidates(conn, h)?
        .into_iter()
        .filter(|t| acts(ctx, t.resolution_due_at, t.resolution_warned))
        .collect();
    ctx.report.found(finding);
    in_short_transactions(conn, &resolution, |conn, ticket| {
        check_target(
            conn,
            ctx,
            ticket,
            Target::Resolution,
            ticket.resolution_due_at,
            ticket.resolution_warned,
        )
    })
}

fn check_target(
    conn: &mut DbConnection,
    ctx: &mut Context<'_>,
    ticket: &Ticket,
    target: Target,
    due: Option<NaiveDateTime>,
    warned: bool,
) -> Result<(), AppError> {
    let Some(due) = due else { return Ok(()) };
    let now = ctx.now.naive_utc();
    let agent = ticket
        .assignee_id
        .and_then(|id| ctx.people.find(id))
        .cloned();
    if due <= now {
        return crate::db::write(conn, |conn| {
            let mut flags = TicketChanges::default();
            match target {
                Target::FirstResponse => flags.first_response_breached = Some(true),
                Target::Resolution => flags.resolution_breached = Some(true),
            }
            if ticket_db::set_flag(conn, ticket.id, &flags, target.kind(), true)? == 0 {
                return Ok(());
            }
            let mut sent_to = Vec::new();
            for manager in ctx.people.managers_of(agent.as_ref()) {
                let to = recipient(&manager);
                let mut data = ctx.ticket_data(conn, ticket)?;
                data["target"] = json!({ "kind": target.kind(), "due": ctx.when(due, to.locale) });
                data["agent"] =
                    json!({ "name": agent.as_ref().map(|a| a.name.clone()).unwrap_or_default() });
                let key = format!(
                    "breach:{}:ticket:{}:due:{}:to:{}",
                    target.kind(),
                    ticket.id,
                    due.and_utc().timestamp(),
                    manager.id
                );
                if ctx
                    .mailroom
                    .enqueue(conn, &key, "target_breach", &to, Some(ticket.id), data)?
                {
                    sent_to.push(manager.id);
                }
            }
            events::append(
                conn,
                &system_event(
                    ticket.id,
                    "target_breached",
                    None,
                    json!({ "target": target.kind(), "due_at": due.and_utc(), "to": sent_to }),
                    now,
                ),
            )?;
            ctx.report.target_breaches += 1;
            Ok(())
        });
    }
    if warned
        || ctx.calendar.minutes_between(ctx.now, due.and_utc()) > ctx.knobs.target_warning_minutes
    {
        return Ok(());
    }
    crate::db::write(conn, |conn| {
        let mut flags = TicketChanges::default();
        match target {
            Target::FirstResponse => flags.first_response_warned = Some(true),
            Target::Resolution => flags.resolution_warned = Some(true),
        }
        if ticket_db::set_flag(conn, ticket.id, &flags, target.kind(), false)? == 0 {
            return Ok(());
        }
        if let Some(agent) = agent.as_ref().filter(|a| a.active) {
            let to = recipient(agent);
            let mut data = ctx.ticket_data(conn, ticket)?;
            data["target"] = json!({ "kind": target.kind(), "due": ctx.when(due, to.locale) });
            let key = format!(
                "warning:{}:ticket:{}:due:{}",
                target.kind(),
                ticket.id,
                due.and_utc().timestamp()
            );
            ctx.mailroom
                .enqueue(conn, &key, "target_warning", &to, Some(ticket.id), data)?;
            events::append(
                conn,
                &system_event(
                    ticket.id,
                    "target_warning_sent",
                    None,
                    json!({ "target": target.kind(), "due_at": due.and_utc(), "to": agent.id }),
                    now,
                ),
            )?;
            ctx.report.target_warnings += 1;
        }
        Ok(())
    })
}

/// The most items a digest lists per section (per agent for overdue promises); the rest are
/// counted, with a link to the queue. A digest stays a short mail at a million tickets.
const DIGEST_ITEMS: usize = 10;

/// Tab counts in a digest stop here, as on the queue ("1000+").
const DIGEST_COUNT_CAP: i64 = 1000;

fn digests(conn: &mut DbConnection, ctx: &mut Context<'_>) -> Result<(), AppError> {
    let local = ctx.zone().from_utc_datetime(&ctx.now.naive_utc());
    let digest_at = parse_time(&ctx.knobs.digest_time).unwrap_or(NaiveTime::MIN);
    if local.time() < digest_at {
        return Ok(());
    }
    let today = local.date_naive();
    let now = ctx.now.naive_utc();
    let everyone = users::list(conn)?;
    let mut managers: Vec<&User> = Vec::new();
    for manager in everyone
        .iter()
        .filter(|u| u.active && u.role() == Role::Manager)
    {
        if !app_settings::job_done(conn, &digest_mark(manager, today))? {
            managers.push(manager);
        }
    }
    if managers.is_empty() {
        return Ok(());
    }
    let overdue = OverdueByHolder::load(conn, now)?;
    let base = &ctx.mailroom.settings.base_url;
    let queue_url = format!("{base}/queue");
    // Replacements waiting too long to ship, oldest first, with their tickets' assignees.
    let cutoff = now - Duration::days(ctx.knobs.unshipped_after_days);
    let mut waiting: Vec<replacements::Replacement> = Vec::new();
    // A thousand oldest per status: past that, the counts say "+".
    let mut waiting_capped = false;
    for status in ["requested", "approved"] {
        let oldest = replacements::list(conn, Some(status), DIGEST_COUNT_CAP)?;
        waiting_capped |= oldest.len() as i64 >= DIGEST_COUNT_CAP;
        waiting.extend(oldest.into_iter().filter(|r| r.created_at < cutoff));
    }
    waiting.sort_by_key(|r| r.created_at);
    let ids: Vec<i64> = waiting.iter().map(|r| r.ticket_id).collect();
    let owners: HashMap<i64, Option<i64>> =
        ticket_db::assignees_of(conn, &ids)?.into_iter().collect();
    for manager in managers {
        let mark = digest_mark(manager, today);
        // A manager's people: those who name them, and those who name no manager at all.
        let team: Vec<&User> = everyone
            .iter()
            .filter(|u| {
                u.manager_id == Some(manager.id)
                    || (u.manager_id.is_none() && u.role() == Role::Agent)
            })
            .collect();
        let to = recipient(manager);
        let mut overdue_groups: Vec<Value> = Vec::new();
        for member in &team {
            let Some((count, promises)) = overdue.by_holder.get(&member.id) else {
                continue;
            };
            let ids: Vec<i64> = promises.iter().map(|(ticket, _)| *ticket).collect();
            let tickets: HashMap<i64, Ticket> = ticket_db::find_many(conn, &ids)?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
            let items: Vec<Value> = promises
                .iter()
                .filter_map(|(ticket, due)| tickets.get(ticket).map(|t| (t, due)))
                .map(|(ticket, due)| json!({ "number": ticket_number(ticket.id), "subject": ticket.subject, "due": ctx.when(*due, to.locale), "url": ctx.mailroom.ticket_url(ticket.id) }))
                .collect();
            let more = more_than(*count as i64, items.len(), false);
            let more_url = format!("{queue_url}?tab=all&overdue=true&assignee={}", member.id);
            overdue_groups.push(json!({ "agent": member.name, "count": count, "items": items, "more": more, "more_url": more_url }));
        }
        // Missed targets of the team's (and the manager's own) open tickets, the newest first
        // (yesterday's news before what earlier digests have listed).
        let mut holders: Vec<i64> = team.iter().map(|u| u.id).collect();
        holders.push(manager.id);
        let mut breached: Vec<Ticket> = Vec::new();
        let (mut breached_count, mut breached_capped) = (0, false);
        for holder in holders {
            let filter = ticket_db::TicketFilter {
                stages: ticket_db::OPEN_STAGES.map(String::from).to_vec(),
                assignee: Some(Some(holder)),
                breached: true,
                ..Default::default()
            };
            let count = ticket_db::count_up_to(conn, &filter, DIGEST_COUNT_CAP)?;
            breached_capped |= count >= DIGEST_COUNT_CAP;
            breached_count += count;
            breached.extend(ticket_db::list(conn, &filter, DIGEST_ITEMS as i64)?);
        }
        breached.sort_by_key(|t| std::cmp::Reverse(t.id));
        breached.truncate(DIGEST_ITEMS);
        let breaches: Vec<Value> = breached
            .into_iter()
            .map(|t| {
                let (kind, due) = if t.first_response_breached { ("first_response", t.first_response_due_at) } else { ("resolution", t.resolution_due_at) };
                json!({ "number": ticket_number(t.id), "subject": t.subject, "target_kind": kind, "due": due.map(|d| ctx.when(d, to.locale)).unwrap_or_default(), "url": ctx.mailroom.ticket_url(t.id) })
            })
            .collect();
        let escalated_filter = ticket_db::TicketFilter {
            escalated_to: Some(manager.id),
            ..Default::default()
        };
        let escalated_count = ticket_db::count_up_to(conn, &escalated_filter, DIGEST_COUNT_CAP)?;
        let escalated: Vec<Value> = ticket_db::list(conn, &escalated_filter, DIGEST_ITEMS as i64)?
            .into_iter()
            .map(|t| json!({ "number": ticket_number(t.id), "subject": t.subject, "since": ctx.when(t.updated_at, to.locale), "url": ctx.mailroom.ticket_url(t.id) }))
            .collect();
        let ours: Vec<&replacements::Replacement> = waiting
            .iter()
            .filter(|r| {
                owners
                    .get(&r.ticket_id)
                    .copied()
                    .flatten()
                    .is_some_and(|a| a == manager.id || team.iter().any(|u| u.id == a))
            })
            .collect();
        let unshipped: Vec<Value> = ours
            .iter()
            .take(DIGEST_ITEMS)
            .map(|r| json!({ "number": ticket_number(r.ticket_id), "item": r.item, "days": (now - r.created_at).num_days(), "url": ctx.mailroom.ticket_url(r.ticket_id) }))
            .collect();
        crate::db::write_redoable(conn, |conn| -> Result<(), AppError> {
            if !app_settings::mark_job(conn, &mark)? {
                return Ok(());
            }
            // Nothing to report, no digest: a quiet day stays quiet.
            if overdue_groups.is_empty()
                && breaches.is_empty()
                && escalated.is_empty()
                && unshipped.is_empty()
            {
                return Ok(());
            }
            let open = ticket_db::OPEN_STAGES.join(",");
            let data = json!({
                "date": format_date(today, to.locale),
                "overdue_promises": overdue_groups,
                "breaches": breaches,
                "breaches_more": more_than(breached_count, breaches.len(), breached_capped),
                "breaches_url": format!("{queue_url}?tab=all&breached=true&stage={open}"),
                "escalated": escalated,
                "escalated_more": more_than(escalated_count, escalated.len(), escalated_count >= DIGEST_COUNT_CAP),
                "escalated_url": format!("{queue_url}?tab=escalated"),
                "unshipped": unshipped,
                "unshipped_more": more_than(ours.len() as i64, unshipped.len(), waiting_capped),
                "unshipped_url": format!("{base}/replacements"),
            });
            ctx.mailroom
                .enqueue(conn, &mark, "digest", &to, None, data)?;
            ctx.report.digests += 1;
            Ok(())
        })?;
    }
    Ok(())
}

/// How many a digest list leaves out: 0 (nothing to say), a number, or "N+" when the count
/// stopped at its cap.
fn more_than(total: i64, shown: usize, capped: bool) -> Value {
    let rest = (total - shown as i64).max(0);
    match (rest, capped) {
        (0, _) => json!(0),
        (n, true) => json!(format!("{n}+")),
        (n, false) => json!(n),
    }
}

fn digest_mark(manager: &User, day: chrono::NaiveDate) -> String {
    format!("digest:{}:{}", manager.id, day)
}

/// Open overdue promises grouped by who holds them (the ticket's assignee, else the one who
/// promised): how many each holds, and the ticket and due time of the oldest few. Read once
/// per pass, in narrow rows (ticket, due, promiser; then ticket, assignee).
struct OverdueByHolder {
    by_holder: HashMap<i64, (usize, Vec<(i64, NaiveDateTime)>)>,
}

impl OverdueByHolder {
    fn load(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Self, AppError> {
        // Oldest due first, so each holder keeps the most overdue.
        let overdue = promises::overdue_open(conn, now)?;
        let ids: Vec<i64> = overdue.iter().map(|(ticket, _, _)| *ticket).collect();
        let assignees: HashMap<i64, Option<i64>> =
            ticket_db::assignees_of(conn, &ids)?.into_iter().collect();
        let mut by_holder: HashMap<i64, (usize, Vec<(i64, NaiveDateTime)>)> = HashMap::new();
        for (ticket, due, promised_by) in overdue {
            let Some(assignee) = assignees.get(&ticket) else {
                continue;
            };
            let (count, shown) = by_holder
                .entry(assignee.unwrap_or(promised_by))
                .or_default();
            *count += 1;
            if shown.len() < DIGEST_ITEMS {
                shown.push((ticket, due));
            }
        }
        Ok(Self { by_holder })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_says_how_many_it_left_out_and_whether_the_count_stopped() {
        assert_eq!(more_than(13, 10, false), json!(3));
        assert_eq!(more_than(10, 10, false), json!(0));
        assert_eq!(more_than(3, 10, false), json!(0));
        assert_eq!(more_than(1000, 10, true), json!("990+"));
        // Nothing left out says nothing, capped or not.
        assert_eq!(more_than(10, 10, true), json!(0));
    }
}
