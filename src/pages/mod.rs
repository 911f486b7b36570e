//! The desk in the browser: server-rendered pages (handlebars) over the same desk operations
//! the JSON API uses. Forms carry a CSRF token that must match the `tanggap_csrf` cookie
//! (double submit); pages are served with a Content-Security-Policy that allows no inline
//! script (see `startup.rs`).

pub mod admin;
pub mod assets;
pub mod customer;
pub mod dashboard;
pub mod queue;
pub mod queue_row;
pub mod render;
pub mod session;
pub mod tickets;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::auth::CurrentUser;
use crate::config::Locale;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::startup::AppState;

pub const CSRF_COOKIE: &str = "tanggap_csrf";
pub const LANG_COOKIE: &str = "tanggap_lang";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(queue::home))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/login", web::get().to(session::login_page))
        .route("/login", web::post().to(session::login))
        .route("/logout", web::post().to(session::logout))
        .route("/lang", web::post().to(session::switch_language))
        .route("/password", web::get().to(session::password_page))
        .route("/password", web::post().to(session::change_password))
        .route("/queue", web::get().to(queue::queue))
        .route("/tickets/new", web::get().to(tickets::new_ticket))
        .route("/tickets", web::post().to(tickets::create))
        .route("/tickets/{id}", web::get().to(tickets::show))
        .route("/tickets/{id}/{action}", web::post().to(tickets::act))
        .route(
            "/tickets/{id}/promises/{pid}/keep",
            web::post().to(tickets::keep),
        )
        .route("/replacements", web::get().to(tickets::replacements))
        .route(
            "/replacements/{id}",
            web::post().to(tickets::update_replacement),
        )
        .route("/dashboard", web::get().to(dashboard::dashboard))
        .route("/dashboard.csv", web::get().to(dashboard::csv))
        .route("/admin", web::get().to(admin::admin))
        .route("/admin/{what}", web::post().to(admin::post))
        .route("/c/{token}", web::get().to(customer::customer_page))
        .route("/c/{token}/{what}", web::post().to(customer::post))
        .route("/feedback", web::get().to(customer::feedback_form))
        .route("/feedback", web::post().to(customer::feedback));
}

/// The locale of a request: the signed-in user's, else the language cookie, else the shop's.
pub fn locale(state: &AppState, req: &HttpRequest, user: Option<&CurrentUser>) -> Locale {
    user.and_then(|u| Locale::parse(&u.0.locale))
        .or_else(|| {
            req.cookie(LANG_COOKIE)
                .and_then(|c| Locale::parse(c.value()))
        })
        .unwrap_or(state.settings.locale)
}

/// The CSRF token of this browser (from its cookie, or a new one to set).
pub fn csrf_token(req: &HttpRequest) -> (String, bool) {
    match req.cookie(CSRF_COOKIE) {
        Some(c) if c.value().len() >= 32 => (c.value().to_owned(), false),
        _ => (crate::auth::random_token(40), true),
    }
}

/// Refuses a form whose token does not match the cookie (a cross-site forgery, or a form that
/// outlived its cookie).
pub fn check_csrf(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    match req.cookie(CSRF_COOKIE) {
        Some(c)
            if !submitted.is_empty() && constant_eq(c.value().as_bytes(), submitted.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(AppError::Forbidden(
            "the form expired or did not come from this desk; reload the page and try again".into(),
        )),
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn secure_cookies(state: &AppState) -> bool {
    state.settings.base_url.starts_with("https://")
}

/// A rendered page as a response, with the CSRF cookie set when it was new.
pub fn page(
    state: &AppState,
    req: &HttpRequest,
    user: Option<&CurrentUser>,
    layout: &str,
    name: &str,
    mut data: Value,
) -> Result<HttpResponse, AppError> {
    let locale = locale(state, req, user);
    let (csrf, new_cookie) = csrf_token(req);
    if let Some(map) = data.as_object_mut() {
        map.insert("locale".into(), json!(locale.as_str()));
        map.insert("csrf".into(), json!(csrf));
        map.insert("shop".into(), json!({ "name": state.settings.shop_name }));
        map.insert("path".into(), json!(req.path()));
        if let Some(user) = user {
            let role = user.role();
            map.insert(
                "me".into(),
                json!({ "id": user.id(), "name": user.0.name, "role": role.as_str(), "senior": role.is_senior(), "admin": role == Role::Admin }),
            );
        }
        if let Some(flash) = flash_from_query(req) {
            map.insert("flash".into(), flash);
        }
    }
    let html = state
        .pages
        .render(layout, name, data)
        .map_err(|e| AppError::Internal(e.context(format!("rendering {name}"))))?;
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if new_cookie {
        let cookie = Cookie::build(CSRF_COOKIE, csrf)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure_cookies(state))
            .finish();
        response.cookie(cookie);
    }
    Ok(response.body(html))
}

/// `?ok=…` or `?error=…` (with `reload` for a stale edit) shown once above the page.
fn flash_from_query(req: &HttpRequest) -> Option<Value> {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()?;
    if let Some(text) = query.get("error") {
        return Some(
            json!({ "kind": "error", "text": text, "stale": query.get("stale").is_some() }),
        );
    }
    query
        .get("ok")
        .map(|text| json!({ "kind": "ok", "text": text }))
}

/// A path on this site, safe to redirect to: it starts with one slash and holds no
/// backslash, whitespace or control character (browsers drop tabs and turn backslashes into
/// slashes, which would make "/\t/evil.test" or "/\\evil.test" another site).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

/// A form field, trimmed; `None` when absent or blank.
pub fn field(form: &std::collections::HashMap<String, String>, name: &str) -> Option<String> {
    form.get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Back to `to` with the error shown; a stale edit gets a reload link.
pub fn redirect_with_error(to: &str, error: &AppError) -> HttpResponse {
    let mut url = url::Url::parse("http://x").expect("a fixed URL parses");
    url.set_path(to.split('?').next().unwrap_or(to));
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("error", &error.to_string());
        if matches!(error, AppError::Conflict { code: "stale", .. }) {
            pairs.append_pair("stale", "1");
        }
    }
    redirect(&format!("{}?{}", url.path(), url.query().unwrap_or("")))
}

pub fn redirect_with_ok(to: &str, text: &str) -> HttpResponse {
    let mut url = url::Url::parse("http://x").expect("a fixed URL parses");
    url.set_path(to);
    url.query_pairs_mut().append_pair("ok", text);
    redirect(&format!("{}?{}", url.path(), url.query().unwrap_or("")))
}

/// The signed-in user of a page, or a redirect to the sign-in page.
#[allow(clippy::result_large_err)] // the redirect is built once, on the way out
pub fn signed_in(
    user: Option<CurrentUser>,
    req: &HttpRequest,
) -> Result<CurrentUser, HttpResponse> {
    // A one-time password opens only the page where the user chooses their own.
    if user.as_ref().is_some_and(|u| u.0.must_change_password) {
        return Err(redirect("/password"));
    }
    user.ok_or_else(|| {
        let mut url = url::Url::parse("http://x/login").expect("a fixed URL parses");
        url.query_pairs_mut().append_pair("next", req.path());
        redirect(&format!("/login?{}", url.query().unwrap_or("")))
    })
}

/// The signed-in user of a page if they hold `role`; otherwise the sign-in redirect, or a 403
/// page saying `why`.
#[allow(clippy::result_large_err)] // the refusal is built once, on the way out
pub fn signed_in_as(
    state: &AppState,
    user: Option<CurrentUser>,
    req: &HttpRequest,
    role: Role,
    why: &str,
) -> Result<CurrentUser, HttpResponse> {
    let me = signed_in(user, req)?;
    if me.role() < role {
        return Err(error_page(
            state,
            req,
            Some(&me),
            &AppError::Forbidden(why.to_owned()),
        ));
    }
    Ok(me)
}

/// An error page in the user's language (for pages; the API answers JSON).
pub fn error_page(
    state: &AppState,
    req: &HttpRequest,
    user: Option<&CurrentUser>,
    error: &AppError,
) -> HttpResponse {
    use actix_web::ResponseError;
    let status = error.status_code();
    let data =
        json!({ "title_key": "error.title", "text": error.to_string(), "status": status.as_u16() });
    match page(
        state,
        req,
        user,
        if user.is_some() { "base" } else { "bare" },
        "message",
        data,
    ) {
        Ok(mut response) => {
            *response.status_mut() = status;
            response
        }
        Err(_) => HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_followed() {
        assert!(super::is_local_path("/tickets/4?x=1"));
        for bad in [
            "//evil.test",
            "/\\evil.test",
            "/\t/evil.test",
            "https://evil.test",
            "/ok\n",
            "",
        ] {
            assert!(!super::is_local_path(bad), "{bad:?}");
        }
    }
}
