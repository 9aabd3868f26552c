//! Data-channel messages across the bridge, as raw bytes both ways (never JSON or base64):
//! what a received message looks like on the page's `data` channel ([`frame`]), and what
//! `native_peer_send`'s headers say about the message in its body ([`Outgoing`]).
//!
//! A received message is `[channel, kind, payload…]`: byte 0 the channel (0 chat, 1 files),
//! byte 1 [`TEXT`] (the payload is UTF-8) or [`BINARY`], then the payload.

use hearth_engine::{DataKind, CHAT, FILES};
use tauri::http::HeaderMap;

use crate::error::CommandError;

/// Byte 1 of a message whose payload is text (UTF-8).
pub const TEXT: u8 = 0;
/// Byte 1 of a message whose payload is bytes.
pub const BINARY: u8 = 1;

/// A received message as the page gets it.
pub fn frame(channel: u16, kind: DataKind, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(2 + payload.len());
    // Only channels 0 and 1 exist, so the id fits a byte.
    bytes.push(u8::try_from(channel).unwrap_or(u8::MAX));
    bytes.push(match kind {
        DataKind::Text => TEXT,
        DataKind::Binary => BINARY,
    });
    bytes.extend_from_slice(payload);
    bytes
}

/// The header naming the connection. `connection`, the name first agreed on, is a forbidden
/// request header of the Fetch standard: a webview drops it from the `fetch` that carries
/// Tauri's IPC (Chromium was seen doing so), so it only arrives through Tauri's `postMessage`
/// fallback. It is still read when this one is missing.
pub const CONNECTION_HEADER: &str = "hearth-connection";

/// Where and how `native_peer_send` sends the bytes of its body, from its headers:
/// [`CONNECTION_HEADER`] (the page's name for the connection), `channel` (`"0"` or `"1"`),
/// `kind` (`"text"` or `"binary"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub connection: String,
    pub channel: u16,
    pub kind: DataKind,
}

fn bad(message: impl Into<String>) -> CommandError {
    CommandError::new("bad-request", message)
}

impl Outgoing {
    pub fn from_headers(headers: &HeaderMap) -> Result<Outgoing, CommandError> {
        let header = |name: &str| -> Result<&str, CommandError> {
            headers
                .get(name)
                .ok_or_else(|| bad(format!("the `{name}` header is missing")))?
                .to_str()
                .map_err(|_| bad(format!("the `{name}` header is not text")))
        };
        let connection = header(CONNECTION_HEADER)
            .or_else(|_| header("connection"))
            .map_err(|_| bad(format!("the `{CONNECTION_HEADER}` header is missing")))?
            .to_string();
        let channel = match header("channel")? {
            "0" => CHAT,
            "1" => FILES,
            other => {
                return Err(bad(format!(
                    "no data channel `{other}` (0 is the chat, 1 the files)"
                )))
            }
        };
        let kind = match header("kind")? {
            "text" => DataKind::Text,
            "binary" => DataKind::Binary,
            other => {
                return Err(bad(format!(
                    "a message is `text` or `binary`, not `{other}`"
                )))
            }
        };
        Ok(Outgoing {
            connection,
            channel,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use tauri::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_received_message_is_its_channel_its_kind_then_its_bytes() {
        assert_eq!(
            frame(CHAT, DataKind::Text, b"hi"),
            vec![0, TEXT, b'h', b'i']
        );
        assert_eq!(frame(FILES, DataKind::Binary, &[9]), vec![1, BINARY, 9]);
        assert_eq!(frame(FILES, DataKind::Binary, &[]), vec![1, BINARY]);
    }

    #[test]
    fn the_headers_say_where_a_message_goes() {
        let outgoing = Outgoing::from_headers(&headers(&[
            ("hearth-connection", "ada"),
            ("channel", "1"),
            ("kind", "binary"),
        ]))
        .expect("valid");
        // The first name, where it arrives (Tauri's postMessage fallback).
        let first = Outgoing::from_headers(&headers(&[
            ("connection", "ada"),
            ("channel", "1"),
            ("kind", "binary"),
        ]))
        .expect("valid");
        assert_eq!(first, outgoing);
        assert_eq!(
            outgoing,
            Outgoing {
                connection: "ada".into(),
                channel: FILES,
                kind: DataKind::Binary
            }
        );
        for wrong in [
            headers(&[("channel", "0"), ("kind", "text")]),
            headers(&[("connection", "ada"), ("channel", "2"), ("kind", "text")]),
            headers(&[("connection", "ada"), ("channel", "0"), ("kind", "json")]),
        ] {
            let error = Outgoing::from_headers(&wrong).expect_err("refused");
            assert_eq!(error.code, "bad-request");
        }
    }
}
