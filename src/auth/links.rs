//! The customer's link: a signed, expiring token for one ticket, so the customer can follow
//! their ticket, answer a proposal and rate the help without an account. The token carries the
//! ticket id and the expiry, signed with HMAC-SHA256; it opens that one ticket only.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How long a link in an email stays valid.
pub const LINK_DAYS: i64 = 60;

#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    /// A key of its own, derived from the signing secret, so a link is never a valid JWT
    /// signature and the other way round.
    pub fn new(secret: &SecretString) -> Self {
        let mut key = b"tanggap customer link v1:".to_vec();
        key.extend_from_slice(secret.expose_secret().as_bytes());
        Self { key }
    }

    fn signature(&self, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A token for `ticket_id` valid until `expires` (unix seconds).
    pub fn sign(&self, ticket_id: i64, expires: i64) -> String {
        let payload = format!("{ticket_id}.{expires}");
        format!("{payload}.{}", self.signature(&payload))
    }

    /// The ticket id of a valid, unexpired token.
    pub fn verify(&self, token: &str, now: i64) -> Option<i64> {
        let mut parts = token.splitn(3, '.');
        let (id, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
        let payload = format!("{id}.{expires}");
        let expected = self.signature(&payload);
        // Constant-time comparison, so the signature cannot be guessed byte by byte.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(payload.as_bytes());
        let given = (0..signature.len() / 2)
            .map(|i| u8::from_str_radix(signature.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        if signature.len() != expected.len() || mac.verify_slice(&given).is_err() {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        (expires > now).then_some(())?;
        id.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_one_ticket_until_they_expire() {
        let signer = LinkSigner::new(&SecretString::from(
            "a-test-secret-that-is-long-enough-1234",
        ));
        let token = signer.sign(42, 2_000);
        assert_eq!(signer.verify(&token, 1_000), Some(42));
        assert_eq!(signer.verify(&token, 2_001), None, "expired");
        assert_eq!(
            signer.verify(&token.replacen("42.", "43.", 1), 1_000),
            None,
            "another ticket"
        );
        assert_eq!(
            signer.verify(&token.replacen(".2000.", ".9999.", 1), 1_000),
            None,
            "a longer life"
        );
        assert_eq!(signer.verify("42.2000.zz", 1_000), None);
        let other = LinkSigner::new(&SecretString::from("another-secret-that-is-long-enough-99"));
        assert_eq!(other.verify(&token, 1_000), None);
    }
}
