//! Logging setup and the helper that runs blocking work without losing the request's span.

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::{fmt, EnvFilter};

/// Logs go to stderr; `RUST_LOG` filters them (default `info`), `TANGGAP_LOG_FORMAT=json`
/// switches to one JSON object per line for log collectors.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("TANGGAP_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Closing a request's span logs its latency (time.busy + time.idle) with the request id,
    // method, path and status that tracing-actix-web records on it.
    let builder = fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second call (tests spawn many apps in one process) keeps the first subscriber.
    let _ = result;
}

/// Logging for tests: warnings and errors only (unless `RUST_LOG` says otherwise), written
/// through the test harness so a passing test stays quiet.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,tracing_actix_web=error"));
    let _ = fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// Runs `f` on the blocking thread pool inside the caller's tracing span.
pub async fn spawn_blocking_with_tracing<F, R>(f: F) -> Result<R, actix_web::error::BlockingError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    actix_web::web::block(move || span.in_scope(f)).await
}
