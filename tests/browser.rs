//! Page flows in a real headless Chromium over WebDriver (chromedriver): sign in, quick
//! capture, a complaint walked through the six steps, the customer answering and rating on
//! their own page, an overdue ticket in the overdue tab, the language switch. Screenshots of
//! the queue, a ticket and the dashboard land in docs/screenshots/.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test says so and passes,
//! unless `TANGGAP_TEST_REQUIRE_BROWSER=1` (CI sets it): then a missing browser fails.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_binary(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

async fn browser() -> Option<(Driver, Client)> {
    let driver = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let chromium = find_binary(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        if std::env::var("TANGGAP_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("TANGGAP_TEST_REQUIRE_BROWSER=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)");
        }
        eprintln!("chromium/chromedriver not installed: browser tests skipped");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let profile = tempfile::tempdir().unwrap().keep();
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                     "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())]
        }
    }))
    .unwrap();
    for _ in 0..50 {
        if let Ok(client) = ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            return Some((driver, client));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not start");
}

async fn fill(c: &Client, css: &str, text: &str) {
    let field = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.ok();
    field.send_keys(text).await.unwrap();
}

/// Clicks something that loads a new page, and waits until the new page is there.
async fn click(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..100 {
        let ready = c.execute("return document.readyState", vec![]).await.ok();
        if ready.as_ref().and_then(|v| v.as_str()) == Some("complete") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks something on the page (a radio button) without leaving it.
async fn pick(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap(),
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let body = c.find(Locator::Css("main")).await.ok();
            let shown = match body {
                Some(b) => b.text().await.unwrap_or_default(),
                None => String::new(),
            };
            panic!("{css}: {e}\nat {url}:\n{shown}")
        }
    }
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/screenshots")
        .join(name);
    std::fs::write(path, png).unwrap();
}

async fn sign_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#email", email).await;
    fill(c, "#password", password).await;
    click(c, "#login-submit").await;
    let url = c.current_url().await.unwrap();
    assert!(url.path().starts_with("/queue"), "signed in: {url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_in_a_real_browser() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = helpers::spawn_app(helpers::Backend::Sqlite).await.unwrap();
    let base = app.address.clone();
    let admin = app.admin_token().await;
    let manager = app
        .post("/api/users", Some(&admin), json!({ "email": "rina@toko.test", "name": "Rina Manajer", "role": "manager", "password": "kopi susu gula aren" }))
        .await;
    let manager_id = manager.body["id"].as_i64().unwrap();
    app.post("/api/users", Some(&admin), json!({ "email": "budi@toko.test", "name": "Budi", "role": "agent", "password": "kopi susu gula aren", "manager_id": manager_id }))
        .await;

    // Sign in as the agent; the interface starts in Indonesian.
    sign_in(&c, &base, "budi@toko.test", "kopi susu gula aren").await;
    assert!(text(&c, "header.top nav").await.contains("Antrean"));

    // Quick capture.
    click(&c, "#nav-new").await;
    fill(&c, "#customer_name", "Sari <script>alert(1)</script>").await;
    fill(&c, "#customer_whatsapp", "0812 3456 7890").await;
    fill(&c, "#subject", "Kaos sobek di jahitan").await;
    fill(
        &c,
        "#words",
        "Kak, kaos yang saya terima sobek di jahitan bahu.",
    )
    .await;
    fill(&c, "#order_ref", "INV/2026/0042").await;
    click(&c, "#capture-submit").await;
    let url = c.current_url().await.unwrap();
    assert!(
        url.path().starts_with("/tickets/"),
        "the new ticket opens: {url}"
    );
    let number = text(&c, "#ticket-number").await;
    assert!(number.starts_with("TGP-"));
    assert_eq!(
        text(&c, "#customer-name").await,
        "Sari <script>alert(1)</script>",
        "a name is text, never markup"
    );

    // The six steps.
    click(&c, "#do-acknowledge").await;
    assert!(text(&c, "#stage").await.contains("terima kasih"));
    fill(
        &c,
        "#rec-details",
        "Jahitan bahu kiri lepas 5 cm, foto dikirim lewat WA.",
    )
    .await;
    click(&c, "#do-record").await;
    fill(&c, "#diag-cause", "Batch jahitan November tidak lewat QC.").await;
    click(&c, "#do-diagnose").await;
    fill(
        &c,
        "#prop-text",
        "Kami kirim kaos pengganti ukuran M hari ini, ongkir kami tanggung.",
    )
    .await;
    click(&c, "#do-propose").await;
    assert!(text(&c, "#stage").await.contains("solusi diusulkan"));
    shot(&c, "ticket.png").await;
    c.set_window_size(360, 800).await.unwrap();
    shot(&c, "ticket-phone.png").await;
    c.set_window_size(1280, 1000).await.unwrap();

    // The customer answers on their own page.
    let link = c
        .find(Locator::Css("#customer-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    c.goto(&link).await.unwrap();
    assert!(text(&c, "#proposal").await.contains("kaos pengganti"));
    pick(&c, "#accept-yes").await;
    click(&c, "#send-answer").await;
    assert!(text(&c, "#customer-status")
        .await
        .contains("solusi diusulkan"));
    c.goto(&format!("{base}{}", url.path())).await.unwrap();
    fill(
        &c,
        "#res-summary",
        "Pelanggan setuju; kaos pengganti dikirim.",
    )
    .await;
    click(&c, "#do-resolve").await;
    assert!(text(&c, "#stage").await.contains("selesai"));
    c.goto(&link).await.unwrap();
    pick(&c, "#rate-5").await;
    fill(&c, "#r-comment", "Cepat dan ramah").await;
    click(&c, "#send-rating").await;
    assert!(text(&c, "#rated").await.contains("5/5"));

    // An overdue follow-up shows in the overdue tab, marked late.
    let other = app
        .ticket(&admin, json!({ "subject": "Paket belum sampai" }))
        .await;
    let other_id = other["id"].as_i64().unwrap();
    app.post(
        &format!("/api/tickets/{other_id}/assign"),
        Some(&admin),
        json!({ "user_id": null }),
    )
    .await;
    app.post(
        &format!("/api/tickets/{other_id}/promises"),
        Some(&admin),
        json!({ "due_at": "2999-01-01T07:00:00Z", "what": "Kabari resi" }),
    )
    .await;
    {
        use tanggap::db::schema::{promises, tickets};
        let past = (chrono::Utc::now() - chrono::Duration::hours(5)).naive_utc();
        let mut conn = app.conn();
        diesel::update(promises::table.filter(promises::ticket_id.eq(other_id)))
            .set(promises::due_at.eq(past))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(tickets::table.find(other_id))
            .set(tickets::next_promise_due_at.eq(Some(past)))
            .execute(&mut **conn)
            .unwrap();
    }
    c.goto(&format!("{base}/queue?tab=overdue")).await.unwrap();
    let row = text(&c, "tr.overdue").await;
    assert!(
        row.contains(&format!("TGP-{other_id:06}")) && row.contains("terlambat"),
        "{row}"
    );
    c.goto(&format!("{base}/queue?tab=all")).await.unwrap();
    shot(&c, "queue.png").await;

    // The language switch, remembered on the account.
    click(&c, "#lang-en").await;
    assert!(text(&c, "header.top nav").await.contains("Queue"));
    c.goto(&format!("{base}/queue")).await.unwrap();
    assert!(text(&c, "h1").await.contains("Ticket queue"));
    let me = app
        .get(
            "/api/me",
            Some(&app.token("budi@toko.test", "kopi susu gula aren").await),
        )
        .await;
    assert_eq!(me.body["locale"], "en");
    click(&c, "#lang-id").await;
    assert!(text(&c, "header.top nav").await.contains("Antrean"));

    // The manager's dashboard.
    click(&c, "#logout").await;
    sign_in(&c, &base, "rina@toko.test", "kopi susu gula aren").await;
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    assert!(
        c.find(Locator::Css("svg rect")).await.is_ok(),
        "charts are drawn"
    );
    shot(&c, "dashboard.png").await;
    c.close().await.unwrap();
}
