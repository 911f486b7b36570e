//! Queries on customers and partners.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{customers, partners};
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp: Option<String>,
    pub instagram: Option<String>,
    pub locale: String,
    pub notes: String,
    pub email_opt_out: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, AsChangeset, Default)]
#[diesel(table_name = customers)]
pub struct CustomerFields {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub whatsapp: Option<Option<String>>,
    pub instagram: Option<Option<String>>,
    pub locale: Option<String>,
    pub notes: Option<String>,
    pub email_opt_out: Option<bool>,
}

#[derive(Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub whatsapp: Option<&'a str>,
    pub instagram: Option<&'a str>,
    pub locale: &'a str,
    pub notes: &'a str,
    pub email_opt_out: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewCustomer<'_>) -> QueryResult<Customer> {
    on_backend!(conn, c => diesel::insert_into(customers::table)
        .values(new)
        .returning(customers::all_columns)
        .get_result(c))
}

/// Inserts a customer unless a unique index refuses it — a contact index holding one of its
/// details already (a concurrent intake created the same customer first), or any other: then
/// `None`, and nothing written.
pub fn insert_unless_taken(
    conn: &mut DbConnection,
    new: &NewCustomer<'_>,
) -> QueryResult<Option<Customer>> {
    on_backend!(conn, c => diesel::insert_into(customers::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(customers::all_columns)
        .get_result(c)
        .optional())
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Customer>> {
    customers::table
        .find(id)
        .select(Customer::as_select())
        .first(conn)
        .optional()
}

/// The customers with these ids (a scheduler batch), in no particular order.
pub fn find_many(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Customer>> {
    customers::table
        .filter(customers::id.eq_any(ids))
        .select(Customer::as_select())
        .load(conn)
}

/// The customers any of these contact details already belong to (normalized values).
pub fn find_by_contacts(
    conn: &mut DbConnection,
    email: Option<&str>,
    phones: &[&str],
    instagram: Option<&str>,
) -> QueryResult<Vec<Customer>> {
    if email.is_none() && phones.is_empty() && instagram.is_none() {
        return Ok(Vec::new());
    }
    on_backend!(conn, c => {
        let mut query = customers::table.select(Customer::as_select()).into_boxed();
        if let Some(email) = email {
            query = query.or_filter(customers::email.eq(email));
        }
        for phone in phones {
            query = query
                .or_filter(customers::phone.eq(*phone))
                .or_filter(customers::whatsapp.eq(*phone));
        }
        if let Some(handle) = instagram {
            query = query.or_filter(customers::instagram.eq(handle));
        }
        query.order(customers::id.asc()).limit(10).load(c)
    })
}

diesel::define_sql_function! {
    /// SQL `lower()`: both backends have it, and PostgreSQL's LIKE is case-sensitive.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Customers whose name, email, phone, WhatsApp or handle starts with (or contains) `term`.
pub fn search(
    conn: &mut DbConnection,
    term: &str,
    limit: i64,
    after_id: Option<i64>,
) -> QueryResult<Vec<Customer>> {
    let mut query = customers::table.select(Customer::as_select()).into_boxed();
    if !term.is_empty() {
        let like = format!("%{}%", escape_like(&term.to_lowercase()));
        let prefix = format!("{}%", escape_like(term));
        query = query.filter(
            lower(customers::name)
                .like(like.clone())
                .escape('\\')
                .or(customers::email.like(prefix.clone()).escape('\\'))
                .or(customers::phone.like(prefix.clone()).escape('\\'))
                .or(customers::whatsapp.like(prefix.clone()).escape('\\'))
                .or(customers::instagram.like(prefix).escape('\\')),
        );
    }
    if let Some(after) = after_id {
        query = query.filter(customers::id.lt(after));
    }
    query.order(customers::id.desc()).limit(limit).load(conn)
}

/// `%`, `_` and `\` are literal in a search term.
pub fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Applies changes if the customer is still at `version`; `Ok(None)` when it moved on.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    changes: &CustomerFields,
    now: NaiveDateTime,
) -> QueryResult<Option<Customer>> {
    diesel::update(
        customers::table
            .filter(customers::id.eq(id))
            .filter(customers::version.eq(version)),
    )
    .set((
        changes,
        customers::version.eq(version + 1),
        customers::updated_at.eq(now),
    ))
    .returning(customers::all_columns)
    .get_result(conn)
    .optional()
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct Partner {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub contact: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_partner(
    conn: &mut DbConnection,
    name: &str,
    kind: &str,
    contact: &str,
    now: NaiveDateTime,
) -> QueryResult<Partner> {
    diesel::insert_into(partners::table)
        .values((
            partners::name.eq(name),
            partners::kind.eq(kind),
            partners::contact.eq(contact),
            partners::created_at.eq(now),
            partners::updated_at.eq(now),
        ))
        .returning(partners::all_columns)
        .get_result(conn)
}

pub fn find_partner(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Partner>> {
    partners::table
        .find(id)
        .select(Partner::as_select())
        .first(conn)
        .optional()
}

pub fn list_partners(conn: &mut DbConnection, kind: Option<&str>) -> QueryResult<Vec<Partner>> {
    let mut query = partners::table.select(Partner::as_select()).into_boxed();
    if let Some(kind) = kind {
        query = query.filter(partners::kind.eq(kind));
    }
    query.order(partners::name.asc()).load(conn)
}

/// Writes many customers; returns their ids in order (bulk demo data).
pub fn insert_many(conn: &mut DbConnection, new: &[NewCustomer<'_>]) -> QueryResult<Vec<i64>> {
    insert_many!(conn, customers::table, new, customers::id)
}
