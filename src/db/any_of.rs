//! `column IN (?, ?, …)` that stays prepared.
//!
//! diesel never keeps a statement with `eq_any(list)` prepared (a list of any length would make
//! a new statement each time), so SQLite parsed and planned the queue's queries again at every
//! request: an eighth of a queue request (BENCHMARKS.md section 2). `any_of` pads the list to
//! the next of 8, 16, 32 … 256 values by repeating one of them (the same rows match), so a
//! query has a handful of shapes, and lets diesel's cache keep them (the padding Hibernate
//! calls `in_clause_parameter_padding`). Longer lists are written out and not kept.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType};
use diesel::QueryResult;

/// The longest list whose statement is kept prepared.
const LONGEST_KEPT: usize = 256;

/// `column IN (values)`, padded (see the module); no values match no rows.
pub fn any_of<C, T: Clone>(column: C, values: &[T]) -> AnyOf<C, T> {
    let mut values = values.to_vec();
    if let Some(first) = values.first().cloned() {
        let padded = values.len().next_power_of_two().max(8);
        if padded <= LONGEST_KEPT {
            values.resize(padded, first);
        }
    }
    AnyOf { column, values }
}

#[derive(Debug, Clone)]
pub struct AnyOf<C, T> {
    column: C,
    values: Vec<T>,
}

impl<C: Expression, T> Expression for AnyOf<C, T> {
    type SqlType = Bool;
}

impl<C, T, QS> AppearsOnTable<QS> for AnyOf<C, T> where C: AppearsOnTable<QS> {}

impl<C, T, QS> SelectableExpression<QS> for AnyOf<C, T> where C: SelectableExpression<QS> {}

impl<C, T, GB> ValidGrouping<GB> for AnyOf<C, T>
where
    C: ValidGrouping<GB>,
{
    type IsAggregate = C::IsAggregate;
}

impl<C, T> QueryId for AnyOf<C, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, T, DB> QueryFragment<DB> for AnyOf<C, T>
where
    DB: Backend + HasSqlType<C::SqlType>,
    C: Expression + QueryFragment<DB>,
    T: ToSql<C::SqlType, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.values.is_empty() {
            out.push_sql("1 = 0");
            return Ok(());
        }
        if self.values.len() > LONGEST_KEPT {
            out.unsafe_to_cache_prepared();
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, value) in self.values.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<C::SqlType, T>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::any_of;
    use crate::db::schema::tickets;

    fn sql(values: &[i64]) -> String {
        diesel::debug_query::<diesel::sqlite::Sqlite, _>(&any_of(tickets::id, values))
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
}
