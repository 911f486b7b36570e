//! Quick capture, the ticket page with every playbook action as a form, and replacements.
//! Each form posts to the same desk operation the JSON API calls.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{
    check_csrf, error_page, field, page, redirect, redirect_with_error, redirect_with_ok, signed_in,
};
use crate::api::views;
use crate::auth::CurrentUser;
use crate::db::{canned, customers, events, replacements, users};
use crate::desk::customers::CustomerInput;
use crate::desk::tickets::{self, ActionInput, NewTicketInput, ReplacementInput, ReplacementPatch};
use crate::domain::playbook::{Action, Stage};
use crate::domain::vocab::{Category, Channel, Priority, SolutionType};
use crate::error::AppError;
use crate::startup::AppState;

type Form = web::Form<HashMap<String, String>>;

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

pub async fn new_ticket(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let partners = state
        .db(|conn| customers::list_partners(conn, None))
        .await
        .unwrap_or_default();
    let data = json!({
        "nav": "new",
        "channels": ["whatsapp", "instagram", "facebook", "marketplace", "phone", "email", "walk_in", "web", "other"],
        "categories": names(Category::ALL, Category::as_str),
        "priorities": names(Priority::ALL, Priority::as_str),
        "partners": partners.into_iter().map(|p| json!({ "id": p.id, "name": p.name })).collect::<Vec<_>>(),
    });
    page(&state, &req, Some(&me), "base", "new_ticket", data)
        .unwrap_or_else(|e| error_page(&state, &req, Some(&me), &e))
}

/// Quick capture: channel, the customer (picked by id, or found/created from what was typed),
/// their words.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    form: Form,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return error_page(&state, &req, Some(&me), &e);
    }
    let customer_id = field(&form, "customer_id").and_then(|v| v.parse().ok());
    let input = NewTicketInput {
        kind: field(&form, "kind"),
        channel: field(&form, "channel").unwrap_or_default(),
        customer_id,
        customer: customer_id.is_none().then(|| CustomerInput {
            name: field(&form, "customer_name"),
            email: field(&form, "customer_email"),
            phone: field(&form, "customer_phone"),
            whatsapp: field(&form, "customer_whatsapp"),
            instagram: field(&form, "customer_instagram"),
            ..Default::default()
        }),
        partner_id: field(&form, "partner_id").and_then(|v| v.parse().ok()),
        subject: field(&form, "subject").unwrap_or_default(),
        words: field(&form, "words").unwrap_or_default(),
        product: field(&form, "product"),
        order_ref: field(&form, "order_ref"),
        category: field(&form, "category"),
        priority: field(&form, "priority"),
    };
    let (mail, actor) = (state.mailroom.clone(), me.0.clone());
    match state
        .db(move |conn| tickets::create(conn, &mail, &actor, &input))
        .await
    {
        Ok(created) => redirect(&format!("/tickets/{}", created.ticket.id)),
        Err(error) => redirect_with_error("/tickets/new", &error),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    id: web::Path<i64>,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    match render_ticket(&state, &req, &me, id.into_inner()).await {
        Ok(r) => r,
        Err(e) => error_page(&state, &req, Some(&me), &e),
    }
}

/// The six steps as a stepper: done, current, to come.
fn stepper(stage: Stage) -> Vec<serde_json::Value> {
    let current = stage.step();
    (1..=6u8)
        .map(|n| {
            let state = if stage == Stage::Closed
                || n < current
                || (stage == Stage::Resolved && n <= current)
            {
                "done"
            } else if n == current {
                "current"
            } else {
                "todo"
            };
            json!({ "n": n, "state": state, "label": format!("step.{n}") })
        })
        .collect()
}

async fn render_ticket(
    state: &AppState,
    req: &HttpRequest,
    me: &CurrentUser,
    id: i64,
) -> Result<HttpResponse, AppError> {
    let locale = super::locale(state, req, Some(me));
    let (detail, timeline, all_users, canned_list, outbox) = state
        .db(move |conn| -> Result<_, AppError> {
            let detail = tickets::detail(conn, id)?;
            let timeline = events::for_ticket(conn, id, false)?;
            let all_users = users::list(conn)?;
            let canned_list = canned::list(conn, None, Some(locale.as_str()), false)?;
            let outbox = crate::db::outbox::for_ticket(conn, id)?;
            Ok((detail, timeline, all_users, canned_list, outbox))
        })
        .await?;
    let stage = Stage::parse(&detail.ticket.stage).unwrap_or(Stage::New);
    let view = views::ticket_view(detail);
    let name_of = |id: Option<i64>| {
        id.and_then(|id| all_users.iter().find(|u| u.id == id))
            .map(|u| u.name.clone())
    };
    let timeline: Vec<_> = timeline
        .into_iter()
        .map(|e| {
            let actor = name_of(e.actor_id);
            let mut v = serde_json::to_value(views::EventView::from(e)).unwrap_or_default();
            v["actor_name"] = json!(actor);
            v["internal"] = json!(v["visibility"] != "public");
            v
        })
        .collect();
    let seniors: Vec<_> = all_users
        .iter()
        .filter(|u| u.active && u.role().is_senior())
        .map(|u| json!({ "id": u.id, "name": u.name }))
        .collect();
    let everyone: Vec<_> = all_users
        .iter()
        .filter(|u| u.active)
        .map(|u| json!({ "id": u.id, "name": u.name }))
        .collect();
    let next = view.next_step;
    let data = json!({
        "nav": "queue",
        "t": view,
        "assignee_name": name_of(view.summary.assignee_id),
        "escalated_to_name": name_of(view.summary.escalated_to),
        "steps": stepper(stage),
        "next_step": next,
        "guide": format!("guide.{next}"),
        "open": stage.is_open(),
        "is_resolved": stage == Stage::Resolved,
        "is_closed": stage == Stage::Closed,
        "awaiting_answer": view.proposal_state.as_deref() == Some("pending"),
        "timeline": timeline,
        "seniors": seniors,
        "users": everyone,
        "canned": canned_list.into_iter().map(|c| json!({ "id": c.id, "title": c.title, "step": c.step })).collect::<Vec<_>>(),
        "mails": outbox.into_iter().map(|m| json!({ "kind": m.kind, "to": m.to_address, "status": m.status })).collect::<Vec<_>>(),
        "categories": names(Category::ALL, Category::as_str),
        "priorities": names(Priority::ALL, Priority::as_str),
        "solution_types": names(SolutionType::ALL, SolutionType::as_str),
        "customer_link": state.mailroom.customer_link(id),
        "channels": names(Channel::ALL, Channel::as_str),
    });
    page(state, req, Some(me), "base", "ticket", data)
}

/// Every form on the ticket page posts here: `/tickets/{id}/{action}`.
pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    path: web::Path<(i64, String)>,
    form: Form,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (id, action) = path.into_inner();
    let back = format!("/tickets/{id}");
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return redirect_with_error(&back, &e);
    }
    match perform(&state, &me, id, &action, &form).await {
        Ok(()) => redirect(&back),
        Err(error) => redirect_with_error(&back, &error),
    }
}

async fn perform(
    state: &AppState,
    me: &CurrentUser,
    id: i64,
    action: &str,
    form: &HashMap<String, String>,
) -> Result<(), AppError> {
    let version = field(form, "version").and_then(|v| v.parse().ok());
    let notify = Some(form.contains_key("notify_customer"));
    let (mail, actor) = (state.mailroom.clone(), me.0.clone());
    let stage_action = match action {
        "acknowledge" => Some(Action::Acknowledge),
        "record" => Some(Action::Record),
        "diagnose" => Some(Action::Diagnose),
        "propose" => Some(Action::Propose),
        "customer-response" => Some(Action::CustomerResponse),
        "escalate" => Some(Action::Escalate),
        "resolve" => Some(Action::Resolve),
        "close" => Some(Action::Close),
        "reopen" => Some(Action::Reopen),
        _ => None,
    };
    if let Some(stage_action) = stage_action {
        let input = ActionInput {
            version,
            message: field(form, "message"),
            category: field(form, "category"),
            details: field(form, "details"),
            product: field(form, "product"),
            order_ref: field(form, "order_ref"),
            root_cause: field(form, "root_cause"),
            solution_type: field(form, "solution_type"),
            solution: field(form, "solution"),
            accepted: field(form, "accepted").map(|v| v == "true"),
            comment: field(form, "comment"),
            to_user_id: field(form, "to_user_id").and_then(|v| v.parse().ok()),
            reason: field(form, "reason"),
            summary: field(form, "summary"),
            notify_customer: notify,
        };
        state
            .db(move |conn| tickets::act(conn, &mail, &actor, id, stage_action, &input))
            .await?;
        return Ok(());
    }
    match action {
        "reply" | "note" => {
            let body = field(form, "body").unwrap_or_default();
            let internal = action == "note";
            state
                .db(move |conn| tickets::add_message(conn, &actor, id, None, &body, internal))
                .await?;
        }
        "assign" => {
            let target = field(form, "user_id").and_then(|v| v.parse().ok());
            state
                .db(move |conn| tickets::assign(conn, &actor, id, version, target))
                .await?;
        }
        "promise" => {
            let what = field(form, "what").unwrap_or_default();
            let due = parse_local(state, field(form, "due_at").as_deref())?;
            state
                .db(move |conn| {
                    tickets::add_promise(conn, &mail, &actor, id, None, due, &what, notify)
                })
                .await?;
        }
        "replacement" => {
            let input = ReplacementInput {
                item: field(form, "item").unwrap_or_default(),
                quantity: field(form, "quantity")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                reason: field(form, "reason").unwrap_or_default(),
                cost: field(form, "cost")
                    .and_then(|v| v.replace(['.', ','], "").parse().ok())
                    .unwrap_or(-1),
                version: None,
            };
            state
                .db(move |conn| tickets::add_replacement(conn, &actor, id, &input))
                .await?;
        }
        "priority" => {
            let patch = tickets::TicketPatch {
                version: version.unwrap_or_default(),
                priority: field(form, "priority"),
                ..Default::default()
            };
            state
                .db(move |conn| tickets::patch(conn, &mail, &actor, id, &patch))
                .await?;
        }
        _ => return Err(AppError::NotFound("no such action".into())),
    }
    Ok(())
}

/// A `datetime-local` value, read in the shop's time zone.
fn parse_local(
    state: &AppState,
    raw: Option<&str>,
) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    use chrono::TimeZone;
    let raw = raw.ok_or_else(|| AppError::invalid("due_at", "is required"))?;
    let naive = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .map_err(|_| AppError::invalid("due_at", "is not a date and time"))?;
    state
        .settings
        .timezone
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| AppError::invalid("due_at", "does not exist in the shop's time zone"))
}

pub async fn keep(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    path: web::Path<(i64, i64)>,
    form: Form,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (id, pid) = path.into_inner();
    let back = format!("/tickets/{id}");
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return redirect_with_error(&back, &e);
    }
    let note = field(&form, "note");
    let actor = me.0.clone();
    match state
        .db(move |conn| tickets::keep_promise(conn, &actor, id, pid, None, note.as_deref()))
        .await
    {
        Ok(_) => redirect(&back),
        Err(e) => redirect_with_error(&back, &e),
    }
}

pub async fn replacements(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let found = state.db(|conn| replacements::list(conn, None, 500)).await;
    match found {
        Ok(list) => {
            // Oldest unshipped first: requested and approved before the rest.
            let mut rows: Vec<_> = list.into_iter().map(views::ReplacementView::from).collect();
            rows.sort_by_key(|r| {
                (
                    !matches!(r.status.as_str(), "requested" | "approved"),
                    r.created_at,
                )
            });
            let rows: Vec<_> = rows
                .into_iter()
                .map(|r| {
                    let mut v = serde_json::to_value(&r).unwrap_or_default();
                    v["number"] = json!(crate::domain::ticket_number(r.ticket_id));
                    v["unshipped"] = json!(matches!(r.status.as_str(), "requested" | "approved"));
                    v
                })
                .collect();
            page(
                &state,
                &req,
                Some(&me),
                "base",
                "replacements",
                json!({ "nav": "replacements", "replacements": rows }),
            )
            .unwrap_or_else(|e| error_page(&state, &req, Some(&me), &e))
        }
        Err(e) => error_page(&state, &req, Some(&me), &e),
    }
}

pub async fn update_replacement(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    id: web::Path<i64>,
    form: Form,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let id = id.into_inner();
    let form = form.into_inner();
    let back = field(&form, "back")
        .filter(|b| super::is_local_path(b))
        .unwrap_or_else(|| "/replacements".into());
    if let Err(e) = check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return redirect_with_error(&back, &e);
    }
    let patch = ReplacementPatch {
        status: field(&form, "status").unwrap_or_default(),
        courier: field(&form, "courier"),
        tracking_number: field(&form, "tracking_number"),
        reason: field(&form, "reason"),
        version: None,
        notify_customer: Some(form.contains_key("notify_customer")),
    };
    let (mail, actor) = (state.mailroom.clone(), me.0.clone());
    match state
        .db(move |conn| tickets::update_replacement(conn, &mail, &actor, id, &patch))
        .await
    {
        Ok(_) => redirect_with_ok(&back, "ok.saved"),
        Err(e) => redirect_with_error(&back, &e),
    }
}
