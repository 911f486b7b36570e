//! Follow-up promises (playbook step 6).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::promises;
use super::DbConnection;

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
