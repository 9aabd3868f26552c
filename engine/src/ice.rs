//! ICE servers in the browser's shape (`{urls, username, credential}`) turned into what webrtcbin
//! takes: one `stun://host:port` and any number of `turn(s)://user:pass@host:port` URLs.

use serde::Deserialize;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    #[serde(deserialize_with = "one_or_many")]
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(url) => vec![url],
        OneOrMany::Many(urls) => urls,
    })
}

/// What webrtcbin is given.
#[derive(Debug, Default, PartialEq)]
pub struct WebrtcbinIce {
    /// webrtcbin takes one STUN server; the first one listed wins.
    pub stun: Option<String>,
    pub turn: Vec<String>,
}

/// Converts the browser's list. URLs webrtcbin cannot use are skipped, not fatal: a call may
/// still connect directly.
pub fn for_webrtcbin(servers: &[IceServer]) -> WebrtcbinIce {
    let mut out = WebrtcbinIce::default();
    for server in servers {
        for url in &server.urls {
            let Some((scheme, rest)) = url.split_once(':') else {
                continue;
            };
            // `stun:host:port?transport=udp`: webrtcbin's URLs have `//` and no query for STUN.
            let rest = rest.trim_start_matches("//");
            match scheme.to_ascii_lowercase().as_str() {
                "stun" | "stuns" if out.stun.is_none() => {
                    let host = rest.split('?').next().unwrap_or(rest);
                    out.stun = Some(format!("stun://{}", with_port(host, 3478)));
                }
                "turn" | "turns" => {
                    let (host, query) = match rest.split_once('?') {
                        Some((h, q)) => (h, Some(q)),
                        None => (rest, None),
                    };
                    let default_port = if scheme.eq_ignore_ascii_case("turns") {
                        5349
                    } else {
                        3478
                    };
                    let user = encode(server.username.as_deref().unwrap_or(""));
                    let pass = encode(server.credential.as_deref().unwrap_or(""));
                    let mut turn = format!(
                        "{}://{user}:{pass}@{}",
                        scheme.to_ascii_lowercase(),
                        with_port(host, default_port)
                    );
                    if let Some(q) = query {
                        turn.push('?');
                        turn.push_str(q);
                    }
                    out.turn.push(turn);
                }
                _ => {}
            }
        }
    }
    out
}

fn with_port(host: &str, port: u16) -> String {
    let has_port = match host.rfind(']') {
        Some(end) => host[end..].contains(':'),
        None => host.contains(':'),
    };
    if has_port {
        host.to_string()
    } else {
        format!("{host}:{port}")
    }
}

/// Percent-encodes a user or password for the userinfo part of a URL: TURN REST usernames carry
/// a `:` (`expiry:name`) and credentials are base64 (`+`, `/`, `=`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str], user: Option<&str>, cred: Option<&str>) -> IceServer {
        IceServer {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            username: user.map(str::to_string),
            credential: cred.map(str::to_string),
        }
    }

    #[test]
    fn stun_and_turn_become_webrtcbin_urls() {
        let ice = for_webrtcbin(&[
            server(
                &["stun:stun.example.org:19302", "stun:second.example.org"],
                None,
                None,
            ),
            server(
                &[
                    "turn:turn.example.org?transport=tcp",
                    "turns:turn.example.org:443",
                ],
                Some("1700000000:ann"),
                Some("a+b/c="),
            ),
        ]);
        assert_eq!(ice.stun.as_deref(), Some("stun://stun.example.org:19302"));
        assert_eq!(
            ice.turn,
            vec![
                "turn://1700000000%3Aann:a%2Bb%2Fc%3D@turn.example.org:3478?transport=tcp"
                    .to_string(),
                "turns://1700000000%3Aann:a%2Bb%2Fc%3D@turn.example.org:443".to_string(),
            ]
        );
    }

    #[test]
    fn urls_may_be_one_string_and_unknown_schemes_are_skipped() {
        let servers: Vec<IceServer> =
            serde_json::from_str(r#"[{"urls":"stun:[::1]"},{"urls":["http://x"]}]"#)
                .expect("valid JSON");
        let ice = for_webrtcbin(&servers);
        assert_eq!(ice.stun.as_deref(), Some("stun://[::1]:3478"));
        assert!(ice.turn.is_empty());
    }
}
