//! Full-text search over tickets. The one place where the two backends need different SQL:
//! SQLite has an FTS5 table (`rowid` = ticket id), PostgreSQL a table with a GIN index on
//! `to_tsvector('simple', document)`. The SQL text is fixed; the user's words only ever travel
//! as bound parameters, turned into a prefix query of plain words first.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConnection;

mod pg {
    diesel::table! {
        ticket_search (ticket_id) {
            ticket_id -> BigInt,
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

/// Stores (or replaces) the searchable text of a ticket. Punctuation becomes spaces first, so
/// both backends split "SHP-99812" into the same words a query is split into (PostgreSQL's
/// parser would otherwise read "-99812" as a negative number).
pub fn index(conn: &mut DbConnection, ticket_id: i64, document: &str) -> QueryResult<()> {
    let document = searchable(document);
    let document = document.as_str();
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::sql_query("DELETE FROM ticket_search WHERE rowid = ?")
                .bind::<BigInt, _>(ticket_id)
                .execute(c)?;
            diesel::sql_query("INSERT INTO ticket_search (rowid, document) VALUES (?, ?)")
                .bind::<BigInt, _>(ticket_id)
                .bind::<Text, _>(document)
                .execute(c)?;
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

/// Indexes many new tickets at once (bulk demo data): one statement on PostgreSQL, prepared
/// inserts in the caller's transaction on SQLite.
pub fn index_new(conn: &mut DbConnection, documents: &[(i64, String)]) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            for (id, document) in documents {
                diesel::sql_query("INSERT INTO ticket_search (rowid, document) VALUES (?, ?)")
                    .bind::<BigInt, _>(id)
                    .bind::<Text, _>(searchable(document))
                    .execute(c)?;
            }
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

fn hits(
    conn: &mut DbConnection,
    words: &[String],
    prefix: bool,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let hits: Vec<Hit> = match conn {
        DbConnection::Sqlite(c) => {
            let star = if prefix { "*" } else { "" };
            let expression = words
                .iter()
                .map(|w| format!("\"{w}\"{star}"))
                .collect::<Vec<_>>()
                .join(" ");
            diesel::sql_query(
                "SELECT rowid AS id FROM ticket_search WHERE ticket_search MATCH ? AND rowid < ? \
                 ORDER BY rowid DESC LIMIT ?",
            )
            .bind::<Text, _>(expression)
            .bind::<BigInt, _>(before)
            .bind::<BigInt, _>(limit)
            .load(c)?
        }
        DbConnection::Postgres(c) => {
            let star = if prefix { ":*" } else { "" };
            let expression = words
                .iter()
                .map(|w| format!("{w}{star}"))
                .collect::<Vec<_>>()
                .join(" & ");
            diesel::sql_query(
                "SELECT ticket_id AS id FROM ticket_search \
                 WHERE to_tsvector('simple', document) @@ to_tsquery('simple', $1) AND ticket_id < $2 \
                 ORDER BY ticket_id DESC LIMIT $3",
            )
            .bind::<Text, _>(expression)
            .bind::<BigInt, _>(before)
            .bind::<BigInt, _>(limit)
            .load(c)?
        }
    };
    Ok(hits.into_iter().map(|h| h.id).collect())
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
