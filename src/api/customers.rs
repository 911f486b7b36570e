//! Customers and partners.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;

use super::views::{answers, CustomerView, PartnerView};
use crate::auth::CurrentUser;
use crate::db::customers as customer_db;
use crate::desk::customers::{self, CustomerInput};
use crate::domain::contact::{optional_text, required_text};
use crate::domain::vocab::PartnerKind;
use crate::error::{AppError, FieldErrors};
use crate::startup::AppState;

/// Create a customer (409 `customer_exists` when a contact detail already belongs to one).
#[utoipa::path(tag = "customers", request_body = CustomerInput, responses((status = 201, description = "created", body = CustomerView), (status = 409, description = "contact details belong to another customer"), (status = 422, description = "invalid fields")))]
#[post("/customers")]
pub async fn create(
    state: web::Data<AppState>,
    _me: CurrentUser,
    body: web::Json<CustomerInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let locale = state.settings.locale;
    let customer = state
        .db(move |conn| customers::create(conn, &input, locale))
        .await?;
    Ok(HttpResponse::Created().json(CustomerView::from(customer)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Matches the name anywhere, or the start of email, phone, WhatsApp or handle.
    pub q: Option<String>,
    pub limit: Option<i64>,
    /// Keyset pagination: customers with an id below this.
    pub before: Option<i64>,
}

/// Find customers as you type.
#[utoipa::path(tag = "customers", params(CustomerQuery), responses((status = 200, description = "customers, newest first", body = answers::CustomerPage)))]
#[get("/customers")]
pub async fn list(
    state: web::Data<AppState>,
    _me: CurrentUser,
    query: web::Query<CustomerQuery>,
) -> Result<HttpResponse, AppError> {
    let CustomerQuery { q, limit, before } = query.into_inner();
    let limit = limit.unwrap_or(50).clamp(1, 200);
    let term = crate::domain::contact::search_term(&q.unwrap_or_default());
    let found = state
        .db(move |conn| customer_db::search(conn, &term, limit, before))
        .await?;
    let next = (found.len() as i64 == limit)
        .then(|| found.last().map(|c| c.id))
        .flatten();
    let customers: Vec<CustomerView> = found.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "customers": customers, "next_before": next })))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path, description = "customer id")), responses((status = 200, description = "the customer", body = CustomerView), (status = 404, description = "no such customer")))]
#[get("/customers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _me: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let customer = state
        .db(move |conn| customer_db::find(conn, id))
        .await?
        .ok_or_else(|| AppError::not_found("customer"))?;
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}

/// Change a customer; send the `version` you saw (409 `stale` otherwise). An empty string
/// clears a contact detail.
#[utoipa::path(tag = "customers", params(("id" = i64, Path, description = "customer id")), request_body(content = CustomerInput, description = "the fields to change, plus the `version` you saw"), responses((status = 200, description = "changed", body = CustomerView), (status = 409, description = "stale or contact taken")))]
#[patch("/customers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    _me: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mut body = body.into_inner();
    let version = body
        .as_object_mut()
        .and_then(|o| o.remove("version"))
        .and_then(|v| v.as_i64())
        .ok_or_else(|| AppError::invalid("version", "is required: send the version you saw"))?
        as i32;
    let input: CustomerInput =
        serde_json::from_value(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
    let customer = state
        .db(move |conn| customers::update(conn, id, version, &input))
        .await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerInput {
    pub name: String,
    /// reseller, dropshipper, stockist or agent
    #[schema(value_type = crate::domain::vocab::PartnerKind)]
    pub kind: String,
    pub contact: Option<String>,
}

/// Add a partner the shop sells through.
#[utoipa::path(tag = "partners", request_body = PartnerInput, responses((status = 201, description = "created", body = PartnerView), (status = 409, description = "name taken")))]
#[post("/partners")]
pub async fn create_partner(
    state: web::Data<AppState>,
    _me: CurrentUser,
    body: web::Json<PartnerInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let mut fields = FieldErrors::new();
    let name = required_text(&input.name, 120)
        .map_err(|m| fields.insert("name".into(), m))
        .ok();
    let kind = PartnerKind::parse(&input.kind)
        .map_err(|m| fields.insert("kind".into(), m))
        .ok();
    let contact = optional_text(input.contact.as_deref(), 500)
        .map_err(|m| fields.insert("contact".into(), m))
        .ok()
        .flatten();
    AppError::check(fields)?;
    let (Some(name), Some(kind)) = (name, kind) else {
        return Err(AppError::invalid("name", "is required"));
    };
    let partner = state
        .db(move |conn| {
            customer_db::insert_partner(
                conn,
                &name,
                kind.as_str(),
                contact.as_deref().unwrap_or(""),
                crate::db::now(),
            )
        })
        .await
        .map_err(|e| match e {
            AppError::Conflict { .. } => {
                AppError::conflict("partner_exists", "a partner with this name already exists")
            }
            other => other,
        })?;
    Ok(HttpResponse::Created().json(PartnerView::from(partner)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PartnerQuery {
    #[param(value_type = Option<crate::domain::vocab::PartnerKind>)]
    pub kind: Option<String>,
}

#[utoipa::path(tag = "partners", params(PartnerQuery), responses((status = 200, description = "partners by name", body = answers::PartnerList)))]
#[get("/partners")]
pub async fn list_partners(
    state: web::Data<AppState>,
    _me: CurrentUser,
    query: web::Query<PartnerQuery>,
) -> Result<HttpResponse, AppError> {
    let kind = match &query.kind {
        Some(raw) => Some(PartnerKind::parse(raw).map_err(|m| AppError::invalid("kind", m))?),
        None => None,
    };
    let partners = state
        .db(move |conn| customer_db::list_partners(conn, kind.map(PartnerKind::as_str)))
        .await?;
    let partners: Vec<PartnerView> = partners.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "partners": partners })))
}
