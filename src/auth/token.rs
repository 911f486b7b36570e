//! Sign-in tokens: JWTs signed with HS256 (the algorithm is pinned: a token that names any
//! other, `none` included, is refused), with issuer, audience and expiry checked, and the
//! user's token version inside so that one counter revokes every older token.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "tanggap";
pub const AUDIENCE: &str = "tanggap-desk";
pub const ALGORITHM: Algorithm = Algorithm::HS256;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id, as a string (RFC 7519 wants a string subject).
    pub sub: String,
    /// The user's token version when the token was issued.
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_minutes: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &SecretString, ttl_minutes: i64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl_minutes,
        }
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_minutes * 60
    }

    pub fn issue(&self, user_id: i64, token_version: i32) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            ver: token_version,
            iat: now,
            exp: now + self.ttl_seconds(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a token: {e}"))
    }

    /// The claims of a valid token, or `None` for anything expired, tampered with, signed
    /// otherwise or malformed. Why a token failed is not told to the client.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Some(data.claims),
            Err(e) => {
                tracing::debug!(error = %e, "token refused");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &SecretString::from("a-test-secret-that-is-long-enough-1234"),
            60,
        )
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let token = keys.issue(42, 3).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("42", 3));
        assert_eq!(claims.iss, ISSUER);
    }

    #[test]
    fn another_secret_is_refused() {
        let token = keys().issue(42, 1).unwrap();
        let other = TokenKeys::new(
            &SecretString::from("another-secret-that-is-long-enough-99"),
            60,
        );
        assert!(other.verify(&token).is_none());
    }
}
