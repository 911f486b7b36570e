//! One row of the queue page, with its words and dates already written in the reader's
//! language and the shop's zone: `ticket_rows.hbs` only places them. Looking the words up per
//! row through template helpers was a third of a queue page's CPU (BENCHMARKS.md section 2).

use serde::Serialize;

use crate::api::views::TicketSummary;
use crate::config::Locale;
use crate::pages::render::Catalogs;

#[derive(Serialize, Debug)]
pub struct QueueRow {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub customer_name: Option<String>,
    /// The channel in words ("WhatsApp"), and the kind ("Keluhan").
    pub channel_word: String,
    pub kind_word: String,
    pub step: u8,
    pub stage_word: String,
    /// The stored value (for the CSS class) and its word.
    pub priority: String,
    pub priority_word: String,
    /// `overdue` (a promise passed) and `breached` (a service target passed), space-separated.
    pub row_class: &'static str,
    /// A service target passed (first response or resolution).
    pub breached: bool,
    /// The promise's due date in words; `late` how long ago it passed, when it did.
    pub promise: Option<String>,
    pub late: Option<String>,
    /// Closed or resolved: no target column.
    pub finished: bool,
    /// The resolution target: the moment (for the countdown script) and in words.
    #[serde(serialize_with = "crate::api::rfc3339::write_option")]
    pub resolution_due_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolution_due: Option<String>,
}

impl QueueRow {
    pub fn new(
        t: TicketSummary,
        words: &Catalogs,
        locale: Locale,
        zone: chrono_tz::Tz,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let word = |prefix: &str, value: &str| words.value_word(locale, prefix, value);
        let date = |moment| crate::i18n::format_datetime(moment, zone, locale);
        let breached = t.first_response_breached || t.resolution_breached;
        Self {
            channel_word: word("channel", &t.channel),
            kind_word: word("kind", &t.kind),
            stage_word: word("stage", &t.stage),
            priority_word: word("priority", &t.priority),
            promise: t.next_promise_due_at.map(date),
            late: t
                .next_promise_due_at
                .filter(|_| t.overdue)
                .map(|due| crate::i18n::format_duration((now - due).num_minutes(), locale)),
            finished: t.awaiting == "none",
            resolution_due: t.resolution_due_at.map(date),
            resolution_due_at: t.resolution_due_at,
            id: t.id,
            number: t.number,
            subject: t.subject,
            customer_name: t.customer_name,
            step: t.step,
            priority: t.priority,
            row_class: row_class(t.overdue, breached),
            breached,
        }
    }
}

fn row_class(overdue: bool, breached: bool) -> &'static str {
    match (overdue, breached) {
        (true, true) => "overdue breached",
        (true, false) => "overdue",
        (false, true) => "breached",
        (false, false) => "",
    }
}
