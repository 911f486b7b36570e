use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(probes_answer, unknown_routes_are_json_404s);

async fn probes_answer(app: TestApp) {
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");
}

async fn unknown_routes_are_json_404s(app: TestApp) {
    let reply = app.get("/api/nothing-here", None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["error"]["code"], "not_found");
    assert!(reply.headers.get("x-content-type-options").is_some());
}

/// `GET /metrics` counts every answer under its route pattern, for an admin or the scraper's
/// token, and for nobody else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_each_answer_under_its_route() {
    let scraper = "scraper-token-0123456789-abcdefghij";
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        &[("TANGGAP_METRICS_TOKEN", scraper)],
    )
    .await
    .expect("SQLite is always there");
    let admin = app.admin_token().await;
    let (_, agent) = app.user_with_role("agent").await;
    let read = |token: &str| {
        let request = app.client.get(app.url("/metrics")).bearer_auth(token);
        app.send(request)
    };
    let count = |text: &str, labels: &str| -> u64 {
        let prefix = format!("tanggap_http_request_duration_seconds_count{{{labels}}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map_or(0, |n| n.parse().expect("a count"))
    };
    let text = |reply: crate::helpers::Reply| -> String {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let content_type = reply.headers["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        reply.body.as_str().expect("text").to_owned()
    };
    let tickets = r#"method="GET",route="/api/tickets/{id}""#;
    let before = count(&text(read(&admin).await), tickets);
    for id in [1, 2, 3] {
        app.get(&format!("/api/tickets/{id}"), Some(&admin)).await;
    }
    app.get("/api/no-such-thing-4711", Some(&admin)).await;
    let after = text(read(scraper).await);
    assert_eq!(count(&after, tickets), before + 3, "{after}");
    let not_found = format!("tanggap_http_responses_total{{{tickets},status=\"4xx\"}} 3\n");
    assert!(
        after.contains(&not_found),
        "the unknown tickets were 404s: {after}"
    );
    assert!(count(&after, r#"method="GET",route="unmatched""#) >= 1);
    assert!(!after.contains("4711"), "raw paths are never labels");
    assert!(!after.contains("/api/tickets/1\""), "nor ids");
    // Buckets are cumulative and end with every request.
    let buckets: Vec<u64> = after
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "tanggap_http_request_duration_seconds_bucket{{{tickets}"
            ))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "cumulative");
    assert_eq!(buckets.last().copied(), Some(count(&after, tickets)));

    let agent_reply = read(&agent).await;
    assert_eq!(agent_reply.status, 403, "{}", agent_reply.body);
    let wrong = read("scraper-token-0123456789-abcdefghiX").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(app.get("/metrics", None).await.status, 401);
}
