//! Stored counters of failed sign-ins (see `domain::sign_in` for the policy). Kept in the
//! database so that several app servers share them.

use diesel::prelude::*;

use super::schema::login_throttle;
use super::DbConnection;
use crate::domain::sign_in::ThrottleState;

pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<ThrottleState>> {
    login_throttle::table
        .find(key)
        .select((
            login_throttle::failures,
            login_throttle::window_started_at,
            login_throttle::locked_until,
        ))
        .first(conn)
        .optional()
        .map(|row| {
            row.map(
                |(failures, window_started_at, locked_until)| ThrottleState {
                    failures,
                    window_started_at,
                    locked_until,
                },
            )
        })
}

pub fn put(conn: &mut DbConnection, key: &str, state: &ThrottleState) -> QueryResult<()> {
    let updated = diesel::update(login_throttle::table.find(key))
        .set((
            login_throttle::failures.eq(state.failures),
            login_throttle::window_started_at.eq(state.window_started_at),
            login_throttle::locked_until.eq(state.locked_until),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::throttle_key.eq(key),
                login_throttle::failures.eq(state.failures),
                login_throttle::window_started_at.eq(state.window_started_at),
                login_throttle::locked_until.eq(state.locked_until),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .map(|_| ())
}
