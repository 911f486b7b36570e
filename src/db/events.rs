//! The append-only timeline of a ticket.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::ticket_events;
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ticket_events)]
pub struct Event {
    pub id: i64,
    pub ticket_id: i64,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub visibility: String,
    pub body: Option<String>,
    pub data: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = ticket_events, treat_none_as_default_value = false)]
pub struct NewEvent {
    pub ticket_id: i64,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub visibility: String,
    pub body: Option<String>,
    pub data: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn append(conn: &mut DbConnection, event: &NewEvent) -> QueryResult<Event> {
    on_backend!(conn, c => diesel::insert_into(ticket_events::table)
        .values(event)
        .returning(ticket_events::all_columns)
        .get_result(c))
}

/// A ticket's events, oldest first; `public_only` hides internal notes and system events.
pub fn for_ticket(
    conn: &mut DbConnection,
    ticket_id: i64,
    public_only: bool,
) -> QueryResult<Vec<Event>> {
    let mut query = ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .select(Event::as_select())
        .into_boxed();
    if public_only {
        query = query.filter(ticket_events::visibility.eq("public"));
    }
    query.order(ticket_events::id.asc()).load(conn)
}

/// Writes many events in one statement (bulk demo data).
pub fn append_many(conn: &mut DbConnection, new: &[NewEvent]) -> QueryResult<Vec<i64>> {
    insert_many!(conn, ticket_events::table, new, ticket_events::id)
}
