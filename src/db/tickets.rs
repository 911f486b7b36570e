//! Queries on tickets: insert, fetch, the versioned update every action goes through, and the
//! queue with its filters and keyset pagination.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::any_of;
use super::schema::{customers, tickets};
use super::stamp::{MaybeStamp, Stamp};
use super::DbConnection;

/// A ticket row. It is also written whole (bulk demo data copies walked tickets): the id
/// then comes from the database.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub customer_id: i64,
    pub partner_id: Option<i64>,
    pub subject: String,
    pub customer_words: String,
    pub product: Option<String>,
    pub order_ref: Option<String>,
    pub category: Option<String>,
    pub details: Option<String>,
    pub root_cause: Option<String>,
    pub solution_type: Option<String>,
    pub solution: Option<String>,
    pub proposal_state: Option<String>,
    pub customer_comment: Option<String>,
    pub priority: String,
    pub stage: String,
    pub escalated_from: Option<String>,
    pub escalated_to: Option<i64>,
    pub escalation_reason: Option<String>,
    pub assignee_id: Option<i64>,
    pub created_by: Option<i64>,
    pub resolution_summary: Option<String>,
    pub satisfaction: Option<i32>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub next_promise_due_at: Option<NaiveDateTime>,
    pub awaiting_customer: bool,
    pub version: i32,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub acknowledged_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub resolved_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub closed_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub first_response_due_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub resolution_due_at: Option<NaiveDateTime>,
    pub first_response_warned: bool,
    pub first_response_breached: bool,
    pub resolution_warned: bool,
    pub resolution_breached: bool,
    #[diesel(deserialize_as = MaybeStamp)]
    pub clock_paused_at: Option<NaiveDateTime>,
    pub paused_minutes: i32,
}

/// What the queue shows of a ticket: the columns a list row needs (a page reads 21 of a
/// ticket's 40, and never the long texts).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct TicketHead {
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub customer_id: i64,
    pub partner_id: Option<i64>,
    pub subject: String,
    pub category: Option<String>,
    pub priority: String,
    pub stage: String,
    pub escalated_to: Option<i64>,
    pub assignee_id: Option<i64>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub next_promise_due_at: Option<NaiveDateTime>,
    pub awaiting_customer: bool,
    pub version: i32,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub first_response_due_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub resolution_due_at: Option<NaiveDateTime>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    #[diesel(deserialize_as = MaybeStamp)]
    pub clock_paused_at: Option<NaiveDateTime>,
}

impl From<Ticket> for TicketHead {
    fn from(t: Ticket) -> Self {
        TicketHead {
            id: t.id,
            kind: t.kind,
            channel: t.channel,
            customer_id: t.customer_id,
            partner_id: t.partner_id,
            subject: t.subject,
            category: t.category,
            priority: t.priority,
            stage: t.stage,
            escalated_to: t.escalated_to,
            assignee_id: t.assignee_id,
            next_promise_due_at: t.next_promise_due_at,
            awaiting_customer: t.awaiting_customer,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            first_response_due_at: t.first_response_due_at,
            resolution_due_at: t.resolution_due_at,
            first_response_breached: t.first_response_breached,
            resolution_breached: t.resolution_breached,
            clock_paused_at: t.clock_paused_at,
        }
    }
}

/// A queue row: the ticket's head and its customer's name.
pub type QueueRow = (TicketHead, String);

#[derive(Insertable)]
#[diesel(table_name = tickets, treat_none_as_default_value = false)]
pub struct NewTicket<'a> {
    pub kind: &'a str,
    pub channel: &'a str,
    pub customer_id: i64,
    pub partner_id: Option<i64>,
    pub subject: &'a str,
    pub customer_words: &'a str,
    pub product: Option<&'a str>,
    pub order_ref: Option<&'a str>,
    pub category: Option<&'a str>,
    pub priority: &'a str,
    pub stage: &'a str,
    pub assignee_id: Option<i64>,
    pub created_by: Option<i64>,
    pub awaiting_customer: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub first_response_due_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
}

/// Writes many tickets in one statement; returns their ids in order.
pub fn insert_many(conn: &mut DbConnection, rows: &[Ticket]) -> QueryResult<Vec<i64>> {
    insert_many!(conn, tickets::table, rows, tickets::id)
}

/// Every column an action may change. `None` leaves a column alone; `Some(None)` clears it.
#[derive(AsChangeset, Default, Debug, Clone)]
#[diesel(table_name = tickets)]
pub struct TicketChanges {
    pub partner_id: Option<Option<i64>>,
    pub subject: Option<String>,
    pub product: Option<Option<String>>,
    pub order_ref: Option<Option<String>>,
    pub category: Option<Option<String>>,
    pub details: Option<Option<String>>,
    pub root_cause: Option<Option<String>>,
    pub solution_type: Option<Option<String>>,
    pub solution: Option<Option<String>>,
    pub proposal_state: Option<Option<String>>,
    pub customer_comment: Option<Option<String>>,
    pub priority: Option<String>,
    pub stage: Option<String>,
    pub escalated_from: Option<Option<String>>,
    pub escalated_to: Option<Option<i64>>,
    pub escalation_reason: Option<Option<String>>,
    pub assignee_id: Option<Option<i64>>,
    pub resolution_summary: Option<Option<String>>,
    pub satisfaction: Option<Option<i32>>,
    pub next_promise_due_at: Option<Option<NaiveDateTime>>,
    pub awaiting_customer: Option<bool>,
    pub acknowledged_at: Option<Option<NaiveDateTime>>,
    pub resolved_at: Option<Option<NaiveDateTime>>,
    pub closed_at: Option<Option<NaiveDateTime>>,
    pub first_response_due_at: Option<Option<NaiveDateTime>>,
    pub resolution_due_at: Option<Option<NaiveDateTime>>,
    pub first_response_warned: Option<bool>,
    pub first_response_breached: Option<bool>,
    pub resolution_warned: Option<bool>,
    pub resolution_breached: Option<bool>,
    pub clock_paused_at: Option<Option<NaiveDateTime>>,
    pub paused_minutes: Option<i32>,
}

pub fn insert(conn: &mut DbConnection, new: &NewTicket<'_>) -> QueryResult<Ticket> {
    on_backend!(conn, c => diesel::insert_into(tickets::table)
        .values(new)
        .returning(tickets::all_columns)
        .get_result(c))
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Ticket>> {
    tickets::table
        .find(id)
        .select(Ticket::as_select())
        .first(conn)
        .optional()
}

/// The tickets with these ids (a scheduler batch), in no particular order.
pub fn find_many(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::id.eq_any(ids))
        .select(Ticket::as_select())
        .load(conn)
}

/// The assignee of each of these tickets (a narrow read for grouping many tickets by agent).
pub fn assignees_of(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, Option<i64>)>> {
    let mut found = Vec::with_capacity(ids.len());
    // Well under SQLite's limit on bound parameters.
    for chunk in ids.chunks(1000) {
        found.extend(
            tickets::table
                .filter(tickets::id.eq_any(chunk))
                .select((tickets::id, tickets::assignee_id))
                .load::<(i64, Option<i64>)>(conn)?,
        );
    }
    Ok(found)
}

/// Applies `changes` only if the ticket is still at `version` (optimistic locking); the
/// version moves on by one. `Ok(None)` means someone else changed the ticket first.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    changes: &TicketChanges,
    now: NaiveDateTime,
) -> QueryResult<Option<Ticket>> {
    diesel::update(
        tickets::table
            .filter(tickets::id.eq(id))
            .filter(tickets::version.eq(version)),
    )
    .set((
        changes,
        tickets::version.eq(version + 1),
        tickets::updated_at.eq(now),
    ))
    .returning(tickets::all_columns)
    .get_result(conn)
    .optional()
}

/// Open tickets assigned to each of these users (for fewest-open-tickets assignment).
pub fn open_counts(conn: &mut DbConnection, user_ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    let rows: Vec<(Option<i64>, i64)> = tickets::table
        .filter(tickets::assignee_id.eq_any(user_ids))
        .filter(tickets::stage.ne_all(["resolved", "closed"]))
        .group_by(tickets::assignee_id)
        .select((tickets::assignee_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, n)))
        .collect())
}

/// The queue's filters. Every one is backed by an index (see the migration).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketFilter {
    pub stages: Vec<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub partner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// `Some(Some(id))` assigned to id, `Some(None)` unassigned.
    pub assignee: Option<Option<i64>>,
    pub escalated_to: Option<i64>,
    /// Open promise due before this time.
    pub overdue_at: Option<NaiveDateTime>,
    /// Any open promise.
    pub awaiting_follow_up: bool,
    /// Only tickets with a breached service target.
    pub breached: bool,
    /// `Some(true)`: waiting for the customer's answer; `Some(false)`: open and waiting for us.
    pub awaiting_customer: Option<bool>,
    /// Ticket ids matching the full-text query (already resolved by `search::matching_ids`).
    pub ids: Option<Vec<i64>>,
    /// Keyset pagination: tickets with an id below this one.
    pub before_id: Option<i64>,
}

/// The most search hits a queue page asks for when other filters narrow them further.
pub const SEARCH_HITS_CAP: i64 = 1000;

impl TicketFilter {
    /// How many search hits (newest first) a page of `limit` tickets needs: the page itself
    /// when nothing but the search narrows the queue, else up to [`SEARCH_HITS_CAP`] for the
    /// other filters to choose from. Fewer hits is less of the search index to walk (on
    /// PostgreSQL a common word's hits are found by testing rows newest first).
    pub fn search_hits_wanted(&self, limit: i64) -> i64 {
        let others = TicketFilter {
            ids: None,
            before_id: None,
            ..self.clone()
        };
        if others == TicketFilter::default() {
            limit
        } else {
            SEARCH_HITS_CAP
        }
    }
}

pub const OPEN_STAGES: [&str; 6] = [
    "new",
    "acknowledged",
    "listened",
    "understood",
    "solution_proposed",
    "escalated",
];

/// The queue's query for a filter, without order or limit: shared by the list and the counts.
fn filtered(filter: &TicketFilter) -> tickets::BoxedQuery<'static, super::MultiBackend> {
    let mut query = tickets::table.into_boxed();
    if !filter.stages.is_empty() {
        query = query.filter(any_of::stages(&filter.stages));
    }
    if let Some(v) = &filter.kind {
        query = query.filter(tickets::kind.eq(v.clone()));
    }
    if let Some(v) = &filter.channel {
        query = query.filter(tickets::channel.eq(v.clone()));
    }
    if let Some(v) = &filter.category {
        query = query.filter(tickets::category.eq(v.clone()));
    }
    if let Some(v) = &filter.priority {
        query = query.filter(tickets::priority.eq(v.clone()));
    }
    if let Some(v) = filter.partner_id {
        query = query.filter(tickets::partner_id.eq(v));
    }
    if let Some(v) = filter.customer_id {
        query = query.filter(tickets::customer_id.eq(v));
    }
    // With search hits (`ids`) the hits are the rows to read. SQLite, planning without
    // statistics, would rather walk `tickets_assignee_idx` over every ticket of the agent (a
    // quarter of a million at a million tickets: 39 ms) than look up a thousand ids; written
    // `assignee_id + 0`, the term is no index's, and the ids are looked up (BENCHMARKS.md §2).
    let by_ids = filter.ids.is_some();
    match filter.assignee {
        Some(Some(id)) if by_ids => query = query.filter((tickets::assignee_id + 0i64).eq(id)),
        Some(None) if by_ids => query = query.filter((tickets::assignee_id + 0i64).is_null()),
        Some(Some(id)) => query = query.filter(tickets::assignee_id.eq(id)),
        Some(None) => query = query.filter(tickets::assignee_id.is_null()),
        None => {}
    }
    if let Some(id) = filter.escalated_to {
        query = query
            .filter(tickets::escalated_to.eq(id))
            .filter(tickets::stage.eq("escalated"));
    }
    if let Some(at) = filter.overdue_at {
        query = query.filter(tickets::next_promise_due_at.lt(at));
    }
    if filter.breached {
        query = query.filter(
            tickets::first_response_breached
                .eq(true)
                .or(tickets::resolution_breached.eq(true)),
        );
    }
    if filter.awaiting_follow_up {
        query = query.filter(tickets::next_promise_due_at.is_not_null());
    }
    match filter.awaiting_customer {
        Some(true) => query = query.filter(tickets::awaiting_customer.eq(true)),
        Some(false) => {
            query = query
                .filter(tickets::awaiting_customer.eq(false))
                .filter(any_of::stages(&OPEN_STAGES))
        }
        None => {}
    }
    if let Some(ids) = &filter.ids {
        query = query.filter(any_of::ids(ids));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(tickets::id.lt(before));
    }
    query
}

/// A page of the queue: newest first, `limit` rows.
fn page(filter: &TicketFilter, limit: i64) -> tickets::BoxedQuery<'static, super::MultiBackend> {
    filtered(filter).order(tickets::id.desc()).limit(limit)
}

/// A page of whole tickets, newest first (the scheduler's digests, demo data). The queue reads
/// its list rows with `queue_rows`.
pub fn list(
    conn: &mut DbConnection,
    filter: &TicketFilter,
    limit: i64,
) -> QueryResult<Vec<Ticket>> {
    page(filter, limit).select(Ticket::as_select()).load(conn)
}

/// A page of the queue as list rows (`TicketHead` and the customer's name), newest first.
///
/// The page's ids are picked from an index without whole rows: SQLite with a stage list took
/// a page from each stage's part of the index and read whole rows of all of them before it
/// sorted them and kept one page (BENCHMARKS.md section 2). On SQLite one statement reads the
/// rows whose ids a subquery picks, with their customers' names (before session 15 the ids
/// were a statement of their own, in a read transaction with the rows: 3 % more instructions
/// per JSON queue request). On PostgreSQL the ids come first and the rows by `= ANY(ids)`:
/// the one statement there was planned anew at every execution (~2 ms of PostgreSQL's CPU;
/// its plan for any values, not knowing the LIMIT, would hash-join a scan of every ticket),
/// while the two parts keep cheap plans. A ticket changed between the two shows as it is now.
pub fn queue_rows(
    conn: &mut DbConnection,
    filter: &TicketFilter,
    limit: i64,
) -> QueryResult<Vec<QueueRow>> {
    let mut rows: Vec<QueueRow> = match conn {
        DbConnection::Sqlite(_) => rows_of_page(filter, limit).load(conn)?,
        DbConnection::Postgres(_) => {
            let ids: Vec<i64> = page(filter, limit).select(tickets::id).load(conn)?;
            rows_query().filter(any_of::ids(&ids)).load(conn)?
        }
    };
    rows.sort_unstable_by_key(|(head, _)| std::cmp::Reverse(head.id));
    Ok(rows)
}

/// Queue rows with their customers' names, boxed.
type RowsQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<
        diesel::dsl::InnerJoin<tickets::table, customers::table>,
        (
            diesel::dsl::AsSelect<TicketHead, super::MultiBackend>,
            customers::name,
        ),
    >,
    super::MultiBackend,
>;

/// Queue rows with their customers' names, to be filtered.
fn rows_query() -> RowsQuery {
    tickets::table
        .inner_join(customers::table)
        .select((TicketHead::as_select(), customers::name))
        .into_boxed()
}

/// The statement of `queue_rows` on SQLite.
fn rows_of_page(filter: &TicketFilter, limit: i64) -> RowsQuery {
    rows_query().filter(super::subquery::ids_in(
        page(filter, limit).select(tickets::id),
    ))
}

/// The statement counting each filter's tickets up to `cap`.
fn capped_counts(filters: &[TicketFilter], cap: i64) -> super::subquery::CappedCounts {
    let counts = filters
        .iter()
        .map(|filter| super::subquery::CappedCount {
            probe: filtered(filter)
                .select(tickets::id)
                .limit(1)
                .offset(cap - 1),
            count: filtered(filter).count(),
        })
        .collect();
    super::subquery::capped_counts(counts, cap)
}

/// How many tickets match (for the counts on the queue's tabs), counted up to `cap`: a tab
/// says "1000+" rather than count a million index entries on every page view.
pub fn count_up_to(conn: &mut DbConnection, filter: &TicketFilter, cap: i64) -> QueryResult<i64> {
    Ok(counts_up_to(conn, std::slice::from_ref(filter), cap)?[0])
}

/// How many tickets each filter matches, counted up to `cap`, in one statement (a queue page
/// has six tabs). The database skips to a filter's `cap`-th match without handing over the
/// rows before it; only a filter with fewer than `cap` tickets is then counted exactly.
/// Before session 15 each filter was a statement of its own, and a second one for a small
/// count: up to twelve round trips a page on PostgreSQL.
pub fn counts_up_to(
    conn: &mut DbConnection,
    filters: &[TicketFilter],
    cap: i64,
) -> QueryResult<Vec<i64>> {
    if cap <= 0 {
        return Ok(vec![0; filters.len()]);
    }
    super::subquery::load_counts(conn, capped_counts(filters, cap))
}

/// The database's plans for a queue page and its capped count (see `db::explain`).
pub fn queue_plans(
    conn: &mut DbConnection,
    filter: &TicketFilter,
    limit: i64,
    cap: i64,
) -> QueryResult<(Vec<String>, Vec<String>)> {
    let list = match conn {
        DbConnection::Sqlite(_) => super::explain::plan(conn, rows_of_page(filter, limit))?,
        DbConnection::Postgres(_) => {
            super::explain::plan(conn, page(filter, limit).select(tickets::id))?
        }
    };
    let count = super::explain::plan(conn, capped_counts(std::slice::from_ref(filter), cap))?;
    Ok((list, count))
}

/// Open tickets not yet acknowledged whose first-response target falls before `horizon`.
pub fn first_response_candidates(
    conn: &mut DbConnection,
    horizon: NaiveDateTime,
) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::acknowledged_at.is_null())
        .filter(tickets::stage.eq_any(OPEN_STAGES))
        .filter(tickets::first_response_due_at.le(horizon))
        .filter(tickets::first_response_breached.eq(false))
        .select(Ticket::as_select())
        .load(conn)
}

/// Open tickets whose resolution clock runs (not waiting for the customer) and whose target
/// falls before `horizon`.
pub fn resolution_candidates(
    conn: &mut DbConnection,
    horizon: NaiveDateTime,
) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::stage.eq_any(OPEN_STAGES))
        .filter(tickets::clock_paused_at.is_null())
        .filter(tickets::resolution_due_at.le(horizon))
        .filter(tickets::resolution_breached.eq(false))
        .select(Ticket::as_select())
        .load(conn)
}

/// Sets the target flags the scheduler raises (warned, breached), without touching the
/// version: they are the desk's bookkeeping, not an edit a client could conflict with.
///
/// Only the first to raise a flag changes the row (0 rows: another app server did it).
pub fn set_flag(
    conn: &mut DbConnection,
    id: i64,
    changes: &TicketChanges,
    target: &str,
    breached: bool,
) -> QueryResult<usize> {
    let row = tickets::table.filter(tickets::id.eq(id));
    match (target, breached) {
        ("first_response", true) => {
            diesel::update(row.filter(tickets::first_response_breached.eq(false)))
                .set(changes)
                .execute(conn)
        }
        ("first_response", false) => {
            diesel::update(row.filter(tickets::first_response_warned.eq(false)))
                .set(changes)
                .execute(conn)
        }
        (_, true) => diesel::update(row.filter(tickets::resolution_breached.eq(false)))
            .set(changes)
            .execute(conn),
        (_, false) => diesel::update(row.filter(tickets::resolution_warned.eq(false)))
            .set(changes)
            .execute(conn),
    }
}

#[cfg(test)]
mod tests {
    use super::{TicketFilter, SEARCH_HITS_CAP};

    #[test]
    fn search_alone_needs_one_page_of_hits() {
        let search_only = TicketFilter {
            ids: Some(vec![1, 2]),
            before_id: Some(10),
            ..Default::default()
        };
        assert_eq!(search_only.search_hits_wanted(50), 50);
        let with_tab = TicketFilter {
            assignee: Some(None),
            ..search_only
        };
        assert_eq!(with_tab.search_hits_wanted(50), SEARCH_HITS_CAP);
    }
}
