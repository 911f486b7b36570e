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
