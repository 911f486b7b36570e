//! The mail outbox: written in the same transaction as the event that causes a mail, claimed
//! by dispatchers with a lease, marked sent or failed. Claiming is where the backends differ:
//! PostgreSQL uses `FOR UPDATE SKIP LOCKED` so several app servers never take the same row;
//! SQLite has one writer at a time, so its single UPDATE … RETURNING is already exclusive.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::schema::outbox;
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox)]
pub struct OutboxMail {
    pub id: i64,
    pub idempotency_key: String,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// The template's language and variables, when the bodies are rendered at sending
    /// (`Mailroom::fill`); the body columns are then empty.
    pub template_data: Option<String>,
}

#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct NewMail {
    pub idempotency_key: String,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub template_data: Option<String>,
}

/// Queues a mail unless one with the same idempotency key exists; true when queued. One
/// `INSERT … ON CONFLICT DO NOTHING`: the unique index decides, in the same statement, so a
/// lost race never aborts the caller's transaction and no plan can turn the check into a
/// table scan (a separate `SELECT COUNT(*)` did: see BENCHMARKS.md §3, PostgreSQL).
pub fn insert_if_absent(conn: &mut DbConnection, mail: &NewMail) -> QueryResult<bool> {
    Ok(!insert_new(conn, std::slice::from_ref(mail))?.is_empty())
}

/// Queues many mails, skipping those whose idempotency key exists; returns the keys queued.
/// One statement per `ROWS_PER_INSERT` mails on both backends.
pub fn insert_new(conn: &mut DbConnection, mails: &[NewMail]) -> QueryResult<Vec<String>> {
    // In chunks: one alert can carry a mail per manager, so a transaction's mails are not
    // bounded by its alerts, and a statement takes a bounded number of parameters.
    let mut queued = Vec::with_capacity(mails.len());
    for chunk in mails.chunks(super::ROWS_PER_INSERT) {
        let insert = diesel::insert_into(outbox::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .returning(outbox::idempotency_key);
        queued.extend(match conn {
            DbConnection::Postgres(c) => insert.get_results::<String>(c)?,
            DbConnection::Sqlite(c) => insert.get_results::<String>(c)?,
        });
    }
    Ok(queued)
}

/// The mails a claim would take, as a SELECT with three parameters (due by, wall time, limit):
/// only unsent mails, never the sent ones (PostgreSQL walks `outbox_unsent_idx` in id order;
/// SQLite reads the pending and sending ranges of `outbox_due_idx`).
macro_rules! candidates {
    ($due:literal, $wall:literal, $limit:literal) => {
        concat!(
            "SELECT id FROM outbox WHERE status IN ('pending', 'sending') \
             AND ((status = 'pending' AND next_attempt_at <= ",
            $due,
            ") OR (status = 'sending' AND locked_until < ",
            $wall,
            ")) ORDER BY id LIMIT ",
            $limit
        )
    };
}

/// Takes up to `limit` mails for `worker` until `lease_until`: those due by `due_by` (the pass's
/// time), and those whose lease ran out by `wall` (the real time: a lease is never judged by a
/// pass that runs "as of" the future). Each claim counts as an attempt.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    due_by: NaiveDateTime,
    wall: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxMail>> {
    macro_rules! claim {
        ($conn:expr, [$p1:literal, $p2:literal, $p3:literal], $lock:literal, $p4:literal, $p5:literal) => {
            diesel::sql_query(concat!(
                "UPDATE outbox SET status = 'sending', locked_by = ",
                $p4,
                ", locked_until = ",
                $p5,
                ", attempts = attempts + 1 WHERE id IN (",
                candidates!($p1, $p2, $p3),
                $lock,
                ") RETURNING *"
            ))
            .bind::<Timestamp, _>(due_by)
            .bind::<Timestamp, _>(wall)
            .bind::<BigInt, _>(limit)
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(lease_until)
            .load($conn)
        };
    }
    match conn {
        // A plain index scan, never a bitmap one: mails change status twice on their way out,
        // so the unsent index fills with entries of dead row versions until VACUUM. An index
        // scan marks those it meets as dead and the next claim skips them; a bitmap scan
        // visits them all again (30 ms per claim during a 50,000-mail pass, 0.5 ms after). The
        // dispatcher claims outside any transaction, so the setting lasts for this claim only
        // (inside a caller's transaction it would last until that one ends).
        DbConnection::Postgres(c) => c.transaction(|c| {
            diesel::sql_query("SET LOCAL enable_bitmapscan = off").execute(c)?;
            claim!(c, ["$1", "$2", "$3"], " FOR UPDATE SKIP LOCKED", "$4", "$5")
        }),
        DbConnection::Sqlite(c) => claim!(c, ["?1", "?2", "?3"], "", "?4", "?5"),
    }
}

/// The database's plan for choosing the mails a claim takes (see `db::explain`).
pub fn claim_plan(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    let sql = match conn {
        DbConnection::Postgres(_) => candidates!("$1", "$2", "$3"),
        DbConnection::Sqlite(_) => candidates!("?1", "?2", "?3"),
    };
    let query = diesel::sql_query(sql)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(20);
    super::explain::plan(conn, query)
}

/// Extends this worker's lease on one mail just before it is sent; 0 rows means the lease was
/// lost (it ran out and another worker took the mail), so this worker must not send it.
pub fn renew(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    until: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::locked_by.eq(worker))
            .filter(outbox::status.eq("sending")),
    )
    .set(outbox::locked_until.eq(Some(until)))
    .execute(conn)
}

/// Sent: only if this worker still holds the lease (a crashed worker's late answer is ignored).
pub fn mark_sent(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::locked_by.eq(worker)),
    )
    .set((
        outbox::status.eq("sent"),
        outbox::sent_at.eq(Some(now)),
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)
}

/// Failed: back to pending for `retry_at`, or dead when `retry_at` is `None`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let (status, next) = match retry_at {
        Some(at) => ("pending", Some(at)),
        None => ("dead", None),
    };
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::locked_by.eq(worker));
    let updated = diesel::update(target)
        .set((
            outbox::status.eq(status),
            outbox::last_error.eq(Some(error)),
            outbox::locked_by.eq(None::<String>),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if let Some(next) = next {
        diesel::update(outbox::table.find(id))
            .set(outbox::next_attempt_at.eq(next))
            .execute(conn)?;
    }
    Ok(updated)
}

pub fn list(
    conn: &mut DbConnection,
    status: Option<&str>,
    limit: i64,
    before_id: Option<i64>,
) -> QueryResult<Vec<OutboxMail>> {
    let mut query = outbox::table.select(OutboxMail::as_select()).into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status));
    }
    if let Some(before) = before_id {
        query = query.filter(outbox::id.lt(before));
    }
    query.order(outbox::id.desc()).limit(limit).load(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<OutboxMail>> {
    outbox::table
        .find(id)
        .select(OutboxMail::as_select())
        .first(conn)
        .optional()
}

/// A dead (or waiting) mail goes back to the queue now, with a fresh count of attempts.
pub fn retry(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq_any(["dead", "pending"])),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)
}

pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<OutboxMail>> {
    outbox::table
        .filter(outbox::ticket_id.eq(ticket_id))
        .select(OutboxMail::as_select())
        .order(outbox::id.asc())
        .load(conn)
}
