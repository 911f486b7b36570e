//! Canned responses: handlebars templates per playbook step and language, rendered for one
//! ticket. A good default set is loaded into an empty desk.

use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::json;

use crate::config::{Locale, Settings};
use crate::db::canned::{self, CannedChanges, CannedResponse};
use crate::db::{self, customers, promises, replacements, tickets, users, DbConnection};
use crate::domain::contact::required_text;
use crate::domain::ticket_number;
use crate::error::{AppError, FieldErrors};
use crate::i18n::format_datetime;

/// The playbook steps a canned response can belong to.
pub const STEPS: [&str; 8] = [
    "acknowledge",
    "listen",
    "empathise",
    "propose",
    "promise",
    "replacement",
    "resolve",
    "feedback",
];

const DEFAULTS: &str = include_str!("../domain/canned_defaults.json");

#[derive(Deserialize)]
struct Default_ {
    key: String,
    step: String,
    locale: String,
    title: String,
    body: String,
}

/// Loads the default set into an empty table (first start).
pub fn seed_defaults(conn: &mut DbConnection) -> anyhow::Result<usize> {
    if canned::count(conn)? > 0 {
        return Ok(0);
    }
    let defaults: Vec<Default_> = serde_json::from_str(DEFAULTS)?;
    let now = db::now();
    for d in &defaults {
        canned::insert(
            conn,
            Some(&d.key),
            &d.step,
            &d.locale,
            &d.title,
            &d.body,
            now,
        )?;
    }
    Ok(defaults.len())
}

/// A registry for rendering replies: plain text (no HTML escaping — pages escape on display),
/// missing variables render empty.
fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    hb
}

fn check_template(body: &str) -> Result<(), String> {
    registry()
        .render_template(body, &json!({}))
        .map(|_| ())
        .map_err(|e| format!("is not a valid template: {e}"))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    pub step: Option<String>,
    #[schema(value_type = Option<crate::config::Locale>)]
    pub locale: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub active: Option<bool>,
    /// Required when changing an existing response.
    pub version: Option<i32>,
}

fn validate(input: &CannedInput, creating: bool) -> Result<CannedChanges, AppError> {
    let mut fields = FieldErrors::new();
    let mut changes = CannedChanges {
        active: input.active,
        ..Default::default()
    };
    match &input.step {
        Some(step) if STEPS.contains(&step.as_str()) => changes.step = Some(step.clone()),
        Some(step) => {
            fields.insert(
                "step".into(),
                format!("'{step}' is not one of: {}", STEPS.join(", ")),
            );
        }
        None if creating => {
            fields.insert("step".into(), "is required".into());
        }
        None => {}
    }
    match input.locale.as_deref().map(|l| (l, Locale::parse(l))) {
        Some((_, Some(locale))) => changes.locale = Some(locale.as_str().to_owned()),
        Some((raw, None)) => {
            fields.insert("locale".into(), format!("'{raw}' is not one of: id, en"));
        }
        None if creating => {
            fields.insert("locale".into(), "is required".into());
        }
        None => {}
    }
    match input.title.as_deref().map(|t| required_text(t, 200)) {
        Some(Ok(title)) => changes.title = Some(title),
        Some(Err(m)) => {
            fields.insert("title".into(), m);
        }
        None if creating => {
            fields.insert("title".into(), "is required".into());
        }
        None => {}
    }
    match input
        .body
        .as_deref()
        .map(|b| required_text(b, 10_000).and_then(|b| check_template(&b).map(|_| b)))
    {
        Some(Ok(body)) => changes.body = Some(body),
        Some(Err(m)) => {
            fields.insert("body".into(), m);
        }
        None if creating => {
            fields.insert("body".into(), "is required".into());
        }
        None => {}
    }
    AppError::check(fields)?;
    Ok(changes)
}

pub fn create(conn: &mut DbConnection, input: &CannedInput) -> Result<CannedResponse, AppError> {
    let c = validate(input, true)?;
    let response = canned::insert(
        conn,
        None,
        c.step.as_deref().unwrap_or_default(),
        c.locale.as_deref().unwrap_or_default(),
        c.title.as_deref().unwrap_or_default(),
        c.body.as_deref().unwrap_or_default(),
        db::now(),
    )?;
    Ok(response)
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    input: &CannedInput,
) -> Result<CannedResponse, AppError> {
    let version = input
        .version
        .ok_or_else(|| AppError::invalid("version", "is required: send the version you saw"))?;
    let changes = validate(input, false)?;
    canned::find(conn, id)?.ok_or_else(|| AppError::not_found("canned response"))?;
    canned::update_versioned(conn, id, version, &changes, db::now())?.ok_or_else(|| {
        AppError::conflict(
            "stale",
            "someone else changed this response first; reload and try again",
        )
    })
}

/// Renders a canned response for a ticket, with the variables documented in the README.
pub fn render(
    conn: &mut DbConnection,
    settings: &Settings,
    id: i64,
    ticket_id: i64,
    agent_id: i64,
) -> Result<String, AppError> {
    let response = canned::find(conn, id)?.ok_or_else(|| AppError::not_found("canned response"))?;
    // The ticket is named in the body, not the path: a missing one is a field error (422), so
    // a 404 here always means the canned response itself is gone.
    let ticket = tickets::find(conn, ticket_id)?
        .ok_or_else(|| AppError::invalid("ticket_id", "no ticket has this id"))?;
    let customer = customers::find(conn, ticket.customer_id)?
        .ok_or_else(|| AppError::not_found("customer"))?;
    let agent = users::find(conn, agent_id)?
        .map(|u| u.name)
        .unwrap_or_default();
    let locale = Locale::parse(&response.locale).unwrap_or(settings.locale);
    let promise = promises::open_for_ticket(conn, ticket.id)?
        .into_iter()
        .next();
    let replacement = replacements::for_ticket(conn, ticket.id)?
        .into_iter()
        .last();
    let data = json!({
        "customer": { "name": customer.name },
        "ticket": { "number": ticket_number(ticket.id), "subject": ticket.subject },
        "agent": { "name": agent },
        "promise": {
            "due": promise.as_ref().map(|p| format_datetime(p.due_at.and_utc(), settings.timezone, locale)),
            "what": promise.as_ref().map(|p| p.what.clone()),
        },
        "solution": { "text": ticket.solution, "type": ticket.solution_type },
        "replacement": {
            "item": replacement.as_ref().map(|r| r.item.clone()),
            "courier": replacement.as_ref().and_then(|r| r.courier.clone()),
            "tracking_number": replacement.as_ref().and_then(|r| r.tracking_number.clone()),
        },
        "shop": { "name": settings.shop_name },
    });
    registry()
        .render_template(&response.body, &data)
        .map_err(|e| AppError::invalid("body", format!("the template does not render: {e}")))
}
