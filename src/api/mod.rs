//! The JSON API under /api, one file per resource, plus the health probes. Handlers are
//! thin: parse, check the role, call `accounts`/`db`/`domain`, shape the answer.

pub mod auth;
pub mod health;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(
            web::scope("/api")
                .service(auth::login)
                .service(auth::logout)
                .service(auth::logout_everywhere)
                .service(auth::change_password)
                .service(auth::whoami)
                .service(users::list)
                .service(users::create)
                .service(users::get)
                .service(users::patch),
        );
}

/// Deserializes a field that may be absent (`None`), null (`Some(None)`) or set.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// Stored UTC times, shown as RFC 3339 with a `Z`.
pub fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
