//! Administration: users, target policies, working hours and holidays, canned responses, the
//! mail outbox, desk settings. Admins only; every form calls the operation the API calls.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{
    check_csrf, error_page, field, page, redirect_with_error, redirect_with_ok, signed_in,
};
use crate::accounts::{self, UserInput, UserPatch};
use crate::auth::CurrentUser;
use crate::db::{app_settings, canned, outbox, users};
use crate::desk::canned::{CannedInput, STEPS};
use crate::desk::targets::{self, DayHours, Holiday, TargetPolicy};
use crate::desk::tickets::{approval_threshold, SETTING_APPROVAL_THRESHOLD, SETTING_AUTO_ASSIGN};
use crate::domain::user::Role;
use crate::error::AppError;
use crate::startup::AppState;

fn hhmm(minute: Option<String>) -> String {
    minute.unwrap_or_default()
}

pub async fn admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
) -> HttpResponse {
    let me = match super::signed_in_as(
        &state,
        user,
        &req,
        Role::Admin,
        "administration is for admins",
    ) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let loaded = state
        .db(|conn| -> Result<_, AppError> {
            Ok((
                users::list(conn)?,
                targets::policies(conn)?,
                targets::week(conn)?,
                targets::holiday_list(conn)?,
                canned::list(conn, None, None, true)?,
                outbox::list(conn, Some("dead"), 100, None)?,
                outbox::list(conn, Some("pending"), 100, None)?,
                app_settings::get(conn, SETTING_AUTO_ASSIGN)?.as_deref() == Some("true"),
                approval_threshold(conn)?,
            ))
        })
        .await;
    let (all_users, policies, week, holidays, canned_list, dead, pending, auto_assign, threshold) =
        match loaded {
            Ok(v) => v,
            Err(e) => return error_page(&state, &req, Some(&me), &e),
        };
    let name_of = |id: Option<i64>| {
        id.and_then(|id| all_users.iter().find(|u| u.id == id))
            .map(|u| u.name.clone())
    };
    let seniors: Vec<_> = all_users
        .iter()
        .filter(|u| u.active && u.role().is_senior())
        .map(|u| json!({ "id": u.id, "name": u.name }))
        .collect();
    let user_rows: Vec<_> = all_users
        .iter()
        .map(|u| json!({ "id": u.id, "name": u.name, "email": u.email, "role": u.role, "active": u.active, "away": u.away, "manager_id": u.manager_id, "manager_name": name_of(u.manager_id) }))
        .collect();
    let mails: Vec<_> = dead
        .into_iter()
        .chain(pending.into_iter().filter(|m| m.attempts > 0))
        .map(|m| json!({ "id": m.id, "kind": m.kind, "to": m.to_address, "subject": m.subject, "status": m.status, "attempts": m.attempts, "error": m.last_error }))
        .collect();
    let data = json!({
        "nav": "admin",
        "users": user_rows,
        "seniors": seniors,
        "roles": ["agent", "manager", "admin"],
        "policies": policies,
        "week": week.into_iter().map(|d| json!({ "weekday": d.weekday, "label": format!("weekday.{}", d.weekday), "open": hhmm(d.open), "close": hhmm(d.close) })).collect::<Vec<_>>(),
        "holidays": holidays,
        "canned": canned_list.into_iter().map(|c| json!({ "id": c.id, "step": c.step, "locale": c.locale, "title": c.title, "active": c.active })).collect::<Vec<_>>(),
        "steps": STEPS,
        "mails": mails,
        "auto_assign": auto_assign,
        "threshold": threshold,
    });
    page(&state, &req, Some(&me), "base", "admin", data)
        .unwrap_or_else(|e| error_page(&state, &req, Some(&me), &e))
}

pub async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    what: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let form = form.into_inner();
    let result = async {
        check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or(""))?;
        me.require(Role::Admin)?;
        apply(&state, what.as_str(), &form).await
    }
    .await;
    match result {
        Ok(()) => redirect_with_ok("/admin", "ok.saved"),
        Err(e) => redirect_with_error("/admin", &e),
    }
}

async fn apply(
    state: &AppState,
    what: &str,
    form: &HashMap<String, String>,
) -> Result<(), AppError> {
    let form = form.clone();
    let locale = state.settings.locale;
    match what {
        "users" => {
            let input = UserInput {
                email: field(&form, "email").unwrap_or_default(),
                name: field(&form, "name").unwrap_or_default(),
                role: field(&form, "role").unwrap_or_default(),
                password: field(&form, "password").unwrap_or_default(),
                manager_id: field(&form, "manager_id").and_then(|v| v.parse().ok()),
                locale: None,
                must_change_password: true,
            };
            state
                .db(move |conn| accounts::create_user(conn, &input, locale))
                .await?;
        }
        "user" => {
            let id: i64 = field(&form, "id")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| AppError::invalid("id", "is required"))?;
            let patch = UserPatch {
                role: field(&form, "role"),
                manager_id: Some(field(&form, "manager_id").and_then(|v| v.parse().ok())),
                active: Some(form.contains_key("active")),
                away: Some(form.contains_key("away")),
                ..Default::default()
            };
            state
                .db(move |conn| accounts::update_user(conn, id, &patch))
                .await?;
        }
        "target" => {
            let number = |k: &str| field(&form, k).and_then(|v| v.parse().ok()).unwrap_or(0);
            let policy = TargetPolicy {
                priority: field(&form, "priority").unwrap_or_default(),
                first_response_minutes: number("first_response_minutes"),
                next_response_minutes: number("next_response_minutes"),
                resolution_minutes: number("resolution_minutes"),
            };
            state
                .db(move |conn| targets::update_policy(conn, &policy))
                .await?;
        }
        "hours" => {
            let days: Vec<DayHours> = (0..7)
                .map(|d| DayHours {
                    weekday: d,
                    open: field(&form, &format!("open_{d}")),
                    close: field(&form, &format!("close_{d}")),
                })
                .collect();
            state.db(move |conn| targets::set_week(conn, &days)).await?;
        }
        "holiday" => {
            let date = field(&form, "date")
                .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                .ok_or_else(|| AppError::invalid("date", "must be YYYY-MM-DD"))?;
            let holiday = Holiday {
                date,
                name: field(&form, "name").unwrap_or_default(),
            };
            state
                .db(move |conn| targets::add_holiday(conn, &holiday))
                .await?;
        }
        "holiday-remove" => {
            let date = field(&form, "date")
                .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                .ok_or_else(|| AppError::invalid("date", "must be YYYY-MM-DD"))?;
            state
                .db(move |conn| targets::remove_holiday(conn, date))
                .await?;
        }
        "canned" => {
            let input = CannedInput {
                step: field(&form, "step"),
                locale: field(&form, "locale"),
                title: field(&form, "title"),
                body: field(&form, "body"),
                active: None,
                version: None,
            };
            state
                .db(move |conn| crate::desk::canned::create(conn, &input))
                .await?;
        }
        "retry" => {
            let id: i64 = field(&form, "id")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| AppError::invalid("id", "is required"))?;
            state
                .db(move |conn| outbox::retry(conn, id, crate::db::now()))
                .await?;
        }
        "settings" => {
            let auto = form.contains_key("auto_assign");
            let threshold: i64 = field(&form, "threshold")
                .and_then(|v| v.replace(['.', ','], "").parse().ok())
                .ok_or_else(|| {
                    AppError::invalid("threshold", "must be a whole number of rupiah")
                })?;
            state
                .db(move |conn| -> Result<(), AppError> {
                    app_settings::put(
                        conn,
                        SETTING_AUTO_ASSIGN,
                        if auto { "true" } else { "false" },
                    )?;
                    app_settings::put(
                        conn,
                        SETTING_APPROVAL_THRESHOLD,
                        &threshold.max(0).to_string(),
                    )?;
                    Ok(())
                })
                .await?;
        }
        _ => return Err(AppError::NotFound("no such setting".into())),
    }
    Ok(())
}
