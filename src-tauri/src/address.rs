//! What people type as a server address, made into the URLs Hearth uses. Forgiving in form:
//! `192.168.1.5:7878`, `192.168.1.5`, `hearth.example.org`, `http://…`, `https://…`, `ws://…`,
//! `wss://…`, with or without a trailing `/ws`.

use serde::Serialize;

/// The port of a Hearth host when none is given.
pub const DEFAULT_PORT: u16 = 7878;

/// A server, ready to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerAddress {
    /// The page and HTTP base, e.g. `http://192.168.1.5:7878`.
    pub http_url: String,
    /// The WebSocket, e.g. `ws://192.168.1.5:7878/ws`.
    pub ws_url: String,
    /// `host:port`, for connecting and for showing.
    pub authority: String,
    pub host: String,
    pub port: u16,
    pub secure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("Enter a server address, such as 192.168.1.5:7878 or https://hearth.example.org.")]
    Empty,
    #[error("{0:?} is not a server address: it has spaces in it.")]
    Spaces(String),
    #[error("{0:?} is not a server address Hearth can use: it should start with http, https, ws or wss.")]
    Scheme(String),
    #[error("{0:?} has no valid port: ports are numbers from 1 to 65535.")]
    Port(String),
    #[error("{0:?} has no host name or IP address.")]
    Host(String),
}

/// Reads a typed address.
pub fn parse(input: &str) -> Result<ServerAddress, AddressError> {
    let raw = input.trim();
    if raw.is_empty() {
        return Err(AddressError::Empty);
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(AddressError::Spaces(raw.to_owned()));
    }
    let (secure, explicit_scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => (false, true, rest),
            "https" | "wss" => (true, true, rest),
            _ => return Err(AddressError::Scheme(raw.to_owned())),
        },
        None => (false, false, raw),
    };
    // Only the authority matters: drop any path, query or fragment (such as a pasted /ws or /?room=).
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) =
        split_host_port(authority).ok_or_else(|| AddressError::Port(raw.to_owned()))?;
    if host.is_empty() || host == "[]" {
        return Err(AddressError::Host(raw.to_owned()));
    }
    let port = match port {
        Some(p) => p,
        // A bare address is a Hearth host on the LAN; a URL without a port uses the scheme's.
        None if !explicit_scheme => DEFAULT_PORT,
        None if secure => 443,
        None => 80,
    };
    let host = host.to_ascii_lowercase();
    let default_port = if secure { 443 } else { 80 };
    let authority = if port == default_port && explicit_scheme {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let (http, ws) = if secure {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    Ok(ServerAddress {
        http_url: format!("{http}://{authority}"),
        ws_url: format!("{ws}://{authority}/ws"),
        authority,
        host,
        port,
        secure,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; None when the port is not a valid number.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let parse_port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0);
    if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let host = &authority[..v6.len() + 2];
        return match after.strip_prefix(':') {
            None if after.is_empty() => Some((host, None)),
            Some(p) => Some((host, Some(parse_port(p)?))),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((authority, None)),
        Some((host, p)) => Some((host, Some(parse_port(p)?))),
        None => Some((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(input: &str) -> (String, String) {
        let a = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        (a.http_url, a.ws_url)
    }

    #[test]
    fn every_form_people_type_works() {
        let lan = (
            "http://192.168.1.5:7878".to_owned(),
            "ws://192.168.1.5:7878/ws".to_owned(),
        );
        for input in [
            "192.168.1.5:7878",
            "192.168.1.5",
            " 192.168.1.5:7878 ",
            "http://192.168.1.5:7878",
            "http://192.168.1.5:7878/",
            "ws://192.168.1.5:7878/ws",
            "HTTP://192.168.1.5:7878/?room=abc",
        ] {
            assert_eq!(urls(input), lan, "{input}");
        }
        assert_eq!(
            urls("https://hearth.example.org"),
            (
                "https://hearth.example.org".into(),
                "wss://hearth.example.org/ws".into()
            )
        );
        assert_eq!(
            urls("wss://Hearth.Example.org/ws"),
            (
                "https://hearth.example.org".into(),
                "wss://hearth.example.org/ws".into()
            )
        );
        assert_eq!(
            urls("https://hearth.example.org:8443"),
            (
                "https://hearth.example.org:8443".into(),
                "wss://hearth.example.org:8443/ws".into()
            )
        );
        assert_eq!(
            urls("hearth.local"),
            (
                "http://hearth.local:7878".into(),
                "ws://hearth.local:7878/ws".into()
            )
        );
        assert_eq!(
            urls("http://example.org"),
            ("http://example.org".into(), "ws://example.org/ws".into())
        );
    }

    #[test]
    fn ipv6_addresses() {
        assert_eq!(
            urls("[fe80::1]:7878"),
            (
                "http://[fe80::1]:7878".into(),
                "ws://[fe80::1]:7878/ws".into()
            )
        );
        assert_eq!(
            urls("[::1]"),
            ("http://[::1]:7878".into(), "ws://[::1]:7878/ws".into())
        );
        assert_eq!(parse("wss://[2001:db8::2]").expect("ok").port, 443);
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(parse("  "), Err(AddressError::Empty));
        assert!(matches!(
            parse("192.168.1.5 7878"),
            Err(AddressError::Spaces(_))
        ));
        assert!(matches!(parse("ftp://host"), Err(AddressError::Scheme(_))));
        assert!(matches!(parse("host:99999"), Err(AddressError::Port(_))));
        assert!(matches!(parse("host:0"), Err(AddressError::Port(_))));
        assert!(matches!(parse("host:abc"), Err(AddressError::Port(_))));
        assert!(matches!(parse("http://:7878"), Err(AddressError::Host(_))));
        for e in [parse(""), parse("ftp://x"), parse("h:99999")] {
            assert!(e.expect_err("error").to_string().len() > 20);
        }
    }
}
