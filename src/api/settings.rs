//! Desk-wide settings (admins): automatic assignment and the replacement approval threshold.

use actix_web::{get, patch, web, HttpResponse};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::db::app_settings;
use crate::desk::tickets::{approval_threshold, SETTING_APPROVAL_THRESHOLD, SETTING_AUTO_ASSIGN};
use crate::domain::user::Role;
use crate::error::AppError;
use crate::startup::AppState;

async fn current(state: &AppState) -> Result<serde_json::Value, AppError> {
    let (auto, threshold) = state
        .db(|conn| -> Result<_, AppError> {
            let auto = app_settings::get(conn, SETTING_AUTO_ASSIGN)?.as_deref() == Some("true");
            Ok((auto, approval_threshold(conn)?))
        })
        .await?;
    Ok(serde_json::json!({ "auto_assign": auto, "replacement_approval_threshold": threshold }))
}

#[utoipa::path(tag = "settings", responses((status = 200, description = "`{auto_assign, replacement_approval_threshold}`")))]
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
}

#[utoipa::path(tag = "settings", request_body = SettingsPatch, responses((status = 200, description = "the settings"), (status = 403, description = "admins only")))]
#[patch("/settings")]
pub async fn update(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<SettingsPatch>,
) -> Result<HttpResponse, AppError> {
    me.require(Role::Admin)?;
    let SettingsPatch {
        auto_assign,
        replacement_approval_threshold,
    } = body.into_inner();
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
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(current(&state).await?))
}
