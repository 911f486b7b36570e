//! The `tanggap` command: serve the desk, migrate, and manage users.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tanggap::accounts::{self, UserInput, UserPatch};
use tanggap::config::Settings;
use tanggap::startup::Application;

#[derive(Parser)]
#[command(
    name = "tanggap",
    version,
    about = "Complaint and feedback desk for small online sellers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (creates and migrates the database, and a first admin if none)
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// One scheduler pass: reminders, overdue alerts, target warnings, digests, then send mail
    Tick {
        /// Run the pass as of this time (RFC 3339), for tests and for catching up
        #[arg(long)]
        now: Option<String>,
    },
    /// Fill an empty desk with a realistic demo shop (users, customers, tickets in every stage)
    DemoData {
        /// How many tickets to create
        #[arg(long, default_value_t = 300)]
        tickets: usize,
        /// How many of the bulk-copied tickets (beyond the first 400) hold an overdue promise;
        /// default one in twenty
        #[arg(long)]
        overdue: Option<usize>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from stdin when piped, otherwise generated and printed
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["agent", "manager", "admin"])]
        role: String,
        /// Email of the user's manager (who receives their overdue alerts)
        #[arg(long)]
        manager: Option<String>,
        /// Interface language: id or en
        #[arg(long)]
        locale: Option<String>,
    },
    /// Set a user's password (from stdin when piped, otherwise generated); revokes their sessions
    SetPassword {
        #[arg(long)]
        email: String,
    },
    /// Deactivate a user: they cannot sign in, and their tokens stop working at once
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// List users
    List,
}

/// Hands every allocation of 1 MiB or more back to the system when it is freed. Each password
/// hash borrows 19 MiB (argon2id); glibc's default threshold rises after the first such free,
/// after which those blocks came from (and stayed in) the heap of whichever thread hashed:
/// idle memory grew by 19 MiB per thread that ever checked a password.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
        // SAFETY: mallopt only changes a glibc malloc setting; it is called first thing in
        // main, before any other thread exists.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

fn main() -> ExitCode {
    return_large_allocations();
    let cli = Cli::parse();
    let _ = dotenvy::dotenv();
    tanggap::telemetry::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => tanggap::db::connect_pool(&settings.database_url, 1).map(|_| {
            println!("migrations applied to {}", settings.database_url.redacted());
        }),
        Command::User(command) => user_command(&settings, command),
        Command::DemoData { tickets, overdue } => demo_data(&settings, tickets, overdue),
        Command::Tick { now } => tick(settings, now),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings.clone()).await?;
        if let Some(admin) = &app.first_admin {
            println!(
                "First admin created. Sign in and change this password; it is shown only once."
            );
            println!("  email:    {}", admin.email);
            println!("  password: {}", admin.password);
        }
        println!(
            "Tanggap listening on http://{}:{}",
            settings.bind.ip(),
            app.port()
        );
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn tick(settings: Settings, now: Option<String>) -> anyhow::Result<()> {
    let now = match now {
        Some(raw) => chrono::DateTime::parse_from_rfc3339(&raw)
            .map_err(|e| anyhow::anyhow!("--now {raw}: not an RFC 3339 time ({e})"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let pool = tanggap::db::connect_pool(&settings.database_url, 2)?;
        let mut conn = pool.get()?;
        tanggap::desk::targets::seed_defaults(&mut conn)?;
        drop(conn);
        let mailroom = tanggap::mail::Mailroom::new(settings.clone(), false)?;
        let mailer = tanggap::mail::transport::Mailer::from_settings(&settings)?;
        let report = tanggap::jobs::tick(
            &pool,
            &mailroom,
            &mailer,
            &tanggap::jobs::worker_name(),
            now,
        )
        .await?;
        println!("{}", serde_json::to_string(&report)?);
        Ok(())
    })
}

fn demo_data(settings: &Settings, tickets: usize, overdue: Option<usize>) -> anyhow::Result<()> {
    let pool = tanggap::db::connect_pool(&settings.database_url, 1)?;
    let mut conn = pool.get()?;
    if let Some(admin) = tanggap::accounts::ensure_first_admin(&mut conn, settings)? {
        println!("First admin created: {} / {}", admin.email, admin.password);
    }
    tanggap::desk::canned::seed_defaults(&mut conn)?;
    let started = std::time::Instant::now();
    let mut reported = 0;
    let mut progress = |done: usize| {
        if done >= reported + 100_000 || done == tickets {
            reported = done;
            eprintln!("{done} of {tickets} tickets ({:.0?})", started.elapsed());
        }
    };
    let made = tanggap::demo::fill(&mut conn, settings, tickets, overdue, &mut progress)?;
    println!("{made} demo tickets created in {:.1?}", started.elapsed());
    println!("Demo users (password: demo kopi susu gula aren): rina.manajer@toko.test (manager), budi.cs@toko.test, sari.cs@toko.test, dimas.cs@toko.test (agents)");
    Ok(())
}

/// The password for a CLI user command: a line from stdin when something is piped in,
/// otherwise a generated one that is printed once.
fn password_from_stdin_or_generated() -> anyhow::Result<(String, bool)> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text)?;
        let line = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_owned();
        if !line.is_empty() {
            return Ok((line, false));
        }
    }
    Ok((tanggap::auth::generate_password(), true))
}

fn user_command(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    let pool = tanggap::db::connect_pool(&settings.database_url, 1)?;
    let mut conn = pool.get()?;
    let conn = &mut **conn;
    let explain = |e: tanggap::error::AppError| anyhow::anyhow!("{e}");
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            manager,
            locale,
        } => {
            let manager_id = match manager {
                Some(m) => Some(
                    accounts::find_by_email(conn, &m)
                        .map_err(|e| anyhow::anyhow!("--manager {m}: {e}"))?
                        .id,
                ),
                None => None,
            };
            let (password, generated) = password_from_stdin_or_generated()?;
            let input = UserInput {
                email,
                name,
                role,
                password: password.clone(),
                manager_id,
                locale,
                must_change_password: generated,
            };
            let user = accounts::create_user(conn, &input, settings.locale).map_err(explain)?;
            println!("user {} added ({}, id {})", user.email, user.role, user.id);
            if generated {
                println!("one-time password: {password}");
            }
        }
        UserCommand::SetPassword { email } => {
            let user = accounts::find_by_email(conn, &email).map_err(explain)?;
            let (password, generated) = password_from_stdin_or_generated()?;
            accounts::set_password(conn, user.id, &password, generated).map_err(explain)?;
            println!(
                "password of {} changed; their other sessions are signed out",
                user.email
            );
            if generated {
                println!("one-time password: {password}");
            }
        }
        UserCommand::Deactivate { email } => {
            let user = accounts::find_by_email(conn, &email).map_err(explain)?;
            let patch = UserPatch {
                active: Some(false),
                ..Default::default()
            };
            accounts::update_user(conn, user.id, &patch).map_err(explain)?;
            println!("{} deactivated; their sessions are signed out", user.email);
        }
        UserCommand::List => {
            for u in tanggap::db::users::list(conn)? {
                let state = if u.active { "active" } else { "deactivated" };
                println!("{}\t{}\t{}\t{}\t{}", u.id, u.email, u.role, state, u.name);
            }
        }
    }
    Ok(())
}
