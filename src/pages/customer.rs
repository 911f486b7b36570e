//! Pages without an account: the customer's own page (a signed, expiring link to one ticket)
//! where they answer a proposal and rate the help, and the public feedback form.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{check_csrf, error_page, field, page, redirect, redirect_with_error};
use crate::db::{events, throttle};
use crate::desk::customers::CustomerInput;
use crate::desk::tickets::{self, NewTicketInput};
use crate::domain::playbook::Stage;
use crate::domain::sign_in::{after_failure, locked_for, ThrottleKind};
use crate::error::AppError;
use crate::startup::AppState;

fn ticket_of(state: &AppState, token: &str) -> Result<i64, AppError> {
    state
        .mailroom
        .links
        .verify(token, chrono::Utc::now().timestamp())
        .ok_or_else(|| {
            AppError::NotFound(
                "this link is not valid or has expired; ask the shop for a new one".into(),
            )
        })
}

pub async fn page_view(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
) -> Result<HttpResponse, AppError> {
    let id = ticket_of(state, token)?;
    let (detail, public) = state
        .db(move |conn| -> Result<_, AppError> {
            Ok((
                tickets::detail(conn, id)?,
                events::for_ticket(conn, id, true)?,
            ))
        })
        .await?;
    let stage = Stage::parse(&detail.ticket.stage).unwrap_or(Stage::New);
    let data = json!({
        "token": token,
        "number": crate::domain::ticket_number(id),
        "subject": detail.ticket.subject,
        "customer": detail.customer.name,
        "stage": stage.as_str(),
        "step": stage.step(),
        "solution": detail.ticket.solution,
        "can_answer": stage == Stage::SolutionProposed && detail.ticket.proposal_state.as_deref() == Some("pending"),
        "can_rate": !stage.is_open(),
        "rating": detail.ticket.satisfaction,
        "events": public.into_iter().map(|e| json!({ "kind": e.kind, "body": e.body, "at": crate::api::utc(e.created_at) })).collect::<Vec<_>>(),
    });
    page(state, req, None, "bare", "customer", data)
}

pub async fn customer_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> HttpResponse {
    page_view(&state, &req, &token)
        .await
        .unwrap_or_else(|e| error_page(&state, &req, None, &e))
}

/// The customer's answer to the proposal, or their rating; it lands on the timeline and moves
/// the stage exactly as the API would.
pub async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (token, what) = path.into_inner();
    let back = format!("/c/{token}");
    let form = form.into_inner();
    let result = async {
        check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or(""))?;
        let id = ticket_of(&state, &token)?;
        let comment = field(&form, "comment");
        match what.as_str() {
            "answer" => {
                let accepted = field(&form, "accepted")
                    .map(|v| v == "true")
                    .ok_or_else(|| AppError::invalid("accepted", "choose yes or no"))?;
                let mail = state.mailroom.clone();
                state
                    .db(move |conn| {
                        tickets::customer_answer(conn, &mail, id, accepted, comment.as_deref())
                    })
                    .await?;
            }
            "rating" => {
                let rating = field(&form, "rating")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| AppError::invalid("rating", "choose 1 to 5"))?;
                state
                    .db(move |conn| tickets::rate(conn, id, rating, comment.as_deref()))
                    .await?;
            }
            _ => return Err(AppError::NotFound("no such form".into())),
        }
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => redirect(&back),
        Err(e @ AppError::NotFound(_)) => error_page(&state, &req, None, &e),
        Err(e) => redirect_with_error(&back, &e),
    }
}

pub async fn feedback_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    page(
        &state,
        &req,
        None,
        "bare",
        "feedback",
        json!({ "sent": req.query_string().contains("sent=1") }),
    )
    .unwrap_or_else(|e| error_page(&state, &req, None, &e))
}

/// Submissions per address allowed in the throttle window before the form says "later".
const FEEDBACK_PER_WINDOW: i32 = 5;

/// The public form: a complaint, praise or suggestion becomes a ticket on channel `web`. A
/// hidden field that people leave empty catches bots; each address may send a few per window.
pub async fn feedback(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let result = async {
        check_csrf(&req, form.get("csrf").map(String::as_str).unwrap_or(""))?;
        if field(&form, "website").is_some() {
            // A bot filled the trap: pretend it worked, keep nothing.
            return Ok(());
        }
        let address = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let key = format!("feedback:{address}");
        let key2 = key.clone();
        let limited = state
            .db(move |conn| -> Result<_, AppError> {
                let now = crate::db::now();
                let current = throttle::get(conn, &key2)?;
                if let Some(seconds) = locked_for(current.as_ref(), now) {
                    return Ok(Some(seconds));
                }
                // Every submission counts, like a failure at sign-in, with room for a few.
                let mut next = after_failure(ThrottleKind::Address, current.as_ref(), now);
                if next.failures >= FEEDBACK_PER_WINDOW {
                    next.locked_until = Some(now + chrono::Duration::minutes(10));
                }
                throttle::put(conn, &key2, &next)?;
                Ok(None)
            })
            .await?;
        if let Some(seconds) = limited {
            return Err(AppError::TooManyRequests {
                message: "too many messages from this address; please try again later".into(),
                retry_after_seconds: seconds,
            });
        }
        let kind = match field(&form, "kind").as_deref() {
            Some("praise") => ("feedback", "praise"),
            Some("suggestion") => ("feedback", "suggestion"),
            _ => ("complaint", "other"),
        };
        let input = NewTicketInput {
            kind: Some(kind.0.into()),
            channel: "web".into(),
            customer_id: None,
            customer: Some(CustomerInput {
                name: field(&form, "name"),
                email: field(&form, "email"),
                phone: field(&form, "phone"),
                ..Default::default()
            }),
            partner_id: None,
            subject: field(&form, "subject").unwrap_or_default(),
            words: field(&form, "message").unwrap_or_default(),
            product: None,
            order_ref: field(&form, "order_ref"),
            category: Some(kind.1.into()),
            priority: None,
        };
        let mail = state.mailroom.clone();
        state
            .db(move |conn| tickets::create_as(conn, &mail, None, &input))
            .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => redirect("/feedback?sent=1"),
        Err(error) => {
            let status = actix_web::ResponseError::status_code(&error);
            let data =
                json!({ "form": form, "flash": { "kind": "error", "text": error.to_string() } });
            let mut response = page(&state, &req, None, "bare", "feedback", data)
                .unwrap_or_else(|e| error_page(&state, &req, None, &e));
            *response.status_mut() = status;
            response
        }
    }
}
