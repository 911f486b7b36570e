//! The mail outbox for admins: what is queued, sent, failing or dead, and a retry button.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::utc;
use crate::auth::AdminUser;
use crate::db::outbox::{self, OutboxMail};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    pub id: i64,
    pub idempotency_key: String,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub to_address: String,
    pub subject: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<OutboxMail> for OutboxView {
    fn from(m: OutboxMail) -> Self {
        Self {
            id: m.id,
            idempotency_key: m.idempotency_key,
            kind: m.kind,
            ticket_id: m.ticket_id,
            to_address: m.to_address,
            subject: m.subject,
            message_id: m.message_id,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: utc(m.next_attempt_at),
            last_error: m.last_error,
            sent_at: m.sent_at.map(utc),
            created_at: utc(m.created_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// pending, sending, sent or dead
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub before: Option<i64>,
}

/// The outbox, newest first (admins).
#[utoipa::path(tag = "mail", params(OutboxQuery), responses((status = 200, description = "`{mails, next_before}`", body = super::views::answers::OutboxPage), (status = 403, description = "admins only")))]
#[get("/outbox")]
pub async fn list(
    state: web::Data<AppState>,
    _me: AdminUser,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let OutboxQuery {
        status,
        limit,
        before,
    } = query.into_inner();
    if let Some(s) = &status {
        if !["pending", "sending", "sent", "dead"].contains(&s.as_str()) {
            return Err(AppError::invalid(
                "status",
                format!("'{s}' is not one of: pending, sending, sent, dead"),
            ));
        }
    }
    let limit = limit.unwrap_or(50).clamp(1, 500);
    let mails = state
        .db(move |conn| outbox::list(conn, status.as_deref(), limit, before))
        .await?;
    let next = (mails.len() as i64 == limit)
        .then(|| mails.last().map(|m| m.id))
        .flatten();
    let mails: Vec<OutboxView> = mails.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "mails": mails, "next_before": next })))
}

/// Queue a dead (or waiting) mail again now, with a fresh count of attempts (admins).
#[utoipa::path(tag = "mail", params(("id" = i64, Path, description = "outbox id")), responses((status = 200, description = "the mail, pending", body = OutboxView), (status = 409, description = "already sent or being sent")))]
#[post("/outbox/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    _me: AdminUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mail = state
        .db(move |conn| -> Result<_, AppError> {
            let mail = outbox::find(conn, id)?.ok_or_else(|| AppError::not_found("mail"))?;
            if outbox::retry(conn, id, crate::db::now())? == 0 {
                return Err(AppError::conflict(
                    "not_retryable",
                    format!(
                        "the mail is {}; only dead or pending mail is retried",
                        mail.status
                    ),
                ));
            }
            outbox::find(conn, id)?.ok_or_else(|| AppError::not_found("mail"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(OutboxView::from(mail)))
}
