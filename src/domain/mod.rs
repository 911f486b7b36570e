//! The rules of the desk. This module knows nothing of HTTP, SQL or email: it takes plain
//! values and answers with plain values, so the API, the pages and the scheduler all ask the
//! same functions.

pub mod playbook;
pub mod sign_in;
pub mod user;
pub mod vocab;
