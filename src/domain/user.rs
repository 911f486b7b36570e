//! People who work the desk: roles, email addresses, names and the password policy.

use serde::{Deserialize, Serialize};

/// What a user may do. Agents work tickets; managers also receive overdue alerts and take
/// escalations; admins also manage users and settings.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == raw.trim())
            .ok_or_else(|| format!("'{raw}' is not one of: agent, manager, admin"))
    }

    /// Managers and admins are the senior people: escalation targets and alert receivers.
    pub fn is_senior(self) -> bool {
        matches!(self, Role::Manager | Role::Admin)
    }
}

/// A checked, lower-cased email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("is not an email address".into());
        };
        let bad_chars = |s: &str| {
            s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@')
        };
        if local.is_empty()
            || domain.is_empty()
            || bad_chars(local)
            || bad_chars(domain)
            || domain.starts_with('.')
            || domain.ends_with('.')
            || email.contains(['<', '>', ',', ';', '"'])
        {
            return Err("is not an email address".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A person's display name: trimmed, 1 to 120 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > 120 {
        return Err("must be at most 120 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_owned())
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The most common passwords (and Indonesian favourites), refused whatever their length.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// The password policy of NIST SP 800-63B: a minimum length, long passphrases welcome, no
/// composition rules, and the passwords everybody guesses first refused.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    let lowered = password.trim().to_lowercase();
    let common = COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .any(|candidate| candidate == lowered);
    if common {
        return Err("is one of the most common passwords; choose another".into());
    }
    let first = lowered.chars().next();
    if lowered.chars().all(|c| Some(c) == first) {
        return Err("must not repeat one character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print_alike() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("owner").is_err());
    }

    #[test]
    fn emails_are_checked_and_lowered() {
        assert_eq!(
            Email::parse(" Sari@Toko.ID ").unwrap().as_str(),
            "sari@toko.id"
        );
        for bad in [
            "",
            "sari",
            "@toko.id",
            "sari@",
            "sa ri@toko.id",
            "a@b@c",
            "x@y.com\r\nBcc: z",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        assert!(check_password("short").is_err());
        assert!(check_password("password").is_err());
        assert!(check_password("PASSWORD123").is_err());
        assert!(check_password("bismillah").is_err());
        assert!(check_password("aaaaaaaaaaaa").is_err());
        assert!(check_password("kopi susu gula aren 2026").is_ok());
        assert!(check_password("lowercaseonlyisfine").is_ok());
        assert!(check_password(&"x".repeat(300)).is_err());
    }
}
