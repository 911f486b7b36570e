//! Uploading and downloading attachments.

use actix_multipart::Multipart;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{get, post, web, HttpResponse};
use futures_util::TryStreamExt;

use super::views::AttachmentView;
use crate::auth::CurrentUser;
use crate::db::attachments as attachment_db;
use crate::desk::attachments::{self, path_for};
use crate::error::AppError;
use crate::startup::AppState;

/// Upload a photo, video or PDF to a ticket: multipart with a `file` part and an optional
/// `event_id` part (the reply or note it belongs to). Larger than the limit → 413.
#[utoipa::path(tag = "attachments", params(("id" = i64, Path, description = "ticket id")), request_body(content_type = "multipart/form-data", description = "`file` and optional `event_id`"),
    responses((status = 201, description = "the attachment", body = AttachmentView), (status = 413, description = "too large"), (status = 422, description = "not an accepted type")))]
#[post("/tickets/{id}/attachments")]
pub async fn upload(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let ticket_id = id.into_inner();
    let limit = state.settings.max_attachment_bytes;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut event_id: Option<i64> = None;
    let bad = |e: actix_multipart::MultipartError| {
        AppError::BadRequest(format!("unreadable multipart body: {e}"))
    };
    while let Some(mut field) = payload.try_next().await.map_err(bad)? {
        let name = field
            .content_disposition()
            .and_then(|cd| cd.get_name())
            .unwrap_or("")
            .to_owned();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or("")
            .to_owned();
        let mut bytes = Vec::new();
        let part_limit = if name == "file" { limit } else { 64 };
        while let Some(chunk) = field.try_next().await.map_err(bad)? {
            if bytes.len() + chunk.len() > part_limit {
                return Err(match name.as_str() {
                    "file" => AppError::PayloadTooLarge { limit },
                    _ => AppError::invalid(&name, "is too long"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => file = Some((filename, bytes)),
            "event_id" => {
                let text = String::from_utf8_lossy(&bytes);
                event_id = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| AppError::invalid("event_id", "must be a number"))?,
                );
            }
            other => {
                return Err(AppError::invalid(
                    other,
                    "is not a known part (file, event_id)",
                ))
            }
        }
    }
    let (filename, bytes) = file.ok_or_else(|| AppError::invalid("file", "is required"))?;
    let data_dir = state.settings.data_dir.clone();
    let actor = me.0.clone();
    let attachment = state
        .db(move |conn| {
            attachments::store(
                conn, &data_dir, &actor, ticket_id, event_id, &filename, &bytes,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(AttachmentView::from(attachment)))
}

/// Download an attachment (signed-in users only). Always served as a download with
/// `X-Content-Type-Options: nosniff`, so a file can never run as a page of the desk.
#[utoipa::path(tag = "attachments", params(("id" = i64, Path, description = "attachment id")), responses((status = 200, description = "the file, with the content type it was stored under", content_type = "*/*"), (status = 404, description = "no such attachment")))]
#[get("/attachments/{id}")]
pub async fn download(
    state: web::Data<AppState>,
    _me: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let attachment = state
        .db(move |conn| attachment_db::find(conn, id))
        .await?
        .ok_or_else(|| AppError::not_found("attachment"))?;
    let path = path_for(&state.settings.data_dir, &attachment.sha256);
    let bytes = crate::telemetry::spawn_blocking_with_tracing(move || std::fs::read(path))
        .await?
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("reading an attachment")))?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(attachment.filename.clone())],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, attachment.content_type.clone()))
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}
