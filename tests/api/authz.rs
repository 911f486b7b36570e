//! The authorization matrix: every documented API route × every role × another agent's ticket
//! (and ids that do not exist), the desk's pages, and the customer's signed link of another
//! ticket. A refusal is exactly the status the rules define, an error that carries none of the
//! ticket's data, and leaves everything as it was.
//!
//! The rules, as the code defines them (`domain/access.rs`, `auth/current_user.rs`):
//! - the desk is one shared inbox: every signed-in user reads every ticket (the queue's "all"
//!   tab), so another agent's ticket is never a 404 — unknown ids are;
//! - agents act only on their own or unassigned tickets; another agent's ticket answers 403
//!   (`may_act`, `may_assign`), checked once the ticket is found and before its version, so a
//!   stale version does not turn the refusal into a 409;
//! - internal notes are collaboration: anyone signed in may add one;
//! - only managers and admins approve a replacement that needs approval;
//! - `SeniorUser` and `AdminUser` routes answer 403 before anything is looked up;
//! - the API answers 401 to the anonymous; the pages send them to sign in;
//! - the customer's link opens its one ticket until it expires; anything else is a 404.

use std::collections::BTreeSet;

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, PUBLIC_ROUTES};

backend_tests!(authorization_matrix);

/// The password `user_with_role` gives its users.
const PASSWORD: &str = "kopi susu gula aren";
/// An id no row has.
const MISSING: i64 = 987_654_321;
/// A version no ticket, customer, replacement or canned response has.
const STALE: i64 = 987_654;
/// The double-submit CSRF token the pages are sent (cookie and field alike).
const CSRF: &str = "authz-matrix-csrf-token-authz-matrix-csrf";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// An agent who does not hold the ticket.
    OtherAgent,
    /// The agent the ticket is assigned to.
    OwnerAgent,
    Manager,
    Admin,
}

/// In this order: the admin comes last, so an admin-only write that must really run (removing
/// the holiday) runs after every refusal of it was checked.
const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::OtherAgent,
    Who::OwnerAgent,
    Who::Manager,
    Who::Admin,
];

/// Who gets through to a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    /// Anyone signed in: reads (one shared inbox), customers, partners, notes.
    Staff,
    /// The ticket's agent, managers and admins, checked on the ticket once it is found.
    Owner,
    /// Managers and admins, checked on the replacement once it is found.
    Approver,
    /// Managers and admins (`SeniorUser`), before anything is looked up.
    Senior,
    /// Admins (`AdminUser`), before anything is looked up.
    Admin,
}

impl Gate {
    /// The status that refuses `who`, or `None` when `who` gets through.
    fn refuses(self, who: Who) -> Option<u16> {
        match (self, who) {
            (_, Who::Anonymous) => Some(401),
            (Gate::Owner, Who::OtherAgent) => Some(403),
            (Gate::Approver | Gate::Senior, Who::OtherAgent | Who::OwnerAgent) => Some(403),
            (Gate::Admin, Who::OtherAgent | Who::OwnerAgent | Who::Manager) => Some(403),
            _ => None,
        }
    }

    /// An extractor gate refuses before the lookup, so an unknown id is refused like a known one.
    fn before_lookup(self) -> bool {
        matches!(self, Gate::Senior | Gate::Admin)
    }
}

enum Payload {
    Empty,
    Json(Value),
    /// A multipart upload: the `file` part, and an optional `event_id` part.
    File(&'static str, Vec<u8>, Option<i64>),
}

/// What a role that gets through is sent instead of the well-formed request, and hears: never
/// a change to the scene the refusals are checked against, except for an `Instead` that
/// succeeds.
enum Passed {
    /// A read: 200; `true` when the answer shows the ticket's marker (so its absence from a
    /// refusal means something).
    Read(bool),
    /// The same request with a stale `version`: 409 `stale`, nothing written.
    Stale,
    /// Another request, answered with this status.
    Instead(fn(&Scene) -> Payload, u16),
    /// Checked at the end of the test (signing out everywhere revokes the caller's token).
    Elsewhere,
}

struct Route {
    method: &'static str,
    /// As in `/api/openapi.json`.
    path: &'static str,
    gate: Gate,
    /// A well-formed request that would succeed (or fail only on the playbook) if the gate let
    /// it through: the refusal is about who asks, never about what they send.
    request: fn(&Scene) -> Payload,
    passed: Passed,
}

fn route(
    method: &'static str,
    path: &'static str,
    gate: Gate,
    request: fn(&Scene) -> Payload,
    passed: Passed,
) -> Route {
    Route {
        method,
        path,
        gate,
        request,
        passed,
    }
}

fn empty(_: &Scene) -> Payload {
    Payload::Empty
}

fn pdf(marker: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {marker}\n").into_bytes()
}

/// Every documented route but the public ones, with its gate; the test fails when a route is
/// added without a row here.
fn routes() -> Vec<Route> {
    use Gate::*;
    use Passed::*;
    vec![
        // The signed-in user's own account.
        route("POST", "/api/auth/logout-all", Staff, empty, Elsewhere),
        route(
            "POST",
            "/api/auth/password",
            Staff,
            |_| {
                Payload::Json(
                    json!({ "current_password": PASSWORD, "new_password": "teh manis hangat sekali" }),
                )
            },
            Instead(
                |_| {
                    Payload::Json(
                        json!({ "current_password": "not the password", "new_password": "teh manis hangat sekali" }),
                    )
                },
                422,
            ),
        ),
        route("GET", "/api/me", Staff, empty, Read(false)),
        // Users: admins only.
        route("GET", "/api/users", Admin, empty, Read(false)),
        route(
            "POST",
            "/api/users",
            Admin,
            |_| {
                Payload::Json(
                    json!({ "email": "baru@toko.test", "name": "Baru", "role": "admin", "password": PASSWORD }),
                )
            },
            Instead(
                |_| {
                    Payload::Json(
                        json!({ "email": "not an address", "name": "Baru", "role": "admin", "password": PASSWORD }),
                    )
                },
                422,
            ),
        ),
        route("GET", "/api/users/{id}", Admin, empty, Read(false)),
        route(
            "PATCH",
            "/api/users/{id}",
            Admin,
            |_| Payload::Json(json!({ "role": "admin" })),
            Instead(|_| Payload::Json(json!({ "role": "wizard" })), 422),
        ),
        // Customers and partners belong to the whole desk.
        route(
            "POST",
            "/api/customers",
            Staff,
            |_| Payload::Json(json!({ "name": "Pelanggan Baru", "email": "baru@mail.test" })),
            Instead(
                |_| Payload::Json(json!({ "name": "Pelanggan Baru", "email": "not an address" })),
                422,
            ),
        ),
        route("GET", "/api/customers", Staff, empty, Read(true)),
        route("GET", "/api/customers/{id}", Staff, empty, Read(true)),
        route(
            "PATCH",
            "/api/customers/{id}",
            Staff,
            |s| Payload::Json(json!({ "name": "Nama Lain", "version": s.customer_version })),
            Stale,
        ),
        route(
            "POST",
            "/api/partners",
            Staff,
            |_| Payload::Json(json!({ "name": "Mitra Baru", "kind": "reseller" })),
            Instead(
                |_| Payload::Json(json!({ "name": "Mitra Baru", "kind": "pigeon" })),
                422,
            ),
        ),
        route("GET", "/api/partners", Staff, empty, Read(false)),
        // Tickets: everyone reads; the ticket's agent and the seniors change it.
        route(
            "POST",
            "/api/tickets",
            Staff,
            |_| {
                Payload::Json(
                    json!({ "channel": "phone", "customer": { "name": "Budi", "phone": "081233334444" }, "subject": "Tanya stok", "words": "Ada ukuran L?" }),
                )
            },
            Instead(
                |_| {
                    Payload::Json(
                        json!({ "channel": "pigeon", "customer": { "name": "Budi", "phone": "081233334444" }, "subject": "Tanya stok", "words": "Ada ukuran L?" }),
                    )
                },
                422,
            ),
        ),
        route("GET", "/api/tickets", Staff, empty, Read(true)),
        route("GET", "/api/tickets/{id}", Staff, empty, Read(true)),
        route("GET", "/api/tickets/{id}/events", Staff, empty, Read(true)),
        route(
            "PATCH",
            "/api/tickets/{id}",
            Owner,
            |s| {
                Payload::Json(
                    json!({ "priority": "urgent", "subject": "Diganti", "version": s.version }),
                )
            },
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/acknowledge",
            Owner,
            |s| Payload::Json(json!({ "message": "Terima kasih, Kak.", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/record",
            Owner,
            |s| {
                Payload::Json(
                    json!({ "category": "defective", "details": "Jahitan lepas", "version": s.version }),
                )
            },
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/diagnose",
            Owner,
            |s| Payload::Json(json!({ "root_cause": "Tidak lewat QC", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/propose",
            Owner,
            |s| {
                Payload::Json(
                    json!({ "solution_type": "refund", "solution": "Refund penuh", "version": s.version }),
                )
            },
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/customer-response",
            Owner,
            |s| Payload::Json(json!({ "accepted": true, "comment": "Oke", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/escalate",
            Owner,
            |s| {
                Payload::Json(
                    json!({ "to_user_id": s.manager, "reason": "Pelanggan minta atasan", "version": s.version }),
                )
            },
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/resolve",
            Owner,
            |s| Payload::Json(json!({ "summary": "Selesai", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/close",
            Owner,
            |s| Payload::Json(json!({ "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/reopen",
            Owner,
            |s| Payload::Json(json!({ "reason": "Datang lagi", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/assign",
            Owner,
            |s| Payload::Json(json!({ "user_id": null, "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/replies",
            Owner,
            |s| Payload::Json(json!({ "body": "Baik, Kak, kami bantu.", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/notes",
            Staff,
            |s| Payload::Json(json!({ "body": "Saya bantu cek gudang", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/promises",
            Owner,
            |s| {
                Payload::Json(
                    json!({ "due_at": "2030-01-15T03:00:00Z", "what": "Kabari resi", "version": s.version }),
                )
            },
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/promises/{pid}/keep",
            Owner,
            |s| Payload::Json(json!({ "note": "Sudah dikabari", "version": s.version })),
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/replacements",
            Owner,
            |s| {
                Payload::Json(
                    json!({ "item": "Kaos baru", "quantity": 1, "reason": "Sobek", "cost": 5000, "version": s.version }),
                )
            },
            Stale,
        ),
        route(
            "POST",
            "/api/tickets/{id}/attachments",
            Owner,
            |s| Payload::File("bukti.pdf", pdf(&s.marker), None),
            Instead(
                |_| Payload::File("bukti.txt", b"just words".to_vec(), None),
                422,
            ),
        ),
        route("GET", "/api/attachments/{id}", Staff, empty, Read(true)),
        // Replacements: the one on the ticket costs more than the threshold, so approving it
        // is for managers and admins (the other agent is refused by the ticket already).
        route("GET", "/api/replacements", Staff, empty, Read(true)),
        route(
            "PATCH",
            "/api/replacements/{id}",
            Approver,
            |s| Payload::Json(json!({ "status": "approved", "version": s.replacement_version })),
            Stale,
        ),
        // Canned responses: everyone uses them, managers and admins write them.
        route("GET", "/api/canned-responses", Staff, empty, Read(false)),
        route(
            "POST",
            "/api/canned-responses",
            Senior,
            |_| {
                Payload::Json(
                    json!({ "step": "empathise", "locale": "id", "title": "Baru", "body": "Mohon maaf, Kak." }),
                )
            },
            Instead(
                |_| {
                    Payload::Json(
                        json!({ "step": "shout", "locale": "id", "title": "Baru", "body": "Mohon maaf, Kak." }),
                    )
                },
                422,
            ),
        ),
        route(
            "PATCH",
            "/api/canned-responses/{id}",
            Senior,
            |s| Payload::Json(json!({ "title": "Judul lain", "version": s.canned_version })),
            Stale,
        ),
        route(
            "POST",
            "/api/canned-responses/{id}/render",
            Staff,
            |s| Payload::Json(json!({ "ticket_id": s.ticket })),
            Read(true),
        ),
        route(
            "POST",
            "/api/tone-check",
            Staff,
            |_| Payload::Json(json!({ "text": "Terima kasih sudah menunggu" })),
            Read(false),
        ),
        // Settings, mail and the calendar: everyone reads, admins change.
        route("GET", "/api/settings", Staff, empty, Read(false)),
        route(
            "PATCH",
            "/api/settings",
            Admin,
            |_| Payload::Json(json!({ "auto_assign": true, "replacement_approval_threshold": 1 })),
            Instead(
                |_| Payload::Json(json!({ "replacement_approval_threshold": -1 })),
                422,
            ),
        ),
        route("GET", "/api/outbox", Admin, empty, Read(true)),
        route("GET", "/metrics", Admin, empty, Read(false)),
        // A pending mail may be queued again: the admin really does it (nothing else moves).
        route(
            "POST",
            "/api/outbox/{id}/retry",
            Admin,
            empty,
            Instead(empty, 200),
        ),
        route("GET", "/api/targets", Staff, empty, Read(false)),
        route(
            "PUT",
            "/api/targets/{priority}",
            Admin,
            |_| {
                Payload::Json(
                    json!({ "first_response_minutes": 1, "next_response_minutes": 1, "resolution_minutes": 1 }),
                )
            },
            Instead(
                |_| {
                    Payload::Json(
                        json!({ "first_response_minutes": 0, "next_response_minutes": 1, "resolution_minutes": 1 }),
                    )
                },
                422,
            ),
        ),
        route("GET", "/api/business-hours", Staff, empty, Read(false)),
        route(
            "PUT",
            "/api/business-hours",
            Admin,
            |_| {
                Payload::Json(
                    json!({ "days": [{ "weekday": 0, "open": "10:00", "close": "11:00" }] }),
                )
            },
            Instead(
                |_| {
                    Payload::Json(
                        json!({ "days": [{ "weekday": 9, "open": "10:00", "close": "11:00" }] }),
                    )
                },
                422,
            ),
        ),
        route("GET", "/api/holidays", Staff, empty, Read(false)),
        route(
            "POST",
            "/api/holidays",
            Admin,
            |_| Payload::Json(json!({ "date": "2026-12-31", "name": "Tutup buku" })),
            Instead(
                |_| Payload::Json(json!({ "date": "2026-12-31", "name": "" })),
                422,
            ),
        ),
        // The admin really removes the holiday, last of all roles.
        route(
            "DELETE",
            "/api/holidays/{date}",
            Admin,
            empty,
            Instead(empty, 204),
        ),
    ]
}

/// The scene: a ticket of the owner agent with everything a route can name beside it, a ticket
/// of the other agent, and the people.
struct Scene {
    /// A unique string in the ticket's subject, words, customer, promise, replacement, note and
    /// attachment: a response that carries it carries the ticket's data.
    marker: String,
    admin: String,
    tokens: Vec<(Who, Option<String>)>,
    other_agent: i64,
    owner_agent: i64,
    manager: i64,
    /// The owner agent's ticket, waiting for the customer's answer to a proposal.
    ticket: i64,
    version: i64,
    /// The other agent's own ticket.
    own_ticket: i64,
    customer: i64,
    customer_version: i64,
    promise: i64,
    replacement: i64,
    replacement_version: i64,
    attachment: i64,
    note: i64,
    canned: i64,
    canned_version: i64,
    outbox: i64,
    holiday: &'static str,
}

impl Scene {
    fn token(&self, who: Who) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, t)| t.as_deref())
    }
}

async fn scene(app: &TestApp) -> Scene {
    let admin = app.admin_token().await;
    let (other_agent, other_token) = app.user_with_role("agent").await;
    let (owner_agent, owner_token) = app.user_with_role("agent").await;
    let (manager, manager_token) = app.user_with_role("manager").await;
    let marker = format!("rahasia{}", uuid::Uuid::new_v4().simple());

    let made = app
        .ticket(
            &owner_token,
            json!({
                "subject": format!("Kaos sobek {marker}"),
                "words": format!("Kak, kaos saya sobek. {marker}"),
                "customer": { "name": format!("Sari {marker}"), "email": "sari.authz@mail.test" },
            }),
        )
        .await;
    let ticket = made["id"].as_i64().unwrap();
    assert_eq!(
        made["assignee_id"], owner_agent,
        "the ticket is its agent's"
    );
    let customer = made["customer"]["id"].as_i64().unwrap();
    app.walk_to_proposal(&owner_token, ticket, "replacement", "Kirim kaos baru")
        .await;
    let promise = app
        .act(
            &owner_token,
            ticket,
            "promises",
            json!({ "due_at": "2030-01-15T03:00:00Z", "what": format!("Kabari resi {marker}") }),
        )
        .await;
    assert_eq!(promise.status, 201, "{}", promise.body);
    let replacement = app
        .act(
            &owner_token,
            ticket,
            "replacements",
            json!({ "item": format!("Kaos {marker}"), "quantity": 1, "reason": "Sobek", "cost": 10_000_000 }),
        )
        .await;
    assert_eq!(replacement.status, 201, "{}", replacement.body);
    assert_eq!(
        replacement.body["needs_approval"], true,
        "{}",
        replacement.body
    );
    let attachment = send(
        app,
        "POST",
        &format!("/api/tickets/{ticket}/attachments"),
        Some(&owner_token),
        Payload::File("bukti.pdf", pdf(&marker), None),
    )
    .await;
    assert_eq!(attachment.status, 201, "{}", attachment.body);
    let note = app
        .post(
            &format!("/api/tickets/{ticket}/notes"),
            Some(&owner_token),
            json!({ "body": format!("Catatan {marker}") }),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.body);

    let own_ticket = app
        .ticket(&other_token, json!({ "subject": "Tiket milik sendiri" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let canned = app
        .post(
            "/api/canned-responses",
            Some(&admin),
            json!({ "step": "empathise", "locale": "id", "title": "Sapaan", "body": "Halo {{customer.name}}, soal {{ticket.subject}}" }),
        )
        .await;
    assert_eq!(canned.status, 201, "{}", canned.body);
    let holiday = app
        .post(
            "/api/holidays",
            Some(&admin),
            json!({ "date": "2026-12-30", "name": "Cuti bersama" }),
        )
        .await;
    assert_eq!(holiday.status, 201, "{}", holiday.body);
    let outbox = app.get("/api/outbox?status=pending", Some(&admin)).await;
    let outbox = outbox.body["mails"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("the customer was mailed: {}", outbox.body));

    let view = app
        .get(&format!("/api/tickets/{ticket}"), Some(&admin))
        .await
        .body;
    Scene {
        marker,
        tokens: vec![
            (Who::Anonymous, None),
            (Who::OtherAgent, Some(other_token)),
            (Who::OwnerAgent, Some(owner_token)),
            (Who::Manager, Some(manager_token)),
            (Who::Admin, Some(admin.clone())),
        ],
        admin,
        other_agent,
        owner_agent,
        manager,
        ticket,
        version: view["version"].as_i64().unwrap(),
        own_ticket,
        customer,
        customer_version: view["customer"]["version"].as_i64().unwrap(),
        promise: promise.body["id"].as_i64().unwrap(),
        replacement: replacement.body["id"].as_i64().unwrap(),
        replacement_version: replacement.body["version"].as_i64().unwrap(),
        attachment: attachment.body["id"].as_i64().unwrap(),
        note: note.body["event"]["id"].as_i64().unwrap(),
        canned: canned.body["id"].as_i64().unwrap(),
        canned_version: canned.body["version"].as_i64().unwrap(),
        outbox,
        holiday: "2026-12-30",
    }
}

/// The documented path with real ids: the owner agent's ticket and what belongs to it. With
/// `missing`, ids no row has; `None` when the path names nothing that can be missing.
fn concrete(path: &str, s: &Scene, missing: bool) -> Option<String> {
    if missing && !(path.contains("{id}") || path.contains("{date}")) {
        return None;
    }
    let id = [
        ("/api/tickets/", s.ticket),
        ("/api/replacements/", s.replacement),
        ("/api/attachments/", s.attachment),
        ("/api/customers/", s.customer),
        ("/api/users/", s.owner_agent),
        ("/api/canned-responses/", s.canned),
        ("/api/outbox/", s.outbox),
    ]
    .into_iter()
    .find(|(prefix, _)| path.starts_with(prefix))
    .map(|(_, id)| if missing { MISSING } else { id });
    if path.contains("{id}") && id.is_none() {
        panic!("{path}: say which id {{id}} names");
    }
    let pid = if missing { MISSING } else { s.promise };
    let date = if missing { "2031-01-02" } else { s.holiday };
    Some(
        path.replace("{id}", &id.unwrap_or_default().to_string())
            .replace("{pid}", &pid.to_string())
            .replace("{priority}", "urgent")
            .replace("{date}", date),
    )
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    payload: Payload,
) -> Reply {
    let method: reqwest::Method = method.parse().expect("an HTTP method");
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request = match payload {
        Payload::Empty => request,
        Payload::Json(body) => request.json(&body),
        Payload::File(name, bytes, event_id) => {
            let mut form = Form::new().part("file", Part::bytes(bytes).file_name(name));
            if let Some(event_id) = event_id {
                form = form.text("event_id", event_id.to_string());
            }
            request.multipart(form)
        }
    };
    app.send(request).await
}

/// A refusal: exactly `status`, an error and nothing else, none of the ticket's data.
fn assert_refused(reply: &Reply, status: u16, marker: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    let code = match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        other => panic!("{other} is not a refusal"),
    };
    assert_eq!(reply.body["error"]["code"], code, "{what}: {}", reply.body);
    assert_eq!(
        reply.body.as_object().map(|o| o.len()),
        Some(1),
        "{what}: the error and nothing beside it: {}",
        reply.body
    );
    assert!(
        !reply.body.to_string().contains(marker),
        "{what} leaks the ticket: {}",
        reply.body
    );
}

/// Everything a refused write could have changed, as the admin sees it.
async fn world(app: &TestApp, s: &Scene) -> Value {
    let mut parts = serde_json::Map::new();
    for path in [
        format!("/api/tickets/{}", s.ticket),
        format!("/api/tickets/{}/events", s.ticket),
        format!("/api/tickets/{}", s.own_ticket),
        "/api/tickets".into(),
        "/api/customers".into(),
        "/api/partners".into(),
        "/api/users".into(),
        "/api/settings".into(),
        "/api/targets".into(),
        "/api/business-hours".into(),
        "/api/holidays".into(),
        "/api/canned-responses".into(),
        "/api/replacements".into(),
        "/api/outbox".into(),
    ] {
        let reply = app.get(&path, Some(&s.admin)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        parts.insert(path, reply.body);
    }
    Value::Object(parts)
}

/// What was checked, for the count at the end.
#[derive(Default)]
struct Tally {
    refused: usize,
    passed: usize,
    /// The messages of the API's 403s on the owner agent's ticket, which the pages must repeat.
    forbidden: BTreeSet<String>,
}

async fn authorization_matrix(app: TestApp) {
    let s = scene(&app).await;
    let mut tally = Tally::default();
    let mut sections = Vec::new();
    let mut counted = (0, 0);
    let mut count = |name: &'static str, tally: &Tally| {
        sections.push(format!(
            "{name}: {} refused, {} passed",
            tally.refused - counted.0,
            tally.passed - counted.1
        ));
        counted = (tally.refused, tally.passed);
    };
    api_matrix(&app, &s, &mut tally).await;
    count("routes × roles", &tally);
    unknown_ids(&app, &s, &mut tally).await;
    count("unknown ids", &tally);
    ids_of_another_ticket(&app, &s, &mut tally).await;
    count("ids of another ticket", &tally);
    pages(&app, &s, &mut tally).await;
    count("pages", &tally);
    customer_links(&app, &s, &mut tally).await;
    count("customer links", &tally);
    signing_out_everywhere_is_ones_own(&app, &s).await;
    // 53 routes × 5 roles, unknown ids, the pages and the links: the matrix is all there.
    assert!(tally.refused > 300 && tally.passed > 150, "{sections:?}");
    println!("authorization matrix: {}", sections.join("; "));
}

/// Every documented route × every role, on the owner agent's ticket.
async fn api_matrix(app: &TestApp, s: &Scene, tally: &mut Tally) {
    let table = routes();
    let documented: BTreeSet<(String, String)> = app
        .documented_routes()
        .await
        .into_iter()
        .filter(|(_, path)| !PUBLIC_ROUTES.contains(&path.as_str()))
        .collect();
    let rows: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(rows.len(), table.len(), "one row per route");
    assert_eq!(
        documented, rows,
        "every documented route has its row in the matrix, and every row is documented"
    );

    let mut before = world(app, s).await;
    for r in &table {
        let path = concrete(r.path, s, false).expect("a path");
        for who in EVERYONE {
            let what = format!("{} {path} as {who:?}", r.method);
            let token = s.token(who);
            if let Some(status) = r.gate.refuses(who) {
                let reply = send(app, r.method, &path, token, (r.request)(s)).await;
                assert_refused(&reply, status, &s.marker, &what);
                if status == 403
                    && (path.starts_with("/api/tickets/") || path.starts_with("/api/replacements/"))
                {
                    let message = reply.body["error"]["message"].as_str().unwrap();
                    tally.forbidden.insert(message.to_owned());
                }
                // Who may act is settled before anything else about the ticket: a stale
                // version does not turn the refusal into a 409.
                if let (Gate::Owner, Payload::Json(mut body)) = (r.gate, (r.request)(s)) {
                    if status == 403 && body.get("version").is_some() {
                        body["version"] = json!(STALE);
                        let stale = send(app, r.method, &path, token, Payload::Json(body)).await;
                        assert_refused(&stale, 403, &s.marker, &format!("{what}, stale"));
                        tally.refused += 1;
                    }
                }
                if r.method != "GET" {
                    assert_eq!(world(app, s).await, before, "{what} changed something");
                }
                tally.refused += 1;
                continue;
            }
            let reply = match &r.passed {
                Passed::Read(shows_marker) => {
                    let reply = send(app, r.method, &path, token, (r.request)(s)).await;
                    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
                    if *shows_marker {
                        assert!(
                            reply.body.to_string().contains(&s.marker),
                            "{what} shows the ticket: {}",
                            reply.body
                        );
                    }
                    reply
                }
                Passed::Stale => {
                    let Payload::Json(mut body) = (r.request)(s) else {
                        panic!("{what}: only JSON carries a version");
                    };
                    body["version"] = json!(STALE);
                    let reply = send(app, r.method, &path, token, Payload::Json(body)).await;
                    assert_eq!(reply.status, 409, "{what}: {}", reply.body);
                    assert_eq!(reply.body["error"]["code"], "stale", "{what}");
                    reply
                }
                Passed::Instead(request, status) => {
                    let reply = send(app, r.method, &path, token, request(s)).await;
                    assert_eq!(reply.status, *status, "{what}: {}", reply.body);
                    reply
                }
                Passed::Elsewhere => continue,
            };
            assert!(
                ![401, 403].contains(&reply.status),
                "{what} got through the gate"
            );
            // Only the two admin writes that really run may change the scene.
            match &r.passed {
                Passed::Instead(_, status) if *status < 300 => before = world(app, s).await,
                _ if r.method != "GET" => {
                    assert_eq!(world(app, s).await, before, "{what} changed something")
                }
                _ => {}
            }
            tally.passed += 1;
        }
    }
    assert!(
        tally
            .forbidden
            .iter()
            .any(|m| m.contains("belongs to another agent")),
        "{:?}",
        tally.forbidden
    );
}

/// Ids no row has: 404 for whoever gets through the gate, the gate's 403 when it stands first.
async fn unknown_ids(app: &TestApp, s: &Scene, tally: &mut Tally) {
    let before = world(app, s).await;
    for r in routes() {
        let Some(path) = concrete(r.path, s, true) else {
            continue;
        };
        if r.path.contains("{priority}") {
            continue;
        }
        for who in [Who::OtherAgent, Who::OwnerAgent, Who::Manager, Who::Admin] {
            let status = if r.gate.before_lookup() {
                r.gate.refuses(who).unwrap_or(404)
            } else {
                404
            };
            let reply = send(app, r.method, &path, s.token(who), (r.request)(s)).await;
            assert_refused(
                &reply,
                status,
                &s.marker,
                &format!("{} {path} as {who:?}", r.method),
            );
            tally.refused += 1;
        }
    }
    assert_eq!(world(app, s).await, before, "unknown ids changed something");
}

/// The other agent's own ticket with ids that belong to the owner agent's ticket.
async fn ids_of_another_ticket(app: &TestApp, s: &Scene, tally: &mut Tally) {
    let token = s.token(Who::OtherAgent);
    let before = world(app, s).await;
    let own = app
        .get(&format!("/api/tickets/{}", s.own_ticket), token)
        .await;
    let keep = send(
        app,
        "POST",
        &format!("/api/tickets/{}/promises/{}/keep", s.own_ticket, s.promise),
        token,
        Payload::Json(json!({ "note": "Sudah", "version": own.body["version"] })),
    )
    .await;
    assert_refused(
        &keep,
        404,
        &s.marker,
        "keeping another ticket's promise through one's own",
    );
    let upload = send(
        app,
        "POST",
        &format!("/api/tickets/{}/attachments", s.own_ticket),
        token,
        Payload::File("bukti.pdf", pdf("milik sendiri"), Some(s.note)),
    )
    .await;
    assert_eq!(upload.status, 422, "{}", upload.body);
    assert!(upload.body["error"]["fields"]["event_id"].is_string());
    assert!(!upload.body.to_string().contains(&s.marker));
    // Handing a ticket to someone else is for managers and admins: the owner agent may give
    // theirs up (the matrix) but not pass it on, and the other agent may not take it.
    let assign = format!("/api/tickets/{}/assign", s.ticket);
    for (who, to) in [
        (Who::OwnerAgent, s.other_agent),
        (Who::OtherAgent, s.other_agent),
        (Who::OtherAgent, s.owner_agent),
    ] {
        let reply = send(
            app,
            "POST",
            &assign,
            s.token(who),
            Payload::Json(json!({ "user_id": to, "version": s.version })),
        )
        .await;
        assert_refused(
            &reply,
            403,
            &s.marker,
            &format!("{who:?} assigning to {to}"),
        );
        tally.refused += 1;
    }
    assert_eq!(world(app, s).await, before);
    tally.refused += 2;
}

// ---------------------------------------------------------------------------------------
// Pages

struct Page {
    status: u16,
    location: String,
    body: String,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page_get(app: &TestApp, path: &str, token: Option<&str>) -> Page {
    page(app, path, token, None).await
}

async fn page_post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    form: &[(&str, String)],
) -> Page {
    page(app, path, token, Some(form)).await
}

/// A page request with the session cookie of `token` (none: anonymous) and the CSRF cookie;
/// a form also carries the CSRF field.
async fn page(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    form: Option<&[(&str, String)]>,
) -> Page {
    let cookie = match token {
        Some(token) => format!("tanggap_session={token}; tanggap_csrf={CSRF}"),
        None => format!("tanggap_csrf={CSRF}"),
    };
    let client = browser();
    let request = match form {
        Some(fields) => {
            let mut fields = fields.to_vec();
            fields.push(("csrf", CSRF.to_owned()));
            client.post(app.url(path)).form(&fields)
        }
        None => client.get(app.url(path)),
    };
    let response = request
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Page {
        status,
        location,
        body: response.text().await.unwrap(),
    }
}

/// The `error` a page redirects back with.
fn flash_error(location: &str) -> Option<String> {
    let url = url::Url::parse(&format!("http://x{location}")).ok()?;
    let error = url
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    error
}

/// Every form of the ticket page, filled in as a person would.
fn ticket_forms(s: &Scene) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let v = || ("version", s.version.to_string());
    vec![
        ("acknowledge", vec![v(), ("message", "Terima kasih".into())]),
        (
            "record",
            vec![
                v(),
                ("category", "defective".into()),
                ("details", "Jahitan".into()),
            ],
        ),
        ("diagnose", vec![v(), ("root_cause", "QC".into())]),
        (
            "propose",
            vec![
                v(),
                ("solution_type", "refund".into()),
                ("solution", "Refund".into()),
            ],
        ),
        (
            "customer-response",
            vec![v(), ("accepted", "true".into()), ("comment", "Oke".into())],
        ),
        (
            "escalate",
            vec![
                v(),
                ("to_user_id", s.manager.to_string()),
                ("reason", "Minta atasan".into()),
            ],
        ),
        ("resolve", vec![v(), ("summary", "Selesai".into())]),
        ("close", vec![v()]),
        ("reopen", vec![v(), ("reason", "Lagi".into())]),
        ("reply", vec![("body", "Baik, Kak".into())]),
        ("assign", vec![v(), ("user_id", s.other_agent.to_string())]),
        (
            "promise",
            vec![
                ("what", "Kabari resi".into()),
                ("due_at", "2030-01-15T10:00".into()),
            ],
        ),
        (
            "replacement",
            vec![
                ("item", "Kaos".into()),
                ("quantity", "1".into()),
                ("reason", "Sobek".into()),
                ("cost", "5000".into()),
            ],
        ),
        ("priority", vec![v(), ("priority", "urgent".into())]),
    ]
}

async fn pages(app: &TestApp, s: &Scene, tally: &mut Tally) {
    let ticket_page = format!("/tickets/{}", s.ticket);
    let mut forms: Vec<(String, Vec<(&str, String)>)> = ticket_forms(s)
        .into_iter()
        .map(|(action, form)| (format!("{ticket_page}/{action}"), form))
        .collect();
    forms.push((
        format!("{ticket_page}/promises/{}/keep", s.promise),
        vec![("note", "Sudah".into())],
    ));
    forms.push((
        format!("/replacements/{}", s.replacement),
        vec![("status", "approved".into())],
    ));
    let before = world(app, s).await;

    // The anonymous are sent to sign in, from every page and every form.
    let mut anonymous_forms = forms.clone();
    anonymous_forms.push((format!("{ticket_page}/note"), vec![("body", "x".into())]));
    anonymous_forms.push((
        "/tickets".into(),
        vec![
            ("channel", "phone".into()),
            ("customer_name", "Budi".into()),
            ("customer_phone", "081233334444".into()),
            ("subject", "x".into()),
            ("words", "y".into()),
        ],
    ));
    anonymous_forms.push((
        "/admin/users".into(),
        vec![
            ("email", "baru@toko.test".into()),
            ("name", "Baru".into()),
            ("role", "admin".into()),
            ("password", PASSWORD.into()),
        ],
    ));
    anonymous_forms.push((
        "/password".into(),
        vec![
            ("current_password", PASSWORD.into()),
            ("new_password", "teh manis hangat sekali".into()),
        ],
    ));
    let gets = [
        "/".to_owned(),
        "/queue".into(),
        "/queue?tab=all".into(),
        "/tickets/new".into(),
        ticket_page.clone(),
        "/replacements".into(),
        "/dashboard".into(),
        "/dashboard.csv".into(),
        "/admin".into(),
        "/password".into(),
    ];
    let link = app.state.mailroom.links.sign(s.ticket, far_future());
    for session in [None, Some("not-a-token"), Some(link.as_str())] {
        for path in &gets {
            let reply = page_get(app, path, session).await;
            assert_eq!(reply.status, 303, "GET {path} with {session:?}");
            assert!(
                reply.location.starts_with("/login"),
                "GET {path}: {}",
                reply.location
            );
            assert!(!reply.body.contains(&s.marker));
            tally.refused += 1;
        }
    }
    for (path, form) in &anonymous_forms {
        let reply = page_post(app, path, None, form).await;
        assert_eq!(reply.status, 303, "POST {path} anonymous: {}", reply.body);
        assert!(
            reply.location.starts_with("/login"),
            "POST {path}: {}",
            reply.location
        );
        assert!(!reply.body.contains(&s.marker) && !reply.location.contains(&s.marker));
        tally.refused += 1;
    }
    assert_eq!(
        world(app, s).await,
        before,
        "anonymous forms changed something"
    );

    // The other agent reads the ticket, as through the API, and is refused every action the
    // API refuses, with the API's words; nothing moves.
    let other = s.token(Who::OtherAgent);
    let shown = page_get(app, &ticket_page, other).await;
    assert_eq!(shown.status, 200, "agents read every ticket");
    assert!(shown.body.contains(&s.marker));
    for (path, form) in &forms {
        let reply = page_post(app, path, other, form).await;
        assert_eq!(reply.status, 303, "POST {path}: {}", reply.body);
        let error = flash_error(&reply.location)
            .unwrap_or_else(|| panic!("POST {path} went through: {}", reply.location));
        assert!(
            tally.forbidden.contains(&error),
            "POST {path} is refused with the API's words, not {error:?}"
        );
        assert!(!reply.location.contains(&s.marker));
        assert_eq!(world(app, s).await, before, "POST {path} changed something");
        tally.refused += 1;
    }

    // Administration is for admins, the dashboard for managers and admins.
    for (who, admin_status, dashboard_status) in [
        (Who::OtherAgent, 403, 403),
        (Who::OwnerAgent, 403, 403),
        (Who::Manager, 403, 200),
        (Who::Admin, 200, 200),
    ] {
        let token = s.token(who);
        for (path, status) in [
            ("/admin", admin_status),
            ("/dashboard", dashboard_status),
            ("/dashboard.csv", dashboard_status),
        ] {
            let reply = page_get(app, path, token).await;
            assert_eq!(reply.status, status, "{path} as {who:?}");
            if status == 403 {
                assert!(!reply.body.contains(&s.marker), "{path} as {who:?}");
                tally.refused += 1;
            } else {
                tally.passed += 1;
            }
        }
        if admin_status == 403 {
            let created = page_post(
                app,
                "/admin/users",
                token,
                &[
                    ("email", "baru@toko.test".into()),
                    ("name", "Baru".into()),
                    ("role", "admin".into()),
                    ("password", PASSWORD.into()),
                ],
            )
            .await;
            assert_eq!(created.status, 303);
            assert_eq!(
                flash_error(&created.location).as_deref(),
                Some("this needs the admin role"),
                "{who:?}: {}",
                created.location
            );
            assert_eq!(
                world(app, s).await,
                before,
                "{who:?} changed the administration"
            );
            tally.refused += 1;
        }
    }

    // The one form open to everyone: a note. It goes through, so the refusals above were
    // about who asked, not about the form.
    let note = page_post(
        app,
        &format!("{ticket_page}/note"),
        other,
        &[("body", "Saya bantu cek".into())],
    )
    .await;
    assert_eq!(note.status, 303);
    assert_eq!(note.location, ticket_page, "a note from anyone");
    tally.passed += 1;
}

// ---------------------------------------------------------------------------------------
// The customer's link

fn far_future() -> i64 {
    (chrono::Utc::now() + chrono::Duration::days(1)).timestamp()
}

async fn customer_links(app: &TestApp, s: &Scene, tally: &mut Tally) {
    let signer = &app.state.mailroom.links;
    let future = far_future();
    let past = chrono::Utc::now().timestamp() - 10;
    let own_link = signer.sign(s.own_ticket, future);
    let link = signer.sign(s.ticket, future);
    let own_signature = own_link.rsplit('.').next().unwrap().to_owned();
    let signature = link.rsplit('.').next().unwrap().to_owned();
    let expired = signer.sign(s.ticket, past);
    let flipped = {
        let last = signature.chars().last().unwrap();
        let other = if last == '0' { '1' } else { '0' };
        format!(
            "{}.{future}.{}{other}",
            s.ticket,
            &signature[..signature.len() - 1]
        )
    };
    let foreign_key = tanggap::auth::links::LinkSigner::new(&secrecy::SecretString::from(
        "another-secret-that-is-long-enough-0123456789",
    ))
    .sign(s.ticket, future);
    let forged = [
        // Ticket A's signature on ticket B's id.
        (
            "another ticket's signature",
            format!("{}.{future}.{own_signature}", s.ticket),
        ),
        ("expired", expired.clone()),
        (
            "expired, with a longer life written in",
            format!(
                "{}.{future}.{}",
                s.ticket,
                expired.rsplit('.').next().unwrap()
            ),
        ),
        ("a changed signature", flipped),
        (
            "a cut signature",
            format!(
                "{}.{future}.{}",
                s.ticket,
                &signature[..signature.len() - 2]
            ),
        ),
        ("no signature", format!("{}.{future}", s.ticket)),
        ("just the id", s.ticket.to_string()),
        ("signed with another key", foreign_key),
        ("a sign-in token", s.admin.clone()),
    ];

    // The real links open their own ticket: the marker shows on ticket B's page, not on A's.
    let own = page_get(app, &format!("/c/{own_link}"), None).await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("Tiket milik sendiri") && !own.body.contains(&s.marker));
    let real = page_get(app, &format!("/c/{link}"), None).await;
    assert_eq!(real.status, 200);
    assert!(real.body.contains(&s.marker));
    tally.passed += 2;

    let before = world(app, s).await;
    for (why, token) in &forged {
        let shown = page_get(app, &format!("/c/{token}"), None).await;
        assert_eq!(shown.status, 404, "{why}");
        assert!(!shown.body.contains(&s.marker), "{why}: {}", shown.body);
        for (what, form) in [
            (
                "answer",
                vec![("accepted", "true".to_owned()), ("comment", "Oke".into())],
            ),
            ("rating", vec![("rating", "5".to_owned())]),
        ] {
            let reply = page_post(app, &format!("/c/{token}/{what}"), None, &form).await;
            assert_eq!(reply.status, 404, "{why}: {what}");
            assert!(!reply.body.contains(&s.marker), "{why}: {}", reply.body);
            tally.refused += 1;
        }
        tally.refused += 1;
    }
    // Ticket A's own link answers for ticket A only.
    let answered = page_post(
        app,
        &format!("/c/{own_link}/answer"),
        None,
        &[("accepted", "true".into())],
    )
    .await;
    assert_eq!(answered.status, 303);
    assert!(answered.location.starts_with(&format!("/c/{own_link}")));
    assert!(!answered.location.contains(&s.marker));
    assert_eq!(
        world(app, s).await,
        before,
        "a forged link changed something"
    );

    // A link is no sign-in: not as a token, not as the session cookie.
    let ticket = format!("/api/tickets/{}", s.ticket);
    assert_refused(
        &app.get(&ticket, Some(&link)).await,
        401,
        &s.marker,
        "the link as a token",
    );
    let with_cookie = app
        .send(
            app.client
                .get(app.url(&ticket))
                .header(reqwest::header::COOKIE, format!("tanggap_session={link}")),
        )
        .await;
    assert_refused(&with_cookie, 401, &s.marker, "the link as the session");
    tally.refused += 2;

    // And the real link does answer ticket B: the forged ones would have been seen.
    let accepted = page_post(
        app,
        &format!("/c/{link}/answer"),
        None,
        &[("accepted", "true".into()), ("comment", "Oke".into())],
    )
    .await;
    assert_eq!(accepted.status, 303);
    assert_eq!(
        flash_error(&accepted.location),
        None,
        "{}",
        accepted.location
    );
    let view = app.get(&ticket, Some(&s.admin)).await;
    assert_eq!(view.body["proposal_state"], "accepted");
    tally.passed += 1;
}

/// Signing out everywhere revokes the caller's tokens, nobody else's.
async fn signing_out_everywhere_is_ones_own(app: &TestApp, s: &Scene) {
    let other = s.token(Who::OtherAgent);
    let out = app.post("/api/auth/logout-all", other, json!(null)).await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(app.get("/api/me", other).await.status, 401);
    for who in [Who::OwnerAgent, Who::Manager, Who::Admin] {
        assert_eq!(
            app.get("/api/me", s.token(who)).await.status,
            200,
            "{who:?}"
        );
    }
}
