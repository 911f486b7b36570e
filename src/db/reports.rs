//! Counts for the manager dashboard: grouped queries, computed by the database.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{partners, promises, tickets};
use super::DbConnection;

/// Complaints since `since`, counted by one of their columns.
pub fn complaints_by(
    conn: &mut DbConnection,
    column: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<(Option<String>, i64)>> {
    let base = tickets::table
        .filter(tickets::kind.eq("complaint"))
        .filter(tickets::created_at.ge(since));
    let mut rows: Vec<(Option<String>, i64)> = match column {
        "category" => base
            .group_by(tickets::category)
            .select((tickets::category, count_star()))
            .load(conn)?,
        "product" => base
            .group_by(tickets::product)
            .select((tickets::product, count_star()))
            .load(conn)?,
        "channel" => base
            .group_by(tickets::channel)
            .select((tickets::channel.nullable(), count_star()))
            .load(conn)?,
        _ => {
            let by_partner: Vec<(Option<i64>, i64)> = base
                .group_by(tickets::partner_id)
                .select((tickets::partner_id, count_star()))
                .load(conn)?;
            let names: Vec<(i64, String)> = partners::table
                .select((partners::id, partners::name))
                .load(conn)?;
            by_partner
                .into_iter()
                .map(|(id, n)| {
                    (
                        id.and_then(|id| {
                            names
                                .iter()
                                .find(|(p, _)| *p == id)
                                .map(|(_, name)| name.clone())
                        }),
                        n,
                    )
                })
                .collect()
        }
    };
    rows.sort_by_key(|row| std::cmp::Reverse(row.1));
    Ok(rows)
}

/// Open tickets per stage.
pub fn open_by_stage(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    tickets::table
        .filter(tickets::stage.ne_all(["resolved", "closed"]))
        .group_by(tickets::stage)
        .select((tickets::stage, count_star()))
        .load(conn)
}

/// (promiser, status, how many)
pub type PromiseCount = (i64, String, i64);
/// Counts per promiser and status, and late open promises per promiser.
pub type PromiseFigures = (Vec<PromiseCount>, Vec<(i64, i64)>);

/// Promises per promiser and status (open, kept, broken), and how many open ones are late.
pub fn promises_by_agent(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<PromiseFigures> {
    let by_status = promises::table
        .group_by((promises::promised_by, promises::status))
        .select((promises::promised_by, promises::status, count_star()))
        .load(conn)?;
    let late = promises::table
        .filter(promises::status.eq("open"))
        .filter(promises::due_at.lt(now))
        .group_by(promises::promised_by)
        .select((promises::promised_by, count_star()))
        .load(conn)?;
    Ok((by_status, late))
}

/// Open tickets with a breached target.
pub fn breached_open(conn: &mut DbConnection) -> QueryResult<i64> {
    tickets::table
        .filter(tickets::stage.ne_all(["resolved", "closed"]))
        .filter(
            tickets::first_response_breached
                .eq(true)
                .or(tickets::resolution_breached.eq(true)),
        )
        .count()
        .get_result(conn)
}

/// Ratings (1–5) given since `since`.
pub fn ratings(conn: &mut DbConnection, since: NaiveDateTime) -> QueryResult<Vec<i32>> {
    tickets::table
        .filter(tickets::satisfaction.is_not_null())
        .filter(tickets::updated_at.ge(since))
        .select(tickets::satisfaction.assume_not_null())
        .load(conn)
}
