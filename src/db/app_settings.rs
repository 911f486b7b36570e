//! Desk-wide settings admins change at run time, stored as key → text.

use diesel::prelude::*;

use super::schema::app_settings;
use super::DbConnection;

pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    on_backend!(conn, c => app_settings::table
        .find(key)
        .select(app_settings::value)
        .first(c)
        .optional())
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    app_settings::table
        .select((app_settings::key, app_settings::value))
        .load(conn)
}

pub fn put(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    let now = super::now();
    let updated = diesel::update(app_settings::table.find(key))
        .set((
            app_settings::value.eq(value),
            app_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::key.eq(key),
                app_settings::value.eq(value),
                app_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

use super::schema::job_marks;

/// Has the job with this mark run (a manager's digest for one local day …)?
pub fn job_done(conn: &mut DbConnection, mark: &str) -> QueryResult<bool> {
    Ok(job_marks::table
        .find(mark)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Marks a job done; false when it already was (another app server won the race). The
/// insert runs in a savepoint, so a lost race does not abort the caller's transaction.
pub fn mark_job(conn: &mut DbConnection, mark: &str) -> QueryResult<bool> {
    if job_done(conn, mark)? {
        return Ok(false);
    }
    let inserted = crate::db::write(conn, |conn| {
        diesel::insert_into(job_marks::table)
            .values((
                job_marks::mark.eq(mark),
                job_marks::created_at.eq(super::now()),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}
