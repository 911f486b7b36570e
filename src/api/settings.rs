//! Desk-wide settings (admins): automatic assignment and the replacement approval threshold.

use actix_web::{get, patch, web, HttpResponse};
use serde::Deserialize;

use crate::auth::{AdminUser, CurrentUser};
use crate::db::app_settings;
use crate::desk::tickets::{approval_threshold, SETTING_APPROVAL_THRESHOLD, SETTING_AUTO_ASSIGN};
use crate::error::AppError;
use crate::startup::AppState;

async fn current(state: &AppState) -> Result<serde_json::Value, AppError> {
    let (auto, threshold) = state
        .db(|conn| -> Result<_, AppError> {
            let auto = app_settings::get(conn, SETTING_AUTO_ASSIGN)?.as_deref() == Some("true");
            Ok((auto, approval_threshold(conn)?))
        })
        .await?;
    let mut value =
        serde_json::json!({ "auto_assign": auto, "replacement_approval_threshold": threshold });
    let knobs = state
        .db(crate::jobs::follow_up::FollowUpSettings::load)
        .await?;
    if let (Some(map), Ok(serde_json::Value::Object(extra))) =
        (value.as_object_mut(), serde_json::to_value(knobs))
    {
        map.extend(extra);
    }
    Ok(value)
}

#[utoipa::path(tag = "settings", responses((status = 200, description = "the settings", body = super::views::answers::DeskSettings)))]
#[get("/settings")]
pub async fn get(state: web::Data<AppState>, _me: CurrentUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(current(&state).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// New tickets go to the active agent with the fewest open tickets (not away).
    pub auto_assign: Option<bool>,
    /// Replacements costing more than this many rupiah need a manager's approval.
    pub replacement_approval_threshold: Option<i64>,
    /// Remind the agent this many business minutes before a promise is due (default 120).
    pub reminder_lead_minutes: Option<i64>,
    /// Warn the agent this many business minutes before a target is breached (default 30).
    pub target_warning_minutes: Option<i64>,
    /// Alert one level up when a promise is still unkept this many business minutes after the
    /// manager's alert (default 540, one business day).
    pub escalate_after_minutes: Option<i64>,
    /// Local time of the managers' daily digest, HH:MM (default 08:00).
    pub digest_time: Option<String>,
    /// Replacements not shipped after this many days appear in the digest (default 3).
    pub unshipped_after_days: Option<i64>,
}

#[utoipa::path(tag = "settings", request_body = SettingsPatch, responses((status = 200, description = "the settings", body = super::views::answers::DeskSettings), (status = 403, description = "admins only")))]
#[patch("/settings")]
pub async fn update(
    state: web::Data<AppState>,
    _me: AdminUser,
    body: web::Json<SettingsPatch>,
) -> Result<HttpResponse, AppError> {
    let SettingsPatch {
        auto_assign,
        replacement_approval_threshold,
        reminder_lead_minutes,
        target_warning_minutes,
        escalate_after_minutes,
        digest_time,
        unshipped_after_days,
    } = body.into_inner();
    let knobs: Vec<(&str, String)> = [
        (
            "reminder_lead_minutes",
            reminder_lead_minutes.map(|v| v.to_string()),
        ),
        (
            "target_warning_minutes",
            target_warning_minutes.map(|v| v.to_string()),
        ),
        (
            "escalate_after_minutes",
            escalate_after_minutes.map(|v| v.to_string()),
        ),
        (
            "digest_time",
            digest_time.map(|t| {
                crate::jobs::follow_up::parse_time(&t)
                    .map(|t| t.format("%H:%M").to_string())
                    .unwrap_or(t)
            }),
        ),
        (
            "unshipped_after_days",
            unshipped_after_days.map(|v| v.to_string()),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let mut fields = crate::error::FieldErrors::new();
    for (key, value) in &knobs {
        if let Err(m) = crate::jobs::follow_up::check_knob(key, value) {
            fields.insert((*key).to_owned(), m);
        }
    }
    AppError::check(fields)?;
    if replacement_approval_threshold.is_some_and(|t| t < 0) {
        return Err(AppError::invalid(
            "replacement_approval_threshold",
            "must be 0 or more",
        ));
    }
    state
        .db(move |conn| -> Result<(), AppError> {
            if let Some(auto) = auto_assign {
                app_settings::put(
                    conn,
                    SETTING_AUTO_ASSIGN,
                    if auto { "true" } else { "false" },
                )?;
            }
            if let Some(threshold) = replacement_approval_threshold {
                app_settings::put(conn, SETTING_APPROVAL_THRESHOLD, &threshold.to_string())?;
            }
            for (key, value) in &knobs {
                app_settings::put(conn, key, value)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(current(&state).await?))
}
