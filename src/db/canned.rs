//! Canned responses per playbook step and language.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::canned_responses;
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = canned_responses)]
pub struct CannedResponse {
    pub id: i64,
    pub key: Option<String>,
    pub step: String,
    pub locale: String,
    pub title: String,
    pub body: String,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(AsChangeset, Default, Debug, Clone)]
#[diesel(table_name = canned_responses)]
pub struct CannedChanges {
    pub step: Option<String>,
    pub locale: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub active: Option<bool>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut DbConnection,
    key: Option<&str>,
    step: &str,
    locale: &str,
    title: &str,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<CannedResponse> {
    diesel::insert_into(canned_responses::table)
        .values((
            canned_responses::key.eq(key),
            canned_responses::step.eq(step),
            canned_responses::locale.eq(locale),
            canned_responses::title.eq(title),
            canned_responses::body.eq(body),
            canned_responses::active.eq(true),
            canned_responses::version.eq(1),
            canned_responses::created_at.eq(now),
            canned_responses::updated_at.eq(now),
        ))
        .returning(canned_responses::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<CannedResponse>> {
    canned_responses::table
        .find(id)
        .select(CannedResponse::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConnection,
    step: Option<&str>,
    locale: Option<&str>,
    include_inactive: bool,
) -> QueryResult<Vec<CannedResponse>> {
    let mut query = canned_responses::table
        .select(CannedResponse::as_select())
        .into_boxed();
    if let Some(step) = step {
        query = query.filter(canned_responses::step.eq(step));
    }
    if let Some(locale) = locale {
        query = query.filter(canned_responses::locale.eq(locale));
    }
    if !include_inactive {
        query = query.filter(canned_responses::active.eq(true));
    }
    query
        .order((canned_responses::step.asc(), canned_responses::id.asc()))
        .load(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    canned_responses::table.count().get_result(conn)
}

pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    changes: &CannedChanges,
    now: NaiveDateTime,
) -> QueryResult<Option<CannedResponse>> {
    diesel::update(
        canned_responses::table
            .filter(canned_responses::id.eq(id))
            .filter(canned_responses::version.eq(version)),
    )
    .set((
        changes,
        canned_responses::version.eq(version + 1),
        canned_responses::updated_at.eq(now),
    ))
    .returning(canned_responses::all_columns)
    .get_result(conn)
    .optional()
}
