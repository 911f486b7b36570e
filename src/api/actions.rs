//! The playbook actions on a ticket. Stage actions take the `version` the client saw and
//! answer 409 `stale` when someone else changed the ticket first, and 409
//! `invalid_transition` (saying which step is missing) when the playbook does not allow it.

use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::views::{answers, EventView, PromiseView, ReplacementView, TicketView};
use crate::auth::CurrentUser;
use crate::desk::tickets::{self, ActionInput, ReplacementInput};
use crate::domain::calm;
use crate::domain::playbook::Action;
use crate::error::AppError;
use crate::startup::AppState;

async fn perform(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: i64,
    action: Action,
    input: ActionInput,
) -> Result<HttpResponse, AppError> {
    if input.version.is_none() {
        return Err(AppError::invalid(
            "version",
            "is required: send the version of the ticket you saw",
        ));
    }
    // The thank-you goes to the customer: it gets the calm-reply check like any reply.
    let warnings = match (&input.message, action) {
        (Some(text), Action::Acknowledge) => calm::check(text, &me.0.locale),
        _ => Vec::new(),
    };
    let actor = me.0.clone();
    let mail = state.mailroom.clone();
    state
        .db(move |conn| tickets::act(conn, &mail, &actor, id, action, &input))
        .await?;
    let mut view = serde_json::to_value(super::tickets::view(&state, id).await?)
        .map_err(|e| AppError::Internal(e.into()))?;
    view["warnings"] = serde_json::to_value(warnings).unwrap_or_default();
    Ok(HttpResponse::Ok().json(view))
}

macro_rules! stage_action {
    ($name:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(tag = "playbook", description = $doc, params(("id" = i64, Path, description = "ticket id")), request_body = ActionInput,
            responses((status = 200, description = "the ticket after the action", body = answers::ActedTicket), (status = 409, description = "stale or invalid_transition"), (status = 422, description = "invalid fields")))]
        #[post($path)]
        pub async fn $name(state: web::Data<AppState>, me: CurrentUser, id: web::Path<i64>, body: web::Json<ActionInput>) -> Result<HttpResponse, AppError> {
            perform(state, me, id.into_inner(), $action, body.into_inner()).await
        }
    };
}

stage_action!(
    acknowledge,
    "/tickets/{id}/acknowledge",
    Action::Acknowledge,
    "Step 2: thank the customer. Takes `message`, `version`."
);
stage_action!(record, "/tickets/{id}/record", Action::Record, "Step 3: record the complaint. Takes `category`, `details`, `product?`, `order_ref?`, `version`.");
stage_action!(
    diagnose,
    "/tickets/{id}/diagnose",
    Action::Diagnose,
    "Step 4: write down the root cause. Takes `root_cause`, `version`."
);
stage_action!(propose, "/tickets/{id}/propose", Action::Propose, "Step 5: propose a solution and ask for the customer's input. Takes `solution_type`, `solution`, `version`.");
stage_action!(customer_response, "/tickets/{id}/customer-response", Action::CustomerResponse, "Step 5: the customer's answer. Takes `accepted`, `comment`, `version`; a rejection goes back to `understood`.");
stage_action!(
    escalate,
    "/tickets/{id}/escalate",
    Action::Escalate,
    "Step 5b: hand the ticket to a manager or admin. Takes `to_user_id`, `reason`, `version`."
);
stage_action!(
    resolve,
    "/tickets/{id}/resolve",
    Action::Resolve,
    "Resolve the ticket. Takes `summary`, `version`."
);
stage_action!(
    close,
    "/tickets/{id}/close",
    Action::Close,
    "Close a resolved ticket. Takes `version`."
);
stage_action!(
    reopen,
    "/tickets/{id}/reopen",
    Action::Reopen,
    "Reopen a resolved or closed ticket (back to acknowledged). Takes `reason`, `version`."
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The new assignee, or null to unassign.
    pub user_id: Option<i64>,
    pub version: Option<i32>,
}

/// Assign the ticket (agents may take unassigned tickets or give up their own; managers and
/// admins reassign anyone's).
#[utoipa::path(tag = "playbook", params(("id" = i64, Path, description = "ticket id")), request_body = AssignBody, responses((status = 200, description = "the ticket", body = TicketView), (status = 403, description = "not allowed to reassign"), (status = 409, description = "stale (the ticket moved on since `version`) or invalid_transition")))]
#[post("/tickets/{id}/assign")]
pub async fn assign(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let AssignBody { user_id, version } = body.into_inner();
    let actor = me.0.clone();
    state
        .db(move |conn| tickets::assign(conn, &actor, id, version, user_id))
        .await?;
    Ok(HttpResponse::Ok().json(super::tickets::view(&state, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub body: String,
    /// Optional: refuse with 409 if the ticket moved on since this version.
    pub version: Option<i32>,
}

async fn message(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: i64,
    body: MessageBody,
    internal: bool,
) -> Result<HttpResponse, AppError> {
    let warnings = if internal {
        Vec::new()
    } else {
        calm::check(&body.body, &me.0.locale)
    };
    let actor = me.0.clone();
    let event = state
        .db(move |conn| tickets::add_message(conn, &actor, id, body.version, &body.body, internal))
        .await?;
    Ok(HttpResponse::Created()
        .json(serde_json::json!({ "event": EventView::from(event), "warnings": warnings })))
}

/// A public reply to the customer. The answer carries calm-reply `warnings`; they never block.
#[utoipa::path(tag = "playbook", params(("id" = i64, Path, description = "ticket id")), request_body = MessageBody, responses((status = 201, description = "`{event, warnings}`", body = answers::MessageAdded), (status = 409, description = "stale (the ticket moved on since `version`) or invalid_transition")))]
#[post("/tickets/{id}/replies")]
pub async fn add_reply(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<MessageBody>,
) -> Result<HttpResponse, AppError> {
    message(state, me, id.into_inner(), body.into_inner(), false).await
}

/// An internal note, never shown to the customer.
#[utoipa::path(tag = "playbook", params(("id" = i64, Path, description = "ticket id")), request_body = MessageBody, responses((status = 201, description = "`{event, warnings}`", body = answers::MessageAdded), (status = 409, description = "stale (the ticket moved on since `version`) or invalid_transition")))]
#[post("/tickets/{id}/notes")]
pub async fn add_note(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<MessageBody>,
) -> Result<HttpResponse, AppError> {
    message(state, me, id.into_inner(), body.into_inner(), true).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromiseBody {
    /// When we will get back to the customer (RFC 3339); must be in the future.
    pub due_at: DateTime<Utc>,
    /// What was promised.
    pub what: String,
    pub version: Option<i32>,
    /// Email the customer the promised date (default true).
    pub notify_customer: Option<bool>,
}

/// Step 6: promise a date. A new promise replaces (breaks) the open one.
#[utoipa::path(tag = "playbook", params(("id" = i64, Path, description = "ticket id")), request_body = PromiseBody, responses((status = 201, description = "the promise", body = PromiseView), (status = 409, description = "stale (the ticket moved on since `version`) or invalid_transition"), (status = 422, description = "due date in the past")))]
#[post("/tickets/{id}/promises")]
pub async fn add_promise(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<PromiseBody>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let PromiseBody {
        due_at,
        what,
        version,
        notify_customer,
    } = body.into_inner();
    let mail = state.mailroom.clone();
    let actor = me.0.clone();
    let promise = state
        .db(move |conn| {
            tickets::add_promise(
                conn,
                &mail,
                &actor,
                id,
                version,
                due_at,
                &what,
                notify_customer,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(PromiseView::from(promise)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepBody {
    pub note: Option<String>,
    pub version: Option<i32>,
}

/// Step 6: the promise is kept.
#[utoipa::path(tag = "playbook", params(("id" = i64, Path, description = "ticket id"), ("pid" = i64, Path, description = "promise id")), request_body = KeepBody, responses((status = 200, description = "the kept promise", body = PromiseView), (status = 409, description = "already kept or broken")))]
#[post("/tickets/{id}/promises/{pid}/keep")]
pub async fn keep(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<KeepBody>,
) -> Result<HttpResponse, AppError> {
    let (id, pid) = path.into_inner();
    let KeepBody { note, version } = body.into_inner();
    let actor = me.0.clone();
    let promise = state
        .db(move |conn| tickets::keep_promise(conn, &actor, id, pid, version, note.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(PromiseView::from(promise)))
}

/// Step 5: replace the product. Above the approval threshold a manager must approve it.
#[utoipa::path(tag = "replacements", params(("id" = i64, Path, description = "ticket id")), request_body = ReplacementInput, responses((status = 201, description = "the replacement", body = ReplacementView), (status = 409, description = "stale (the ticket moved on since `version`) or invalid_transition")))]
#[post("/tickets/{id}/replacements")]
pub async fn add_replacement(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<ReplacementInput>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let input = body.into_inner();
    let actor = me.0.clone();
    let replacement = state
        .db(move |conn| tickets::add_replacement(conn, &actor, id, &input))
        .await?;
    Ok(HttpResponse::Created().json(ReplacementView::from(replacement)))
}
