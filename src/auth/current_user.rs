//! The `CurrentUser` extractor: the signed-in user, from `Authorization: Bearer <token>` (API
//! clients) or the session cookie (the browser). A token is accepted only while its user is
//! active and its version matches the user's, so deactivation and "sign out everywhere" take
//! effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use crate::db::users::User;
use crate::db::DbConnection;
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

/// The token of an `Authorization: Bearer …` header (`None` without one, or for another scheme).
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The token a request carries, Bearer header first.
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return bearer_token(req).map(str::to_owned);
    }
    req.cookie(super::SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// A request's sign-in token whose signature and expiry were checked, before its user row
/// is: `user` checks that on a connection the handler already holds, so a handler that goes
/// to the database anyway (ticket intake) makes one trip, not two. `CurrentUser` is this and
/// the check in a trip of its own.
#[derive(Clone, Debug)]
pub struct SignedIn {
    user_id: i64,
    version: i32,
    path: String,
}

fn refused() -> AppError {
    AppError::unauthorized("sign in first: the token is missing, expired or revoked")
}

impl SignedIn {
    fn from_parts(req: &HttpRequest, state: &AppState) -> Result<Self, AppError> {
        let token = token_from_request(req).ok_or_else(refused)?;
        let claims = state.tokens.verify(&token).ok_or_else(refused)?;
        Ok(Self {
            user_id: claims.sub.parse().map_err(|_| refused())?,
            version: claims.ver,
            path: req.path().to_owned(),
        })
    }

    /// The user, while active and the token's version is theirs (so deactivation and "sign
    /// out everywhere" take effect at once).
    pub fn user(&self, conn: &mut DbConnection) -> Result<CurrentUser, AppError> {
        match crate::db::users::find(conn, self.user_id)? {
            Some(user) if user.active && user.token_version == self.version => {
                // A one-time password opens only the door to choosing a real one. (Pages send
                // such a user to /password themselves.)
                if user.must_change_password
                    && self.path.starts_with("/api/")
                    && !ALLOWED_BEFORE_CHANGE.contains(&self.path.as_str())
                {
                    return Err(AppError::Forbidden(
                        "change your one-time password first (POST /api/auth/password)".into(),
                    ));
                }
                Ok(CurrentUser(user))
            }
            _ => Err(refused()),
        }
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(app_state(req).and_then(|state| SignedIn::from_parts(req, &state)))
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let signed_in =
            app_state(req).and_then(|state| Ok((SignedIn::from_parts(req, &state)?, state)));
        Box::pin(async move {
            let (signed_in, state) = signed_in?;
            state.db(move |conn| signed_in.user(conn)).await
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
