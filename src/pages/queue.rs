//! The queue: tabs (mine, unassigned, overdue follow-ups, escalated to me, waiting for the
//! customer, all) with counts, filters, search and keyset pages — the same filter as the API.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::queue_row::QueueRow;
use super::{error_page, page, redirect, signed_in};
use crate::api::tickets::{queue_filter, QueueQuery};
use crate::auth::CurrentUser;
use crate::db::customers;
use crate::db::tickets::{self as ticket_db, TicketFilter};
use crate::error::AppError;
use crate::startup::AppState;

pub async fn home(user: Option<CurrentUser>) -> HttpResponse {
    redirect(if user.is_some() { "/queue" } else { "/login" })
}

pub const TABS: [&str; 6] = [
    "mine",
    "unassigned",
    "overdue",
    "escalated",
    "waiting",
    "all",
];

/// A tab counts its tickets up to this many, then says "1000+".
pub const COUNT_CAP: i64 = 1000;

/// The filter a tab adds to the user's own filters.
pub fn tab_filter(tab: &str, me: i64, base: &TicketFilter) -> TicketFilter {
    let mut f = base.clone();
    let open = || crate::db::tickets::OPEN_STAGES.map(String::from).to_vec();
    match tab {
        "mine" => {
            f.assignee = Some(Some(me));
            if f.stages.is_empty() {
                f.stages = open();
            }
        }
        "unassigned" => {
            f.assignee = Some(None);
            if f.stages.is_empty() {
                f.stages = open();
            }
        }
        "overdue" => f.overdue_at = Some(crate::db::now()),
        "escalated" => f.escalated_to = Some(me),
        "waiting" => f.awaiting_customer = Some(true),
        _ => {}
    }
    f
}

#[derive(serde::Deserialize, Default)]
pub struct QueuePage {
    pub tab: Option<String>,
    #[serde(flatten)]
    pub query: std::collections::HashMap<String, String>,
}

pub async fn queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
    query: web::Query<QueuePage>,
) -> HttpResponse {
    let me = match signed_in(user, &req) {
        Ok(me) => me,
        Err(redirect) => return redirect,
    };
    match render_queue(&state, &req, &me, query.into_inner()).await {
        Ok(response) => response,
        Err(error) => error_page(&state, &req, Some(&me), &error),
    }
}

async fn render_queue(
    state: &AppState,
    req: &HttpRequest,
    me: &CurrentUser,
    page_query: QueuePage,
) -> Result<HttpResponse, AppError> {
    let tab = page_query
        .tab
        .filter(|t| TABS.contains(&t.as_str()))
        .unwrap_or_else(|| "mine".into());
    let mut params = page_query.query;
    params.retain(|_, v| !v.trim().is_empty());
    let query: QueueQuery = serde_json::from_value(json!(params
        .iter()
        .map(|(k, v)| {
            let value = match k.as_str() {
                "partner_id" | "customer_id" | "limit" | "before" => {
                    v.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(v))
                }
                "overdue" | "breached" => v.parse::<bool>().map(|b| json!(b)).unwrap_or(json!(v)),
                _ => json!(v),
            };
            (k.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()))
    .map_err(|e| AppError::invalid("query", e.to_string()))?;
    let (base, limit) = queue_filter(&query, me.id())?;
    let q = query.q.clone().unwrap_or_default();
    let me_id = me.id();
    let tab2 = tab.clone();
    let (next, rows, counts, partners) = state
        .db(move |conn| -> Result<_, AppError> {
            let filter = tab_filter(&tab2, me_id, &base);
            let page = crate::desk::queue::page(conn, &filter, &q, limit)?;
            let tabs: Vec<TicketFilter> = TABS
                .iter()
                .map(|t| tab_filter(t, me_id, &TicketFilter::default()))
                .collect();
            let counts: Vec<(&str, String)> = ticket_db::counts_up_to(conn, &tabs, COUNT_CAP + 1)?
                .into_iter()
                .zip(TABS)
                .map(|(n, t)| {
                    let shown = if n > COUNT_CAP {
                        format!("{COUNT_CAP}+")
                    } else {
                        n.to_string()
                    };
                    (t, shown)
                })
                .collect();
            Ok((
                page.next_before,
                page.tickets,
                counts,
                customers::list_partners(conn, None)?,
            ))
        })
        .await?;
    let next_url = next.map(|before| {
        let mut url = url::Url::parse("http://x/queue").expect("a fixed URL parses");
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("tab", &tab);
            for (k, v) in &params {
                if k != "before" {
                    pairs.append_pair(k, v);
                }
            }
            pairs.append_pair("before", &before.to_string());
        }
        format!("/queue?{}", url.query().unwrap_or(""))
    });
    let (locale, now) = (super::locale(state, req, Some(me)), chrono::Utc::now());
    let rows: Vec<QueueRow> = rows
        .into_iter()
        .map(|(head, name)| {
            let summary = crate::api::views::summary(head, Some(name));
            QueueRow::new(
                summary,
                &state.pages.catalogs,
                locale,
                state.pages.zone,
                now,
            )
        })
        .collect();
    let tabs: Vec<_> = counts.iter().map(|(t, n)| json!({ "id": t, "count": n, "active": *t == tab, "label": format!("tab.{t}") })).collect();
    let partners: Vec<_> = partners
        .into_iter()
        .map(|p| json!({ "id": p.id, "name": p.name }))
        .collect();
    let data = json!({
        "nav": "queue",
        "tab": tab,
        "tabs": tabs,
        "tickets": rows,
        "filters": params,
        "partners": partners,
        "next_url": next_url,
        "stages": crate::domain::playbook::Stage::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "channels": crate::domain::vocab::Channel::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "categories": crate::domain::vocab::Category::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "priorities": crate::domain::vocab::Priority::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    });
    page(state, req, Some(me), "base", "queue", data)
}
