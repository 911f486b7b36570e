//! The manager dashboard: overdue promises by agent, breaches, open tickets per step,
//! complaints by category / product / partner / channel over 30 days, promise-kept rate per
//! agent, satisfaction — bar charts drawn as SVG on the server, and the same figures as CSV.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde_json::{json, Value};

use super::{error_page, page};
use crate::auth::CurrentUser;
use crate::db::{reports, users};
use crate::domain::user::Role;
use crate::error::AppError;
use crate::startup::AppState;

/// One chart: rows of label and count, with bar widths (0–100) for the SVG.
fn chart(rows: Vec<(String, i64)>) -> Value {
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars: Vec<_> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, n))| json!({ "label": label, "count": n, "width": (n * 300 / max).max(1), "y": i * 26, "text_y": i * 26 + 16, "count_x": (n * 300 / max).max(1) + 170 }))
        .collect();
    json!({ "bars": bars, "height": (bars.len().max(1) * 26) })
}

struct Figures {
    sections: Vec<(&'static str, Vec<(String, i64)>)>,
    breached: i64,
    satisfaction: Option<f64>,
    ratings: usize,
    kept: Vec<(String, i64, i64, i64)>,
}

async fn figures(state: &AppState) -> Result<Figures, AppError> {
    state
        .db(|conn| -> Result<Figures, AppError> {
            let now = crate::db::now();
            let since = now - Duration::days(30);
            let all_users = users::list(conn)?;
            let name = |id: i64| {
                all_users
                    .iter()
                    .find(|u| u.id == id)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| format!("#{id}"))
            };
            let labelled = |rows: Vec<(Option<String>, i64)>| {
                rows.into_iter()
                    .map(|(k, n)| (k.unwrap_or_else(|| "—".into()), n))
                    .collect::<Vec<_>>()
            };
            let (by_status, late) = reports::promises_by_agent(conn, now)?;
            let mut agents: Vec<i64> = by_status.iter().map(|(id, _, _)| *id).collect();
            agents.sort_unstable();
            agents.dedup();
            let kept = agents
                .iter()
                .map(|id| {
                    let count = |s: &str| {
                        by_status
                            .iter()
                            .filter(|(a, st, _)| a == id && st == s)
                            .map(|(_, _, n)| *n)
                            .sum::<i64>()
                    };
                    (name(*id), count("kept"), count("broken"), count("open"))
                })
                .collect();
            let ratings = reports::ratings(conn, since)?;
            let mut stage_rows: Vec<(String, i64)> = reports::open_by_stage(conn)?;
            let order = |s: &str| {
                crate::domain::playbook::Stage::parse(s)
                    .map(|s| s.step())
                    .unwrap_or(9)
            };
            stage_rows.sort_by_key(|(s, _)| order(s));
            Ok(Figures {
                sections: vec![
                    (
                        "overdue_by_agent",
                        late.into_iter().map(|(id, n)| (name(id), n)).collect(),
                    ),
                    ("open_by_stage", stage_rows),
                    (
                        "by_category",
                        labelled(reports::complaints_by(conn, "category", since)?),
                    ),
                    (
                        "by_product",
                        labelled(reports::complaints_by(conn, "product", since)?),
                    ),
                    (
                        "by_partner",
                        labelled(reports::complaints_by(conn, "partner", since)?),
                    ),
                    (
                        "by_channel",
                        labelled(reports::complaints_by(conn, "channel", since)?),
                    ),
                ],
                breached: reports::breached_open(conn)?,
                satisfaction: (!ratings.is_empty()).then(|| {
                    ratings.iter().map(|r| f64::from(*r)).sum::<f64>() / ratings.len() as f64
                }),
                ratings: ratings.len(),
                kept,
            })
        })
        .await
}

pub async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
) -> HttpResponse {
    let me = match super::signed_in_as(
        &state,
        user,
        &req,
        Role::Manager,
        "the dashboard is for managers and admins",
    ) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let result = async {
        let f = figures(&state).await?;
        let locale = super::locale(&state, &req, Some(&me));
        // Stored codes (stage, category, channel) are shown as words of the user's language.
        let word = |prefix: &str, code: String| match prefix {
            "" => code,
            prefix => state.pages.catalogs.word(locale, &format!("{prefix}.{code}")).to_owned(),
        };
        let charts: Vec<_> = f
            .sections
            .into_iter()
            .map(|(key, rows)| {
                let prefix = match key {
                    "open_by_stage" => "stage",
                    "by_category" => "category",
                    "by_channel" => "channel",
                    _ => "",
                };
                let rows = rows.into_iter().map(|(label, n)| (if label == "—" { label } else { word(prefix, label) }, n)).collect();
                json!({ "key": format!("dash.{key}"), "chart": chart(rows) })
            })
            .collect();
        let kept: Vec<_> = f
            .kept
            .into_iter()
            .map(|(agent, kept, broken, open)| {
                let closed = kept + broken;
                json!({ "agent": agent, "kept": kept, "broken": broken, "open": open, "rate": if closed > 0 { format!("{}%", kept * 100 / closed) } else { "—".into() } })
            })
            .collect();
        let data = json!({
            "nav": "dashboard",
            "charts": charts,
            "breached": f.breached,
            "satisfaction": f.satisfaction.map(|s| format!("{s:.1}")),
            "ratings": f.ratings,
            "kept": kept,
        });
        page(&state, &req, Some(&me), "base", "dashboard", data)
    }
    .await;
    result.unwrap_or_else(|e| error_page(&state, &req, Some(&me), &e))
}

/// The dashboard's figures as CSV: section, label, count.
pub async fn csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<CurrentUser>,
) -> HttpResponse {
    let me = match super::signed_in_as(
        &state,
        user,
        &req,
        Role::Manager,
        "the dashboard is for managers and admins",
    ) {
        Ok(me) => me,
        Err(r) => return r,
    };
    match figures(&state).await {
        Ok(f) => {
            let mut out = String::from("section,label,count\r\n");
            let cell = |text: &str| {
                // Quote, double quotes inside, and keep spreadsheet formulas from running.
                let text = if text.starts_with(['=', '+', '-', '@']) {
                    format!("'{text}")
                } else {
                    text.to_owned()
                };
                format!("\"{}\"", text.replace('"', "\"\""))
            };
            for (section, rows) in f.sections {
                for (label, n) in rows {
                    out.push_str(&format!("{},{},{}\r\n", section, cell(&label), n));
                }
            }
            for (agent, kept, broken, open) in f.kept {
                for (what, n) in [("kept", kept), ("broken", broken), ("open", open)] {
                    out.push_str(&format!("promises_{what},{},{n}\r\n", cell(&agent)));
                }
            }
            out.push_str(&format!("breached_open,\"all\",{}\r\n", f.breached));
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"tanggap-dashboard.csv\"",
                ))
                .body(out)
        }
        Err(e) => error_page(&state, &req, Some(&me), &e),
    }
}
