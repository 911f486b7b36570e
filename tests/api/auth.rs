use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, JWT_SECRET};

backend_tests!(
    first_admin_signs_in_and_sees_themself,
    a_one_time_password_opens_only_the_password_change,
    failures_look_alike_for_unknown_email_and_wrong_password,
    repeated_failures_are_locked_out,
    requests_without_a_valid_token_are_refused,
    forged_tokens_are_refused,
    the_session_cookie_is_accepted,
    deactivation_revokes_tokens_at_once,
    sign_out_everywhere_revokes_tokens,
    changing_the_password_revokes_old_tokens,
);

async fn first_admin_signs_in_and_sees_themself(app: TestApp) {
    assert!(
        app.one_time_password.len() >= 16,
        "a random one-time password was generated"
    );
    assert_eq!(
        app.login(&app.admin_email, &app.one_time_password)
            .await
            .status,
        401,
        "replaced, it no longer works"
    );
    let reply = app.login(&app.admin_email, &app.admin_password).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["user"]["must_change_password"], false);
    let token = reply.body["token"].as_str().unwrap();
    let me = app.get("/api/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], app.admin_email.as_str());
    assert_eq!(me.body["role"], "admin");
    assert!(me.body.get("password_hash").is_none());
    // Email is matched case-insensitively.
    let upper = app
        .login(&app.admin_email.to_uppercase(), &app.admin_password)
        .await;
    assert_eq!(upper.status, 200);
}

async fn a_one_time_password_opens_only_the_password_change(app: TestApp) {
    use diesel::prelude::*;
    let (id, _) = app.user_with_role("agent").await;
    {
        use tanggap::db::schema::users;
        diesel::update(users::table.find(id))
            .set(users::must_change_password.eq(true))
            .execute(&mut **app.conn())
            .unwrap();
    }
    let me = app
        .get(&format!("/api/users/{id}"), Some(&app.admin_token().await))
        .await;
    let email = me.body["email"].as_str().unwrap().to_owned();
    let token = app.token(&email, "kopi susu gula aren").await;
    let who = app.get("/api/me", Some(&token)).await;
    assert_eq!(who.status, 200);
    assert_eq!(who.body["must_change_password"], true);
    let refused = app.get("/api/tickets", Some(&token)).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("one-time password"));
    // Intake checks the user in its own trip to the database: the same refusal.
    let intake = app
        .post("/api/tickets", Some(&token), json!({ "channel": "whatsapp", "customer": { "name": "Sari", "whatsapp": "081298765432" }, "subject": "Kaos sobek", "words": "Kaos sobek." }))
        .await;
    assert_eq!(intake.status, 403, "{}", intake.body);
    let changed = app.post("/api/auth/password", Some(&token), json!({ "current_password": "kopi susu gula aren", "new_password": "teh tarik dingin sekali" })).await;
    assert_eq!(changed.status, 200);
    let fresh = changed.body["token"].as_str().unwrap();
    assert_eq!(app.get("/api/tickets", Some(fresh)).await.status, 200);
}

async fn failures_look_alike_for_unknown_email_and_wrong_password(app: TestApp) {
    let wrong_password = app.login(&app.admin_email, "not the password at all").await;
    let unknown_email = app
        .login("nobody@toko.test", "not the password at all")
        .await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_email.status, 401);
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.body["error"]["code"], "unauthorized");
}

async fn repeated_failures_are_locked_out(app: TestApp) {
    for attempt in 1..=5 {
        let reply = app.login(&app.admin_email, "wrong password here").await;
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    // Locked now: even the right password waits, and the answer says for how long.
    let locked = app.login(&app.admin_email, &app.admin_password).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(locked.body["error"]["code"], "too_many_requests");
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "retry-after {retry}");
    // An unknown email is locked the same way, so the lock reveals nothing.
    for _ in 1..=5 {
        app.login("ghost@toko.test", "wrong password here").await;
    }
    assert_eq!(
        app.login("ghost@toko.test", "wrong password here")
            .await
            .status,
        429
    );
}

async fn requests_without_a_valid_token_are_refused(app: TestApp) {
    let none = app.get("/api/me", None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["error"]["code"], "unauthorized");
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    let garbage = app.get("/api/me", Some("not-a-jwt")).await;
    assert_eq!(garbage.status, 401);
    let token = app.admin_token().await;
    let mut tampered = token.clone();
    // Flip one character of the payload; the signature no longer matches.
    let dot = tampered.find('.').unwrap() + 5;
    let c = tampered.as_bytes()[dot];
    tampered.replace_range(dot..dot + 1, if c == b'A' { "B" } else { "A" });
    assert_eq!(app.get("/api/me", Some(&tampered)).await.status, 401);
    assert_eq!(app.get("/api/me", Some(&token)).await.status, 200);
}

fn claims(sub: &str, ver: i32, exp_offset: i64, iss: &str, aud: &str) -> serde_json::Value {
    let now = Utc::now().timestamp();
    json!({ "sub": sub, "ver": ver, "iat": now, "exp": now + exp_offset, "iss": iss, "aud": aud })
}

fn sign(alg: Algorithm, secret: &str, claims: &serde_json::Value) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_tokens_are_refused(app: TestApp) {
    app.admin_token().await;
    // The admin's token version is 2: replacing the one-time password revoked version 1.
    let good = claims("1", 2, 600, "tanggap", "tanggap-desk");
    // The control: a token made like the service makes them is accepted.
    assert_eq!(
        app.get("/api/me", Some(&sign(Algorithm::HS256, JWT_SECRET, &good)))
            .await
            .status,
        200
    );
    let cases = [
        (
            "expired",
            sign(
                Algorithm::HS256,
                JWT_SECRET,
                &claims("1", 1, -3600, "tanggap", "tanggap-desk"),
            ),
        ),
        ("other algorithm", sign(Algorithm::HS512, JWT_SECRET, &good)),
        (
            "other secret",
            sign(
                Algorithm::HS256,
                "another-secret-that-is-long-enough-000000",
                &good,
            ),
        ),
        (
            "other issuer",
            sign(
                Algorithm::HS256,
                JWT_SECRET,
                &claims("1", 1, 600, "evil", "tanggap-desk"),
            ),
        ),
        (
            "other audience",
            sign(
                Algorithm::HS256,
                JWT_SECRET,
                &claims("1", 1, 600, "tanggap", "other"),
            ),
        ),
        (
            "old version",
            sign(
                Algorithm::HS256,
                JWT_SECRET,
                &claims("1", 0, 600, "tanggap", "tanggap-desk"),
            ),
        ),
        (
            "unknown user",
            sign(
                Algorithm::HS256,
                JWT_SECRET,
                &claims("999", 1, 600, "tanggap", "tanggap-desk"),
            ),
        ),
        ("alg none", unsigned_token(&good)),
    ];
    for (what, token) in cases {
        let reply = app.get("/api/me", Some(&token)).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    }
}

fn unsigned_token(claims: &serde_json::Value) -> String {
    use base64_url::encode as b64;
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    )
}

mod base64_url {
    /// Unpadded base64url, enough to forge an `alg: none` token.
    pub fn encode(bytes: &[u8]) -> String {
        const TABLE: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

async fn the_session_cookie_is_accepted(app: TestApp) {
    let token = app.admin_token().await;
    let request = app
        .client
        .get(app.url("/api/me"))
        .header("Cookie", format!("tanggap_session={token}"));
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let wrong = app
        .client
        .get(app.url("/api/me"))
        .header("Cookie", "tanggap_session=forged");
    assert_eq!(app.send(wrong).await.status, 401);
}

async fn deactivation_revokes_tokens_at_once(app: TestApp) {
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = app.user_with_role("agent").await;
    assert_eq!(app.get("/api/me", Some(&agent_token)).await.status, 200);
    let me = app.get("/api/me", Some(&agent_token)).await;
    let email = me.body["email"].as_str().unwrap().to_owned();
    let reply = app
        .patch(
            &format!("/api/users/{agent_id}"),
            Some(&admin),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["active"], false);
    assert_eq!(app.get("/api/me", Some(&agent_token)).await.status, 401);
    assert_eq!(app.login(&email, "kopi susu gula aren").await.status, 401);
    // Intake checks the user in its own trip to the database: refused, and nothing written.
    let intake = app
        .post("/api/tickets", Some(&agent_token), json!({ "channel": "whatsapp", "customer": { "name": "Sari", "whatsapp": "081298765432" }, "subject": "Kaos sobek dari akun nonaktif", "words": "Kaos sobek." }))
        .await;
    assert_eq!(intake.status, 401, "{}", intake.body);
    let search = app.get("/api/tickets?q=nonaktif", Some(&admin)).await;
    assert_eq!(
        search.body["tickets"].as_array().map(Vec::len),
        Some(0),
        "{}",
        search.body
    );
    // Reactivated, they sign in again, but the old token stays dead.
    app.patch(
        &format!("/api/users/{agent_id}"),
        Some(&admin),
        json!({ "active": true }),
    )
    .await;
    assert_eq!(app.login(&email, "kopi susu gula aren").await.status, 200);
    assert_eq!(app.get("/api/me", Some(&agent_token)).await.status, 401);
}

async fn sign_out_everywhere_revokes_tokens(app: TestApp) {
    let (_, first) = app.user_with_role("agent").await;
    let reply = app
        .post("/api/auth/logout-all", Some(&first), json!({}))
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(app.get("/api/me", Some(&first)).await.status, 401);
    let logout = app.post("/api/auth/logout", None, json!({})).await;
    assert_eq!(logout.status, 204);
    let cookie = logout.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("tanggap_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("Max-Age=0")
    );
}

async fn changing_the_password_revokes_old_tokens(app: TestApp) {
    let old = app.admin_token().await;
    let common = app
        .post(
            "/api/auth/password",
            Some(&old),
            json!({ "current_password": app.admin_password, "new_password": "password123" }),
        )
        .await;
    assert_eq!(common.status, 422);
    assert!(common.body["error"]["fields"]["new_password"].is_string());
    let wrong = app
        .post("/api/auth/password", Some(&old), json!({ "current_password": "nope nope nope", "new_password": "a much better passphrase" }))
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body["error"]["fields"]["current_password"].is_string());
    let ok = app
        .post("/api/auth/password", Some(&old), json!({ "current_password": app.admin_password, "new_password": "a much better passphrase" }))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["user"]["must_change_password"], false);
    let fresh = ok.body["token"].as_str().unwrap();
    assert_eq!(app.get("/api/me", Some(&old)).await.status, 401);
    assert_eq!(app.get("/api/me", Some(fresh)).await.status, 200);
    assert_eq!(
        app.login(&app.admin_email, "a much better passphrase")
            .await
            .status,
        200
    );
}
