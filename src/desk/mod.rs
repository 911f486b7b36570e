//! Desk operations shared by the JSON API, the pages and the CLI: each checks its input with
//! the domain rules and writes through `db` in one transaction. No HTTP here.

pub mod attachments;
pub mod canned;
pub mod customers;
pub mod queue;
pub mod targets;
pub mod tickets;
