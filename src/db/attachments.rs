//! Attachment metadata (the bytes live on disk, by content hash).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::attachments;
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub ticket_id: i64,
    pub event_id: Option<i64>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = attachments, treat_none_as_default_value = false)]
pub struct NewAttachment<'a> {
    pub ticket_id: i64,
    pub event_id: Option<i64>,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub uploaded_by: i64,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewAttachment<'_>) -> QueryResult<Attachment> {
    diesel::insert_into(attachments::table)
        .values(new)
        .returning(attachments::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Attachment>> {
    attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)
        .optional()
}

pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Attachment>> {
    attachments::table
        .filter(attachments::ticket_id.eq(ticket_id))
        .select(Attachment::as_select())
        .order(attachments::id.asc())
        .load(conn)
}
