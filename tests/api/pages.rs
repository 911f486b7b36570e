//! The pages over plain HTTP: sign-in with the cookie, CSRF refusal, escaping, security
//! headers, the customer link's scope and expiry, the public form's honeypot and rate limit.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    pages_need_sign_in_and_forms_need_their_token,
    customer_names_are_shown_as_text,
    the_customer_link_opens_one_ticket_until_it_expires,
    the_public_form_makes_a_web_ticket_and_resists_floods,
    the_dashboard_is_for_managers_and_exports_csv,
    a_one_time_password_leads_to_the_password_page,
    a_queue_row_speaks_its_readers_language,
);

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The body of the page at `path`, as `client` sees it.
async fn text_of(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    response.text().await.unwrap()
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Signs `client` in through the page; returns the CSRF token of its cookie.
async fn page_sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> String {
    let login = text_of(app, client, "/login").await;
    let csrf = csrf_of(&login);
    let reply = client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/queue"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 303, "signed in");
    let cookie = reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tanggap_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    csrf
}

async fn pages_need_sign_in_and_forms_need_their_token(app: TestApp) {
    let client = browser();
    let queue = client.get(app.url("/queue")).send().await.unwrap();
    assert_eq!(queue.status(), 303);
    assert!(queue.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?next="));

    let csrf = page_sign_in(&app, &client, &app.admin_email, &app.admin_password).await;
    let page = client.get(app.url("/queue")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") || !html.contains("</script>\n<"),
        "no inline script"
    );
    assert!(html.contains("/static/app.js"));

    // A form without the token, or with another one, is refused and changes nothing.
    let form = [
        ("channel", "whatsapp"),
        ("customer_name", "Forged"),
        ("customer_whatsapp", "081299990000"),
        ("subject", "x"),
        ("words", "y"),
    ];
    let forged = client
        .post(app.url("/tickets"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let mut wrong = form.to_vec();
    wrong.push(("csrf", "not-the-token-not-the-token-not-the-token"));
    assert_eq!(
        client
            .post(app.url("/tickets"))
            .form(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let token = app.admin_token().await;
    assert_eq!(
        app.get("/api/tickets", Some(&token)).await.body["tickets"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let mut good = form.to_vec();
    good.push(("csrf", csrf.as_str()));
    let made = client
        .post(app.url("/tickets"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    assert!(made.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/tickets/"));
    // A stale form says so, with a reload link.
    let id = app.get("/api/tickets", Some(&token)).await.body["tickets"][0]["id"]
        .as_i64()
        .unwrap();
    let stale = client
        .post(app.url(&format!("/tickets/{id}/acknowledge")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "7"),
            ("message", "Terima kasih"),
        ])
        .send()
        .await
        .unwrap();
    let back = stale.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.contains("stale=1"), "{back}");
    let shown = text_of(&app, &client, &back).await;
    assert!(shown.contains("id=\"reload\""));
}

async fn customer_names_are_shown_as_text(app: TestApp) {
    let token = app.admin_token().await;
    let ticket = app.ticket(&token, json!({ "subject": "<img src=x onerror=alert(1)>", "customer": { "name": "<script>alert(1)</script>", "whatsapp": "081211112222" } })).await;
    let client = browser();
    page_sign_in(&app, &client, &app.admin_email, &app.admin_password).await;
    for path in [
        format!("/tickets/{}", ticket["id"]),
        "/queue?tab=all".to_owned(),
    ] {
        let html = text_of(&app, &client, &path).await;
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(!html.contains("<script>alert(1)</script>"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
    }
}

async fn the_customer_link_opens_one_ticket_until_it_expires(app: TestApp) {
    let token = app.admin_token().await;
    let id = app
        .ticket(&token, json!({ "subject": "Tas rotan pecah" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let other = app
        .ticket(&token, json!({ "subject": "Rahasia tiket lain" }))
        .await["id"]
        .as_i64()
        .unwrap();
    app.walk_to_proposal(&token, id, "refund", "Refund penuh hari ini")
        .await;
    app.post(
        &format!("/api/tickets/{other}/notes"),
        Some(&token),
        json!({ "body": "catatan internal rahasia" }),
    )
    .await;
    app.post(
        &format!("/api/tickets/{id}/notes"),
        Some(&token),
        json!({ "body": "catatan internal tiket ini" }),
    )
    .await;

    let signer = &app.state.mailroom.links;
    let future = (chrono::Utc::now() + chrono::Duration::days(1)).timestamp();
    let link = signer.sign(id, future);
    let client = browser();
    let page = client
        .get(app.url(&format!("/c/{link}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Tas rotan pecah") && html.contains("Refund penuh hari ini"));
    assert!(
        !html.contains("Rahasia tiket lain") && !html.contains("catatan internal"),
        "one ticket, public words only"
    );
    // The customer's answer moves the stage as the API would.
    let csrf = csrf_of(&html);
    let answered = client
        .post(app.url(&format!("/c/{link}/answer")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("accepted", "true"),
            ("comment", "Oke"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 303);
    let view = app.get(&format!("/api/tickets/{id}"), Some(&token)).await;
    assert_eq!(view.body["proposal_state"], "accepted");

    let expired = signer.sign(id, chrono::Utc::now().timestamp() - 10);
    assert_eq!(
        client
            .get(app.url(&format!("/c/{expired}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let tampered = link.replacen(&format!("{id}."), &format!("{other}."), 1);
    assert_eq!(
        client
            .get(app.url(&format!("/c/{tampered}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let rate_early = client
        .post(app.url(&format!("/c/{link}/rating")))
        .form(&[("csrf", csrf.as_str()), ("rating", "5")])
        .send()
        .await
        .unwrap();
    assert!(
        rate_early.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error="),
        "rating waits for the resolution"
    );
}

async fn the_public_form_makes_a_web_ticket_and_resists_floods(app: TestApp) {
    let client = browser();
    let html = text_of(&app, &client, "/feedback").await;
    let csrf = csrf_of(&html);
    let send = |subject: &'static str, trap: &'static str| {
        let csrf = csrf.clone();
        let client = client.clone();
        let url = app.url("/feedback");
        async move {
            client
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("kind", "praise"),
                    ("name", "Pembeli Senang"),
                    ("email", "senang@mail.test"),
                    ("subject", subject),
                    ("message", "Bahannya adem!"),
                    ("website", trap),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send("Suka sekali", "").await, 303);
    assert_eq!(
        send("Bot", "http://spam.test").await,
        303,
        "the bot is told it worked"
    );
    let token = app.admin_token().await;
    let tickets = app.get("/api/tickets?channel=web", Some(&token)).await;
    let rows = tickets.body["tickets"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "the honeypot kept the bot out");
    assert_eq!(rows[0]["kind"], "feedback");
    assert_eq!(rows[0]["category"], "praise");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(send("Lagi", "").await);
    }
    assert!(
        statuses.contains(&429),
        "a flood is slowed down: {statuses:?}"
    );
}

async fn the_dashboard_is_for_managers_and_exports_csv(app: TestApp) {
    let token = app.admin_token().await;
    app.ticket(
        &token,
        json!({ "category": "defective", "channel": "instagram" }),
    )
    .await;
    let (_, agent_token) = app.user_with_role("agent").await;
    let agent_email = app.get("/api/me", Some(&agent_token)).await.body["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = browser();
    page_sign_in(&app, &agent, &agent_email, "kopi susu gula aren").await;
    assert_eq!(
        agent
            .get(app.url("/dashboard"))
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "the dashboard is for managers"
    );
    assert_eq!(
        agent
            .get(app.url("/dashboard.csv"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        agent.get(app.url("/admin")).send().await.unwrap().status(),
        403
    );
    let client = browser();
    page_sign_in(&app, &client, &app.admin_email, &app.admin_password).await;
    let html = text_of(&app, &client, "/dashboard").await;
    assert!(html.contains("<svg") && html.contains("<rect"));
    let csv = client.get(app.url("/dashboard.csv")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let body = csv.text().await.unwrap();
    assert!(body.starts_with("section,label,count"));
    assert!(body.contains("by_category,\"defective\",1"), "{body}");
    assert!(body.contains("by_channel,\"instagram\",1"));
}

async fn a_one_time_password_leads_to_the_password_page(app: TestApp) {
    use diesel::prelude::*;
    let (id, _) = app.user_with_role("agent").await;
    let email = app
        .get(&format!("/api/users/{id}"), Some(&app.admin_token().await))
        .await
        .body["email"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        use tanggap::db::schema::users;
        diesel::update(users::table.find(id))
            .set(users::must_change_password.eq(true))
            .execute(&mut **app.conn())
            .unwrap();
    }
    let client = browser();
    let csrf = page_sign_in(&app, &client, &email, "kopi susu gula aren").await;
    let queue = client.get(app.url("/queue")).send().await.unwrap();
    assert_eq!(queue.status(), 303);
    assert_eq!(queue.headers()["location"], "/password");
    let weak = client
        .post(app.url("/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", "kopi susu gula aren"),
            ("new_password", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 422);
    let done = client
        .post(app.url("/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", "kopi susu gula aren"),
            ("new_password", "teh tarik dingin sekali"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        client.get(app.url("/queue")).send().await.unwrap().status(),
        200,
        "the new cookie opens the desk"
    );
}

/// A queue row's words, dates and lateness come in the reader's language and the shop's zone.
async fn a_queue_row_speaks_its_readers_language(app: TestApp) {
    use diesel::prelude::*;
    use tanggap::db::schema::{promises, tickets};
    let token = app.admin_token().await;
    let mut numbers = Vec::new();
    for subject in ["Tas talinya putus", "Sandal kekecilan"] {
        let ticket = app
            .ticket(&token, json!({ "subject": subject, "priority": "high" }))
            .await;
        let id = ticket["id"].as_i64().unwrap();
        let promised = app
            .post(
                &format!("/api/tickets/{id}/promises"),
                Some(&token),
                json!({ "due_at": "2999-01-01T07:00:00Z", "what": "Kabari" }),
            )
            .await;
        assert_eq!(promised.status, 201, "{}", promised.body);
        numbers.push((id, ticket["number"].as_str().unwrap().to_owned()));
    }
    // The first promise passes: due 5 January 2026, 03:00 UTC (10.00 in Jakarta).
    let past = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
        .unwrap()
        .and_hms_opt(3, 0, 0)
        .unwrap();
    {
        let mut conn = app.conn();
        let late = numbers[0].0;
        diesel::update(promises::table.filter(promises::ticket_id.eq(late)))
            .set(promises::due_at.eq(past))
            .execute(&mut **conn)
            .unwrap();
        // Both of its service targets have passed too.
        diesel::update(tickets::table.find(late))
            .set((
                tickets::next_promise_due_at.eq(Some(past)),
                tickets::first_response_breached.eq(true),
                tickets::resolution_breached.eq(true),
            ))
            .execute(&mut **conn)
            .unwrap();
    }
    let english = format!("en-{}@toko.test", uuid::Uuid::new_v4().simple());
    let created = app
        .post(
            "/api/users",
            Some(&token),
            json!({ "email": english, "name": "Nia", "role": "agent", "password": "kopi susu gula aren", "locale": "en" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let readers = [
        (
            app.admin_email.clone(),
            app.admin_password.clone(),
            [
                "WhatsApp · Keluhan",
                ">tinggi<",
                "terlambat",
                "hari",
                "melewati target",
                "Senin, 5 Jan 2026 10.00 WIB",
            ],
        ),
        (
            english,
            "kopi susu gula aren".to_owned(),
            [
                "WhatsApp · Complaint",
                ">high<",
                "overdue",
                "days",
                "target breached",
                "Monday 5 Jan 2026, 10:00 WIB",
            ],
        ),
    ];
    for (email, password, [source, priority, late, days, breached, due]) in readers {
        let client = browser();
        page_sign_in(&app, &client, &email, &password).await;
        let html = text_of(&app, &client, "/queue?tab=all").await;
        let row = |number: &str| -> String {
            let at = html
                .find(number)
                .unwrap_or_else(|| panic!("{number} in {html}"));
            let start = html[..at].rfind("<tr").unwrap();
            html[start..at + html[at..].find("</tr>").unwrap()].to_owned()
        };
        let (overdue, on_time) = (row(&numbers[0].1), row(&numbers[1].1));
        for row in [&overdue, &on_time] {
            assert!(
                row.contains(source) && row.contains(priority),
                "{email}: {row}"
            );
        }
        assert!(
            overdue.starts_with("<tr class=\"overdue breached\">"),
            "{overdue}"
        );
        assert!(overdue.contains(breached), "{email}: {overdue}");
        assert!(on_time.starts_with("<tr class=\"\">"), "{on_time}");
        assert!(on_time.contains("class=\"countdown\"") && !on_time.contains(breached));
        // "terlambat 326 hari 6 jam …" / "overdue 326 days 6 hours …", in the reader's words.
        let late_text = format!("<strong class=\"late\">{late} ");
        let lateness = overdue
            .split(&late_text)
            .nth(1)
            .unwrap_or_else(|| panic!("{email}: {overdue}"));
        let (number, rest) = lateness.split_once(' ').unwrap();
        assert!(number.parse::<u32>().unwrap() >= 300, "{email}: {lateness}");
        assert!(rest.starts_with(days), "{email}: {lateness}");
        assert!(overdue.contains(due), "the due date in Jakarta: {overdue}");
        assert!(!on_time.contains(&late_text), "{email}: {on_time}");
        assert!(on_time.contains("2999"), "the promised date: {on_time}");
    }
}
