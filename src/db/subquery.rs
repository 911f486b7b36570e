//! Statements built around boxed ticket queries: `tickets.id IN (…)`, and several filters'
//! capped counts in one statement.
//!
//! diesel's `eq_any(subquery)` asks each backend's own form of the subquery, and a boxed
//! query of the `MultiBackend` has only the multi-backend form (BENCHMARKS.md §2 recorded that
//! it does not type-check); these write the same SQL through that form.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer};
use diesel::{QueryResult, RunQueryDsl};

use super::schema::tickets;
use super::{DbConnection, MultiBackend};

/// A query for ticket ids (one `BIGINT` column), boxed.
pub type IdQuery = tickets::BoxedQuery<'static, MultiBackend, BigInt>;

/// `tickets.id IN (query)`.
pub fn ids_in(query: IdQuery) -> IdsIn {
    IdsIn(query)
}

pub struct IdsIn(IdQuery);

impl Expression for IdsIn {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for IdsIn where tickets::id: AppearsOnTable<QS> {}

impl<QS> SelectableExpression<QS> for IdsIn where tickets::id: SelectableExpression<QS> {}

impl<GB> ValidGrouping<GB> for IdsIn
where
    tickets::id: ValidGrouping<GB>,
{
    type IsAggregate = <tickets::id as ValidGrouping<GB>>::IsAggregate;
}

impl QueryId for IdsIn {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for IdsIn {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        QueryFragment::<MultiBackend>::walk_ast(&tickets::id, out.reborrow())?;
        out.push_sql(" IN (");
        QueryFragment::<MultiBackend>::walk_ast(&self.0, out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

/// How many tickets each of several filters matches, counted up to a cap, in one statement:
/// a row `(position, count)` per filter, `SELECT ?, CASE WHEN (probe) IS NULL THEN (count)
/// ELSE ? END UNION ALL …`. The probe asks the filter's `cap`-th id (the database skips to it
/// without handing over a row); only where there is none does the exact count run.
pub struct CappedCounts {
    /// Each filter's probe and exact count, and its position.
    counts: Vec<(IdQuery, IdQuery, i32)>,
    cap: i64,
}

/// A capped count of one filter: its `cap`-th id (`LIMIT 1 OFFSET cap - 1`), and `COUNT(*)`.
pub struct CappedCount {
    pub probe: IdQuery,
    pub count: IdQuery,
}

/// The statement counting each of `counts` up to `cap`.
pub fn capped_counts(counts: Vec<CappedCount>, cap: i64) -> CappedCounts {
    CappedCounts {
        counts: (0..)
            .zip(counts)
            .map(|(position, c)| (c.probe, c.count, position))
            .collect(),
        cap,
    }
}

/// The counts, in the order given (none given: no statement).
pub fn load_counts(conn: &mut DbConnection, query: CappedCounts) -> QueryResult<Vec<i64>> {
    let mut counts = vec![0; query.counts.len()];
    if counts.is_empty() {
        return Ok(counts);
    }
    let rows: Vec<(i32, i64)> = query.load(conn)?;
    for (position, count) in rows {
        if let Some(slot) = usize::try_from(position)
            .ok()
            .and_then(|p| counts.get_mut(p))
        {
            *slot = count;
        }
    }
    Ok(counts)
}

impl Query for CappedCounts {
    type SqlType = (Integer, BigInt);
}

impl QueryId for CappedCounts {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<DbConnection> for CappedCounts {}

impl QueryFragment<MultiBackend> for CappedCounts {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        for (probe, count, position) in &self.counts {
            if *position > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql("SELECT ");
            out.push_bind_param::<Integer, i32>(position)?;
            out.push_sql(", CASE WHEN (");
            QueryFragment::<MultiBackend>::walk_ast(probe, out.reborrow())?;
            out.push_sql(") IS NULL THEN (");
            QueryFragment::<MultiBackend>::walk_ast(count, out.reborrow())?;
            out.push_sql(") ELSE ");
            out.push_bind_param::<BigInt, i64>(&self.cap)?;
            out.push_sql(" END");
        }
        Ok(())
    }
}
