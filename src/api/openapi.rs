//! The OpenAPI 3 document of the real routes, served at `/api/openapi.json`. Paths and
//! schemas are collected from the handlers as they are registered (utoipa-actix-web), so the
//! document cannot list a route that does not exist or miss one that does.

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, SecurityRequirement,
};

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
    document
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
