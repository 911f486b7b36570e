//! Service targets, working hours and holidays (admins change them; everyone reads them).

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

use super::views::answers;
use crate::auth::{AdminUser, CurrentUser};
use crate::desk::targets::{self, DayHours, Holiday, TargetPolicy};
use crate::error::AppError;
use crate::startup::AppState;

/// Targets per priority, in business minutes.
#[utoipa::path(tag = "targets", responses((status = 200, description = "`{policies}`", body = answers::TargetList)))]
#[get("/targets")]
pub async fn list_targets(
    state: web::Data<AppState>,
    _me: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let policies = state.db(targets::policies).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "policies": policies })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    pub first_response_minutes: i32,
    pub next_response_minutes: i32,
    pub resolution_minutes: i32,
}

/// Change the targets of one priority (admins). Open tickets keep their due times until their
/// priority changes.
#[utoipa::path(tag = "targets", params(("priority" = String, Path, description = "low, normal, high or urgent")), request_body = TargetBody, responses((status = 200, description = "the policy", body = TargetPolicy)))]
#[put("/targets/{priority}")]
pub async fn put_target(
    state: web::Data<AppState>,
    _me: AdminUser,
    priority: web::Path<String>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let policy = TargetPolicy {
        priority: priority.into_inner(),
        first_response_minutes: b.first_response_minutes,
        next_response_minutes: b.next_response_minutes,
        resolution_minutes: b.resolution_minutes,
    };
    let saved = state
        .db(move |conn| targets::update_policy(conn, &policy))
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Working hours per weekday (0 = Monday), in the shop's time zone.
#[utoipa::path(tag = "targets", responses((status = 200, description = "`{timezone, days}`", body = answers::Week)))]
#[get("/business-hours")]
pub async fn get_hours(
    state: web::Data<AppState>,
    _me: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let days = state.db(targets::week).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "timezone": state.settings.timezone.name(), "days": days })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursBody {
    pub days: Vec<DayHours>,
}

/// Set working hours (admins): `{"days": [{"weekday": 0, "open": "08:00", "close": "17:00"}, {"weekday": 6, "open": null, "close": null}]}`.
#[utoipa::path(tag = "targets", request_body = HoursBody, responses((status = 200, description = "`{timezone, days}`", body = answers::Week)))]
#[put("/business-hours")]
pub async fn put_hours(
    state: web::Data<AppState>,
    _me: AdminUser,
    body: web::Json<HoursBody>,
) -> Result<HttpResponse, AppError> {
    let days = body.into_inner().days;
    let days = state.db(move |conn| targets::set_week(conn, &days)).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "timezone": state.settings.timezone.name(), "days": days })))
}

#[utoipa::path(tag = "targets", responses((status = 200, description = "`{holidays}`", body = answers::HolidayList)))]
#[get("/holidays")]
pub async fn list_holidays(
    state: web::Data<AppState>,
    _me: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let holidays = state.db(targets::holiday_list).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "holidays": holidays })))
}

/// Add (or rename) a holiday (admins).
#[utoipa::path(tag = "targets", request_body = Holiday, responses((status = 201, description = "the holiday", body = Holiday)))]
#[post("/holidays")]
pub async fn add_holiday(
    state: web::Data<AppState>,
    _me: AdminUser,
    body: web::Json<Holiday>,
) -> Result<HttpResponse, AppError> {
    let holiday = body.into_inner();
    let saved = state
        .db(move |conn| targets::add_holiday(conn, &holiday))
        .await?;
    Ok(HttpResponse::Created().json(saved))
}

/// Remove a holiday (admins).
#[utoipa::path(tag = "targets", params(("date" = String, Path, description = "YYYY-MM-DD")), responses((status = 204, description = "removed"), (status = 404, description = "no holiday that day")))]
#[delete("/holidays/{date}")]
pub async fn remove_holiday(
    state: web::Data<AppState>,
    _me: AdminUser,
    date: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| AppError::invalid("date", "must be YYYY-MM-DD"))?;
    state
        .db(move |conn| targets::remove_holiday(conn, date))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
