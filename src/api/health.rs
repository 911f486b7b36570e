//! Probes for load balancers and orchestrators.

use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::error::AppError;
use crate::startup::AppState;

/// The process is up.
#[utoipa::path(tag = "health", responses((status = 200, description = "up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise.
#[utoipa::path(tag = "health", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    // A short wait: a probe must answer quickly, not after the pool's full timeout for a
    // database that is away.
    let pool = state.pool.clone();
    crate::telemetry::spawn_blocking_with_tracing(move || -> Result<(), AppError> {
        let mut conn = pool.get_timeout(std::time::Duration::from_secs(2))?;
        conn.batch_execute("SELECT 1")
            .map_err(|e| AppError::Unavailable(e.into()))
    })
    .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}
