//! `column IN (?, ?, …)` that stays prepared.
//!
//! diesel never keeps a SQLite statement with `eq_any(list)` prepared (a list of any length
//! would make a new statement each time), so SQLite parsed and planned the queue's queries
//! again at every request: an eighth of a queue request (BENCHMARKS.md section 2). `ids` and
//! `stages` pad the list to the next of 8, 16, 32 … 256 values by repeating one of them (the
//! same rows match), so a query has a handful of shapes, and let diesel's cache keep them (the
//! padding Hibernate calls `in_clause_parameter_padding`). Longer lists are written out and
//! not kept. On PostgreSQL it is diesel's `= ANY($1)` (one array parameter, kept prepared
//! already).

use diesel::dsl::EqAny;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::expression_methods::ExpressionMethods;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use super::schema::tickets;
use super::MultiBackend;

/// The longest list whose statement is kept prepared.
const LONGEST_KEPT: usize = 256;

/// `values` padded to the next of 8, 16 … 256 by repeating the first (longer lists as they are).
fn padded<T: Clone>(values: &[T]) -> Vec<T> {
    let mut padded = values.to_vec();
    if let Some(first) = values.first().cloned() {
        let shape = values.len().next_power_of_two().max(8);
        if shape <= LONGEST_KEPT {
            padded.resize(shape, first);
        }
    }
    padded
}

/// `tickets.id IN (ids)`.
pub fn ids(ids: &[i64]) -> AnyOf<tickets::id, i64, EqAny<tickets::id, Vec<i64>>> {
    AnyOf {
        column: tickets::id,
        padded: padded(ids),
        exact: tickets::id.eq_any(ids.to_vec()),
    }
}

/// `tickets.stage IN (stages)`.
pub fn stages<S: AsRef<str>>(
    stages: &[S],
) -> AnyOf<tickets::stage, String, EqAny<tickets::stage, Vec<String>>> {
    let stages: Vec<String> = stages.iter().map(|s| s.as_ref().to_owned()).collect();
    AnyOf {
        column: tickets::stage,
        padded: padded(&stages),
        exact: tickets::stage.eq_any(stages),
    }
}

/// `column IN (values)`: on SQLite padded (see the module); on PostgreSQL `exact`, diesel's
/// own `column = ANY($1)` (one array parameter, which stays prepared already). No values
/// match no rows.
#[derive(Debug, Clone)]
pub struct AnyOf<C, T, E> {
    column: C,
    padded: Vec<T>,
    exact: E,
}

impl<C, T, E> Expression for AnyOf<C, T, E> {
    type SqlType = Bool;
}

impl<C, T, E, QS> AppearsOnTable<QS> for AnyOf<C, T, E> where C: AppearsOnTable<QS> {}

impl<C, T, E, QS> SelectableExpression<QS> for AnyOf<C, T, E> where C: SelectableExpression<QS> {}

impl<C, T, E, GB> ValidGrouping<GB> for AnyOf<C, T, E>
where
    C: ValidGrouping<GB>,
{
    type IsAggregate = C::IsAggregate;
}

impl<C, T, E> QueryId for AnyOf<C, T, E> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, T, E> QueryFragment<Sqlite> for AnyOf<C, T, E>
where
    C: Expression + QueryFragment<Sqlite>,
    Sqlite: HasSqlType<C::SqlType>,
    T: ToSql<C::SqlType, Sqlite>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if self.padded.is_empty() {
            out.push_sql("1 = 0");
            return Ok(());
        }
        if self.padded.len() > LONGEST_KEPT {
            out.unsafe_to_cache_prepared();
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, value) in self.padded.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<C::SqlType, T>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<C, T, E> QueryFragment<Pg> for AnyOf<C, T, E>
where
    E: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.exact.walk_ast(out)
    }
}

impl<C, T, E> QueryFragment<MultiBackend> for AnyOf<C, T, E>
where
    Self: QueryFragment<Pg> + QueryFragment<Sqlite>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

#[cfg(test)]
mod tests {
    fn sql(values: &[i64]) -> String {
        diesel::debug_query::<diesel::sqlite::Sqlite, _>(&super::ids(values))
            .to_string()
            .split(" -- binds")
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn lists_are_padded_to_few_shapes() {
        assert_eq!(sql(&[]), "1 = 0");
        assert_eq!(sql(&[5]).matches('?').count(), 8);
        assert_eq!(sql(&[1, 2, 3, 4, 5, 6, 7, 8]).matches('?').count(), 8);
        assert_eq!(sql(&[1; 9]).matches('?').count(), 16);
        assert_eq!(sql(&[1; 50]).matches('?').count(), 64);
        assert_eq!(sql(&[1; 256]).matches('?').count(), 256);
        assert_eq!(sql(&[1; 257]).matches('?').count(), 257);
    }

    #[test]
    fn postgresql_gets_one_array_parameter() {
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&super::ids(&[4, 5, 6])).to_string();
        assert!(sql.contains("= ANY($1)") && !sql.contains("$2"), "{sql}");
    }
}
