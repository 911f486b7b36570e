//! The storage limit for ticket intake: a raw diesel loop that writes what one
//! `POST /api/tickets` writes (customer, ticket, timeline event, search index row), one
//! transaction per ticket, on one connection — no HTTP, no JSON, no validation, no targets.
//! `bench/run.sh` runs it beside the HTTP intake benchmark on the same kind of database.
//!
//! Usage: `cargo bench --bench storage -- <sqlite-file | postgres-url> <tickets> [full|normal]`

use std::time::Instant;

use tanggap::config::{DatabaseUrl, Synchronous};
use tanggap::db::customers::NewCustomer;
use tanggap::db::events::NewEvent;
use tanggap::db::tickets::NewTicket;
use tanggap::db::{self, DbConnection};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let target = args
        .first()
        .cloned()
        .unwrap_or_else(|| "target/bench-storage.db".into());
    let count: usize = args.get(1).map_or(Ok(5_000), |n| n.parse())?;
    let synchronous = args.get(2).cloned().unwrap_or_else(|| "full".into());
    let url = if target.starts_with("postgres") {
        DatabaseUrl::Postgres(target.clone())
    } else {
        let _ = std::fs::remove_file(&target);
        // In the URL, not a PRAGMA on this connection: writes run on the pool's writer
        // connection (group commit), which opens with the URL's settings.
        DatabaseUrl::Sqlite {
            path: target.clone().into(),
            synchronous: Synchronous::parse(&synchronous)
                .ok_or_else(|| anyhow::anyhow!("synchronous: full or normal"))?,
        }
    };
    let pool = db::connect_pool(&url, 1)?;
    let mut conn = pool.get()?;
    let conn: &mut DbConnection = &mut conn;
    let run = format!("{:x}", std::process::id());
    let started = Instant::now();
    for n in 0..count {
        let now = db::now();
        let phone = format!("6281{:06}{:04}", std::process::id() % 1_000_000, n % 10_000);
        let name = format!("Pelanggan {run} {n}");
        db::write(conn, |conn| -> anyhow::Result<()> {
            let customer = db::customers::insert(
                conn,
                &NewCustomer {
                    name: &name,
                    email: None,
                    phone: None,
                    whatsapp: Some(&format!("{phone}{n}")),
                    instagram: None,
                    locale: "id",
                    notes: "",
                    email_opt_out: false,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            let ticket = db::tickets::insert(
                conn,
                &NewTicket {
                    kind: "complaint",
                    channel: "whatsapp",
                    customer_id: customer.id,
                    partner_id: None,
                    subject: "Paket belum sampai",
                    customer_words: "Kak, sudah 8 hari paket saya belum sampai juga.",
                    product: Some("Kaos Batik Parang M"),
                    order_ref: Some("INV/2026/00001"),
                    category: Some("late_delivery"),
                    priority: "normal",
                    stage: "new",
                    assignee_id: None,
                    created_by: None,
                    awaiting_customer: false,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    first_response_due_at: Some(now),
                    resolution_due_at: Some(now),
                },
            )?;
            db::events::append(
                conn,
                &NewEvent {
                    ticket_id: ticket.id,
                    actor_id: None,
                    kind: "created".into(),
                    visibility: "public".into(),
                    body: Some(ticket.customer_words.clone()),
                    data: Some(r#"{"channel":"whatsapp"}"#.into()),
                    created_at: now,
                },
            )?;
            db::search::index(conn, ticket.id, "TGP Paket belum sampai Kak sudah 8 hari")?;
            Ok(())
        })?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "storage: {count} tickets in {elapsed:.2} s = {:.0} tickets/s ({}, synchronous={synchronous})",
        count as f64 / elapsed,
        if target.starts_with("postgres") { "postgres" } else { "sqlite" },
    );
    Ok(())
}
