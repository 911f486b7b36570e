//! The JSON API under /api, one file per resource, plus the health probes. Handlers are
//! thin: parse, check the role, call `desk`/`accounts`/`db`, shape the answer. Every route is
//! registered through utoipa, so `/api/openapi.json` lists exactly the routes that exist.

pub mod actions;
pub mod attachments;
pub mod auth;
pub mod calendar;
pub mod canned;
pub mod customers;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod replacements;
pub mod rfc3339;
pub mod settings;
pub mod tickets;
pub mod users;
pub mod views;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(
            utoipa_actix_web::scope("/api")
                .service(auth::login)
                .service(auth::logout)
                .service(auth::logout_everywhere)
                .service(auth::change_password)
                .service(auth::whoami)
                .service(users::list)
                .service(users::create)
                .service(users::get)
                .service(users::patch)
                .service(customers::create)
                .service(customers::list)
                .service(customers::get)
                .service(customers::update)
                .service(customers::create_partner)
                .service(customers::list_partners)
                .service(tickets::create)
                .service(tickets::list)
                .service(tickets::get)
                .service(tickets::timeline)
                .service(tickets::update)
                .service(actions::acknowledge)
                .service(actions::record)
                .service(actions::diagnose)
                .service(actions::propose)
                .service(actions::customer_response)
                .service(actions::escalate)
                .service(actions::resolve)
                .service(actions::close)
                .service(actions::reopen)
                .service(actions::assign)
                .service(actions::add_reply)
                .service(actions::add_note)
                .service(actions::add_promise)
                .service(actions::keep)
                .service(actions::add_replacement)
                .service(replacements::list)
                .service(replacements::update)
                .service(canned::list)
                .service(canned::create)
                .service(canned::update)
                .service(canned::render)
                .service(canned::tone_check)
                .service(attachments::upload)
                .service(attachments::download)
                .service(settings::get)
                .service(settings::update)
                .service(outbox::list)
                .service(outbox::retry)
                .service(calendar::list_targets)
                .service(calendar::put_target)
                .service(calendar::get_hours)
                .service(calendar::put_hours)
                .service(calendar::list_holidays)
                .service(calendar::add_holiday)
                .service(calendar::remove_holiday),
        );
}

/// The methods the OpenAPI document lists for a concrete path (`/api/tickets/7` → GET, PATCH),
/// so that a route asked with another method answers 405 with `Allow` rather than 404.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    type Route = (Vec<String>, Vec<&'static str>);
    static ROUTES: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        openapi::document()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let methods = methods.into_iter().filter(|m| m.1).map(|m| m.0).collect();
                (template.split('/').map(str::to_owned).collect(), methods)
            })
            .collect()
    });
    let segments: Vec<&str> = path.split('/').collect();
    let mut allowed: Vec<&'static str> = routes
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                })
        })
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    allowed
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
