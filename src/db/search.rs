//! Full-text search over tickets. The one place where the two backends need different SQL:
//! SQLite has an FTS5 table (`rowid` = ticket id), PostgreSQL a table whose stored `vector`
//! column (`to_tsvector('simple', document)`, generated) has a GIN index. The SQL text is fixed; the user's words only ever travel
//! as bound parameters, turned into a prefix query of plain words first.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{DbConnection, MultiBackend};

mod pg {
    diesel::table! {
        ticket_search (ticket_id) {
            ticket_id -> BigInt,
            document -> Text,
        }
    }
}

/// SQLite's FTS5 table, for typed statements: the connection keeps them prepared (a
/// `sql_query` is prepared again at each execution).
mod fts {
    diesel::table! {
        ticket_search (rowid) {
            rowid -> BigInt,
            document -> Text,
        }
    }
}

#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The words of a search, lower-cased, letters and digits only (so no query syntax gets
/// through), at most 8.
pub fn words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(8)
        .collect()
}

fn insert_fts(conn: &mut SqliteConnection, ticket_id: i64, document: &str) -> QueryResult<()> {
    diesel::insert_into(fts::ticket_search::table)
        .values((
            fts::ticket_search::rowid.eq(ticket_id),
            fts::ticket_search::document.eq(document),
        ))
        .execute(conn)
        .map(drop)
}

/// Stores (or replaces) the searchable text of a ticket. Punctuation becomes spaces first, so
/// both backends split "SHP-99812" into the same words a query is split into (PostgreSQL's
/// parser would otherwise read "-99812" as a negative number).
pub fn index(conn: &mut DbConnection, ticket_id: i64, document: &str) -> QueryResult<()> {
    let document = searchable(document);
    let document = document.as_str();
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::delete(fts::ticket_search::table.find(ticket_id)).execute(c)?;
            insert_fts(c, ticket_id, document)?;
        }
        DbConnection::Postgres(c) => {
            diesel::insert_into(pg::ticket_search::table)
                .values((
                    pg::ticket_search::ticket_id.eq(ticket_id),
                    pg::ticket_search::document.eq(document),
                ))
                .on_conflict(pg::ticket_search::ticket_id)
                .do_update()
                .set(pg::ticket_search::document.eq(document))
                .execute(c)?;
        }
    }
    Ok(())
}

fn searchable(document: &str) -> String {
    document
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect()
}

/// Indexes new tickets (a ticket being created, or bulk demo data): no row to replace, so
/// none is deleted first. One statement on PostgreSQL, prepared inserts in the caller's
/// transaction on SQLite.
pub fn index_new(conn: &mut DbConnection, documents: &[(i64, String)]) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            for (id, document) in documents {
                insert_fts(c, *id, &searchable(document))?;
            }
        }
        // One ticket (an intake) as a statement that stays prepared; a list of rows is
        // written anew each time.
        DbConnection::Postgres(c) if documents.len() == 1 => {
            let (id, document) = &documents[0];
            diesel::insert_into(pg::ticket_search::table)
                .values((
                    pg::ticket_search::ticket_id.eq(*id),
                    pg::ticket_search::document.eq(searchable(document)),
                ))
                .execute(c)?;
        }
        DbConnection::Postgres(c) => {
            let rows: Vec<_> = documents
                .iter()
                .map(|(id, document)| {
                    (
                        pg::ticket_search::ticket_id.eq(*id),
                        pg::ticket_search::document.eq(searchable(document)),
                    )
                })
                .collect();
            diesel::insert_into(pg::ticket_search::table)
                .values(&rows)
                .execute(c)?;
        }
    }
    Ok(())
}

/// Ids of tickets matching every word, newest first, below `before_id`.
///
/// Whole words first: when they alone fill the page, that answer stands. A prefix search
/// ("jahit" finds "jahitan") merges every word that starts with the prefix, which on a million
/// tickets costs milliseconds per common word, so it runs only when whole words do not fill
/// the page — for a word typed halfway, a rare word, or the last pages of a common one.
pub fn matching_ids(
    conn: &mut DbConnection,
    query: &str,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let words = words(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let before = before_id.unwrap_or(i64::MAX);
    let whole = hits(conn, &words, false, before, limit)?;
    if whole.len() as i64 >= limit {
        return Ok(whole);
    }
    hits(conn, &words, true, before, limit)
}

/// The query plan of a whole-word search that a newest-rows walk did not answer, as the
/// database would run it (see `db::explain`).
pub fn plan(
    conn: &mut DbConnection,
    query: &str,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let words = words(query);
    let before = before_id.unwrap_or(i64::MAX);
    let sql = hits_query(conn, &words, false, before, planned_limit(conn, limit));
    super::explain::plan(conn, sql)
}

/// SQLite: the FTS5 table answers `MATCH` from its own index, in rowid order.
const SQLITE_HITS: &str =
    "SELECT rowid AS id FROM ticket_search WHERE ticket_search MATCH ? AND rowid < ? \
     ORDER BY rowid DESC LIMIT ?";

/// PostgreSQL, first: the newest `limit * RECENT_ROWS_PER_HIT` rows only, each tested against
/// its stored `vector` (the subquery's LIMIT keeps the walk bounded whatever the planner
/// thinks). A common word fills the page here: "jahitan" (135,000 of a million tickets) in
/// 0.3 ms for a page of 50.
const POSTGRES_RECENT_HITS: &str = "SELECT ticket_id AS id FROM ( \
     SELECT ticket_id, vector FROM ticket_search WHERE ticket_id < $2 \
     ORDER BY ticket_id DESC LIMIT $4) recent \
     WHERE vector @@ to_tsquery('simple', $1) ORDER BY ticket_id DESC LIMIT $3";

const RECENT_ROWS_PER_HIT: i64 = 20;

/// PostgreSQL, then: the planner's choice over the stored `vector`, asked for at least
/// `PLANNED_LIMIT` rows. A rare or unknown word is read from the GIN index; a word the
/// statistics know to be common is found by walking ids backwards (7,400 rows, 3-9 ms for
/// 1,000 hits of "jahitan"), where fetching all its matches through the index first took
/// 700-860 ms. With a small LIMIT the planner would walk for an unknown word too (its default
/// estimate is 0.5 % of rows): "zzzz" read all million rows in 1.4 s. Computing `to_tsvector`
/// per walked row (the old expression index) took 75-200 ms for the common word.
const POSTGRES_HITS: &str = "SELECT ticket_id AS id FROM ticket_search \
     WHERE vector @@ to_tsquery('simple', $1) AND ticket_id < $2 \
     ORDER BY ticket_id DESC LIMIT $3";

const PLANNED_LIMIT: i64 = 1000;

type HitsQuery =
    diesel::query_builder::BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery>;

fn planned_limit(conn: &DbConnection, limit: i64) -> i64 {
    match conn {
        DbConnection::Sqlite(_) => limit,
        DbConnection::Postgres(_) => limit.max(PLANNED_LIMIT),
    }
}

/// The words as one query expression in this backend's syntax (they are plain letters and
/// digits, see [`words`]); it only ever travels as a bound parameter.
fn expression(conn: &DbConnection, words: &[String], prefix: bool) -> String {
    match conn {
        DbConnection::Sqlite(_) => {
            let star = if prefix { "*" } else { "" };
            words
                .iter()
                .map(|w| format!("\"{w}\"{star}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
        DbConnection::Postgres(_) => {
            let star = if prefix { ":*" } else { "" };
            words
                .iter()
                .map(|w| format!("{w}{star}"))
                .collect::<Vec<_>>()
                .join(" & ")
        }
    }
}

/// The fixed SQL for this backend with the words bound as one query expression.
fn hits_query(
    conn: &DbConnection,
    words: &[String],
    prefix: bool,
    before: i64,
    limit: i64,
) -> HitsQuery {
    let sql = match conn {
        DbConnection::Sqlite(_) => SQLITE_HITS,
        DbConnection::Postgres(_) => POSTGRES_HITS,
    };
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<Text, _>(expression(conn, words, prefix))
        .bind::<BigInt, _>(before)
        .bind::<BigInt, _>(limit)
}

fn hits(
    conn: &mut DbConnection,
    words: &[String],
    prefix: bool,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    if let DbConnection::Postgres(_) = conn {
        let recent: Vec<Hit> = diesel::sql_query(POSTGRES_RECENT_HITS)
            .into_boxed()
            .bind::<Text, _>(expression(conn, words, prefix))
            .bind::<BigInt, _>(before)
            .bind::<BigInt, _>(limit)
            .bind::<BigInt, _>(limit.saturating_mul(RECENT_ROWS_PER_HIT))
            .load(conn)?;
        if recent.len() as i64 >= limit {
            return Ok(recent.into_iter().map(|h| h.id).collect());
        }
    }
    let planned = planned_limit(conn, limit);
    let hits: Vec<Hit> = hits_query(conn, words, prefix, before, planned).load(conn)?;
    Ok(hits
        .into_iter()
        .map(|h| h.id)
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_words_reach_the_query() {
        assert_eq!(
            super::words("Kaos \"rusak\" OR *; DROP"),
            ["kaos", "rusak", "or", "drop"]
        );
        assert_eq!(super::words("TGP-000123"), ["tgp", "000123"]);
        assert!(super::words("!!! ---").is_empty());
    }
}
