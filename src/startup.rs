//! Builds the application: database, first admin, HTTP server. `serve` and the tests both go
//! through `Application::build`, so tests run the real thing on a random port.

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use futures_util::FutureExt;
use tracing_actix_web::TracingLogger;

use crate::auth::TokenKeys;
use crate::config::Settings;
use crate::db::{pool::PooledConnection, DbConnection, DbPool};
use crate::error::{self, AppError};

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    pub settings: Settings,
    pub tokens: TokenKeys,
    /// Renders mails into the outbox (inside the transaction of their event).
    pub mailroom: crate::mail::Mailroom,
    /// Sends what the outbox holds.
    pub mailer: crate::mail::transport::Mailer,
    /// The page templates and the word catalogs.
    pub pages: crate::pages::render::Pages,
    /// Latency per route, for `GET /metrics`.
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// Runs a database closure on the blocking pool with a pooled connection.
    ///
    /// On SQLite a transaction that read before another connection committed its write is
    /// refused with "database is locked" at once (the busy timeout does not cover it); the
    /// whole closure — one transaction — is then run again, a few times, before giving up
    /// with a 503. Nothing of a refused attempt was written.
    pub async fn db<F, T, E>(&self, f: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        crate::telemetry::spawn_blocking_with_tracing(move || {
            let mut conn: PooledConnection = pool.get()?;
            let mut attempt = 0;
            loop {
                match f(&mut conn).map_err(Into::into) {
                    Err(error) if is_sqlite_busy(&error) && attempt < 8 => {
                        attempt += 1;
                        std::thread::sleep(std::time::Duration::from_millis(
                            5 * (1 << attempt.min(6)),
                        ));
                    }
                    Err(error) if is_sqlite_busy(&error) => {
                        return Err(AppError::Unavailable(anyhow::anyhow!(
                            "the database stayed busy"
                        )));
                    }
                    other => {
                        conn.answered();
                        return other;
                    }
                }
            }
        })
        .await?
    }
}

/// SQLite's "database is locked" / "database is busy", as diesel reports it.
fn is_sqlite_busy(error: &AppError) -> bool {
    match error {
        AppError::Internal(cause) => cause.chain().any(|c| {
            let text = c.to_string();
            text.contains("database is locked") || text.contains("database is busy")
        }),
        _ => false,
    }
}

/// The admin created on an empty database, to be shown once to whoever started the service.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: String,
    pub password: String,
}

pub struct Application {
    port: u16,
    server: Server,
    pub first_admin: Option<FirstAdmin>,
    pub state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let secret = settings.resolve_jwt_secret()?;
        let tokens = TokenKeys::new(&secret, settings.token_ttl_minutes);
        let (pool, first_admin) = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let pool = crate::db::connect_pool(&settings.database_url, settings.db_pool_size)?;
                let mut conn = pool.get().context("opening a database connection")?;
                // One transaction for the first-start defaults: one sync to disk instead of a hundred.
                let first_admin =
                    diesel::Connection::transaction(&mut **conn, |conn| -> anyhow::Result<_> {
                        let first_admin = crate::accounts::ensure_first_admin(conn, &settings)?;
                        crate::desk::canned::seed_defaults(conn)
                            .context("loading the default canned responses")?;
                        crate::desk::targets::seed_defaults(conn)
                            .context("loading the default targets and calendar")?;
                        Ok(first_admin)
                    })?;
                Ok((pool, first_admin))
            })
            .await
            .context("start-up task failed")??
        };
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {} (TANGGAP_BIND)", settings.bind))?;
        let port = listener.local_addr()?.port();
        // Bound to port 0 (tests): links in mail and pages use the port actually taken.
        let mut settings = settings;
        if settings.base_url.ends_with(":0") {
            settings.base_url = format!("{}{port}", settings.base_url.trim_end_matches('0'));
        }
        let workers = settings.workers;
        let mailroom = crate::mail::Mailroom::new(settings.clone(), false)?;
        let mailer = crate::mail::transport::Mailer::from_settings(&settings)?;
        let pages = crate::pages::render::Pages::load(settings.timezone, false)?;
        let state = web::Data::new(AppState {
            pool,
            settings,
            tokens,
            mailroom,
            mailer,
            pages,
            metrics: crate::metrics::Metrics::new(),
        });
        if let Some(every) = state.settings.tick_every {
            crate::jobs::spawn_scheduler(state.clone().into_inner(), every);
        }
        let server = run(listener, state.clone(), workers)?;
        Ok(Self {
            port,
            server,
            first_admin,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (tests stop theirs when they end).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(
    listener: TcpListener,
    state: web::Data<AppState>,
    workers: Option<usize>,
) -> anyhow::Result<Server> {
    let json_limit = state.settings.json_limit_bytes;
    let document = crate::api::openapi::document();
    let mut server = HttpServer::new(move || {
        use utoipa_actix_web::AppExt;
        // The document route comes first: the /api scope answers 404 for anything it does
        // not know, so a route registered after it under /api would never be reached.
        App::new()
            .service(crate::api::openapi::service(document.clone()))
            .into_utoipa_app()
                        .configure(crate::api::configure)
            .into_app()
            .configure(crate::pages::configure)
            .wrap(from_fn(crate::text_guard::refuse_nul))
            .wrap(from_fn(catch_panics))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                                        .add(("Referrer-Policy", "same-origin"))
                    // No inline script anywhere: scripts and styles come from /static only.
                    .add((
                        "Content-Security-Policy",
                        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
                    )),
            )
            .wrap(TracingLogger::default())
            // Outermost: the time counted is all the app spends on a request.
            .wrap(from_fn(crate::api::metrics::time_requests))
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(|e, _| error::json_error(e).into()),
            )
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| error::query_error(e).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|e, _| error::path_error(e).into()))
            .default_service(web::to(not_found))
    })
    .shutdown_timeout(10)
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// No route matched: 405 with `Allow` when the path is an API route asked with another
/// method, 404 otherwise.
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    let allowed = crate::api::allowed_methods(req.path());
    if allowed.is_empty() {
        return Err(AppError::NotFound("no such route".into()));
    }
    Err(AppError::MethodNotAllowed {
        allowed: allowed.join(", "),
    })
}

/// A panic in a handler becomes a logged 500 with our JSON body, never a dropped connection.
/// (The error is returned rather than built into a response because the request cannot be
/// cloned before routing; actix turns the error into its `error_response`.)
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(AppError::Internal(anyhow::anyhow!("handler panicked: {what}")).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_json() {
        async fn boom() -> HttpResponse {
            panic!("boom")
        }
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(super::catch_panics))
                .route("/", web::get().to(boom)),
        )
        .await;
        // The middleware hands actix an error, which actix renders with `error_response`.
        let error = test::try_call_service(&app, test::TestRequest::get().uri("/").to_request())
            .await
            .err()
            .expect("the panic becomes an error");
        let response = error.error_response();
        assert_eq!(response.status(), 500);
        let bytes = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "internal");
    }
}
