//! Signing in and out in the browser, and the language switch.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{check_csrf, page, redirect, secure_cookies, LANG_COOKIE};
use crate::auth::{CurrentUser, SESSION_COOKIE};
use crate::config::Locale;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Only paths on this site are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if super::is_local_path(n) => n.to_owned(),
        _ => "/queue".to_owned(),
    }
}

pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if user.is_some() {
        return Ok(redirect(&safe_next(query.next.as_deref())));
    }
    page(
        &state,
        &req,
        None,
        "bare",
        "login",
        json!({ "next": safe_next(query.next.as_deref()) }),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    pub csrf: String,
    pub next: Option<String>,
}

/// Signs in with the same checks as the API (throttling included), then keeps the token in
/// an HttpOnly, SameSite=Lax cookie (Secure behind HTTPS).
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    check_csrf(&req, &form.csrf)?;
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    match crate::api::auth::sign_in(&state, &form.email, form.password, &address).await {
        Ok((user, token)) => {
            let cookie = Cookie::build(SESSION_COOKIE, token)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(secure_cookies(&state))
                .max_age(CookieDuration::seconds(state.tokens.ttl_seconds()))
                .finish();
            let lang = Cookie::build(LANG_COOKIE, user.locale.clone())
                .path("/")
                .same_site(SameSite::Lax)
                .finish();
            let mut response = redirect(&safe_next(form.next.as_deref()));
            response
                .add_cookie(&cookie)
                .map_err(|e| AppError::Internal(e.into()))?;
            response
                .add_cookie(&lang)
                .map_err(|e| AppError::Internal(e.into()))?;
            Ok(response)
        }
        Err(
            error @ (AppError::Unauthorized { .. }
            | AppError::TooManyRequests { .. }
            | AppError::Validation { .. }),
        ) => {
            let data = json!({ "next": safe_next(form.next.as_deref()), "email": form.email, "flash": { "kind": "error", "text": error.to_string() } });
            let mut response = page(&state, &req, None, "bare", "login", data)?;
            *response.status_mut() = actix_web::ResponseError::status_code(&error);
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(req: HttpRequest, form: web::Form<CsrfForm>) -> Result<HttpResponse, AppError> {
    check_csrf(&req, &form.csrf)?;
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    cookie.set_max_age(CookieDuration::ZERO);
    let mut response = redirect("/login");
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LangForm {
    pub csrf: String,
    pub locale: String,
    pub next: Option<String>,
}

/// Switches the interface language; for a signed-in user it is remembered on their account.
pub async fn switch_language(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    form: web::Form<LangForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    check_csrf(&req, &form.csrf)?;
    let locale = Locale::parse(&form.locale)
        .ok_or_else(|| AppError::invalid("locale", "is not one of: id, en"))?;
    if let Some(user) = user {
        let id = user.id();
        let patch = crate::accounts::UserPatch {
            locale: Some(locale.as_str().into()),
            ..Default::default()
        };
        state
            .db(move |conn| crate::accounts::update_user(conn, id, &patch))
            .await?;
    }
    let cookie = Cookie::build(LANG_COOKIE, locale.as_str())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(365))
        .finish();
    let mut response = redirect(&safe_next(form.next.as_deref()));
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

/// Choosing a real password (the only page open to a user with a one-time password).
pub async fn password_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
) -> Result<HttpResponse, AppError> {
    let Some(user) = user else {
        return Ok(redirect("/login?next=/password"));
    };
    page(&state, &req, Some(&user), "bare", "password", json!({}))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    pub csrf: String,
    pub current_password: String,
    pub new_password: String,
}

pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    check_csrf(&req, &form.csrf)?;
    let Some(user) = user else {
        return Ok(redirect("/login?next=/password"));
    };
    match crate::api::auth::replace_password(
        &state,
        &user,
        form.current_password,
        form.new_password,
    )
    .await
    {
        Ok((_, token)) => {
            let cookie = Cookie::build(SESSION_COOKIE, token)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(secure_cookies(&state))
                .max_age(CookieDuration::seconds(state.tokens.ttl_seconds()))
                .finish();
            let mut response = redirect("/queue");
            response
                .add_cookie(&cookie)
                .map_err(|e| AppError::Internal(e.into()))?;
            Ok(response)
        }
        Err(error) => {
            let data = json!({ "flash": { "kind": "error", "text": error.to_string() } });
            let mut response = page(&state, &req, Some(&user), "bare", "password", data)?;
            *response.status_mut() = actix_web::ResponseError::status_code(&error);
            Ok(response)
        }
    }
}
