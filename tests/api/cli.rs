//! The `tanggap` binary as an operator runs it: start-up on an empty directory, bad
//! configuration, and the user commands.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::helpers::{spawn_with, test_settings};

const BIN: &str = env!("CARGO_BIN_EXE_tanggap");

/// A command with the developer's own configuration removed, run in `dir`.
fn tanggap(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("TANGGAP_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tanggap");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

struct Serving {
    child: Child,
    port: u16,
    stdout_lines: Vec<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tanggap serve` and reads its stdout up to the "listening" line.
fn serve(dir: &Path) -> Serving {
    let child = tanggap(dir)
        .arg("serve")
        .env("TANGGAP_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tanggap serve");
    // Owned by `Serving` from here on, so the child is killed and reaped even on a panic.
    let mut serving = Serving {
        child,
        port: 0,
        stdout_lines: Vec::new(),
    };
    let stdout = serving.child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout is text");
        serving.stdout_lines.push(line.clone());
        if let Some(address) = line.strip_prefix("Tanggap listening on http://") {
            serving.port = address.rsplit(':').next().unwrap().parse().unwrap();
            return serving;
        }
    }
    panic!(
        "serve exited before printing its address: {:?}",
        serving.stdout_lines
    );
}

#[tokio::test]
async fn serve_starts_on_an_empty_directory_and_creates_one_admin() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path());
    let password_line = first
        .stdout_lines
        .iter()
        .find(|l| l.trim_start().starts_with("password:"))
        .expect("a one-time password is printed");
    let password = password_line.split_whitespace().last().unwrap().to_owned();
    assert!(
        password.len() >= 16,
        "a random password, not a fixed default"
    );
    assert!(dir.path().join("data/tanggap.db").exists());
    assert!(dir.path().join("data/jwt_secret").exists());

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", first.port);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let login = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "email": "admin@tanggap.local", "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(first);

    // The database is in WAL mode with full sync; checked on the file itself.
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
        &dir.path().join("data/tanggap.db").display().to_string(),
    )
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode: Mode =
        diesel::RunQueryDsl::get_result(diesel::sql_query("PRAGMA journal_mode"), &mut conn)
            .unwrap();
    assert_eq!(mode.journal_mode, "wal");

    // A restart keeps the admin and the signing secret: no second admin, old token still valid.
    let second = serve(dir.path());
    assert!(
        !second.stdout_lines.iter().any(|l| l.contains("password:")),
        "{:?}",
        second.stdout_lines
    );
    let me = client
        .get(format!("http://127.0.0.1:{}/api/me", second.port))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[test]
fn bad_configuration_stops_start_up_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("TANGGAP_BIND", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/tanggap"),
        ("TANGGAP_LOCALE", "fr"),
        ("TANGGAP_TIMEZONE", "Asia/Atlantis"),
        ("TANGGAP_BASE_URL", "not a url"),
        ("TANGGAP_JWT_SECRET", "too-short"),
        ("TANGGAP_MAIL_URL", "pigeon://coop"),
    ];
    for (variable, value) in cases {
        let output = tanggap(dir.path())
            .arg("serve")
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
        assert!(stderr.contains(variable), "{variable} is named: {stderr}");
    }
    let output = tanggap(dir.path())
        .arg("serve")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1/x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("TANGGAP_JWT_SECRET"));
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created when the configuration is bad"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_user_signs_in_until_deactivated() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("desk.db").display());
    let cli = || {
        let mut command = tanggap(dir.path());
        command.env("DATABASE_URL", &db);
        command
    };
    let mut add_manager = cli();
    add_manager.args([
        "user",
        "add",
        "--email",
        "rina@toko.test",
        "--name",
        "Rina",
        "--role",
        "manager",
    ]);
    let output = run_with_stdin(add_manager, "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let generated = stdout
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .expect("a generated password is printed")
        .to_owned();

    let mut weak = cli();
    weak.args([
        "user",
        "add",
        "--email",
        "weak@toko.test",
        "--name",
        "Weak",
        "--role",
        "agent",
    ]);
    let output = run_with_stdin(weak, "password123\n");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("password"));

    let mut add = cli();
    add.args([
        "user",
        "add",
        "--email",
        "ani@toko.test",
        "--name",
        "Ani",
        "--role",
        "agent",
        "--manager",
        "rina@toko.test",
    ]);
    let output = run_with_stdin(add, "kopi susu gula aren\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let data_dir = tempfile::tempdir().unwrap();
    let settings = test_settings(data_dir.path(), Some(&db));
    let app = spawn_with(settings, data_dir, None).await;
    assert!(
        app.admin_password.is_empty(),
        "users exist, so no first admin is made"
    );
    let token = app.token("ani@toko.test", "kopi susu gula aren").await;
    let me = app.get("/api/me", Some(&token)).await;
    assert_eq!(me.body["role"], "agent");
    let manager_token = app.token("rina@toko.test", &generated).await;
    let manager = app.get("/api/me", Some(&manager_token)).await;
    assert_eq!(me.body["manager_id"], manager.body["id"]);
    assert_eq!(manager.body["must_change_password"], true);

    let mut set = cli();
    set.args(["user", "set-password", "--email", "ani@toko.test"]);
    let output = run_with_stdin(set, "teh tarik dingin\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        401,
        "a new password signs out old sessions"
    );
    let token = app.token("ani@toko.test", "teh tarik dingin").await;

    let output = cli()
        .args(["user", "deactivate", "--email", "ani@toko.test"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(app.get("/api/me", Some(&token)).await.status, 401);
    assert_eq!(
        app.login("ani@toko.test", "teh tarik dingin").await.status,
        401
    );

    let missing = cli()
        .args(["user", "deactivate", "--email", "nobody@toko.test"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn migrate_applies_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let output = tanggap(dir.path()).arg("migrate").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/tanggap.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_fills_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let output = tanggap(dir.path())
        .env("DATABASE_URL", &db)
        .args(["demo-data", "--tickets", "120"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = tanggap(dir.path())
        .env("DATABASE_URL", &db)
        .args(["demo-data", "--tickets", "5"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "refuses a desk that has tickets");

    let data_dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(data_dir.path(), Some(&db)), data_dir, None).await;
    let token = app
        .token("rina.manajer@toko.test", "demo kopi susu gula aren")
        .await;
    for stage in [
        "new",
        "acknowledged",
        "listened",
        "understood",
        "solution_proposed",
        "escalated",
        "resolved",
        "closed",
    ] {
        let page = app
            .get(&format!("/api/tickets?stage={stage}&limit=1"), Some(&token))
            .await;
        assert_eq!(
            page.body["tickets"].as_array().unwrap().len(),
            1,
            "a ticket in {stage}"
        );
    }
    let overdue = app.get("/api/tickets?overdue=true", Some(&token)).await;
    assert!(
        !overdue.body["tickets"].as_array().unwrap().is_empty(),
        "some promises are overdue"
    );
    let feedback = app
        .get("/api/tickets?kind=feedback&limit=1", Some(&token))
        .await;
    assert_eq!(feedback.body["tickets"].as_array().unwrap().len(), 1);
}

#[test]
fn an_unreachable_database_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = tanggap(dir.path())
        .arg("serve")
        .env(
            "DATABASE_URL",
            "postgres://postgres:secret@127.0.0.1:1/tanggap",
        )
        .env(
            "TANGGAP_JWT_SECRET",
            "a-test-secret-that-is-long-enough-1234567890",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("connecting to postgres://postgres:***@127.0.0.1:1/tanggap"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret@"),
        "the password stays out of the message"
    );
}
