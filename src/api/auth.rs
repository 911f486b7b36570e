//! Signing in and out, and the signed-in user.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::users::UserView;
use super::views::answers;
use crate::auth::{password, CurrentUser, SESSION_COOKIE};
use crate::db::{self, throttle, users};
use crate::domain::sign_in::{after_failure, locked_for, ThrottleKind};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Login {
    pub email: String,
    pub password: String,
}

const WRONG_CREDENTIALS: &str = "the email or password is wrong";

/// `POST /api/auth/login` → `{"token", "token_type", "expires_in", "user"}`.
///
/// Failures are counted per email and per client address; past a threshold the answer is
/// 429 with `Retry-After` until the lock expires. Unknown emails, deactivated users and
/// wrong passwords all get the same 401, after the same amount of hashing work.
#[utoipa::path(tag = "auth", request_body = Login, responses((status = 200, description = "`{token, token_type, expires_in, user}`", body = answers::SignedIn), (status = 401, description = "wrong email or password"), (status = 429, description = "too many failures; see Retry-After")))]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Login>,
) -> Result<HttpResponse, AppError> {
    let Login { email, password } = body.into_inner();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let (user, token) = sign_in(&state, &email, password, &address).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "token": token,
        "token_type": "Bearer",
        "expires_in": state.tokens.ttl_seconds(),
        "user": UserView::from(user),
    })))
}

/// Checks an email and password for the API and the sign-in page alike.
///
/// Failures are counted per email and per client address; past a threshold the answer is
/// 429 with `Retry-After` until the lock expires. Unknown emails, deactivated users and
/// wrong passwords all get the same 401, after the same amount of hashing work.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    given: String,
    address: &str,
) -> Result<(crate::db::users::User, String), AppError> {
    let email_key = ThrottleKind::Email.key(email);
    let address_key = ThrottleKind::Address.key(address);
    let (keys, lookup_email) = (
        (email_key.clone(), address_key.clone()),
        email.trim().to_lowercase(),
    );
    let (locked, user) = state
        .db(move |conn| -> Result<_, AppError> {
            let now = db::now();
            let locked = [&keys.0, &keys.1]
                .into_iter()
                .map(|key| throttle::get(conn, key).map(|s| locked_for(s.as_ref(), now)))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .max();
            let user = if locked.is_none() {
                users::find_by_email(conn, &lookup_email)?
            } else {
                None
            };
            Ok((locked, user))
        })
        .await?;
    if let Some(seconds) = locked {
        return Err(AppError::TooManyRequests {
            message: "too many failed sign-in attempts; wait and try again".into(),
            retry_after_seconds: seconds,
        });
    }
    let signed_in = crate::telemetry::spawn_blocking_with_tracing(move || match user {
        Some(user) if password::verify(&given, &user.password_hash) && user.active => Some(user),
        Some(_) => None,
        None => {
            password::verify_dummy(&given);
            None
        }
    })
    .await?;
    let Some(user) = signed_in else {
        state
            .db(move |conn| -> Result<_, AppError> {
                let now = db::now();
                for (kind, key) in [
                    (ThrottleKind::Email, &email_key),
                    (ThrottleKind::Address, &address_key),
                ] {
                    let current = throttle::get(conn, key)?;
                    throttle::put(conn, key, &after_failure(kind, current.as_ref(), now))?;
                }
                Ok(())
            })
            .await?;
        tracing::info!(client.address = %address, "failed sign-in");
        return Err(AppError::unauthorized(WRONG_CREDENTIALS));
    };
    state
        .db(move |conn| throttle::clear(conn, &email_key))
        .await?;
    let token = state.tokens.issue(user.id, user.token_version)?;
    tracing::info!(user.id = user.id, "signed in");
    Ok((user, token))
}

/// `POST /api/auth/logout`: forgets the browser's session cookie.
#[utoipa::path(tag = "auth", responses((status = 204, description = "cookie cleared")))]
#[post("/auth/logout")]
pub async fn logout() -> HttpResponse {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    cookie.set_max_age(CookieDuration::ZERO);
    HttpResponse::NoContent().cookie(cookie).finish()
}

/// `POST /api/auth/logout-all`: revokes every token of the signed-in user.
#[utoipa::path(tag = "auth", responses((status = 204, description = "every token of the user revoked")))]
#[post("/auth/logout-all")]
pub async fn logout_everywhere(
    state: web::Data<AppState>,
    me: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let id = me.id();
    state
        .db(move |conn| users::update(conn, id, &Default::default(), true, db::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /api/auth/password`: the user changes their own password. Older tokens stop working;
/// the answer carries a fresh one.
#[utoipa::path(tag = "auth", request_body = ChangePassword, responses((status = 200, description = "`{token, user}`", body = answers::PasswordChanged), (status = 422, description = "wrong current password or weak new one")))]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<ChangePassword>,
) -> Result<HttpResponse, AppError> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.into_inner();
    let (user, token) = replace_password(&state, &me, current_password, new_password).await?;
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({ "token": token, "user": UserView::from(user) })),
    )
}

/// `GET /api/me`: the signed-in user.
#[utoipa::path(tag = "auth", responses((status = 200, description = "the signed-in user", body = UserView), (status = 401, description = "not signed in")))]
#[get("/me")]
pub async fn whoami(me: CurrentUser) -> HttpResponse {
    HttpResponse::Ok().json(UserView::from(me.0))
}

/// Checks the current password, sets the new one (revoking older tokens) and returns a fresh
/// token: for the API and the password page alike.
pub async fn replace_password(
    state: &AppState,
    me: &CurrentUser,
    current_password: String,
    new_password: String,
) -> Result<(crate::db::users::User, String), AppError> {
    let stored = me.0.password_hash.clone();
    let matches = crate::telemetry::spawn_blocking_with_tracing(move || {
        password::verify(&current_password, &stored)
    })
    .await?;
    if !matches {
        return Err(AppError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let id = me.id();
    let user = state
        .db(move |conn| crate::accounts::set_password(conn, id, &new_password, false))
        .await
        .map_err(|e| match e {
            AppError::Validation { fields, .. } if fields.contains_key("password") => {
                AppError::invalid("new_password", fields["password"].clone())
            }
            other => other,
        })?;
    let token = state.tokens.issue(user.id, user.token_version)?;
    Ok((user, token))
}
