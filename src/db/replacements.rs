//! Replacement goods sent to customers, tracked until delivered.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::replacements;
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = replacements)]
pub struct Replacement {
    pub id: i64,
    pub ticket_id: i64,
    pub item: String,
    pub quantity: i32,
    pub reason: String,
    pub cost: i64,
    pub status: String,
    pub needs_approval: bool,
    pub approved_by: Option<i64>,
    pub courier: Option<String>,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
    pub requested_by: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub shipped_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = replacements, treat_none_as_default_value = false)]
pub struct NewReplacement<'a> {
    pub ticket_id: i64,
    pub item: &'a str,
    pub quantity: i32,
    pub reason: &'a str,
    pub cost: i64,
    pub status: &'a str,
    pub needs_approval: bool,
    pub approved_by: Option<i64>,
    pub requested_by: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(AsChangeset, Default, Debug, Clone)]
#[diesel(table_name = replacements)]
pub struct ReplacementChanges {
    pub status: Option<String>,
    pub approved_by: Option<Option<i64>>,
    pub courier: Option<Option<String>>,
    pub tracking_number: Option<Option<String>>,
    pub cancel_reason: Option<Option<String>>,
    pub shipped_at: Option<Option<NaiveDateTime>>,
    pub delivered_at: Option<Option<NaiveDateTime>>,
}

pub fn insert(conn: &mut DbConnection, new: &NewReplacement<'_>) -> QueryResult<Replacement> {
    diesel::insert_into(replacements::table)
        .values(new)
        .returning(replacements::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Replacement>> {
    replacements::table
        .find(id)
        .select(Replacement::as_select())
        .first(conn)
        .optional()
}

pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Replacement>> {
    replacements::table
        .filter(replacements::ticket_id.eq(ticket_id))
        .select(Replacement::as_select())
        .order(replacements::id.asc())
        .load(conn)
}

/// All replacements, oldest unshipped first, then the rest newest first.
pub fn list(
    conn: &mut DbConnection,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Replacement>> {
    let mut query = replacements::table
        .select(Replacement::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(replacements::status.eq(status));
    }
    query
        .order((replacements::status.asc(), replacements::created_at.asc()))
        .limit(limit)
        .load(conn)
}

pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    changes: &ReplacementChanges,
    now: NaiveDateTime,
) -> QueryResult<Option<Replacement>> {
    diesel::update(
        replacements::table
            .filter(replacements::id.eq(id))
            .filter(replacements::version.eq(version)),
    )
    .set((
        changes,
        replacements::version.eq(version + 1),
        replacements::updated_at.eq(now),
    ))
    .returning(replacements::all_columns)
    .get_result(conn)
    .optional()
}
