//! The one error type of the service and its mapping to HTTP.
//!
//! Every handler returns `Result<_, AppError>`. Expected failures carry a code and a message
//! for the client; unexpected ones (`Internal`) are logged once, with their cause chain, and
//! the client only learns that something went wrong.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Per-field validation messages: field name → message.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("this route does not answer that method; it answers {allowed}")]
    MethodNotAllowed { allowed: String },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{message}")]
    Validation {
        message: String,
        fields: FieldErrors,
    },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: u64,
    },
    #[error("the database is not available")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized {
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// A 422 with one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = FieldErrors::new();
        fields.insert(field.to_owned(), message.clone());
        Self::Validation {
            message: format!("{field}: {message}"),
            fields,
        }
    }

    /// A 422 with several fields; `Ok` when there is nothing to report.
    pub fn check(fields: FieldErrors) -> Result<(), Self> {
        if fields.is_empty() {
            return Ok(());
        }
        let message = fields
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Self::Validation { message, fields })
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict { code, .. } => code,
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Validation { .. } => "validation",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    fields: &'a FieldErrors,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) | Self::Unavailable(cause) = self {
            // Logged here, once, with the whole chain; the client never sees the cause.
            tracing::error!(error.cause_chain = ?cause, error.message = %cause, "request failed");
        }
        let empty = FieldErrors::new();
        let fields = match self {
            Self::Validation { fields, .. } => fields,
            _ => &empty,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                fields,
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests {
            retry_after_seconds,
            ..
        } = self
        {
            response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
        }
        if let Self::MethodNotAllowed { allowed } = self {
            response.insert_header((header::ALLOW, allowed.clone()));
        }
        if let Self::Unauthorized { .. } = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(body)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::NotFound("not found".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::conflict("duplicate", format!("already exists ({})", info.message()))
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::conflict(
                "reference",
                "refers to something that does not exist".to_owned(),
            ),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Self::Unavailable(
                anyhow::Error::new(error).context("the database connection was closed"),
            ),
            other => Self::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(error: r2d2::Error) -> Self {
        Self::Unavailable(anyhow::Error::new(error).context("no database connection"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(anyhow::anyhow!("blocking task failed: {error}"))
    }
}

/// Turns the body and query extractor failures of actix into our JSON shape:
/// malformed JSON is a 400, a well-formed body of the wrong shape a 422 that names the field.
pub fn json_error(error: actix_web::error::JsonPayloadError) -> AppError {
    use actix_web::error::JsonPayloadError as E;
    match error {
        E::OverflowKnownLength { limit, .. } | E::Overflow { limit } => {
            AppError::PayloadTooLarge { limit }
        }
        E::ContentType => {
            AppError::BadRequest("the body must be JSON (Content-Type: application/json)".into())
        }
        E::Deserialize(e) if e.is_data() => {
            let text = e.to_string();
            let field = field_in_serde_message(&text).unwrap_or_else(|| "body".to_owned());
            let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
            AppError::invalid(&field, message)
        }
        E::Deserialize(e) => AppError::BadRequest(format!("malformed JSON: {e}")),
        other => AppError::BadRequest(format!("unreadable body: {other}")),
    }
}

pub fn query_error(error: actix_web::error::QueryPayloadError) -> AppError {
    let text = error.to_string();
    let field = field_in_serde_message(&text).unwrap_or_else(|| "query".to_owned());
    AppError::invalid(&field, text)
}

pub fn path_error(error: actix_web::error::PathError) -> AppError {
    AppError::NotFound(format!("no such resource ({error})"))
}

/// serde names the offending field between backticks ("missing field `email`").
fn field_in_serde_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    let candidate = &message[start..end];
    let looks_like_field = !candidate.is_empty()
        && candidate
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    (message.contains("field") && looks_like_field).then(|| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_serde_names() {
        assert_eq!(
            field_in_serde_message("missing field `email` at line 1").as_deref(),
            Some("email")
        );
        assert_eq!(
            field_in_serde_message("unknown field `nope`, expected one of `a`, `b`").as_deref(),
            Some("nope")
        );
        assert_eq!(
            field_in_serde_message("invalid type: string \"x\", expected i64"),
            None
        );
    }
}
