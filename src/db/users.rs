//! Queries on users.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub manager_id: Option<i64>,
    pub locale: String,
    pub active: bool,
    pub away: bool,
    pub must_change_password: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    pub fn role(&self) -> crate::domain::user::Role {
        // The column has a CHECK constraint, so anything else is a corrupt row: treat it as
        // the least privileged role.
        crate::domain::user::Role::parse(&self.role).unwrap_or(crate::domain::user::Role::Agent)
    }
}

#[derive(Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub manager_id: Option<i64>,
    pub locale: &'a str,
    pub active: bool,
    pub away: bool,
    pub must_change_password: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields an admin may change; `None` leaves a field alone.
#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<String>,
    pub manager_id: Option<Option<i64>>,
    pub locale: Option<String>,
    pub active: Option<bool>,
    pub away: Option<bool>,
    pub password_hash: Option<String>,
    pub must_change_password: Option<bool>,
}

pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
    on_backend!(conn, c => users::table
        .find(id)
        .select(User::as_select())
        .first(c)
        .optional())
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::id.asc())
        .select(User::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Applies changes; when `revoke_tokens` is set the token version moves on, so every token
/// issued before stops working at once.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: &UserChanges,
    revoke_tokens: bool,
    now: NaiveDateTime,
) -> QueryResult<User> {
    let bump = if revoke_tokens { 1 } else { 0 };
    diesel::update(users::table.find(id))
        .set((
            changes,
            users::token_version.eq(users::token_version + bump),
            users::updated_at.eq(now),
        ))
        .returning(users::all_columns)
        .get_result(conn)
}

/// Would `manager_id` as the manager of `user_id` make a loop (A manages B manages A)?
pub fn would_loop(conn: &mut DbConnection, user_id: i64, manager_id: i64) -> QueryResult<bool> {
    let mut current = Some(manager_id);
    let mut steps = 0;
    while let Some(id) = current {
        if id == user_id {
            return Ok(true);
        }
        steps += 1;
        if steps > 64 {
            return Ok(true);
        }
        current = users::table
            .find(id)
            .select(users::manager_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten();
    }
    Ok(false)
}
