//! ICE server configuration (STUN and TURN) from the tutorial's environment variables, including
//! time-limited TURN REST credentials, so the secret itself never leaves the server.
//!
//! Shared by the standalone server and the desktop app: both call [`IceConfig::from_lookup`].

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default lifetime of TURN REST credentials (`TURN_TTL_SECS`).
pub const DEFAULT_TURN_TTL: Duration = Duration::from_secs(86_400);

/// One entry of `RTCConfiguration.iceServers`, as browsers expect it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// How TURN clients authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum TurnAuth {
    /// A fixed username and password (`TURN_USERNAME`, `TURN_CREDENTIAL`), handed to every client.
    Static {
        username: String,
        credential: String,
    },
    /// coturn's `use-auth-secret`: a per-client username `<expiry>:<id>` and its HMAC-SHA1.
    Rest { secret: String, ttl: Duration },
}

impl std::fmt::Debug for TurnAuth {
    // Written by hand so that logging a configuration never prints a password or secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TurnAuth::Static { username, .. } => {
                write!(
                    f,
                    "Static {{ username: {username:?}, credential: <hidden> }}"
                )
            }
            TurnAuth::Rest { ttl, .. } => write!(f, "Rest {{ secret: <hidden>, ttl: {ttl:?} }}"),
        }
    }
}

/// The STUN and TURN servers offered to clients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceConfig {
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    /// `None` only when `turn_urls` is empty.
    pub turn_auth: Option<TurnAuth>,
}

/// A configuration that cannot work; the message names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceConfigError {
    #[error(
        "{var}: {url:?} is not a {expected} URL (it should start with {expected}: or {expected}s:)"
    )]
    BadUrl {
        var: &'static str,
        url: String,
        expected: &'static str,
    },
    #[error(
        "TURN_URLS is set but neither TURN_SECRET nor both TURN_USERNAME and TURN_CREDENTIAL are"
    )]
    MissingTurnAuth,
    #[error("TURN_TTL_SECS must be a whole number of seconds from 60 to 31536000, not {0:?}")]
    BadTtl(String),
}

impl IceConfig {
    /// Reads `STUN_SERVER_ID`, `TURN_URLS`, `TURN_USERNAME`, `TURN_CREDENTIAL`, `TURN_SECRET` and
    /// `TURN_TTL_SECS` through `lookup` (the process environment, or a settings file). Unset and
    /// empty variables leave their entry out.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, IceConfigError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let stun_urls = url_list(get("STUN_SERVER_ID"), "STUN_SERVER_ID", "stun")?;
        let turn_urls = url_list(get("TURN_URLS"), "TURN_URLS", "turn")?;
        let turn_auth = if turn_urls.is_empty() {
            None
        } else if let Some(secret) = get("TURN_SECRET") {
            let ttl = match get("TURN_TTL_SECS") {
                None => DEFAULT_TURN_TTL,
                Some(raw) => match raw.parse::<u64>() {
                    Ok(secs) if (60..=31_536_000).contains(&secs) => Duration::from_secs(secs),
                    _ => return Err(IceConfigError::BadTtl(raw)),
                },
            };
            Some(TurnAuth::Rest { secret, ttl })
        } else {
            match (get("TURN_USERNAME"), get("TURN_CREDENTIAL")) {
                (Some(username), Some(credential)) => Some(TurnAuth::Static {
                    username,
                    credential,
                }),
                _ => return Err(IceConfigError::MissingTurnAuth),
            }
        };
        Ok(IceConfig {
            stun_urls,
            turn_urls,
            turn_auth,
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, IceConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// The list for one client. `client_id` becomes part of a TURN REST username, so that the TURN
    /// server's logs can tell clients apart.
    pub fn ice_servers(&self, now: SystemTime, client_id: &str) -> Vec<IceServer> {
        let mut servers = Vec::with_capacity(2);
        if !self.stun_urls.is_empty() {
            servers.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        match &self.turn_auth {
            Some(_) if self.turn_urls.is_empty() => {}
            None => {}
            Some(TurnAuth::Static {
                username,
                credential,
            }) => servers.push(IceServer {
                urls: self.turn_urls.clone(),
                username: Some(username.clone()),
                credential: Some(credential.clone()),
            }),
            Some(TurnAuth::Rest { secret, ttl }) => {
                let (username, credential) = turn_rest_credential(secret, now + *ttl, client_id);
                servers.push(IceServer {
                    urls: self.turn_urls.clone(),
                    username: Some(username),
                    credential: Some(credential),
                });
            }
        }
        servers
    }
}

/// coturn's REST scheme: username `<expiry unix seconds>:<id>`, credential
/// `base64(HMAC-SHA1(secret, username))`.
pub fn turn_rest_credential(secret: &str, expires: SystemTime, id: &str) -> (String, String) {
    let expiry = expires
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let username = format!("{expiry}:{id}");
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, credential)
}

fn url_list(
    raw: Option<String>,
    var: &'static str,
    expected: &'static str,
) -> Result<Vec<String>, IceConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|url| {
            let scheme = url
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if scheme == expected || scheme == format!("{expected}s") {
                Ok(url.to_owned())
            } else {
                Err(IceConfigError::BadUrl {
                    var,
                    url: url.to_owned(),
                    expected,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<IceConfig, IceConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        IceConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_gives_no_servers() {
        let cfg = config(&[]).expect("valid");
        assert!(cfg.ice_servers(SystemTime::now(), "x").is_empty());
        // The tutorial sent {"urls": undefined}; an empty variable must not produce an entry either.
        let cfg = config(&[("STUN_SERVER_ID", " "), ("TURN_URLS", "")]).expect("valid");
        assert!(cfg.ice_servers(SystemTime::now(), "x").is_empty());
    }

    #[test]
    fn static_turn_and_url_lists() {
        let cfg = config(&[
            ("STUN_SERVER_ID", "stun:a.example:3478, stun:b.example:3478"),
            (
                "TURN_URLS",
                "turn:t.example:3478?transport=udp,turns:t.example:5349",
            ),
            ("TURN_USERNAME", "user"),
            ("TURN_CREDENTIAL", "pass"),
        ])
        .expect("valid");
        let servers = cfg.ice_servers(SystemTime::now(), "x");
        assert_eq!(servers.len(), 2);
        assert_eq!(
            servers[0].urls,
            ["stun:a.example:3478", "stun:b.example:3478"]
        );
        assert_eq!(
            servers[1].urls,
            ["turn:t.example:3478?transport=udp", "turns:t.example:5349"]
        );
        assert_eq!(servers[1].username.as_deref(), Some("user"));
        assert_eq!(servers[1].credential.as_deref(), Some("pass"));
        let json = serde_json::to_string(&servers[0]).expect("json");
        assert_eq!(
            json,
            r#"{"urls":["stun:a.example:3478","stun:b.example:3478"]}"#
        );
    }

    #[test]
    fn turn_without_auth_is_an_error() {
        assert_eq!(
            config(&[("TURN_URLS", "turn:t:3478")]),
            Err(IceConfigError::MissingTurnAuth)
        );
        assert_eq!(
            config(&[("TURN_URLS", "turn:t:3478"), ("TURN_USERNAME", "u")]),
            Err(IceConfigError::MissingTurnAuth)
        );
    }

    #[test]
    fn wrong_schemes_are_named() {
        let err = config(&[("STUN_SERVER_ID", "turn:x:1")]).expect_err("bad");
        assert!(err.to_string().contains("STUN_SERVER_ID"), "{err}");
        assert!(config(&[("TURN_URLS", "http://x")]).is_err());
    }

    #[test]
    fn rest_credentials_follow_coturn() {
        let cfg = config(&[
            ("TURN_URLS", "turn:t:3478"),
            ("TURN_SECRET", "s3cret"),
            ("TURN_TTL_SECS", "600"),
        ])
        .expect("valid");
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let servers = cfg.ice_servers(now, "peer42");
        assert_eq!(servers[0].username.as_deref(), Some("1700000600:peer42"));
        // Reference value from Python: base64(hmac.new(b"s3cret", b"1700000600:peer42", sha1).digest())
        assert_eq!(
            servers[0].credential.as_deref(),
            Some("iqKMxDK8wYntJbDWNf4hQYaH8gk=")
        );
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn bad_ttl_is_refused() {
        for ttl in ["0", "abc", "-5", "99999999999"] {
            let err = config(&[
                ("TURN_URLS", "turn:t"),
                ("TURN_SECRET", "s"),
                ("TURN_TTL_SECS", ttl),
            ]);
            assert_eq!(err, Err(IceConfigError::BadTtl(ttl.to_owned())));
        }
    }
}
