//! The two migration sets must define the same schema, and every `down.sql` must work.

use std::collections::BTreeMap;

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use tanggap::config::DatabaseUrl;
use tanggap::db::pool::{establish, run_migrations, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use tanggap::db::DbConnection;

use crate::helpers::{postgres_base_url, TestDatabase};

/// Full-text search is the one deliberate difference: an FTS5 virtual table on SQLite, a table
/// with a GIN index on PostgreSQL. Everything else must match.
fn backend_specific(name: &str) -> bool {
    name.starts_with("ticket_search")
}

/// table → column → (type family, nullable)
type Shape = BTreeMap<String, BTreeMap<String, (String, bool)>>;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    name: String,
}

fn family(data_type: &str) -> String {
    match data_type.to_lowercase().as_str() {
        "integer" | "bigint" | "smallint" => "integer",
        "text" => "text",
        "boolean" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "date" => "date",
        "blob" | "bytea" => "binary",
        "double precision" | "real" | "double" => "float",
        other => return format!("unknown:{other}"),
    }
    .to_owned()
}

fn shape(conn: &mut DbConnection) -> (Shape, Vec<String>) {
    let (columns, indexes): (Vec<Column>, Vec<Index>) = match conn {
        DbConnection::Sqlite(c) => (
            diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                 CASE WHEN p.\"notnull\" = 1 THEN 0 ELSE 1 END AS nullable \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
            diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").load(c).unwrap(),
        ),
        DbConnection::Postgres(c) => (
            diesel::sql_query(
                "SELECT table_name::text, column_name::text, data_type::text, \
                 CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS nullable \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT indexname::text AS name FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey' \
                 AND tablename <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
        ),
    };
    let mut shape = Shape::new();
    for c in columns
        .into_iter()
        .filter(|c| !backend_specific(&c.table_name))
    {
        shape
            .entry(c.table_name)
            .or_default()
            .insert(c.column_name, (family(&c.data_type), c.nullable == 1));
    }
    let mut indexes: Vec<String> = indexes
        .into_iter()
        .map(|i| i.name)
        .filter(|n| !backend_specific(n))
        .collect();
    indexes.sort();
    (shape, indexes)
}

fn sqlite_conn(dir: &tempfile::TempDir) -> DbConnection {
    establish(&DatabaseUrl::sqlite(dir.path().join("schema.db"))).unwrap()
}

#[test]
fn both_migration_sets_define_the_same_schema() {
    let Some(base) = postgres_base_url() else {
        eprintln!("TANGGAP_TEST_POSTGRES_URL is not set: the schema comparison needs PostgreSQL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = sqlite_conn(&dir);
    run_migrations(&mut sqlite).unwrap();
    let database = TestDatabase::create(&base);
    let mut postgres = establish(&DatabaseUrl::Postgres(database.url.clone())).unwrap();
    run_migrations(&mut postgres).unwrap();
    let (sqlite_shape, sqlite_indexes) = shape(&mut sqlite);
    let (postgres_shape, postgres_indexes) = shape(&mut postgres);
    assert!(!sqlite_shape.is_empty());
    for (table, columns) in &sqlite_shape {
        for (column, (family, _)) in columns {
            assert!(
                !family.starts_with("unknown"),
                "{table}.{column} has a type the check does not know"
            );
        }
    }
    assert_eq!(
        sqlite_shape, postgres_shape,
        "the migration sets define different columns"
    );
    assert_eq!(
        sqlite_indexes, postgres_indexes,
        "the migration sets define different indexes"
    );
}

fn revert_and_reapply(conn: &mut DbConnection) {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgres(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .expect("every down.sql runs");
    assert!(reverted > 0);
    let (shape_after, indexes_after) = shape(conn);
    assert!(
        shape_after.is_empty() && indexes_after.is_empty(),
        "down.sql left {shape_after:?} {indexes_after:?}"
    );
    run_migrations(conn).expect("migrations apply again after a full revert");
}

#[test]
fn every_down_migration_reverts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite_conn(&dir);
    run_migrations(&mut conn).unwrap();
    revert_and_reapply(&mut conn);
}

#[test]
fn every_down_migration_reverts_on_postgres() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let database = TestDatabase::create(&base);
    let mut conn = establish(&DatabaseUrl::Postgres(database.url.clone())).unwrap();
    run_migrations(&mut conn).unwrap();
    revert_and_reapply(&mut conn);
}
