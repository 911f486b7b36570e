//! Follow-up promises (playbook step 6).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::promises;
use super::{DbConnection, MultiBackend};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = promises)]
pub struct Promise {
    pub id: i64,
    pub ticket_id: i64,
    pub what: String,
    pub due_at: NaiveDateTime,
    pub promised_by: i64,
    pub status: String,
    pub note: Option<String>,
    pub replaced_by: Option<i64>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub reminded_at: Option<NaiveDateTime>,
    pub overdue_alerted_at: Option<NaiveDateTime>,
    pub escalation_alerted_at: Option<NaiveDateTime>,
}

pub fn insert(
    conn: &mut DbConnection,
    ticket_id: i64,
    what: &str,
    due_at: NaiveDateTime,
    promised_by: i64,
    now: NaiveDateTime,
) -> QueryResult<Promise> {
    diesel::insert_into(promises::table)
        .values((
            promises::ticket_id.eq(ticket_id),
            promises::what.eq(what),
            promises::due_at.eq(due_at),
            promises::promised_by.eq(promised_by),
            promises::status.eq("open"),
            promises::created_at.eq(now),
        ))
        .returning(promises::all_columns)
        .get_result(conn)
}

/// An open promise written whole (bulk demo data).
#[derive(Insertable)]
#[diesel(table_name = promises, treat_none_as_default_value = false)]
pub struct NewPromise<'a> {
    pub ticket_id: i64,
    pub what: &'a str,
    pub due_at: NaiveDateTime,
    pub promised_by: i64,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert_many(conn: &mut DbConnection, new: &[NewPromise<'_>]) -> QueryResult<Vec<i64>> {
    insert_many!(conn, promises::table, new, promises::id)
}

pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Promise>> {
    promises::table
        .filter(promises::ticket_id.eq(ticket_id))
        .select(Promise::as_select())
        .order(promises::id.asc())
        .load(conn)
}

pub fn open_for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Promise>> {
    promises::table
        .filter(promises::ticket_id.eq(ticket_id))
        .filter(promises::status.eq("open"))
        .select(Promise::as_select())
        .order(promises::due_at.asc())
        .load(conn)
}

/// Closes an open promise as kept or broken. `Ok(None)` when it was not open.
pub fn close(
    conn: &mut DbConnection,
    id: i64,
    status: &str,
    note: Option<&str>,
    replaced_by: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<Option<Promise>> {
    diesel::update(
        promises::table
            .filter(promises::id.eq(id))
            .filter(promises::status.eq("open")),
    )
    .set((
        promises::status.eq(status),
        promises::note.eq(note),
        promises::replaced_by.eq(replaced_by),
        promises::closed_at.eq(now),
    ))
    .returning(promises::all_columns)
    .get_result(conn)
    .optional()
}

/// A scheduler question about promises, not yet asked (so that `scheduler_plans` can explain
/// the very query the scheduler runs).
type Question =
    promises::BoxedQuery<'static, MultiBackend, diesel::dsl::AsSelect<Promise, MultiBackend>>;

/// Open promises not yet reminded whose due time is after `now` and before `horizon`.
pub fn due_for_reminder(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    horizon: NaiveDateTime,
) -> QueryResult<Vec<Promise>> {
    reminder_question(now, horizon).load(conn)
}

fn reminder_question(now: NaiveDateTime, horizon: NaiveDateTime) -> Question {
    promises::table
        .filter(promises::status.eq("open"))
        .filter(promises::reminded_at.is_null())
        .filter(promises::overdue_alerted_at.is_null())
        .filter(promises::due_at.gt(now))
        .filter(promises::due_at.le(horizon))
        .select(Promise::as_select())
        .order(promises::due_at.asc())
        .into_boxed()
}

/// The ids of open promises past due whose manager has not been told yet, in id order: the
/// order their rows, their tickets' timelines and their mail keys are stored in, so that the
/// alerts written one after another touch the same pages (see `jobs::follow_up`).
pub fn overdue_unalerted_ids(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    // Sorted here, not by the database: an ORDER BY id could walk the whole table instead
    // of the index that holds only the unalerted promises.
    let mut ids: Vec<i64> = overdue_question(now).load(conn)?;
    ids.sort_unstable();
    Ok(ids)
}

fn overdue_question(
    now: NaiveDateTime,
) -> promises::BoxedQuery<'static, MultiBackend, diesel::sql_types::BigInt> {
    promises::table
        .filter(promises::status.eq("open"))
        .filter(promises::overdue_alerted_at.is_null())
        .filter(promises::due_at.le(now))
        .select(promises::id)
        .into_boxed()
}

/// Those of `ids` still open with their manager not told (another app server may have told
/// them since the ids were read), in id order.
pub fn unalerted_among(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Promise>> {
    promises::table
        .filter(promises::id.eq_any(ids))
        .filter(promises::status.eq("open"))
        .filter(promises::overdue_alerted_at.is_null())
        .select(Promise::as_select())
        .order(promises::id.asc())
        .load(conn)
}

/// Open promises whose manager was told by `alerted_by`, not yet climbed a level.
pub fn alerted_not_escalated(
    conn: &mut DbConnection,
    alerted_by: NaiveDateTime,
) -> QueryResult<Vec<Promise>> {
    climb_question(alerted_by).load(conn)
}

fn climb_question(alerted_by: NaiveDateTime) -> Question {
    promises::table
        .filter(promises::status.eq("open"))
        .filter(promises::escalation_alerted_at.is_null())
        .filter(promises::overdue_alerted_at.le(alerted_by))
        .select(Promise::as_select())
        .into_boxed()
}

/// The database's plans for the scheduler's three questions about promises (reminders,
/// overdue alerts, climbing), by name (see `db::explain`).
pub fn scheduler_plans(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<Vec<(&'static str, Vec<String>)>> {
    let horizon = now + chrono::Duration::hours(1);
    Ok(vec![
        (
            "reminders",
            super::explain::plan(conn, reminder_question(now, horizon))?,
        ),
        (
            "overdue",
            super::explain::plan(conn, overdue_question(now))?,
        ),
        ("climb", super::explain::plan(conn, climb_question(now))?),
    ])
}

/// Open promises past due, oldest due first, as (ticket, due, promised by): narrow rows, for
/// the digests to group by agent.
pub fn overdue_open(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, NaiveDateTime, i64)>> {
    promises::table
        .filter(promises::status.eq("open"))
        .filter(promises::due_at.le(now))
        .select((promises::ticket_id, promises::due_at, promises::promised_by))
        .order(promises::due_at.asc())
        .load(conn)
}

/// Marks one of the follow-up steps as done for a promise.
pub fn mark(
    conn: &mut DbConnection,
    id: i64,
    step: FollowUpStep,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    // Only the first marker wins: when another app server got here first, 0 rows change.
    let target = promises::table.find(id);
    match step {
        FollowUpStep::Reminded => diesel::update(target.filter(promises::reminded_at.is_null()))
            .set(promises::reminded_at.eq(Some(at)))
            .execute(conn),
        FollowUpStep::OverdueAlerted => {
            diesel::update(target.filter(promises::overdue_alerted_at.is_null()))
                .set(promises::overdue_alerted_at.eq(Some(at)))
                .execute(conn)
        }
        FollowUpStep::Escalated => {
            diesel::update(target.filter(promises::escalation_alerted_at.is_null()))
                .set(promises::escalation_alerted_at.eq(Some(at)))
                .execute(conn)
        }
    }
}

/// Marks a step done for many promises at once; returns the ids this call marked (those
/// another app server marked first are left out, as with `mark`).
pub fn mark_overdue_alerted(
    conn: &mut DbConnection,
    ids: &[i64],
    at: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    let target = promises::table
        .filter(promises::id.eq_any(ids))
        .filter(promises::overdue_alerted_at.is_null());
    let update = diesel::update(target).set(promises::overdue_alerted_at.eq(Some(at)));
    match conn {
        DbConnection::Postgres(c) => update.returning(promises::id).get_results(c),
        DbConnection::Sqlite(c) => update.returning(promises::id).get_results(c),
    }
}

#[derive(Clone, Copy, Debug)]
pub enum FollowUpStep {
    Reminded,
    OverdueAlerted,
    Escalated,
}
