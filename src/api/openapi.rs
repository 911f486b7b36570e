//! The OpenAPI 3 document of the real routes, served at `/api/openapi.json`. Paths and
//! schemas are collected from the handlers as they are registered (utoipa-actix-web), so the
//! document cannot list a route that does not exist or miss one that does.

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    ResponseBuilder, Schema, SecurityRequirement,
};

/// Routes anyone may call: they carry no security requirement in the document.
const PUBLIC: [&str; 4] = ["/healthz", "/readyz", "/api/auth/login", "/api/auth/logout"];

/// The document's head: title, version, and Bearer sign-in for every route.
pub fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Tanggap API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Complaint and feedback desk. Errors are always {\"error\":{\"code\",\"message\",\"fields\"}}.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()))
                .schema("Error", error_schema())
                .build(),
        ))
        .security(Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]))
        .build()
}

/// The document of every route `api::configure` registers, collected from the handlers.
pub fn document() -> OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, document) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(base())
        .configure(super::configure)
        .split_for_parts();
    let mut document = document;
    add_error_responses(&mut document);
    document
}

/// `{"error": {"code", "message", "fields"}}`, the body of every 4xx and 5xx (`crate::error`).
fn error_schema() -> Schema {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let detail = ObjectBuilder::new()
        .property("code", text())
        .property("message", text())
        .property(
            "fields",
            ObjectBuilder::new()
                .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(
                    text().build().into(),
                ))))
                .description(Some("field name → what is wrong with it (422)")),
        )
        .required("code")
        .required("message")
        .required("fields");
    ObjectBuilder::new()
        .property("error", detail)
        .required("error")
        .build()
        .into()
}

/// The error answers that come from the shared machinery rather than from one handler, added
/// to every operation whose shape allows them: 401/403 from the token check (403 also while
/// the user must still change a one-time password), 400/413/422 from the body extractor, 422
/// from the query extractor and path values, 404 from an unknown id in the path. Answers a
/// handler gives itself (409, a role's 403, …) stay in its own `#[utoipa::path]`. Every error
/// answer gets the one error body.
fn add_error_responses(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let public = PUBLIC.contains(&path.as_str());
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if public {
                operation.security = Some(Vec::new());
            }
            let has = |place: ParameterIn| {
                operation.parameters.iter().flatten().any(|p| match p {
                    RefOr::T(p) => p.parameter_in == place,
                    RefOr::Ref(_) => false,
                })
            };
            let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
            let has_body = operation.request_body.is_some();
            let mut codes: Vec<(&str, &str)> = Vec::new();
            if !public {
                codes.push(("401", "not signed in, or the token is no longer valid"));
                codes.push((
                    "403",
                    "not allowed (or the one-time password must be changed first)",
                ));
            }
            if has_body {
                codes.push(("400", "malformed body"));
                codes.push(("413", "body too large"));
            }
            if in_path {
                codes.push(("404", "not found"));
            }
            if has_body || in_query || in_path {
                codes.push(("422", "invalid fields"));
            }
            add_codes(operation, &codes);
            for (code, response) in operation.responses.responses.iter_mut() {
                if let (true, RefOr::T(response)) = (is_error(code), response) {
                    if response.content.is_empty() {
                        response.content.insert(
                            "application/json".into(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Error")))
                                .build()
                                .into(),
                        );
                    }
                }
            }
        }
    }
}

fn add_codes(operation: &mut Operation, codes: &[(&str, &str)]) {
    for (code, description) in codes {
        operation
            .responses
            .responses
            .entry((*code).to_owned())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(*description).build()));
    }
}

fn is_error(code: &str) -> bool {
    code.starts_with('4') || code.starts_with('5')
}

/// The route that serves the collected document.
pub fn service(document: OpenApi) -> actix_web::Resource {
    let json = document.to_json().unwrap_or_else(|_| "{}".to_owned());
    web::resource("/api/openapi.json").route(web::get().to(move || {
        let json = json.clone();
        async move {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(json)
        }
    }))
}
