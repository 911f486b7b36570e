//! Demo data at scale (`demo-data --tickets 1000000`): beyond the walked tickets, copies of
//! them with new customers, dates spread over the past year, written in batches — multi-row
//! inserts, one transaction per batch — so a million tickets take minutes, not hours.
//!
//! A copy keeps its template's stage and playbook state; its clock times move with its new
//! creation date. Targets already past are marked warned and breached, as if the scheduler had
//! run on time, so a first `tick` over the data only does what is really new: the overdue
//! promises this module plants (`overdue` of them, spread evenly over the tickets).

use chrono::{Duration, NaiveDateTime};
use rand::rngs::StdRng;
use rand::Rng;

use super::{pick, FIRST, LAST};
use crate::db::customers::{self, NewCustomer};
use crate::db::events::{self, NewEvent};
use crate::db::promises::{self, NewPromise};
use crate::db::search;
use crate::db::tickets::{self, Ticket};
use crate::db::{self, DbConnection};
use crate::desk::tickets::search_document;

/// Tickets per transaction: large enough to amortize the commit, small enough that a batch
/// holds the write lock for a moment only.
const BATCH: usize = 1_000;
/// The copies' creation dates spread over this many days before now.
const SPAN_DAYS: i64 = 365;

/// Writes `count` copies of `templates`; `overdue` of them carry an open promise past due.
pub fn copy(
    conn: &mut DbConnection,
    rng: &mut StdRng,
    templates: &[Ticket],
    count: usize,
    overdue: usize,
    progress: &mut dyn FnMut(usize),
) -> anyhow::Result<()> {
    anyhow::ensure!(!templates.is_empty(), "no walked tickets to copy");
    let with_promise: Vec<&Ticket> = templates
        .iter()
        .filter(|t| t.next_promise_due_at.is_some())
        .collect();
    anyhow::ensure!(
        overdue == 0 || !with_promise.is_empty(),
        "no walked ticket holds a promise to copy"
    );
    let without_promise: Vec<&Ticket> = templates
        .iter()
        .filter(|t| t.next_promise_due_at.is_none())
        .collect();
    let now = db::now();
    let mut done = 0;
    while done < count {
        let size = BATCH.min(count - done);
        db::write(conn, |conn| -> anyhow::Result<()> {
            write_batch(
                conn,
                rng,
                &with_promise,
                &without_promise,
                Batch {
                    first: done,
                    size,
                    count,
                    overdue,
                    now,
                },
            )
        })?;
        done += size;
        progress(done);
    }
    Ok(())
}

struct Batch {
    first: usize,
    size: usize,
    count: usize,
    overdue: usize,
    now: NaiveDateTime,
}

impl Batch {
    /// Whether copy `n` is one of the overdue ones (spread evenly over all copies).
    fn is_overdue(&self, n: usize) -> bool {
        (n + 1) * self.overdue / self.count != n * self.overdue / self.count
    }

    /// Copy `n`'s creation time: the oldest first, so ids grow with time.
    fn created_at(&self, n: usize) -> NaiveDateTime {
        let back = SPAN_DAYS * 24 * 3600 * (self.count - n) as i64 / self.count.max(1) as i64;
        self.now - Duration::seconds(back)
    }
}

fn write_batch(
    conn: &mut DbConnection,
    rng: &mut StdRng,
    with_promise: &[&Ticket],
    without_promise: &[&Ticket],
    batch: Batch,
) -> anyhow::Result<()> {
    let now = batch.now;
    let names: Vec<String> = (0..batch.size)
        .map(|_| format!("{} {}", pick(rng, &FIRST), pick(rng, &LAST)))
        .collect();
    let phones: Vec<String> = (0..batch.size)
        .map(|i| format!("6289{:010}", batch.first + i))
        .collect();
    let new_customers: Vec<NewCustomer<'_>> = (0..batch.size)
        .map(|i| {
            let at = batch.created_at(batch.first + i);
            NewCustomer {
                name: &names[i],
                email: None,
                phone: None,
                whatsapp: Some(&phones[i]),
                instagram: None,
                locale: "id",
                notes: "",
                email_opt_out: false,
                version: 1,
                created_at: at,
                updated_at: at,
            }
        })
        .collect();
    let customer_ids = customers::insert_many(conn, &new_customers)?;

    let mut copies = Vec::with_capacity(batch.size);
    let mut promised = Vec::new();
    for (i, customer_id) in customer_ids.iter().enumerate() {
        let n = batch.first + i;
        let overdue = batch.is_overdue(n);
        let template = if overdue || without_promise.is_empty() {
            *pick(rng, with_promise)
        } else {
            *pick(rng, without_promise)
        };
        let created = batch.created_at(n);
        let shift = created - template.created_at;
        let moved = |t: Option<NaiveDateTime>| t.map(|t| t + shift);
        let mut copy = (*template).clone();
        copy.customer_id = *customer_id;
        copy.order_ref = Some(format!("INV/{}/{:07}", created.format("%Y"), n));
        copy.created_at = created;
        copy.updated_at = template.updated_at + shift;
        copy.acknowledged_at = moved(template.acknowledged_at);
        copy.resolved_at = moved(template.resolved_at);
        copy.closed_at = moved(template.closed_at);
        copy.clock_paused_at = moved(template.clock_paused_at);
        copy.first_response_due_at = moved(template.first_response_due_at);
        copy.resolution_due_at = moved(template.resolution_due_at);
        let past = |t: Option<NaiveDateTime>| t.is_some_and(|t| t <= now);
        copy.first_response_warned |= past(copy.first_response_due_at);
        copy.first_response_breached |= past(copy.first_response_due_at);
        copy.resolution_warned |= past(copy.resolution_due_at);
        copy.resolution_breached |= past(copy.resolution_due_at);
        if copy.next_promise_due_at.is_some() {
            let due = if overdue {
                now - Duration::minutes(rng.gen_range(5..7 * 24 * 60))
            } else {
                now + Duration::hours(rng.gen_range(24..30 * 24))
            };
            copy.next_promise_due_at = Some(due);
            promised.push((i, due, copy.assignee_id.or(copy.created_by)));
        }
        copies.push(copy);
    }
    let ids = tickets::insert_many(conn, &copies)?;
    for (copy, id) in copies.iter_mut().zip(&ids) {
        copy.id = *id;
    }

    let created_events: Vec<NewEvent> = ids
        .iter()
        .zip(&copies)
        .map(|(id, copy)| NewEvent {
            ticket_id: *id,
            actor_id: copy.created_by,
            kind: "created".into(),
            visibility: "public".into(),
            body: Some(copy.customer_words.clone()),
            data: Some(serde_json::json!({ "channel": copy.channel }).to_string()),
            created_at: copy.created_at,
        })
        .collect();
    events::append_many(conn, &created_events)?;

    let new_promises: Vec<_> = promised
        .iter()
        .filter_map(|(i, due, by)| {
            by.map(|by| NewPromise {
                ticket_id: ids[*i],
                what: "Kabari hasil cek gudang",
                due_at: *due,
                promised_by: by,
                status: "open",
                created_at: copies[*i].updated_at.min(*due),
            })
        })
        .collect();
    promises::insert_many(conn, &new_promises)?;

    let documents: Vec<(i64, String)> = ids
        .iter()
        .zip(&copies)
        .zip(&names)
        .map(|((id, copy), name)| (*id, search_document(copy, name)))
        .collect();
    search::index_new(conn, &documents)?;
    Ok(())
}
