//! Replacements across tickets, and their status changes.

use actix_web::{get, patch, web, HttpResponse};
use serde::Deserialize;

use super::views::ReplacementView;
use crate::auth::CurrentUser;
use crate::db::replacements;
use crate::desk::tickets::{self, ReplacementPatch};
use crate::domain::replacement::ReplacementStatus;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReplacementQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
}

/// All replacements, oldest first within each status.
#[utoipa::path(tag = "replacements", params(ReplacementQuery), responses((status = 200, description = "`{replacements}`", body = super::views::answers::ReplacementList)))]
#[get("/replacements")]
pub async fn list(
    state: web::Data<AppState>,
    _me: CurrentUser,
    query: web::Query<ReplacementQuery>,
) -> Result<HttpResponse, AppError> {
    let status = match &query.status {
        Some(raw) => {
            Some(ReplacementStatus::parse(raw).map_err(|m| AppError::invalid("status", m))?)
        }
        None => None,
    };
    let limit = query.limit.unwrap_or(200).clamp(1, 1000);
    let found = state
        .db(move |conn| replacements::list(conn, status.map(ReplacementStatus::as_str), limit))
        .await?;
    let found: Vec<ReplacementView> = found.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "replacements": found })))
}

/// Move a replacement on: approved (a manager for expensive ones), shipped (courier and
/// tracking number), delivered, or cancelled (with a reason).
#[utoipa::path(tag = "replacements", params(("id" = i64, Path, description = "replacement id")), request_body = ReplacementPatch, responses((status = 200, description = "the replacement", body = ReplacementView), (status = 403, description = "needs a manager"), (status = 409, description = "invalid_transition or stale")))]
#[patch("/replacements/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<ReplacementPatch>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let input = body.into_inner();
    let actor = me.0.clone();
    let mail = state.mailroom.clone();
    let replacement = state
        .db(move |conn| tickets::update_replacement(conn, &mail, &actor, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(ReplacementView::from(replacement)))
}
