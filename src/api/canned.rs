//! Canned responses and the calm-reply check.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;

use super::views::{answers, CannedView};
use crate::auth::{CurrentUser, SeniorUser};
use crate::config::Locale;
use crate::db::canned as canned_db;
use crate::desk::canned::{self, CannedInput};
use crate::domain::calm;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CannedQuery {
    pub step: Option<String>,
    #[param(value_type = Option<crate::config::Locale>)]
    pub locale: Option<String>,
    /// Include switched-off responses too.
    pub all: Option<bool>,
}

#[utoipa::path(tag = "canned responses", params(CannedQuery), responses((status = 200, description = "`{canned_responses}`", body = answers::CannedList)))]
#[get("/canned-responses")]
pub async fn list(
    state: web::Data<AppState>,
    _me: CurrentUser,
    query: web::Query<CannedQuery>,
) -> Result<HttpResponse, AppError> {
    let CannedQuery { step, locale, all } = query.into_inner();
    // Filter on the parsed word: "EN" or " en " is English too.
    let locale = match &locale {
        Some(raw) => Some(Locale::parse(raw).ok_or_else(|| {
            AppError::invalid("locale", format!("'{raw}' is not one of: id, en"))
        })?),
        None => None,
    };
    let found = state
        .db(move |conn| {
            canned_db::list(
                conn,
                step.as_deref(),
                locale.map(Locale::as_str),
                all.unwrap_or(false),
            )
        })
        .await?;
    let found: Vec<CannedView> = found.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "canned_responses": found })))
}

/// Add a canned response (managers and admins).
#[utoipa::path(tag = "canned responses", request_body = CannedInput, responses((status = 201, description = "created", body = CannedView), (status = 403, description = "agents cannot")))]
#[post("/canned-responses")]
pub async fn create(
    state: web::Data<AppState>,
    _me: SeniorUser,
    body: web::Json<CannedInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let created = state.db(move |conn| canned::create(conn, &input)).await?;
    Ok(HttpResponse::Created().json(CannedView::from(created)))
}

/// Change a canned response (managers and admins); send the `version` you saw.
#[utoipa::path(tag = "canned responses", params(("id" = i64, Path, description = "canned response id")), request_body = CannedInput, responses((status = 200, description = "changed", body = CannedView), (status = 409, description = "stale")))]
#[patch("/canned-responses/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    _me: SeniorUser,
    id: web::Path<i64>,
    body: web::Json<CannedInput>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let input = body.into_inner();
    let changed = state
        .db(move |conn| canned::update(conn, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(CannedView::from(changed)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderBody {
    pub ticket_id: i64,
}

/// Fill a canned response in for a ticket: `{text, warnings}`.
#[utoipa::path(tag = "canned responses", params(("id" = i64, Path, description = "canned response id")), request_body = RenderBody, responses((status = 200, description = "`{text, warnings}`", body = answers::Rendered)))]
#[post("/canned-responses/{id}/render")]
pub async fn render(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<RenderBody>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let ticket_id = body.ticket_id;
    let me_id = me.id();
    let settings = state.settings.clone();
    let text = state
        .db(move |conn| canned::render(conn, &settings, id, ticket_id, me_id))
        .await?;
    let warnings = calm::check(&text, &me.0.locale);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "text": text, "warnings": warnings })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToneBody {
    pub text: String,
    /// id or en: the language of the advice.
    #[schema(value_type = Option<crate::config::Locale>)]
    pub locale: Option<String>,
}

/// Step 1, stay calm: flags heated wording in a draft (shouting, "!!!", blaming, defensive
/// phrases, insults, sarcasm) in Indonesian and English. It never blocks.
#[utoipa::path(tag = "canned responses", request_body = ToneBody, responses((status = 200, description = "`{calm, warnings}`", body = answers::ToneChecked)))]
#[post("/tone-check")]
pub async fn tone_check(
    me: CurrentUser,
    body: web::Json<ToneBody>,
) -> Result<HttpResponse, AppError> {
    let ToneBody { text, locale } = body.into_inner();
    if text.chars().count() > 20_000 {
        return Err(AppError::invalid(
            "text",
            "must be at most 20000 characters",
        ));
    }
    let locale = match locale {
        Some(raw) => Locale::parse(&raw)
            .ok_or_else(|| AppError::invalid("locale", format!("'{raw}' is not one of: id, en")))?,
        None => Locale::parse(&me.0.locale).unwrap_or(Locale::Id),
    };
    let warnings = calm::check(&text, locale.as_str());
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "calm": warnings.is_empty(), "warnings": warnings })))
}
