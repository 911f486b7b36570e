//! User management (admins only) and the public shape of a user.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::utc;
use crate::accounts::{self, UserInput, UserPatch};
use crate::auth::AdminUser;
use crate::db::users::User;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub manager_id: Option<i64>,
    pub locale: String,
    pub active: bool,
    pub away: bool,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            manager_id: u.manager_id,
            locale: u.locale,
            active: u.active,
            away: u.away,
            must_change_password: u.must_change_password,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

#[utoipa::path(tag = "users", responses((status = 200, description = "`{users}`", body = super::views::answers::UserList), (status = 403, description = "admins only")))]
#[get("/users")]
pub async fn list(state: web::Data<AppState>, _me: AdminUser) -> Result<HttpResponse, AppError> {
    let users = state.db(crate::db::users::list).await?;
    let users: Vec<UserView> = users.into_iter().map(UserView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "users": users })))
}

#[utoipa::path(tag = "users", params(("id" = i64, Path, description = "user id")), responses((status = 200, description = "the user", body = UserView), (status = 404, description = "no such user")))]
#[get("/users/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _me: AdminUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let user = state
        .db(move |conn| crate::db::users::find(conn, id))
        .await?;
    let user = user.ok_or_else(|| AppError::not_found("user"))?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    #[schema(value_type = crate::domain::user::Role)]
    pub role: String,
    pub password: String,
    pub manager_id: Option<i64>,
    #[schema(value_type = Option<crate::config::Locale>)]
    pub locale: Option<String>,
}

#[utoipa::path(tag = "users", request_body = CreateUser, responses((status = 201, description = "created", body = UserView), (status = 409, description = "email taken"), (status = 422, description = "invalid fields")))]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    _me: AdminUser,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let input = UserInput {
        email: body.email,
        name: body.name,
        role: body.role,
        password: body.password,
        manager_id: body.manager_id,
        locale: body.locale,
        must_change_password: false,
    };
    let locale = state.settings.locale;
    let user = state
        .db(move |conn| accounts::create_user(conn, &input, locale))
        .await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    pub name: Option<String>,
    #[schema(value_type = Option<crate::domain::user::Role>)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    pub manager_id: Option<Option<i64>>,
    pub active: Option<bool>,
    #[schema(value_type = Option<crate::config::Locale>)]
    pub locale: Option<String>,
    pub away: Option<bool>,
}

#[utoipa::path(tag = "users", params(("id" = i64, Path, description = "user id")), request_body = PatchUser, responses((status = 200, description = "changed", body = UserView), (status = 409, description = "last admin")))]
#[patch("/users/{id}")]
pub async fn patch(
    state: web::Data<AppState>,
    _me: AdminUser,
    id: web::Path<i64>,
    body: web::Json<PatchUser>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let patch = UserPatch {
        name: body.name,
        role: body.role,
        manager_id: body.manager_id,
        active: body.active,
        locale: body.locale,
        away: body.away,
    };
    let user = state
        .db(move |conn| accounts::update_user(conn, id, &patch))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
