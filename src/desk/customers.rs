//! Customers: created with at least one way to reach them, found again by any of them.

use crate::config::Locale;
use crate::db::customers::{self, Customer, CustomerFields, NewCustomer};
use crate::db::{self, DbConnection};
use crate::domain::contact::{normalize_handle, normalize_phone, optional_text};
use crate::domain::user::{parse_name, Email};
use crate::error::{AppError, FieldErrors};

/// A customer as submitted; every field optional so the same shape serves create and patch.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp: Option<String>,
    pub instagram: Option<String>,
    /// id or en: the language the customer is written to in.
    #[schema(value_type = Option<crate::config::Locale>)]
    pub locale: Option<String>,
    pub notes: Option<String>,
    pub email_opt_out: Option<bool>,
}

/// Checked, normalized contact details (prefix `field` names the JSON field in errors).
#[derive(Debug, Default, Clone)]
struct Clean {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    whatsapp: Option<String>,
    instagram: Option<String>,
    locale: Option<Locale>,
    notes: Option<String>,
}

fn clean(input: &CustomerInput, prefix: &str, fields: &mut FieldErrors) -> Clean {
    let mut out = Clean::default();
    let mut err = |field: &str, message: String| {
        fields.insert(format!("{prefix}{field}"), message);
    };
    if let Some(raw) = &input.name {
        out.name = parse_name(raw).map_err(|m| err("name", m)).ok();
    }
    if let Some(raw) = input.email.as_deref().filter(|s| !s.trim().is_empty()) {
        out.email = Email::parse(raw)
            .map(Email::into_inner)
            .map_err(|m| err("email", m))
            .ok();
    }
    if let Some(raw) = input.phone.as_deref().filter(|s| !s.trim().is_empty()) {
        out.phone = normalize_phone(raw).map_err(|m| err("phone", m)).ok();
    }
    if let Some(raw) = input.whatsapp.as_deref().filter(|s| !s.trim().is_empty()) {
        out.whatsapp = normalize_phone(raw).map_err(|m| err("whatsapp", m)).ok();
    }
    if let Some(raw) = input.instagram.as_deref().filter(|s| !s.trim().is_empty()) {
        out.instagram = normalize_handle(raw).map_err(|m| err("instagram", m)).ok();
    }
    if let Some(raw) = &input.locale {
        out.locale = Locale::parse(raw).or_else(|| {
            err("locale", format!("'{raw}' is not one of: id, en"));
            None
        });
    }
    match optional_text(input.notes.as_deref(), 4000) {
        Ok(notes) => out.notes = notes,
        Err(m) => err("notes", m),
    }
    out
}

impl Clean {
    /// The customers any of these contact details already belong to.
    fn owners(&self, conn: &mut DbConnection) -> diesel::QueryResult<Vec<Customer>> {
        customers::find_by_contacts(
            conn,
            self.email.as_deref(),
            &self.phones(),
            self.instagram.as_deref(),
        )
    }

    fn phones(&self) -> Vec<&str> {
        [self.phone.as_deref(), self.whatsapp.as_deref()]
            .into_iter()
            .flatten()
            .collect()
    }

    fn reachable(&self) -> bool {
        self.email.is_some()
            || self.phone.is_some()
            || self.whatsapp.is_some()
            || self.instagram.is_some()
    }
}

/// Finds the customer any of the given contact details belong to, or creates one.
/// Returns the customer and whether it was created. `prefix` prefixes field names in errors
/// (`customer.` when the customer is inline in a ticket).
pub fn find_or_create(
    conn: &mut DbConnection,
    input: &CustomerInput,
    default_locale: Locale,
    prefix: &str,
) -> Result<(Customer, bool), AppError> {
    let mut fields = FieldErrors::new();
    let clean = clean(input, prefix, &mut fields);
    if fields.is_empty() && !clean.reachable() {
        fields.insert(
            format!("{prefix}contact"),
            "give at least one way to reach the customer: email, phone, whatsapp or instagram"
                .into(),
        );
    }
    AppError::check(fields)?;
    let existing = clean.owners(conn)?;
    if let Some(found) = existing.into_iter().next() {
        return Ok((found, false));
    }
    let mut fields = FieldErrors::new();
    if clean.name.is_none() {
        fields.insert(
            format!("{prefix}name"),
            "a new customer needs a name".into(),
        );
    }
    AppError::check(fields)?;
    // Two intakes for the same new customer can both miss them above. On PostgreSQL the later
    // insert then meets a unique contact index (on SQLite `BEGIN IMMEDIATE` already serializes
    // them): it writes nothing (`ON CONFLICT DO NOTHING`), the caller's transaction stays
    // usable, and the winner's customer is found instead. (Before session 15 the insert ran in
    // a savepoint for this: two round trips more per intake on PostgreSQL.)
    let new = new_customer(&clean, input, default_locale, db::now());
    if let Some(created) = customers::insert_unless_taken(conn, &new)? {
        return Ok((created, true));
    }
    // Nothing written and no owner found: the insert met another unique index than a
    // contact's (the id sequence behind the rows, say) — no race the caller could retry.
    let winner = clean.owners(conn)?;
    winner
        .into_iter()
        .next()
        .map(|found| (found, false))
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "a new customer's insert wrote nothing, and no customer holds its contact details"
            ))
        })
}

/// The row of a new customer from cleaned input.
fn new_customer<'a>(
    clean: &'a Clean,
    input: &CustomerInput,
    default_locale: Locale,
    now: chrono::NaiveDateTime,
) -> NewCustomer<'a> {
    NewCustomer {
        name: clean.name.as_deref().unwrap_or_default(),
        email: clean.email.as_deref(),
        phone: clean.phone.as_deref(),
        whatsapp: clean.whatsapp.as_deref(),
        instagram: clean.instagram.as_deref(),
        locale: clean.locale.unwrap_or(default_locale).as_str(),
        notes: clean.notes.as_deref().unwrap_or_default(),
        email_opt_out: input.email_opt_out.unwrap_or(false),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Creates a customer; 409 `customer_exists` (with the id) when a contact detail already
/// belongs to someone.
pub fn create(
    conn: &mut DbConnection,
    input: &CustomerInput,
    default_locale: Locale,
) -> Result<Customer, AppError> {
    let mut fields = FieldErrors::new();
    let clean = clean(input, "", &mut fields);
    if clean.name.is_none() && !fields.contains_key("name") {
        fields.insert("name".into(), "must not be empty".into());
    }
    if fields.is_empty() && !clean.reachable() {
        fields.insert(
            "contact".into(),
            "give at least one way to reach the customer: email, phone, whatsapp or instagram"
                .into(),
        );
    }
    AppError::check(fields)?;
    crate::db::write(conn, |conn| {
        let existing = clean.owners(conn)?;
        if let Some(found) = existing.first() {
            return Err(AppError::conflict(
                "customer_exists",
                format!(
                    "these contact details belong to customer {} ({})",
                    found.id, found.name
                ),
            ));
        }
        let new = new_customer(&clean, input, default_locale, db::now());
        Ok(customers::insert(conn, &new)?)
    })
}

/// Changes a customer at `version`; contact details that belong to another customer are
/// refused.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    input: &CustomerInput,
) -> Result<Customer, AppError> {
    let mut fields = FieldErrors::new();
    let clean = clean(input, "", &mut fields);
    AppError::check(fields)?;
    // An empty string clears a contact detail; absent leaves it.
    let contact =
        |raw: &Option<String>, value: &Option<String>| raw.as_ref().map(|_| value.clone());
    let changes = CustomerFields {
        name: clean.name.clone(),
        email: contact(&input.email, &clean.email),
        phone: contact(&input.phone, &clean.phone),
        whatsapp: contact(&input.whatsapp, &clean.whatsapp),
        instagram: contact(&input.instagram, &clean.instagram),
        locale: clean.locale.map(|l| l.as_str().to_owned()),
        notes: input
            .notes
            .as_ref()
            .map(|_| clean.notes.clone().unwrap_or_default()),
        email_opt_out: input.email_opt_out,
    };
    crate::db::write(conn, |conn| {
        let current = customers::find(conn, id)?.ok_or_else(|| AppError::not_found("customer"))?;
        let others = clean.owners(conn)?;
        if let Some(other) = others.iter().find(|c| c.id != id) {
            return Err(AppError::conflict(
                "customer_exists",
                format!(
                    "these contact details belong to customer {} ({})",
                    other.id, other.name
                ),
            ));
        }
        let merged_reachable = [
            changes.email.clone().unwrap_or(current.email.clone()),
            changes.phone.clone().unwrap_or(current.phone.clone()),
            changes.whatsapp.clone().unwrap_or(current.whatsapp.clone()),
            changes
                .instagram
                .clone()
                .unwrap_or(current.instagram.clone()),
        ]
        .iter()
        .any(Option::is_some);
        if !merged_reachable {
            return Err(AppError::invalid(
                "contact",
                "a customer must keep at least one way to reach them",
            ));
        }
        customers::update(conn, id, version, &changes, db::now())?.ok_or_else(|| {
            AppError::conflict(
                "stale",
                "someone else changed this customer; reload and try again",
            )
        })
    })
}
