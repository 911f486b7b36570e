//! The query plan of a diesel query, as the database would run it: `EXPLAIN QUERY PLAN` on
//! SQLite, `EXPLAIN` on PostgreSQL. Tests use it to prove that no queue tab scans the whole
//! tickets table; an operator can use it the same way.

use diesel::deserialize::{self, QueryableByName};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::NamedRow;
use diesel::sql_types::{Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};

use super::{DbConnection, MultiBackend};

/// `query`, explained.
#[derive(Debug, Clone, Copy, QueryId)]
pub struct Explain<Q>(pub Q);

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        // Never from diesel's statement cache: SQLite computes an EXPLAIN QUERY PLAN when the
        // statement is prepared and does not prepare it again after the schema changed, so a
        // cached one would show the plan of indexes that are gone.
        out.unsafe_to_cache_prepared();
        match out.backend() {
            MultiBackend::Sqlite(_) => out.push_sql("EXPLAIN QUERY PLAN "),
            MultiBackend::Postgres(_) => out.push_sql("EXPLAIN "),
        }
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> Query for Explain<Q> {
    type SqlType = Untyped;
}

impl<Q> RunQueryDsl<DbConnection> for Explain<Q> {}

/// One line of a plan: SQLite's `detail`, PostgreSQL's `QUERY PLAN`.
struct PlanLine(String);

impl QueryableByName<MultiBackend> for PlanLine {
    fn build<'a>(row: &impl NamedRow<'a, MultiBackend>) -> deserialize::Result<Self> {
        NamedRow::get::<Text, String>(row, "detail")
            .or_else(|_| NamedRow::get::<Text, String>(row, "QUERY PLAN"))
            .map(PlanLine)
    }
}

/// The plan lines of `query`.
pub fn plan<Q>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<String>>
where
    Q: QueryFragment<MultiBackend> + QueryId,
{
    let lines: Vec<PlanLine> = Explain(query).load(conn)?;
    Ok(lines.into_iter().map(|l| l.0).collect())
}
