//! The rules of the desk. This module knows nothing of HTTP, SQL or email: it takes plain
//! values and answers with plain values, so the API, the pages and the scheduler all ask the
//! same functions.

pub mod access;
pub mod business_time;
pub mod calm;
pub mod contact;
pub mod playbook;
pub mod replacement;
pub mod sign_in;
pub mod user;
pub mod vocab;

/// The human-friendly ticket number: `TGP-000123`.
pub fn ticket_number(id: i64) -> String {
    format!("TGP-{id:06}")
}

/// The ticket id in a number like `TGP-000123` (case-insensitive), if it is one.
pub fn parse_ticket_number(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("tgp-"))
        .map(|_| &text[4..])?;
    digits.parse().ok().filter(|id| *id > 0)
}
