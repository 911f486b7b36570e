//! Tickets: intake, the queue, the detail view, the timeline, and edits.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;

use super::views::{self, answers, EventView, TicketView};
use crate::auth::{CurrentUser, SignedIn};
use crate::db::events as event_db;
use crate::db::tickets::TicketFilter;
use crate::desk::tickets::{self, NewTicketInput, TicketPatch};
use crate::domain::playbook::Stage;
use crate::domain::vocab::{Category, Channel, Kind, Priority};
use crate::error::{AppError, FieldErrors};
use crate::startup::AppState;

/// The ticket with everything beside it, as every ticket route answers.
pub async fn view(state: &AppState, id: i64) -> Result<TicketView, AppError> {
    let detail = state.db(move |conn| tickets::detail(conn, id)).await?;
    Ok(views::ticket_view(detail))
}

/// Open a ticket: a complaint, feedback or question, with an existing customer (`customer_id`)
/// or an inline one that is found by email, phone, WhatsApp or handle, or created.
#[utoipa::path(tag = "tickets", request_body = NewTicketInput, responses((status = 201, description = "created", body = TicketView), (status = 422, description = "invalid fields")))]
#[post("/tickets")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<NewTicketInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let mail = state.mailroom.clone();
    // The user is checked in the same trip to the database as the intake (one blocking-pool
    // hand-off fewer per ticket).
    let created = state
        .db(move |conn| {
            let me = signed_in.user(conn)?;
            tickets::create(conn, &mail, &me.0, &input)
        })
        .await?;
    Ok(HttpResponse::Created().json(views::ticket_view(created)))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// One stage or several, comma-separated.
    pub stage: Option<String>,
    #[param(value_type = Option<crate::domain::vocab::Kind>)]
    pub kind: Option<String>,
    #[param(value_type = Option<crate::domain::vocab::Channel>)]
    pub channel: Option<String>,
    #[param(value_type = Option<crate::domain::vocab::Category>)]
    pub category: Option<String>,
    #[param(value_type = Option<crate::domain::vocab::Priority>)]
    pub priority: Option<String>,
    /// A user id, `me`, or `none` (unassigned).
    pub assignee: Option<String>,
    /// Escalated to a user id or `me`.
    pub escalated_to: Option<String>,
    pub partner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// Only tickets with an open promise past its due time.
    pub overdue: Option<bool>,
    /// Only tickets with a breached first-response or resolution target.
    pub breached: Option<bool>,
    /// `customer` (waiting for their answer) or `us`.
    pub awaiting: Option<String>,
    /// Full-text search over subject, the customer's words, customer name and order reference;
    /// a ticket number like TGP-000123 finds that ticket.
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Keyset pagination: tickets with an id below this (use `next_before` of the last page).
    pub before: Option<i64>,
}

fn user_ref(raw: &str, me: i64, field: &str, fields: &mut FieldErrors) -> Option<Option<i64>> {
    match raw.trim() {
        "me" => Some(Some(me)),
        "none" => Some(None),
        other => match other.parse::<i64>() {
            Ok(id) => Some(Some(id)),
            Err(_) => {
                fields.insert(field.into(), "must be a user id, me or none".into());
                None
            }
        },
    }
}

fn checked<T>(
    fields: &mut FieldErrors,
    field: &str,
    raw: &Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<String> {
    let raw = raw.as_deref()?;
    match parse(raw) {
        Ok(_) => Some(raw.trim().to_owned()),
        Err(m) => {
            fields.insert(field.into(), m);
            None
        }
    }
}

/// Turns the query into a filter; 422 names each bad parameter.
pub fn queue_filter(query: &QueueQuery, me: i64) -> Result<(TicketFilter, i64), AppError> {
    let mut fields = FieldErrors::new();
    let mut filter = TicketFilter::default();
    if let Some(stages) = &query.stage {
        for stage in stages.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match Stage::parse(stage) {
                Ok(s) => filter.stages.push(s.as_str().to_owned()),
                Err(m) => {
                    fields.insert("stage".into(), m);
                }
            }
        }
    }
    filter.kind = checked(&mut fields, "kind", &query.kind, Kind::parse);
    filter.channel = checked(&mut fields, "channel", &query.channel, Channel::parse);
    filter.category = checked(&mut fields, "category", &query.category, Category::parse);
    filter.priority = checked(&mut fields, "priority", &query.priority, Priority::parse);
    filter.partner_id = query.partner_id;
    filter.customer_id = query.customer_id;
    if let Some(raw) = &query.assignee {
        filter.assignee = user_ref(raw, me, "assignee", &mut fields);
    }
    if let Some(raw) = &query.escalated_to {
        match user_ref(raw, me, "escalated_to", &mut fields) {
            Some(Some(id)) => filter.escalated_to = Some(id),
            Some(None) => {
                fields.insert("escalated_to".into(), "must be a user id or me".into());
            }
            None => {}
        }
    }
    filter.breached = query.breached == Some(true);
    if query.overdue == Some(true) {
        filter.overdue_at = Some(crate::db::now());
    }
    match query.awaiting.as_deref() {
        Some("customer") => filter.awaiting_customer = Some(true),
        Some("us") => filter.awaiting_customer = Some(false),
        Some(other) => {
            fields.insert(
                "awaiting".into(),
                format!("'{other}' is not one of: customer, us"),
            );
        }
        None => {}
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        fields.insert("limit".into(), "must be from 1 to 200".into());
    }
    filter.before_id = query.before;
    AppError::check(fields)?;
    Ok((filter, limit))
}

/// The queue: filters, full-text search and keyset pagination, newest first.
#[utoipa::path(tag = "tickets", params(QueueQuery), responses((status = 200, description = "`{tickets, next_before}`: page on with `before=next_before` until it is null (a search narrowed by other filters may answer a short page that still has a cursor)", body = views::TicketPage), (status = 422, description = "a bad filter")))]
#[get("/tickets")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    // The user is checked in the same trip to the database as the page is read.
    let page = state
        .db(move |conn| -> Result<_, AppError> {
            let me = signed_in.user(conn)?;
            let (base, limit) = queue_filter(&query, me.id())?;
            let q = query.q.as_deref().unwrap_or_default();
            crate::desk::queue::page(conn, &base, q, limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views::TicketPage::new(page)))
}

/// One ticket with its customer, promises and replacements.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path, description = "ticket id")), responses((status = 200, description = "the ticket", body = TicketView), (status = 404, description = "no such ticket")))]
#[get("/tickets/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _me: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(view(&state, id.into_inner()).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// `public` for the customer-facing conversation only.
    pub visibility: Option<String>,
}

/// The timeline, oldest first: public replies, internal notes and system events, kept apart
/// by `visibility`.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path, description = "ticket id"), EventsQuery), responses((status = 200, description = "`{events}`", body = answers::EventList)))]
#[get("/tickets/{id}/events")]
pub async fn timeline(
    state: web::Data<AppState>,
    _me: CurrentUser,
    id: web::Path<i64>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let public_only = match query.visibility.as_deref() {
        None | Some("all") => false,
        Some("public") => true,
        Some(other) => {
            return Err(AppError::invalid(
                "visibility",
                format!("'{other}' is not one of: all, public"),
            ))
        }
    };
    let events = state
        .db(move |conn| -> Result<_, AppError> {
            tickets::load(conn, id)?;
            Ok(event_db::for_ticket(conn, id, public_only)?)
        })
        .await?;
    let events: Vec<EventView> = events.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "events": events })))
}

/// Change priority, subject, category, product, order reference or partner; send the
/// `version` you saw.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path, description = "ticket id")), request_body = TicketPatch, responses((status = 200, description = "changed", body = TicketView), (status = 409, description = "stale")))]
#[patch("/tickets/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<TicketPatch>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let input = body.into_inner();
    let actor = me.0.clone();
    let mail = state.mailroom.clone();
    state
        .db(move |conn| tickets::patch(conn, &mail, &actor, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(view(&state, id).await?))
}
