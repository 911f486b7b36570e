//! `spawn_app` and the request helpers every test uses.

use std::collections::HashMap;

use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use tanggap::config::Settings;
use tanggap::startup::Application;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `sqlite` always, `postgres` when configured.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await;
                super::$name(app.expect("SQLite is always available")).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                    super::$name(app).await
                }
            }
        }
    )*};
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_email: String,
    pub admin_password: String,
    /// The random password printed at first start (no longer valid once replaced).
    pub one_time_password: String,
    /// The app's own pool, for tests that must set the scene directly (a promise already
    /// past due, say) instead of waiting for time to pass.
    pub pool: tanggap::db::DbPool,
    /// The app's state: its mailroom and mailer, for running scheduler passes.
    pub state: actix_web::web::Data<tanggap::startup::AppState>,
    handle: actix_web::dev::ServerHandle,
    _data_dir: tempfile::TempDir,
    postgres: Option<TestDatabase>,
}

/// The PostgreSQL URL for tests, or `None` to run on SQLite only. With
/// `TANGGAP_TEST_REQUIRE_POSTGRES=1` (CI sets it) a missing URL fails the test instead.
pub fn postgres_base_url() -> Option<String> {
    let url = std::env::var("TANGGAP_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("TANGGAP_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("TANGGAP_TEST_REQUIRE_POSTGRES=1 but TANGGAP_TEST_POSTGRES_URL is not set");
    }
    url
}

/// A database created for one test and dropped (with its connections) when the test ends.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub fn create(base: &str) -> Self {
        let name = format!("tanggap_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(base).unwrap_or_else(|e| {
            panic!("PostgreSQL at TANGGAP_TEST_POSTGRES_URL is unreachable: {e}")
        });
        // The name is ours (a UUID), never user input; identifiers cannot be bound.
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create test database");
        let mut url = url::Url::parse(base).expect("TANGGAP_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            admin_url: base.to_owned(),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

pub fn test_settings(data_dir: &std::path::Path, database_url: Option<&str>) -> Settings {
    test_settings_with(data_dir, database_url, &[])
}

/// Test settings with some variables set otherwise (the mail URL, say).
pub fn test_settings_with(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    extra: &[(&str, &str)],
) -> Settings {
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("TANGGAP_BIND", "127.0.0.1:0".into());
    env.insert("TANGGAP_DATA_DIR", data_dir.display().to_string());
    env.insert("TANGGAP_JWT_SECRET", JWT_SECRET.into());
    env.insert("TANGGAP_WORKERS", "2".into());
    env.insert("TANGGAP_DB_POOL_SIZE", "4".into());
    env.insert("TANGGAP_JSON_LIMIT_BYTES", "65536".into());
    env.insert("TANGGAP_MAX_ATTACHMENT_BYTES", "1048576".into());
    // Tests drive the scheduler themselves, pass by pass, with the time they choose.
    env.insert("TANGGAP_TICK_SECONDS", "0".into());
    env.insert("TANGGAP_MAIL_URL", "log:".into());
    if let Some(url) = database_url {
        env.insert("DATABASE_URL", url.into());
    }
    for (key, value) in extra {
        env.insert(key, (*value).to_owned());
    }
    Settings::from_lookup(|k| env.get(k).cloned()).expect("test settings are valid")
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// `spawn_app` with some settings changed.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::create(&postgres_base_url()?)),
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings_with(
        data_dir.path(),
        postgres.as_ref().map(|db| db.url.as_str()),
        extra,
    );
    Some(spawn_with(settings, data_dir, postgres).await)
}

pub async fn spawn_with(
    settings: Settings,
    data_dir: tempfile::TempDir,
    postgres: Option<TestDatabase>,
) -> TestApp {
    tanggap::telemetry::init_for_tests();
    let app = Application::build(settings).await.expect("the app builds");
    let admin = app.first_admin.clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let pool = app.state.pool.clone();
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let (admin_email, one_time_password) = admin.map(|a| (a.email, a.password)).unwrap_or_default();
    let mut app = TestApp {
        address,
        client: reqwest::Client::new(),
        admin_email,
        admin_password: one_time_password.clone(),
        one_time_password,
        pool,
        state,
        handle,
        _data_dir: data_dir,
        postgres,
    };
    // The first admin's password is one-time: like a real admin, the tests choose their own
    // before doing anything else.
    if !app.one_time_password.is_empty() {
        let token = app
            .token(&app.admin_email.clone(), &app.one_time_password.clone())
            .await;
        let changed = app
            .post("/api/auth/password", Some(&token), json!({ "current_password": app.one_time_password, "new_password": ADMIN_PASSWORD }))
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        app.admin_password = ADMIN_PASSWORD.to_owned();
    }
    app
}

/// The first admin's password once the tests have replaced the one-time one.
pub const ADMIN_PASSWORD: &str = "the admin passphrase of the tests";

impl Drop for TestApp {
    fn drop(&mut self) {
        let stop = self.handle.stop(false);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(stop);
        }
        // The database goes after the server: `postgres` drops after this body.
        let _ = &self.postgres;
    }
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut request = self.client.patch(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn put_json(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(
            self.client
                .put(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in and returns the token; panics when sign-in fails.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let reply = self.login(email, password).await;
        assert_eq!(
            reply.status, 200,
            "sign-in of {email} failed: {}",
            reply.body
        );
        reply.body["token"].as_str().expect("token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token(&self.admin_email, &self.admin_password).await
    }

    /// Creates a user through the API as the admin; returns (id, token of the new user).
    pub async fn user_with_role(&self, role: &str) -> (i64, String) {
        let admin = self.admin_token().await;
        let email = format!("{role}-{}@toko.test", uuid::Uuid::new_v4().simple());
        let password = "kopi susu gula aren";
        let reply = self
            .post("/api/users", Some(&admin), json!({ "email": email, "name": format!("Test {role}"), "role": role, "password": password }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let id = reply.body["id"].as_i64().expect("id");
        (id, self.token(&email, password).await)
    }
}

impl TestApp {
    /// Opens a ticket as `token`'s user; `extra` fields override the defaults.
    pub async fn ticket(&self, token: &str, extra: Value) -> Value {
        let mut body = json!({
            "channel": "whatsapp",
            "customer": { "name": "Sari Wulandari", "whatsapp": format!("0812{}", rand_digits()) },
            "subject": "Kaos sobek di jahitan",
            "words": "Kak, kaos yang saya terima sobek di bagian jahitan. Tolong dibantu.",
            "order_ref": "INV-2026-0042",
            "product": "Kaos Batik Parang M",
        });
        if let (Some(base), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        let reply = self.post("/api/tickets", Some(token), body).await;
        assert_eq!(reply.status, 201, "ticket created: {}", reply.body);
        reply.body
    }

    /// Runs a playbook action with the ticket's current version; returns the reply.
    pub async fn act(&self, token: &str, id: i64, action: &str, mut body: Value) -> Reply {
        let current = self.get(&format!("/api/tickets/{id}"), Some(token)).await;
        body["version"] = current.body["version"].clone();
        self.post(&format!("/api/tickets/{id}/{action}"), Some(token), body)
            .await
    }

    /// Like `act`, but the action must succeed.
    pub async fn step(&self, token: &str, id: i64, action: &str, body: Value) -> Value {
        let reply = self.act(token, id, action, body).await;
        assert_eq!(reply.status, 200, "{action}: {}", reply.body);
        reply.body
    }

    /// Takes a new ticket through steps 2–5 up to a pending proposal; returns the ticket.
    pub async fn walk_to_proposal(
        &self,
        token: &str,
        id: i64,
        solution_type: &str,
        solution: &str,
    ) -> Value {
        self.step(
            token,
            id,
            "acknowledge",
            json!({ "message": "Terima kasih, Kak." }),
        )
        .await;
        self.step(
            token,
            id,
            "record",
            json!({ "category": "defective", "details": "Jahitan lepas" }),
        )
        .await;
        self.step(
            token,
            id,
            "diagnose",
            json!({ "root_cause": "Tidak lewat QC" }),
        )
        .await;
        self.step(
            token,
            id,
            "propose",
            json!({ "solution_type": solution_type, "solution": solution }),
        )
        .await
    }

    pub fn conn(&self) -> tanggap::db::pool::PooledConnection {
        self.pool.get().expect("a pooled connection")
    }
}

fn rand_digits() -> String {
    format!("{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000)
}

impl TestApp {
    /// One scheduler pass as of `now`, as `tanggap tick --now` runs it.
    pub async fn tick(&self, now: chrono::DateTime<chrono::Utc>) -> tanggap::jobs::TickReport {
        tanggap::jobs::tick(
            &self.pool,
            &self.state.mailroom,
            &self.state.mailer,
            "test-worker",
            now,
        )
        .await
        .expect("a scheduler pass")
    }
}

/// Routes of the OpenAPI document that need no sign-in, on purpose.
pub const PUBLIC_ROUTES: [&str; 4] = ["/api/auth/login", "/api/auth/logout", "/healthz", "/readyz"];

impl TestApp {
    /// Every route of `/api/openapi.json` as (METHOD, path), the path as documented (`{id}`
    /// and the like left in): the routes that really exist, since the document is collected
    /// from the registered handlers.
    pub async fn documented_routes(&self) -> Vec<(String, String)> {
        const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
        let doc = self.get("/api/openapi.json", None).await;
        assert_eq!(doc.status, 200, "{}", doc.body);
        let mut routes = Vec::new();
        for (path, item) in doc.body["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                if METHODS.contains(&method.as_str()) {
                    routes.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        routes
    }
}
