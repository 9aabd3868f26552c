//! Who may use a public server: invite tokens, HS256 JWTs signed with the operator's
//! `AUTH_SECRET`, each naming the room it opens (or `*` for any) and when it expires, and
//! optionally the display name of the person it was made for.
//!
//! Without a secret the server is open, as a server on a LAN or the desktop app's host mode is.
//! With one, `join` and `GET /ice-servers` need a token ([`Auth::verify`]); the `signaling token`
//! command makes them ([`Auth::mint`]).

use crate::protocol::validate_room;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The room claim that opens every room.
pub const ANY_ROOM: &str = "*";

/// Clock difference between the machine that made a token and the server that checks it which
/// is still forgiven at expiry.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// Shortest secret accepted: HS256 with fewer than 32 bytes of key is guessable offline.
pub const MIN_SECRET_BYTES: usize = 32;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Expiry, in seconds since the Unix epoch. Required: a token that never expires cannot be
    /// taken back short of changing the secret for everyone.
    pub exp: u64,
    /// The room this token opens, or [`ANY_ROOM`].
    pub room: String,
    /// The display name the holder appears under; when present it replaces the one in `join`,
    /// so an invite made for Ada shows as Ada whatever is typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Why a token was refused. Each message is the sentence the client is sent with `unauthorized`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("This server needs an invite token: open the invite link you were given, or ask the server's operator for one.")]
    Missing,
    #[error("The invite token is not a token this server can read; check that the whole link was copied, or ask for a new one.")]
    Malformed,
    #[error("The invite token was not issued by this server (its signature does not match); ask for a new invite link.")]
    BadSignature,
    #[error("The invite token has expired; ask for a new invite link.")]
    Expired,
    #[error("The invite token is for room {allowed:?}, not {wanted:?}.")]
    WrongRoom { allowed: String, wanted: String },
}

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("{0}")]
    BadRoom(String),
    #[error("the lifetime must be at least one second and at most ten years")]
    BadTtl,
    #[error("the display name is not usable: {0}")]
    BadName(String),
    #[error("the token could not be signed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Why `AUTH_SECRET` is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("AUTH_SECRET has {0} bytes; use at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)")]
    TooShort(usize),
}

/// The token checker and maker for one secret.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Auth {
    // By hand, so that logging a configuration never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth { secret: <hidden> }")
    }
}

impl Auth {
    /// Tokens signed with `secret` (at least [`MIN_SECRET_BYTES`] bytes).
    pub fn new(secret: &str) -> Result<Auth, SecretError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(secret.len()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_exp = true;
        Ok(Auth {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        })
    }

    /// `AUTH_SECRET` from `lookup` (the environment in the binary): None when unset or empty.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Auth>, SecretError> {
        match lookup("AUTH_SECRET") {
            Some(secret) if !secret.trim().is_empty() => Auth::new(secret.trim()).map(Some),
            _ => Ok(None),
        }
    }

    /// Checks a token and returns its claims; `room` is the room it must open, or None for a
    /// request that is not about one room (`/ice-servers`).
    pub fn verify(&self, token: Option<&str>, room: Option<&str>) -> Result<Claims, TokenError> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Missing)?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })?;
        let claims = data.claims;
        if let Some(wanted) = room {
            if claims.room != ANY_ROOM && claims.room != wanted {
                return Err(TokenError::WrongRoom {
                    allowed: claims.room,
                    wanted: wanted.to_owned(),
                });
            }
        }
        Ok(claims)
    }

    /// A token for `room` (or [`ANY_ROOM`]) valid for `ttl` from `now`, optionally for a name.
    pub fn mint(
        &self,
        room: &str,
        ttl: Duration,
        name: Option<&str>,
        now: SystemTime,
    ) -> Result<String, MintError> {
        if room != ANY_ROOM {
            validate_room(room).map_err(|e| MintError::BadRoom(e.to_string()))?;
        }
        if ttl < Duration::from_secs(1) || ttl > Duration::from_secs(10 * 366 * 86_400) {
            return Err(MintError::BadTtl);
        }
        let name = name
            .map(crate::protocol::validate_name)
            .transpose()
            .map_err(|e| MintError::BadName(e.to_string()))?;
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let claims = Claims {
            exp: (now + ttl).as_secs(),
            room: room.to_owned(),
            name,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }
}

/// Reads a lifetime as people write it: `90s`, `30m`, `2h`, `7d`, or plain seconds.
pub fn parse_ttl(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let n: u64 = number.trim().parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn lifetimes_read_as_written() {
        assert_eq!(parse_ttl("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_ttl("3600"), Some(Duration::from_secs(3600)));
        for bad in ["", "h", "2w", "-1h", "1.5h"] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_short_secret_is_refused_and_never_printed() {
        assert_eq!(Auth::new("short").err(), Some(SecretError::TooShort(5)));
        let auth = Auth::new(SECRET).expect("secret");
        assert!(!format!("{auth:?}").contains(SECRET));
    }

    #[test]
    fn minted_tokens_verify_for_their_room_only() {
        let auth = Auth::new(SECRET).expect("secret");
        let now = SystemTime::now();
        let token = auth
            .mint("kitchen", Duration::from_secs(60), Some(" Ada "), now)
            .expect("mint");
        let claims = auth.verify(Some(&token), Some("kitchen")).expect("valid");
        assert_eq!(claims.name.as_deref(), Some("Ada"));
        assert!(matches!(
            auth.verify(Some(&token), Some("garden")),
            Err(TokenError::WrongRoom { .. })
        ));
        let any = auth
            .mint(ANY_ROOM, Duration::from_secs(60), None, now)
            .expect("mint");
        assert!(auth.verify(Some(&any), Some("garden")).is_ok());
        assert!(auth
            .mint("a b", Duration::from_secs(60), None, now)
            .is_err());
    }
}
