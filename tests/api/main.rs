//! The integration suite: each test spawns the real application on a random port with a
//! fresh database. Tests written with `backend_tests!` run on SQLite and, when
//! `TANGGAP_TEST_POSTGRES_URL` is set, on PostgreSQL too.

mod helpers;

mod auth;
mod authz;
mod cli;
mod desk;
mod explain;
mod faults;
mod follow_up;
mod health;
mod load;
mod pages;
mod promises;
mod robustness;
mod schema;
mod smtp;
mod tickets;
mod users;
