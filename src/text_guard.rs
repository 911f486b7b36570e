//! Refuses a request that carries the NUL character in its text — in the path, the query
//! string, or a JSON or form body — with a 400 naming the field, before any handler runs.
//!
//! PostgreSQL refuses NUL in text (the query fails: a 500), SQLite would store it and cut the
//! text short wherever it is read as a C string; no customer writes one. Checking every
//! handler's fields one by one missed some (the fuzzer found a search `q`), so the check sits
//! in front of them all. `domain::contact` refuses it too, for text that does not come over
//! HTTP.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpMessage;
use futures_util::Stream;
use futures_util::StreamExt;
use serde_json::Value;

use crate::domain::contact::NUL_REFUSED as MESSAGE;
use crate::error::AppError;
use crate::startup::AppState;

/// The middleware (`from_fn(text_guard::refuse_nul)`).
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path().contains("%00") {
        return Err(AppError::invalid("path", MESSAGE).into());
    }
    if let Some(field) = nul_in_form(req.query_string().as_bytes()) {
        return Err(AppError::invalid(&field, MESSAGE).into());
    }
    if let Some(kind) = body_kind(&req) {
        let limit = req
            .app_data::<actix_web::web::Data<AppState>>()
            .map_or(256 * 1024, |state| state.settings.json_limit_bytes);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
        // A body over the limit is left alone: its extractor refuses it (413).
        if declared.is_none_or(|length| length <= limit) {
            let body = read_up_to(&mut req, limit).await;
            if let Some(body) = &body {
                let field = match kind {
                    BodyKind::Json => nul_in_json(body),
                    BodyKind::Form => nul_in_form(body),
                };
                if let Some(field) = field {
                    return Err(AppError::invalid(&field, MESSAGE).into());
                }
            }
        }
    }
    next.call(req).await
}

enum BodyKind {
    Json,
    Form,
}

fn body_kind(req: &ServiceRequest) -> Option<BodyKind> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else if essence == "application/json" || essence.ends_with("+json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

/// Reads the body (at most `limit` bytes) and puts it back for the handler. `None` when it
/// was longer, or broke off: what was read goes back in front of the rest, untouched.
async fn read_up_to(req: &mut ServiceRequest, limit: usize) -> Option<Bytes> {
    let mut payload = req.take_payload();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut length = 0;
    let mut failure = None;
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) => {
                length += chunk.len();
                chunks.push(chunk);
                if length > limit {
                    break;
                }
            }
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let body = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks[0].clone(),
        _ => {
            let mut joined = BytesMut::with_capacity(length);
            chunks
                .iter()
                .for_each(|chunk| joined.extend_from_slice(chunk));
            joined.freeze()
        }
    };
    if length <= limit && failure.is_none() {
        req.set_payload(Payload::from(body.clone()));
        return Some(body);
    }
    let read = futures_util::stream::iter(std::iter::once(Ok(body)).chain(failure.map(Err)));
    let rest: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(read.chain(payload));
    req.set_payload(Payload::from(rest));
    None
}

/// The first name of a `name=value&…` text whose name or value decodes to text with a NUL.
fn nul_in_form(text: &[u8]) -> Option<String> {
    if memchr::memmem::find(text, b"%00").is_none() && !text.contains(&0) {
        return None;
    }
    url::form_urlencoded::parse(text)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| clean_name(&name, "query"))
}

/// Where a JSON body holds a NUL in a string or a key: `note`, `items[2].name`, or `body`.
fn nul_in_json(body: &[u8]) -> Option<String> {
    // JSON can only carry a NUL escaped; most bodies never get past this line.
    memchr::memmem::find(body, b"\\u0000")?;
    // Unparseable JSON goes on to its extractor, which names what is wrong with it.
    let value: Value = serde_json::from_slice(body).ok()?;
    let path = path_to_nul(&value, String::new())?;
    Some(if path.is_empty() {
        "body".to_owned()
    } else {
        path
    })
}

fn path_to_nul(value: &Value, here: String) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then_some(here),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| path_to_nul(item, format!("{here}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            let path = match clean_name(name, "body") {
                name if here.is_empty() => name,
                name => format!("{here}.{name}"),
            };
            if name.contains('\0') {
                Some(path)
            } else {
                path_to_nul(item, path)
            }
        }),
        _ => None,
    }
}

/// A field name fit to echo back: a NUL in the name itself is shown as `\0`.
fn clean_name(name: &str, fallback: &str) -> String {
    match name {
        "" => fallback.to_owned(),
        name => name.replace('\0', "\\0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_in_any_json_string_and_named_by_its_path() {
        assert_eq!(nul_in_json(br#"{"body":"ok"}"#), None);
        assert_eq!(
            nul_in_json(br#"{"body":"kain\u0000robek"}"#).as_deref(),
            Some("body")
        );
        assert_eq!(
            nul_in_json(br#"{"a":{"items":["x","\u0000"]}}"#).as_deref(),
            Some("a.items[1]")
        );
        assert_eq!(nul_in_json(br#""\u0000""#).as_deref(), Some("body"));
        // An escaped backslash before "u0000" is no NUL.
        assert_eq!(nul_in_json(br#"{"note":"\\u0000"}"#), None);
        // Malformed JSON is left to the extractor.
        assert_eq!(nul_in_json(br#"{"note":"\u0000"#), None);
    }

    #[test]
    fn a_nul_is_found_in_a_form_or_query_and_named_by_its_field() {
        assert_eq!(nul_in_form(b"q=kain&limit=5"), None);
        assert_eq!(
            nul_in_form(b"limit=5&q=h%F1%BC%87%93%00x").as_deref(),
            Some("q")
        );
        assert_eq!(nul_in_form(b"a%00b=1").as_deref(), Some("a\\0b"));
        assert_eq!(nul_in_form(b"=%00").as_deref(), Some("query"));
    }
}
