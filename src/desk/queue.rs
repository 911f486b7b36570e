//! One page of the queue, for the JSON API and the queue page alike: the filter's tickets,
//! newest first, narrowed by a search (full text, or a ticket number like TGP-000123), with
//! the cursor of the next page.

use crate::db::search;
use crate::db::tickets::{self as ticket_db, QueueRow, TicketFilter};
use crate::db::DbConnection;
use crate::error::AppError;

/// How many batches of search hits one page reads before it answers with what it found and a
/// cursor below the last hit it read (at `SEARCH_HITS_CAP` hits a batch).
const SEARCH_BATCHES: usize = 5;

/// A page of tickets (each with its customer's name) and the `before` cursor of the next page
/// (`None`: nothing older).
#[derive(Debug)]
pub struct QueuePage {
    pub tickets: Vec<QueueRow>,
    pub next_before: Option<i64>,
}

/// Up to `limit` of `filter`'s tickets matching `q` (all of them when `q` is blank).
///
/// A search narrowed by other filters (a tab, a stage, an agent) reads the search's hits newest
/// first, a batch at a time, and keeps those the filters allow, until the page is full or the
/// hits run out. A page that stops after `SEARCH_BATCHES` batches may be short, and still
/// carries a cursor: older matches are never out of reach, however many newer hits the
/// filters turned away.
pub fn page(
    conn: &mut DbConnection,
    filter: &TicketFilter,
    q: &str,
    limit: i64,
) -> Result<QueuePage, AppError> {
    let full_page = |tickets: Vec<QueueRow>| {
        let next_before = (tickets.len() as i64 == limit)
            .then(|| tickets.last().map(|(t, _)| t.id))
            .flatten();
        QueuePage {
            tickets,
            next_before,
        }
    };
    if q.trim().is_empty() {
        return Ok(full_page(ticket_db::queue_rows(conn, filter, limit)?));
    }
    if let Some(id) = crate::domain::parse_ticket_number(q) {
        let one = TicketFilter {
            ids: Some(vec![id]),
            ..filter.clone()
        };
        return Ok(full_page(ticket_db::queue_rows(conn, &one, limit)?));
    }
    let wanted = filter.search_hits_wanted(limit);
    let mut tickets: Vec<QueueRow> = Vec::new();
    let mut before = filter.before_id;
    for _ in 0..SEARCH_BATCHES {
        let hits = search::matching_ids(conn, q, before, wanted)?;
        let read_all = (hits.len() as i64) < wanted;
        let last_hit = hits.last().copied();
        let batch = TicketFilter {
            ids: Some(hits),
            before_id: before,
            ..filter.clone()
        };
        tickets.extend(ticket_db::queue_rows(
            conn,
            &batch,
            limit - tickets.len() as i64,
        )?);
        // An empty batch is one that read all (`wanted` is at least 1).
        if tickets.len() as i64 == limit || read_all {
            return Ok(full_page(tickets));
        }
        before = last_hit;
    }
    Ok(QueuePage {
        tickets,
        next_before: before,
    })
}
