//! Who is asking: password hashing, sign-in tokens and the `CurrentUser` extractor.

pub mod current_user;
pub mod links;
pub mod password;
pub mod token;

pub use current_user::{AdminUser, CurrentUser, SeniorUser, SignedIn};
pub use token::TokenKeys;

/// Name of the cookie that carries the sign-in token for the browser.
pub const SESSION_COOKIE: &str = "tanggap_session";

/// A random, URL-safe string of `len` characters from the OS generator.
pub fn random_token(len: usize) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Whether `given` is the `expected` secret, in time that does not depend on where they differ.
pub fn same_secret(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A one-time password that is easy to type from a terminal: groups of letters and digits
/// without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> String {
    use rand::seq::SliceRandom;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| *ALPHABET.choose(&mut rng).unwrap_or(&b'x') as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_secret_matches_only_itself() {
        assert!(super::same_secret("scrape-me-0123", "scrape-me-0123"));
        assert!(!super::same_secret("scrape-me-0123", "scrape-me-0124"));
        assert!(!super::same_secret("scrape-me-0123", "scrape-me-012"));
        assert!(!super::same_secret("scrape-me-0123", ""));
    }
}
