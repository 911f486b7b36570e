//! The queue never reads the whole tickets table: for every tab (and the filters and search
//! a tab combines with), the database's own plan for the page and for the tab's count uses an
//! index. On PostgreSQL sequential scans are switched off for the session, so a plan that
//! still shows `Seq Scan on tickets` has no index to use. SQLite (without ANALYZE statistics,
//! as a desk runs) plans as for a big table. The data: `demo-data` tickets in every stage.

use diesel::connection::SimpleConnection;
use tanggap::db::search;
use tanggap::db::tickets::{queue_plans, TicketFilter};
use tanggap::db::DbConnection;
use tanggap::pages::queue::{tab_filter, COUNT_CAP, TABS};

use crate::helpers::TestApp;

/// Whether a plan line reads every row of `tickets`.
fn full_scan(line: &str) -> bool {
    let line = line.trim();
    // SQLite: "SCAN tickets" alone walks the table; "SCAN tickets USING ... INDEX" walks an
    // index (a partial one, or an index in the page's order that stops at LIMIT).
    line == "SCAN tickets"
        || line == "SCAN customers"
        || line.contains("Seq Scan on tickets")
        || line.contains("Seq Scan on customers")
}

async fn no_tab_scans_the_whole_table(app: TestApp) {
    let settings = app.state.settings.clone();
    let mut conn = app.conn();
    tanggap::demo::fill(&mut conn, &settings, 1_500, Some(100), &mut |_| {}).unwrap();
    if let DbConnection::Postgres(_) = &mut **conn {
        conn.batch_execute("ANALYZE; SET enable_seqscan = off;")
            .unwrap();
    }
    let agent = tanggap::db::users::find_by_email(&mut conn, "budi.cs@toko.test")
        .unwrap()
        .expect("the demo agent")
        .id;
    let ids: Vec<i64> = tanggap::db::tickets::list(&mut conn, &TicketFilter::default(), 30)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids.len(), 30);

    // What a tab may be combined with in the queue's filter bar.
    let extras: Vec<(&str, TicketFilter)> = vec![
        ("no filter", TicketFilter::default()),
        (
            "stage",
            TicketFilter {
                stages: vec!["escalated".into()],
                ..Default::default()
            },
        ),
        (
            "stages",
            TicketFilter {
                stages: vec!["new".into(), "acknowledged".into()],
                ..Default::default()
            },
        ),
        (
            "channel",
            TicketFilter {
                channel: Some("whatsapp".into()),
                ..Default::default()
            },
        ),
        (
            "category",
            TicketFilter {
                category: Some("defective".into()),
                ..Default::default()
            },
        ),
        (
            "priority",
            TicketFilter {
                priority: Some("urgent".into()),
                ..Default::default()
            },
        ),
        (
            "kind",
            TicketFilter {
                kind: Some("feedback".into()),
                ..Default::default()
            },
        ),
        (
            "partner",
            TicketFilter {
                partner_id: Some(1),
                ..Default::default()
            },
        ),
        (
            "customer",
            TicketFilter {
                customer_id: Some(1),
                ..Default::default()
            },
        ),
        (
            "search hits",
            TicketFilter {
                ids: Some(ids.clone()),
                ..Default::default()
            },
        ),
        (
            "next page",
            TicketFilter {
                before_id: Some(ids[10]),
                ..Default::default()
            },
        ),
    ];
    let is_sqlite = matches!(&mut **conn, DbConnection::Sqlite(_));
    let mut checked = 0;
    for tab in TABS {
        for (name, extra) in &extras {
            let filter = tab_filter(tab, agent, extra);
            let (list, count) = queue_plans(&mut conn, &filter, 50, COUNT_CAP + 1).unwrap();
            assert!(
                !list.is_empty() && !count.is_empty(),
                "no plan for {tab}/{name}"
            );
            // Only the unfiltered "all" tab may walk the table itself: newest first in the
            // primary key's order, it stops after one page (or after COUNT_CAP ids).
            // Once per plan: the page's ids, or the count's probe.
            let unfiltered = tab == "all" && *name == "no filter";
            for plan in [&list, &count] {
                let mut exempt = unfiltered;
                for line in plan.iter() {
                    if exempt && line.trim() == "SCAN tickets" {
                        exempt = false;
                        continue;
                    }
                    assert!(
                        !full_scan(line),
                        "tab {tab} with {name} scans the whole table:\n{}\n--\n{}",
                        list.join("\n"),
                        count.join("\n")
                    );
                }
            }
            // On SQLite the rows are read by the ids the subquery picked.
            if is_sqlite {
                assert!(
                    list.iter()
                        .any(|l| l.contains("SEARCH tickets USING INTEGER PRIMARY KEY")),
                    "{}",
                    list.join("\n")
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, TABS.len() * extras.len());
    // The check itself can fail: on SQLite, with the indexes of the breached flags dropped,
    // that filter shows the table scan. (PostgreSQL with sequential scans off walks the primary
    // key instead.)
    if let DbConnection::Sqlite(sqlite) = &mut **conn {
        use diesel::connection::SimpleConnection;
        sqlite
            .batch_execute(
                "DROP INDEX tickets_first_response_open_idx; DROP INDEX tickets_resolution_open_idx;",
            )
            .unwrap();
        let unindexed = TicketFilter {
            breached: true,
            ..Default::default()
        };
        let (list, count) = queue_plans(&mut conn, &unindexed, 50, COUNT_CAP + 1).unwrap();
        assert!(
            list.iter().chain(&count).any(|l| full_scan(l)),
            "expected the unindexed breached filter to show a scan: {list:?} {count:?}"
        );
    }
}

crate::backend_tests!(no_tab_scans_the_whole_table);

/// A search within one agent's tickets (or the unassigned ones) looks up its hits by id, not
/// every ticket of the agent through `tickets_assignee_idx` (SQLite, which plans without
/// statistics, preferred the index: 39 ms at a million tickets). The control, the same filter
/// without hits, reads that index, so the check can tell the two apart.
async fn a_search_within_an_agents_tickets_looks_up_its_hits(app: TestApp) {
    let settings = app.state.settings.clone();
    let mut conn = app.conn();
    if !matches!(&mut **conn, DbConnection::Sqlite(_)) {
        return;
    }
    tanggap::demo::fill(&mut conn, &settings, 1_500, Some(100), &mut |_| {}).unwrap();
    let agent = tanggap::db::users::find_by_email(&mut conn, "budi.cs@toko.test")
        .unwrap()
        .expect("the demo agent")
        .id;
    let ids: Vec<i64> = tanggap::db::tickets::list(&mut conn, &TicketFilter::default(), 300)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    for assignee in [Some(agent), None] {
        let hits = TicketFilter {
            assignee: Some(assignee),
            ids: Some(ids.clone()),
            ..Default::default()
        };
        let (list, count) = queue_plans(&mut conn, &hits, 50, COUNT_CAP + 1).unwrap();
        for plan in [&list, &count] {
            let text = plan.join("\n");
            assert!(
                text.contains("INTEGER PRIMARY KEY") && !text.contains("tickets_assignee_idx"),
                "{assignee:?}: {text}"
            );
        }
        let control = TicketFilter { ids: None, ..hits };
        let (list, _) = queue_plans(&mut conn, &control, 50, COUNT_CAP + 1).unwrap();
        assert!(list.join("\n").contains("tickets_assignee_idx"), "{list:?}");
    }
}

crate::backend_tests!(a_search_within_an_agents_tickets_looks_up_its_hits);

/// Whether a search plan line reads all of `ticket_search` or computes the tsvector per row.
fn search_scans(line: &str) -> bool {
    line.contains("Seq Scan on ticket_search") || line.contains("to_tsvector")
}

/// Search reads the stored `vector`, never computes `to_tsvector` per row (at a million
/// tickets that walk cost 75-200 ms for a common word) and never reads the whole table. On
/// SQLite every search goes through the FTS5 index. On PostgreSQL which index answers is the
/// planner's choice by the data's size: at 1,500 test tickets walking ids backwards is right
/// even for a word nobody wrote, so the GIN index itself is measured at a million tickets
/// (BENCHMARKS.md), not asserted here.
async fn search_uses_the_index(app: TestApp) {
    let settings = app.state.settings.clone();
    let mut conn = app.conn();
    tanggap::demo::fill(&mut conn, &settings, 1_500, Some(100), &mut |_| {}).unwrap();
    let newest = tanggap::db::tickets::list(&mut conn, &TicketFilter::default(), 1)
        .unwrap()
        .first()
        .expect("demo tickets")
        .id;
    if let DbConnection::Postgres(_) = &mut **conn {
        conn.batch_execute("ANALYZE; SET enable_seqscan = off;")
            .unwrap();
    }
    // A common word, two words, a word nobody wrote, and later pages.
    let searches = [
        ("jahitan", None),
        ("paket rusak", None),
        ("jahitan", Some(newest - 100)),
        ("zzzzzz", None),
        ("zzzzzz", Some(newest - 100)),
    ];
    for (words, before_id) in searches {
        let plan = search::plan(&mut conn, words, before_id, 1000).unwrap();
        assert!(!plan.is_empty(), "no plan for {words:?}");
        let uses_index = match &mut **conn {
            DbConnection::Postgres(_) => true,
            // FTS5 answers MATCH through its own index: "VIRTUAL TABLE INDEX".
            DbConnection::Sqlite(_) => plan.iter().any(|l| l.contains("VIRTUAL TABLE INDEX")),
        };
        assert!(
            uses_index && !plan.iter().any(|l| search_scans(l)),
            "search for {words:?} before {before_id:?} scans:\n{}",
            plan.join("\n")
        );
    }
    // The check itself can fail: the old query (the tsvector computed from `document`) shows
    // the computation.
    if let DbConnection::Postgres(_) = &mut **conn {
        let computed = tanggap::db::explain::plan(
            &mut conn,
            diesel::sql_query(
                "SELECT ticket_id FROM ticket_search \
                 WHERE to_tsvector('simple', document) @@ to_tsquery('simple', 'jahitan') \
                 ORDER BY ticket_id DESC LIMIT 1000",
            ),
        )
        .unwrap();
        assert!(
            computed.iter().any(|l| search_scans(l)),
            "expected the computed tsvector to show: {computed:?}"
        );
    }
}

crate::backend_tests!(search_uses_the_index);

/// Whether a plan line walks the whole outbox, sent mails and all.
fn walks_sent_mail(line: &str) -> bool {
    let line = line.trim();
    line == "SCAN outbox" || line.contains("Seq Scan on outbox") || line.contains("outbox_pkey")
}

/// Dispatchers look at unsent mails only. Claiming once walked the primary key past every mail
/// ever sent (65 ms per claim at 50,000 sent mails on PostgreSQL, growing with the outbox);
/// PostgreSQL now walks `outbox_unsent_idx` (only pending and sending mails), SQLite reads
/// the pending and sending ranges of `outbox_due_idx`.
async fn claiming_mail_reads_only_unsent_mail(app: TestApp) {
    let mut conn = app.conn();
    let is_postgres = matches!(&mut **conn, DbConnection::Postgres(_));
    // 3,000 sent mails and a few pending ones, as an outbox looks after a while.
    let long_ago = if is_postgres {
        "TIMESTAMP '2026-01-01 00:00:00'"
    } else {
        "'2026-01-01 00:00:00'"
    };
    conn.batch_execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3010) \
         INSERT INTO outbox (idempotency_key, kind, to_address, subject, text_body, html_body, \
                             message_id, status, attempts, next_attempt_at, created_at) \
         SELECT 'k' || i, 'test', 'a@toko.test', 's', 't', 'h', 'm' || i, \
                CASE WHEN i <= 3000 THEN 'sent' ELSE 'pending' END, 1, \
                {long_ago}, {long_ago} FROM n"
    ))
    .unwrap();
    // SQLite plans without statistics, as a desk runs.
    if is_postgres {
        conn.batch_execute("ANALYZE outbox").unwrap();
    }
    let now = chrono::NaiveDate::from_ymd_opt(2026, 2, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let plan = tanggap::db::outbox::claim_plan(&mut conn, now).unwrap();
    let by_status = |plan: &[String]| {
        plan.iter()
            .any(|l| l.contains("outbox_unsent_idx") || l.contains("outbox_due_idx"))
            && !plan.iter().any(|l| walks_sent_mail(l))
    };
    assert!(
        by_status(&plan),
        "the claim walks the sent mails:\n{}",
        plan.join("\n")
    );
    // The claim takes the oldest pending mails (UPDATE … RETURNING has no order), once.
    let taken = tanggap::db::outbox::claim(&mut conn, "w", now, now, now, 5).unwrap();
    let mut keys: Vec<&str> = taken.iter().map(|m| m.idempotency_key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["k3001", "k3002", "k3003", "k3004", "k3005"]);
    assert!(taken
        .iter()
        .all(|m| m.status == "sending" && m.attempts == 2));
    let rest = tanggap::db::outbox::claim(&mut conn, "w", now, now, now, 50).unwrap();
    assert_eq!(rest.len(), 5);
    // The check can fail: without the status indexes the plan walks the sent mails too.
    conn.batch_execute("DROP INDEX outbox_unsent_idx; DROP INDEX outbox_due_idx;")
        .unwrap();
    let plan = tanggap::db::outbox::claim_plan(&mut conn, now).unwrap();
    assert!(!by_status(&plan), "{plan:?}");
}

crate::backend_tests!(claiming_mail_reads_only_unsent_mail);

/// The scheduler's three questions about promises (reminders, overdue alerts, climbing) are
/// answered from index ranges, never by reading every promise. On SQLite (which plans without
/// statistics, as at a million rows) the overdue alerts and the climb each read their own index
/// (migration 000006), which skips the promises already done; PostgreSQL plans this small
/// table by its statistics, so there the check is that no plan reads the whole table.
async fn the_scheduler_reads_promises_from_its_indexes(app: TestApp) {
    let settings = app.state.settings.clone();
    let mut conn = app.conn();
    tanggap::demo::fill(&mut conn, &settings, 1_500, Some(100), &mut |_| {}).unwrap();
    let is_postgres = matches!(&mut **conn, DbConnection::Postgres(_));
    if is_postgres {
        conn.batch_execute("ANALYZE; SET enable_seqscan = off;")
            .unwrap();
    }
    let now = tanggap::db::now();
    let scans = |plan: &[String]| {
        plan.iter().any(|l| {
            let l = l.trim();
            l == "SCAN promises" || l.contains("Seq Scan on promises")
        })
    };
    let plans = tanggap::db::promises::scheduler_plans(&mut conn, now).unwrap();
    for (question, indexes) in [
        (
            "reminders",
            &["promises_unalerted_idx", "promises_open_due_idx"][..],
        ),
        ("overdue", &["promises_unalerted_idx"][..]),
        ("climb", &["promises_climb_idx"][..]),
    ] {
        let plan = &plans.iter().find(|(n, _)| *n == question).unwrap().1;
        let indexed = is_postgres || plan.iter().any(|l| indexes.iter().any(|i| l.contains(i)));
        assert!(indexed && !scans(plan), "{question}: {plan:?}");
    }
    // The check can fail: without the indexes every question reads the whole table.
    for index in [
        "promises_unalerted_idx",
        "promises_climb_idx",
        "promises_open_due_idx",
    ] {
        conn.batch_execute(&format!("DROP INDEX {index}")).unwrap();
    }
    for (question, plan) in tanggap::db::promises::scheduler_plans(&mut conn, now).unwrap() {
        assert!(scans(&plan), "{question}: {plan:?}");
    }
}

crate::backend_tests!(the_scheduler_reads_promises_from_its_indexes);

/// A tab's count is exact below the cap and the cap at or above it (the count skips to the
/// cap-th match, then counts only a smaller tab).
async fn tab_counts_are_exact_up_to_the_cap(app: TestApp) {
    let settings = app.state.settings.clone();
    let mut conn = app.conn();
    tanggap::demo::fill(&mut conn, &settings, 300, Some(20), &mut |_| {}).unwrap();
    let filters = [
        TicketFilter::default(),
        TicketFilter {
            stages: vec!["new".into(), "escalated".into()],
            ..Default::default()
        },
        TicketFilter {
            overdue_at: Some(tanggap::db::now()),
            ..Default::default()
        },
    ];
    // Several filters in one statement: each count exact below the cap, the cap at or above.
    let exacts: Vec<i64> = filters
        .iter()
        .map(|f| {
            tanggap::db::tickets::list(&mut conn, f, 100_000)
                .unwrap()
                .len() as i64
        })
        .collect();
    let mut caps: Vec<i64> = vec![0, 1, COUNT_CAP + 1];
    caps.extend(exacts.iter().flat_map(|&n| [n - 1, n, n + 1]));
    for cap in caps {
        let expected: Vec<i64> = exacts.iter().map(|&n| n.min(cap.max(0))).collect();
        assert_eq!(
            tanggap::db::tickets::counts_up_to(&mut conn, &filters, cap).unwrap(),
            expected,
            "cap {cap}"
        );
    }
    assert_eq!(
        tanggap::db::tickets::counts_up_to(&mut conn, &[], 5).unwrap(),
        Vec::<i64>::new()
    );
    for (filter, &exact) in filters.iter().zip(&exacts) {
        assert!(exact > 2, "{filter:?} matches {exact}");
        for cap in [1, exact - 1, exact, exact + 1, COUNT_CAP + 1] {
            assert_eq!(
                tanggap::db::tickets::count_up_to(&mut conn, filter, cap).unwrap(),
                exact.min(cap),
                "{filter:?} with cap {cap}"
            );
        }
    }
}

crate::backend_tests!(tab_counts_are_exact_up_to_the_cap);
