//! `GET /metrics`: the app's latency per route (`crate::metrics`) for Prometheus or a
//! benchmark, and the middleware that times every request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};

use crate::auth::current_user::bearer_token;
use crate::auth::AdminUser;
use crate::error::AppError;
use crate::startup::AppState;

/// Latency per route and answers per status class, in Prometheus' text format. For a signed-in
/// admin, or for `Authorization: Bearer <TANGGAP_METRICS_TOKEN>` when that is set (a scraper
/// has no password to sign in with).
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain"),
    (status = 401, description = "not signed in"),
    (status = 403, description = "not an admin")))]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // The scraper's token comes as a bearer header only (never as the session cookie).
    let scraper = match (&state.settings.metrics_token, bearer_token(&req)) {
        (Some(expected), Some(given)) => {
            crate::auth::same_secret(crate::config::expose(expected), given)
        }
        _ => false,
    };
    if !scraper {
        AdminUser::from_request(&req, &mut Payload::None).await?;
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(state.metrics.render()))
}

/// Times every request from its arrival at the app (routing, the extractors, the handler, the
/// other middleware) until its answer is ready to be written, under its route pattern. (A body
/// streamed after that would not be counted; the app's answers are built whole before.)
pub async fn time_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let route = req.match_pattern();
    let method = req.method().clone();
    let result = next.call(req).await;
    if let Some(state) = state {
        let status = match &result {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        state
            .metrics
            .record(method.as_str(), route, status.as_u16(), started.elapsed());
    }
    result
}
