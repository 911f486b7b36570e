//! Typed settings read from the environment (and an optional `.env`).
//!
//! Every variable is parsed here once; a bad value stops start-up with one line that names
//! the variable (exit code 2, see `main.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// Where the data lives: an SQLite file (the default) or a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite {
        path: PathBuf,
        synchronous: Synchronous,
    },
    Postgres(String),
}

/// When SQLite's commit waits for the disk (`TANGGAP_SQLITE_SYNCHRONOUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is on disk before it is answered: nothing answered is lost on a power loss.
    /// The default (`DatabaseUrl::sqlite`).
    Full,
    /// WAL commits are not flushed one by one: faster, and a power loss (not a crash of the
    /// process) can lose the writes of the last moments, already answered.
    Normal,
}

impl Synchronous {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "full" => Some(Self::Full),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| format!("not a valid PostgreSQL URL ({e})"))?;
            return Ok(Self::Postgres(raw.to_owned()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .ok_or_else(|| "expected sqlite://<path> or postgres://user@host/db".to_owned())?;
        if path.is_empty() {
            return Err("the SQLite path is empty".to_owned());
        }
        Ok(Self::sqlite(path))
    }

    /// An SQLite file with the default, durable settings.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::Sqlite {
            path: path.into(),
            synchronous: Synchronous::Full,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// A form safe for logs: the password of a PostgreSQL URL is hidden.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Self::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    url.to_string()
                }
                Err(_) => "postgres://(unparseable)".to_owned(),
            },
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Id,
    En,
}

impl Locale {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "id" => Some(Self::Id),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::En => "en",
        }
    }
}

/// Everything the service needs to run, parsed and checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    /// `None` means "generate and keep one under the data directory" (SQLite mode only).
    pub jwt_secret: Option<SecretString>,
    pub base_url: String,
    pub locale: Locale,
    pub timezone: chrono_tz::Tz,
    pub mail_url: Option<String>,
    pub mail_from: String,
    /// Lifetime of a sign-in token, in minutes.
    pub token_ttl_minutes: i64,
    /// Largest JSON body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Email of the first admin created on an empty database.
    pub admin_email: String,
    /// HTTP worker threads; `None` lets actix choose (one per core).
    pub workers: Option<usize>,
    /// Pool size for database connections.
    pub db_pool_size: u32,
    /// The shop's name, used in replies and emails.
    pub shop_name: String,
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// How often `serve` runs the scheduler's pass; `None` (TANGGAP_TICK_SECONDS=0) leaves it
    /// to `tanggap tick` from cron.
    pub tick_every: Option<std::time::Duration>,
    /// How long a dispatcher holds a claimed mail before another may take it over (the mail of
    /// a crashed server is resent after this).
    pub mail_lease: chrono::Duration,
    /// A bearer token that may read `GET /metrics` without signing in (for a scraper).
    pub metrics_token: Option<SecretString>,
}

/// A variable that could not be used, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn bad(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl Settings {
    /// Reads the process environment (after `.env` was loaded by the caller).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Builds settings from any key lookup: the environment in production, a map in tests.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bind = match get("TANGGAP_BIND") {
            Some(raw) => raw.trim().parse::<SocketAddr>().map_err(|_| {
                bad(
                    "TANGGAP_BIND",
                    format!("'{raw}' is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = PathBuf::from(get("TANGGAP_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let mut database_url = match get("DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse(&raw).map_err(|m| bad("DATABASE_URL", m))?,
            None => DatabaseUrl::sqlite(data_dir.join("tanggap.db")),
        };
        if let Some(raw) = get("TANGGAP_SQLITE_SYNCHRONOUS") {
            let chosen = Synchronous::parse(&raw).ok_or_else(|| {
                bad(
                    "TANGGAP_SQLITE_SYNCHRONOUS",
                    format!("'{raw}' is not one of: full, normal"),
                )
            })?;
            if let DatabaseUrl::Sqlite { synchronous, .. } = &mut database_url {
                *synchronous = chosen;
            }
        }
        let jwt_secret = match get("TANGGAP_JWT_SECRET") {
            Some(raw) if raw.len() < 32 => {
                return Err(bad(
                    "TANGGAP_JWT_SECRET",
                    "must be at least 32 characters long",
                ));
            }
            Some(raw) => Some(SecretString::from(raw)),
            None if database_url.is_postgres() => {
                return Err(bad(
                    "TANGGAP_JWT_SECRET",
                    "is required with PostgreSQL so that every app server signs alike \
                     (generate one with: openssl rand -hex 32)",
                ));
            }
            None => None,
        };
        let base_url = match get("TANGGAP_BASE_URL") {
            Some(raw) => {
                let url = url::Url::parse(raw.trim())
                    .map_err(|e| bad("TANGGAP_BASE_URL", format!("'{raw}' is not a URL ({e})")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(bad(
                        "TANGGAP_BASE_URL",
                        "must start with http:// or https://",
                    ));
                }
                raw.trim().trim_end_matches('/').to_owned()
            }
            None => format!("http://{bind}"),
        };
        let locale = match get("TANGGAP_LOCALE") {
            Some(raw) => Locale::parse(&raw)
                .ok_or_else(|| bad("TANGGAP_LOCALE", format!("'{raw}' is not one of: id, en")))?,
            None => Locale::Id,
        };
        let timezone = match get("TANGGAP_TIMEZONE") {
            Some(raw) => raw.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                bad(
                    "TANGGAP_TIMEZONE",
                    format!("'{raw}' is not an IANA time zone like Asia/Jakarta"),
                )
            })?,
            None => chrono_tz::Asia::Jakarta,
        };
        let mail_url = get("TANGGAP_MAIL_URL");
        if let Some(raw) = &mail_url {
            let ok = raw == "log:"
                || raw.starts_with("file://")
                || raw.starts_with("smtp://")
                || raw.starts_with("smtps://");
            if !ok {
                return Err(bad(
                    "TANGGAP_MAIL_URL",
                    "expected smtp://…, smtps://…, file://<dir> or log:",
                ));
            }
        }
        let mail_from =
            get("TANGGAP_MAIL_FROM").unwrap_or_else(|| "Tanggap <tanggap@localhost>".into());
        let token_ttl_minutes =
            parse_number(&get, "TANGGAP_TOKEN_TTL_MINUTES", 12 * 60, 5, 60 * 24 * 30)?;
        let json_limit_bytes = parse_number(
            &get,
            "TANGGAP_JSON_LIMIT_BYTES",
            256 * 1024,
            1024,
            16 * 1024 * 1024,
        )? as usize;
        let workers = match get("TANGGAP_WORKERS") {
            Some(_) => Some(parse_number(&get, "TANGGAP_WORKERS", 0, 1, 256)? as usize),
            None => None,
        };
        // On SQLite a request keeps its pooled connection while its write waits in the shared
        // writer's batch (see `db::group_commit`), so the pool bounds how many writes one commit
        // can carry: at 16 clients, 8 connections gave 2,305-2,355 tickets/s, 16 gave 2,778-2,803
        // (BENCHMARKS.md section 1). A PostgreSQL connection is a server process: 8 there.
        let default_pool = if database_url.is_postgres() { 8 } else { 16 };
        let db_pool_size = parse_number(&get, "TANGGAP_DB_POOL_SIZE", default_pool, 1, 256)? as u32;
        let shop_name = get("TANGGAP_SHOP_NAME").unwrap_or_else(|| "Tanggap".into());
        let max_attachment_bytes = parse_number(
            &get,
            "TANGGAP_MAX_ATTACHMENT_BYTES",
            20 * 1024 * 1024,
            1024,
            1024 * 1024 * 1024,
        )? as usize;
        let tick_seconds = parse_number(&get, "TANGGAP_TICK_SECONDS", 60, 0, 86_400)?;
        let tick_every =
            (tick_seconds > 0).then(|| std::time::Duration::from_secs(tick_seconds as u64));
        let mail_lease = chrono::Duration::seconds(parse_number(
            &get,
            "TANGGAP_MAIL_LEASE_SECONDS",
            crate::mail::dispatch::LEASE.num_seconds(),
            1,
            86_400,
        )?);
        let metrics_token = match get("TANGGAP_METRICS_TOKEN").map(|raw| raw.trim().to_owned()) {
            Some(raw) if raw.len() < 32 => {
                return Err(bad(
                    "TANGGAP_METRICS_TOKEN",
                    "must be at least 32 characters long",
                ));
            }
            raw => raw.map(SecretString::from),
        };
        let admin_email =
            get("TANGGAP_ADMIN_EMAIL").unwrap_or_else(|| "admin@tanggap.local".into());
        if crate::domain::user::Email::parse(&admin_email).is_err() {
            return Err(bad(
                "TANGGAP_ADMIN_EMAIL",
                format!("'{admin_email}' is not an email address"),
            ));
        }
        Ok(Self {
            bind,
            database_url,
            data_dir,
            jwt_secret,
            base_url,
            locale,
            timezone,
            mail_url,
            mail_from,
            token_ttl_minutes,
            json_limit_bytes,
            admin_email,
            workers,
            db_pool_size,
            shop_name,
            max_attachment_bytes,
            tick_every,
            mail_lease,
            metrics_token,
        })
    }

    /// The JWT signing secret: the configured one, or one generated on first start and kept in
    /// `<data dir>/jwt_secret` (readable by the owner only) so that restarts keep sessions.
    pub fn resolve_jwt_secret(&self) -> anyhow::Result<SecretString> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.clone());
        }
        load_or_create_secret(&self.data_dir.join("jwt_secret"))
    }
}

fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad(
                variable,
                format!("'{raw}' is not a whole number from {min} to {max}"),
            )),
        },
    }
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<SecretString> {
    use anyhow::Context;
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(SecretString::from(existing));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = crate::auth::random_token(48);
    write_private_file(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(SecretString::from(secret))
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Keeps secrets out of `Debug` output of structs that hold them.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, DatabaseUrl::sqlite("./data/tanggap.db"));
        assert_eq!(s.timezone, chrono_tz::Asia::Jakarta);
        assert_eq!(s.locale, Locale::Id);
        assert_eq!(
            s.db_pool_size, 16,
            "SQLite: room for a full batch of writes"
        );
        let pg = settings(&[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"),
            (
                "TANGGAP_JWT_SECRET",
                "a-secret-that-is-long-enough-0123456789abcdef",
            ),
        ])
        .unwrap();
        assert_eq!(
            pg.db_pool_size, 8,
            "PostgreSQL: each connection is a server process"
        );
        let set = settings(&[("TANGGAP_DB_POOL_SIZE", "3")]).unwrap();
        assert_eq!(set.db_pool_size, 3);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("TANGGAP_BIND", "nowhere"),
            ("DATABASE_URL", "mysql://x"),
            ("TANGGAP_LOCALE", "fr"),
            ("TANGGAP_TIMEZONE", "Mars/Olympus"),
            ("TANGGAP_BASE_URL", "ftp://x"),
            ("TANGGAP_JWT_SECRET", "short"),
            ("TANGGAP_MAIL_URL", "carrier-pigeon"),
            ("TANGGAP_TOKEN_TTL_MINUTES", "-1"),
            ("TANGGAP_MAIL_LEASE_SECONDS", "0"),
            ("TANGGAP_SQLITE_SYNCHRONOUS", "off"),
            ("TANGGAP_METRICS_TOKEN", "too-short-to-guess-hard"),
        ];
        for (variable, value) in cases {
            let err = settings(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{value}");
        }
    }

    #[test]
    fn sqlite_durability_is_full_unless_asked() {
        let synchronous = |pairs: &[(&str, &str)]| match settings(pairs).unwrap().database_url {
            DatabaseUrl::Sqlite { synchronous, .. } => synchronous,
            DatabaseUrl::Postgres(_) => panic!("expected SQLite"),
        };
        assert_eq!(synchronous(&[]), Synchronous::Full);
        assert_eq!(
            synchronous(&[("TANGGAP_SQLITE_SYNCHRONOUS", "Normal")]),
            Synchronous::Normal
        );
        assert_eq!(
            synchronous(&[("TANGGAP_SQLITE_SYNCHRONOUS", "full")]),
            Synchronous::Full
        );
    }

    #[test]
    fn postgres_requires_a_jwt_secret() {
        let err =
            settings(&[("DATABASE_URL", "postgres://postgres@127.0.0.1/tanggap")]).unwrap_err();
        assert_eq!(err.variable, "TANGGAP_JWT_SECRET");
    }

    #[test]
    fn redacted_url_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@db/tanggap").unwrap();
        assert!(!url.redacted().contains("hunter2"));
    }
}
