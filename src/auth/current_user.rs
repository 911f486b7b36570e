//! The `CurrentUser` extractor: the signed-in user, from `Authorization: Bearer <token>` (API
//! clients) or the session cookie (the browser). A token is accepted only while its user is
//! active and its version matches the user's, so deactivation and "sign out everywhere" take
//! effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use crate::db::users::User;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

/// What a user with a one-time password may still reach in the API.
const ALLOWED_BEFORE_CHANGE: [&str; 4] = [
    "/api/me",
    "/api/auth/password",
    "/api/auth/logout",
    "/api/auth/logout-all",
];

impl CurrentUser {
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn role(&self) -> Role {
        self.0.role()
    }

    /// Refuses (403) unless the user holds at least `role`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role() >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role",
                role.as_str()
            )))
        }
    }
}

/// The token a request carries, Bearer header first.
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    req.cookie(super::SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = token_from_request(req);
        let path = req.path().to_owned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let refused = || {
                AppError::unauthorized("sign in first: the token is missing, expired or revoked")
            };
            let token = token.ok_or_else(refused)?;
            let claims = state.tokens.verify(&token).ok_or_else(refused)?;
            let user_id: i64 = claims.sub.parse().map_err(|_| refused())?;
            let user = state
                .db(move |conn| crate::db::users::find(conn, user_id))
                .await?;
            match user {
                Some(user) if user.active && user.token_version == claims.ver => {
                    // A one-time password opens only the door to choosing a real one. (Pages
                    // send such a user to /password themselves.)
                    if user.must_change_password
                        && path.starts_with("/api/")
                        && !ALLOWED_BEFORE_CHANGE.contains(&path.as_str())
                    {
                        return Err(AppError::Forbidden(
                            "change your one-time password first (POST /api/auth/password)".into(),
                        ));
                    }
                    Ok(CurrentUser(user))
                }
                _ => Err(refused()),
            }
        })
    }
}

/// A signed-in admin. As an extractor it refuses (403) before the body is even read, so an
/// agent learns nothing about what an admin route would accept.
#[derive(Clone, Debug)]
pub struct AdminUser(pub CurrentUser);

/// A signed-in manager or admin, refused like `AdminUser` otherwise.
#[derive(Clone, Debug)]
pub struct SeniorUser(pub CurrentUser);

fn require_role<T: 'static>(
    req: &HttpRequest,
    role: Role,
    wrap: fn(CurrentUser) -> T,
) -> Pin<Box<dyn Future<Output = Result<T, AppError>>>> {
    let user = CurrentUser::from_request(req, &mut Payload::None);
    Box::pin(async move {
        let user = user.await?;
        user.require(role)?;
        Ok(wrap(user))
    })
}

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_role(req, Role::Admin, AdminUser)
    }
}

impl FromRequest for SeniorUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_role(req, Role::Manager, SeniorUser)
    }
}
