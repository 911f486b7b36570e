//! `tanggap demo-data`: fills an empty desk with a realistic Indonesian shop — a manager, agents,
//! customers, partners, and tickets in every stage of the playbook, some with overdue
//! promises — so a newcomer sees a living desk. Everything goes through the same desk
//! operations the API uses.

use anyhow::Context;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::accounts::{self, UserInput};
use crate::config::Settings;
use crate::db::users::User;
use crate::db::{self, DbConnection};
use crate::desk::customers::CustomerInput;
use crate::desk::tickets::{self, ActionInput, NewTicketInput, ReplacementInput, ReplacementPatch};
use crate::domain::playbook::Action;

const FIRST: [&str; 24] = [
    "Sari", "Budi", "Dewi", "Agus", "Rina", "Andi", "Maya", "Rudi", "Fitri", "Hendra", "Wulan",
    "Eko", "Putri", "Yusuf", "Nur", "Dimas", "Ayu", "Fajar", "Intan", "Bayu", "Lestari", "Joko",
    "Ratna", "Taufik",
];
const LAST: [&str; 12] = [
    "Wulandari",
    "Santoso",
    "Lestari",
    "Hartono",
    "Saputra",
    "Pratama",
    "Kusuma",
    "Hidayat",
    "Siregar",
    "Nasution",
    "Wijaya",
    "Halim",
];
const PRODUCTS: [&str; 10] = [
    "Kaos Batik Parang M",
    "Kemeja Tenun Ikat L",
    "Sandal Kulit 41",
    "Tas Rotan Bali",
    "Hijab Voal Motif",
    "Gamis Katun Jepang",
    "Sepatu Kanvas 40",
    "Dompet Kulit Garut",
    "Mukena Katun",
    "Celana Chino 32",
];
const COMPLAINTS: [(&str, &str, &str); 8] = [
    (
        "late_delivery",
        "Paket belum sampai",
        "Kak, sudah 8 hari paket saya belum sampai juga. Katanya 3 hari?",
    ),
    (
        "wrong_item",
        "Barang yang datang beda",
        "Saya pesan warna navy kok yang datang hitam ya kak",
    ),
    (
        "wrong_size_or_colour",
        "Ukuran kekecilan",
        "Ukuran M-nya kecil banget, tidak sesuai size chart",
    ),
    (
        "defective",
        "Jahitan lepas",
        "Baru dipakai sekali jahitannya sudah lepas di bahu",
    ),
    (
        "damaged_in_transit",
        "Paket rusak waktu diterima",
        "Kardusnya penyok dan barangnya patah, ini fotonya",
    ),
    (
        "missing_item",
        "Barang kurang satu",
        "Pesan 3 yang datang cuma 2 kak",
    ),
    (
        "service",
        "Admin lama balas",
        "Sudah chat dari kemarin tidak dibalas-balas",
    ),
    (
        "billing",
        "Transfer sudah tapi status belum bayar",
        "Saya sudah transfer tapi di marketplace masih menunggu pembayaran",
    ),
];
const CHANNELS: [&str; 7] = [
    "whatsapp",
    "instagram",
    "marketplace",
    "facebook",
    "phone",
    "email",
    "walk_in",
];

mod bulk;

/// Tickets made through the real desk operations; beyond these, bulk copies.
pub const WALKED: usize = 400;

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).unwrap_or(&items[0])
}

/// Fills an empty desk (only the first admin may exist). Returns the number of tickets made.
///
/// The first [`WALKED`] tickets walk the real desk operations; the rest are bulk copies of
/// them (see `bulk`), `overdue` of which hold a promise past due (default: one in twenty).
pub fn fill(
    conn: &mut DbConnection,
    settings: &Settings,
    ticket_count: usize,
    overdue: Option<usize>,
    progress: &mut dyn FnMut(usize),
) -> anyhow::Result<usize> {
    let mail = crate::mail::Mailroom::new(settings.clone(), false)?;
    crate::desk::targets::seed_defaults(conn)?;
    let existing = db::tickets::list(conn, &Default::default(), 1)?;
    anyhow::ensure!(
        existing.is_empty(),
        "demo-data fills an empty desk, and this one has tickets already"
    );
    let mut rng = StdRng::seed_from_u64(2026);
    let password = "demo kopi susu gula aren";
    let add_user = |conn: &mut DbConnection,
                    email: &str,
                    name: &str,
                    role: &str,
                    manager: Option<i64>|
     -> anyhow::Result<User> {
        let input = UserInput {
            email: email.into(),
            name: name.into(),
            role: role.into(),
            password: password.into(),
            manager_id: manager,
            locale: None,
            must_change_password: false,
        };
        accounts::create_user(conn, &input, settings.locale)
            .map_err(|e| anyhow::anyhow!("{email}: {e}"))
    };
    let manager = add_user(
        conn,
        "rina.manajer@toko.test",
        "Rina (Manajer CS)",
        "manager",
        None,
    )?;
    let agents = vec![
        add_user(conn, "budi.cs@toko.test", "Budi", "agent", Some(manager.id))?,
        add_user(conn, "sari.cs@toko.test", "Sari", "agent", Some(manager.id))?,
        add_user(
            conn,
            "dimas.cs@toko.test",
            "Dimas",
            "agent",
            Some(manager.id),
        )?,
    ];
    let partners: Vec<i64> = [
        ("Reseller Bu Ani (Bandung)", "reseller"),
        ("Dropship Kak Yuni", "dropshipper"),
        ("Toko Titip Jual Makmur", "stockist"),
        ("Agen Surabaya Raya", "agent"),
    ]
    .iter()
    .map(|(name, kind)| {
        db::customers::insert_partner(conn, name, kind, "", db::now()).map(|p| p.id)
    })
    .collect::<Result<_, _>>()?;

    let walked = ticket_count.min(WALKED);
    for n in 0..walked {
        let agent = pick(&mut rng, &agents).clone();
        let name = format!("{} {}", pick(&mut rng, &FIRST), pick(&mut rng, &LAST));
        let phone = format!("08{:010}", rng.gen_range(1_000_000_000u64..9_999_999_999));
        let feedback = n % 10 == 9;
        let (category, subject, words) = if feedback {
            (
                "praise",
                "Bahannya adem, suka!",
                "Kak bajunya bagus banget, bahannya adem. Pasti order lagi!",
            )
        } else {
            *pick(&mut rng, &COMPLAINTS)
        };
        let input = NewTicketInput {
            kind: Some(if feedback { "feedback" } else { "complaint" }.into()),
            channel: pick(&mut rng, &CHANNELS).to_string(),
            customer_id: None,
            customer: Some(CustomerInput {
                name: Some(name),
                whatsapp: Some(phone),
                ..Default::default()
            }),
            partner_id: (n % 4 == 0).then(|| *pick(&mut rng, &partners)),
            subject: subject.into(),
            words: words.into(),
            product: Some(pick(&mut rng, &PRODUCTS).to_string()),
            order_ref: Some(format!("INV/2026/{:05}", 10_000 + n)),
            category: Some(category.into()),
            priority: Some(
                pick(&mut rng, &["low", "normal", "normal", "high", "urgent"]).to_string(),
            ),
        };
        let ticket = tickets::create(conn, &mail, &agent, &input)
            .map_err(|e| anyhow::anyhow!("ticket {n}: {e}"))?
            .ticket;
        walk(
            conn, &mail, &mut rng, &agent, &manager, ticket.id, feedback, category,
        )
        .with_context(|| format!("walking ticket {n}"))?;
    }
    progress(walked);
    let copies = ticket_count - walked;
    if copies > 0 {
        let templates = db::tickets::list(conn, &Default::default(), WALKED as i64)?;
        let overdue = overdue.unwrap_or(copies / 20).min(copies);
        bulk::copy(conn, &mut rng, &templates, copies, overdue, &mut |done| {
            progress(walked + done)
        })?;
        // Leave the database as autovacuum would after a bulk load. Fresh statistics: without
        // them PostgreSQL's planner guesses, and a queue tab took a second instead of a
        // millisecond at a million tickets. A visibility map: without it every index-only
        // scan visits the table too, and the queue page's six tab counts took 7.7 ms instead
        // of 1.9 ms.
        if let DbConnection::Postgres(_) = conn {
            diesel::connection::SimpleConnection::batch_execute(conn, "VACUUM ANALYZE")?;
        }
    }
    Ok(ticket_count)
}

/// Moves a new ticket some way along the playbook, so every stage is represented.
#[allow(clippy::too_many_arguments)]
fn walk(
    conn: &mut DbConnection,
    mail: &crate::mail::Mailroom,
    rng: &mut StdRng,
    agent: &User,
    manager: &User,
    id: i64,
    feedback: bool,
    category: &str,
) -> anyhow::Result<()> {
    let depth = rng.gen_range(0..9);
    let act = |conn: &mut DbConnection, who: &User, action: Action, input: ActionInput| {
        tickets::act(conn, mail, who, id, action, &input)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{action}: {e}"))
    };
    if depth == 0 {
        return Ok(());
    }
    act(
        conn,
        agent,
        Action::Acknowledge,
        ActionInput {
            message: Some(
                "Terima kasih sudah menghubungi kami, Kak. Mohon maaf atas ketidaknyamanannya."
                    .into(),
            ),
            ..Default::default()
        },
    )?;
    if feedback {
        if depth > 3 {
            act(
                conn,
                agent,
                Action::Resolve,
                ActionInput {
                    summary: Some("Pujian diteruskan ke tim produksi.".into()),
                    ..Default::default()
                },
            )?;
        }
        return Ok(());
    }
    if depth == 1 {
        return Ok(());
    }
    act(
        conn,
        agent,
        Action::Record,
        ActionInput {
            category: Some(category.into()),
            details: Some("Pelanggan mengirim foto; kondisi sesuai keluhan.".into()),
            ..Default::default()
        },
    )?;
    if depth == 2 {
        promise(conn, mail, rng, agent, id)?;
        return Ok(());
    }
    act(
        conn,
        agent,
        Action::Diagnose,
        ActionInput {
            root_cause: Some("Gudang salah ambil stok saat promo 11.11.".into()),
            ..Default::default()
        },
    )?;
    if depth == 3 && rng.gen_bool(0.5) {
        return Ok(());
    }
    if depth == 3 {
        act(
            conn,
            agent,
            Action::Escalate,
            ActionInput {
                to_user_id: Some(manager.id),
                reason: Some("Pelanggan minta refund penuh.".into()),
                ..Default::default()
            },
        )?;
        return Ok(());
    }
    let replacement = depth >= 6;
    let (kind, text) = if replacement {
        (
            "replacement",
            "Kami kirim barang pengganti hari ini, ongkir kami tanggung.",
        )
    } else {
        (
            "voucher",
            "Kami beri voucher Rp20.000 untuk belanja berikutnya.",
        )
    };
    act(
        conn,
        agent,
        Action::Propose,
        ActionInput {
            solution_type: Some(kind.into()),
            solution: Some(text.into()),
            ..Default::default()
        },
    )?;
    if depth == 4 {
        promise(conn, mail, rng, agent, id)?;
        return Ok(());
    }
    act(
        conn,
        agent,
        Action::CustomerResponse,
        ActionInput {
            accepted: Some(true),
            comment: Some("Oke kak, terima kasih".into()),
            ..Default::default()
        },
    )?;
    if replacement {
        let r = tickets::add_replacement(
            conn,
            agent,
            id,
            &ReplacementInput {
                item: "Barang pengganti".into(),
                quantity: 1,
                reason: "cacat".into(),
                cost: 85_000,
                version: None,
            },
        )
        .map_err(|e| anyhow::anyhow!("replacement: {e}"))?;
        let steps: &[(&str, Option<&str>)] = match depth {
            6 => &[("approved", None)],
            _ => &[
                ("approved", None),
                ("shipped", Some("JNE")),
                ("delivered", None),
            ],
        };
        for (status, courier) in steps {
            let patch = ReplacementPatch {
                status: status.to_string(),
                courier: courier.map(str::to_owned),
                tracking_number: courier
                    .map(|_| format!("JNE{}", rng.gen_range(100_000_000u64..999_999_999))),
                reason: None,
                version: None,
                notify_customer: None,
            };
            tickets::update_replacement(conn, mail, agent, r.id, &patch)
                .map_err(|e| anyhow::anyhow!("replacement {status}: {e}"))?;
        }
        if depth == 6 {
            return Ok(());
        }
    }
    act(
        conn,
        agent,
        Action::Resolve,
        ActionInput {
            summary: Some("Solusi diterima pelanggan.".into()),
            ..Default::default()
        },
    )?;
    if depth == 8 {
        act(conn, agent, Action::Close, ActionInput::default())?;
    }
    Ok(())
}

/// A promise; one in three is already overdue (its due time set in the past, as if days
/// had gone by).
fn promise(
    conn: &mut DbConnection,
    mail: &crate::mail::Mailroom,
    rng: &mut StdRng,
    agent: &User,
    id: i64,
) -> anyhow::Result<()> {
    let due = Utc::now() + Duration::hours(rng.gen_range(2..72));
    let p = tickets::add_promise(
        conn,
        mail,
        agent,
        id,
        None,
        due,
        "Kabari hasil cek gudang",
        None,
    )
    .map_err(|e| anyhow::anyhow!("promise: {e}"))?;
    if rng.gen_ratio(1, 3) {
        use crate::db::schema::{promises, tickets as t};
        let past = (Utc::now() - Duration::hours(rng.gen_range(1..48))).naive_utc();
        diesel::update(promises::table.find(p.id))
            .set(promises::due_at.eq(past))
            .execute(conn)?;
        diesel::update(t::table.find(id))
            .set(t::next_promise_due_at.eq(Some(past)))
            .execute(conn)?;
    }
    Ok(())
}
