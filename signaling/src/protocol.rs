//! The wire protocol: one JSON object per WebSocket text frame, tagged by `type`.
//!
//! `docs/PROTOCOL.md` is the same catalogue in prose; keep the two in step. The server never looks
//! inside a signal's `data`: parsing the frame checks it is JSON once, and it is relayed byte for
//! byte, borrowed from the frame it came in.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;

/// Longest room name and display name, in characters.
pub const MAX_ROOM_LEN: usize = 64;
/// Longest display name, in characters (after trimming).
pub const MAX_NAME_LEN: usize = 64;
/// Longest `resume` a `join` may carry, in bytes. The server hands out 32 hex digits; the bound
/// only keeps a client from making the server hold and compare something large.
pub const MAX_RESUME_LEN: usize = 64;

/// A message from a client to the server, borrowing a signal's `data` from the frame.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ClientMessage<'a> {
    /// Enter a room under a display name; on a server with tokens turned on, with an invite
    /// token that opens the room (see `crate::auth`).
    Join {
        room: String,
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The `resume` of this person's last `welcome`, sent when they come back after losing
        /// their connection: if the session it was given to is still in the room, the new
        /// connection takes its place under the same id (see `docs/PROTOCOL.md`).
        #[serde(skip_serializing_if = "Option::is_none")]
        resume: Option<ResumeToken>,
    },
    /// Relay `data` to one peer of the room (`to`), or to every other peer when `to` is absent.
    Signal {
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
        data: &'a RawValue,
    },
    /// Leave the room; the connection stays open and may join again.
    Leave,
    /// Application-level liveness check, answered by [`ServerMessage::Pong`].
    Ping,
}

/// A message from the server to a client.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage<'a> {
    /// The join succeeded: who you are, who is already there, how to reach them, and the secret
    /// that lets this person take this place back after losing the connection.
    Welcome {
        id: &'a PeerId,
        room: &'a str,
        peers: Vec<PeerInfo>,
        #[serde(rename = "iceServers")]
        ice_servers: &'a [crate::ice::IceServer],
        resume: &'a ResumeToken,
    },
    /// Someone entered your room.
    PeerJoined { peer: PeerInfo },
    /// Someone left your room (by `leave`, by closing, or by being dropped).
    PeerLeft { id: &'a PeerId },
    /// A relayed signal; `data` is exactly what the sender sent.
    Signal {
        from: &'a PeerId,
        data: &'a RawValue,
    },
    /// Answer to `ping`.
    Pong,
    /// A request could not be carried out; see [`ErrorCode`].
    Error {
        code: ErrorCode,
        message: &'a str,
        /// With `rate-limited`: how many messages this one reply stands for.
        #[serde(skip_serializing_if = "Option::is_none")]
        refused: Option<u64>,
    },
}

impl ServerMessage<'_> {
    /// The frame text. Serialising these types cannot fail: every field is a string, a list of
    /// strings or already-valid JSON.
    pub fn to_json(&self) -> String {
        // The relayed signal, most of the traffic, is written directly: `data` is JSON already,
        // and a server-made id needs no escaping.
        if let ServerMessage::Signal { from, data } = self {
            let (from, data) = (from.as_str(), data.get());
            if from.bytes().all(|b| b.is_ascii_alphanumeric()) {
                let mut out = String::with_capacity(36 + from.len() + data.len());
                out.push_str(r#"{"type":"signal","from":""#);
                out.push_str(from);
                out.push_str(r#"","data":"#);
                out.push_str(data);
                out.push('}');
                return out;
            }
        }
        // Sized for the whole frame up front: a relayed description is kilobytes, and growing
        // from serde_json's default 128 bytes copies it several times.
        let size = match self {
            ServerMessage::Signal { data, .. } => 64 + data.get().len(),
            _ => 256,
        };
        let mut out = Vec::with_capacity(size);
        let written = serde_json::to_writer(&mut out, self)
            .map_err(|e| e.to_string())
            .and_then(|()| String::from_utf8(out).map_err(|e| e.to_string()));
        written.unwrap_or_else(|e| {
            // Unreachable in practice; still answer with a well-formed frame rather than panic.
            tracing::error!(error = %e, "could not serialise a server message");
            r#"{"type":"error","code":"internal","message":"The server could not encode a reply."}"#
                .to_owned()
        })
    }
}

/// A peer as the others in its room see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerInfo {
    pub id: PeerId,
    pub name: String,
}

/// A server-made, unguessable peer identifier (128 random bits, hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(String);

impl PeerId {
    /// A fresh identifier from the operating system's random source.
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        PeerId(format!("{bits:032x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for PeerId {
    fn from(s: &str) -> Self {
        PeerId(s.to_owned())
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret a `welcome` hands out so that its receiver, and nobody else, can take its place
/// back with a `join` carrying `resume` (128 random bits, hex, as ids are). A fresh one comes with
/// every welcome. Compared in constant time, and never shown: its `Debug` hides it, so it cannot
/// reach a log by accident.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct ResumeToken(String);

impl ResumeToken {
    /// A fresh token from the operating system's random source.
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        ResumeToken(format!("{bits:032x}"))
    }

    /// Whether `offered` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(offered.as_bytes()).into()
    }

    /// The token as it goes on the wire and into the shared store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ResumeToken {
    fn from(s: &str) -> Self {
        ResumeToken(s.to_owned())
    }
}

/// In constant time too, so that no comparison of tokens can leak where they differ.
impl PartialEq for ResumeToken {
    fn eq(&self, other: &Self) -> bool {
        self.matches(&other.0)
    }
}

impl Eq for ResumeToken {}

impl fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeToken(<hidden>)")
    }
}

/// Why a request failed. Serialised in kebab-case: `bad-message`, `room-full`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not JSON, not an object, an unknown `type`, a missing field, or a binary frame.
    BadMessage,
    /// `signal` or `leave` before a successful `join`.
    NotJoined,
    /// `join` while already in a room.
    AlreadyJoined,
    /// The room name is not 1 to 64 of `[A-Za-z0-9_-]`.
    BadRoom,
    /// The display name is empty after trimming, too long, has control or format characters, or
    /// shows nothing.
    BadName,
    /// The room already holds its maximum number of peers.
    RoomFull,
    /// The server hosts only particular rooms, and this is not one of them (a wrong room code).
    UnknownRoom,
    /// `to` names no peer of your room.
    UnknownPeer,
    /// The frame is larger than the server accepts.
    TooLarge,
    /// The connection sent faster than its rate limit allows; the messages were not processed.
    /// One reply stands for a whole burst of refused messages (its `refused` count).
    RateLimited,
    /// No `join` arrived in time; the server closes the connection after this error.
    JoinTimeout,
    /// The server needs an invite token and the `join` carried none, or one that is malformed,
    /// expired, not signed by this server, or for another room. The third on one connection
    /// closes it (1008).
    Unauthorized,
    /// The servers' shared store (Redis) cannot be reached: a `join` cannot be admitted, or a
    /// signal for someone connected to another server cannot be passed on. Try again shortly.
    Unavailable,
}

impl ErrorCode {
    /// The code as it is written on the wire (`room-full`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "bad-message",
            ErrorCode::NotJoined => "not-joined",
            ErrorCode::AlreadyJoined => "already-joined",
            ErrorCode::BadRoom => "bad-room",
            ErrorCode::BadName => "bad-name",
            ErrorCode::RoomFull => "room-full",
            ErrorCode::UnknownRoom => "unknown-room",
            ErrorCode::UnknownPeer => "unknown-peer",
            ErrorCode::TooLarge => "too-large",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::JoinTimeout => "join-timeout",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// Why a frame could not be read as a [`ClientMessage`]; each maps to one error reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    BadMessage(String),
    #[error("{0}")]
    BadRoom(String),
    #[error("{0}")]
    BadName(String),
}

impl ParseError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ParseError::BadMessage(_) => ErrorCode::BadMessage,
            ParseError::BadRoom(_) => ErrorCode::BadRoom,
            ParseError::BadName(_) => ErrorCode::BadName,
        }
    }
}

/// Every field any client message may carry. Internally tagged enums buffer their content, which
/// `RawValue` cannot survive, so frames are read into this flat shape and then checked by `type`.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    room: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    to: Option<&'a RawValue>,
    #[serde(borrow)]
    token: Option<&'a RawValue>,
    #[serde(borrow)]
    resume: Option<&'a RawValue>,
    /// `null` is a value like any other here, so it is kept (plain `Option` would read it as
    /// absent).
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

/// Reads a field that is there, whatever its value, including `null`.
fn present<'de, D>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    <&RawValue>::deserialize(deserializer).map(Some)
}

impl<'a> ClientMessage<'a> {
    /// Reads one text frame. Unknown extra fields are ignored so that clients can grow.
    pub fn parse(text: &'a str) -> Result<ClientMessage<'a>, ParseError> {
        let frame: Frame<'a> = serde_json::from_str(text).map_err(|e| {
            ParseError::BadMessage(format!("The message is not a JSON object: {e}."))
        })?;
        let kind = frame
            .kind
            .and_then(json_str)
            .ok_or_else(|| ParseError::BadMessage("The message has no string \"type\".".into()))?;
        match kind.as_str() {
            "join" => {
                let room = frame.room.and_then(json_str).ok_or_else(|| {
                    ParseError::BadRoom(
                        "\"room\" must be a string of 1 to 64 letters, digits, '-' or '_'.".into(),
                    )
                })?;
                validate_room(&room)?;
                let name = frame.name.and_then(json_str).ok_or_else(|| {
                    ParseError::BadName("\"name\" must be a string of 1 to 64 characters.".into())
                })?;
                let name = validate_name(&name)?;
                // A token that is not a string is refused as a bad token later, with the same
                // `unauthorized` a client gets for any other unusable token; `null` is none.
                let token = match frame.token {
                    None => None,
                    Some(raw) if raw.get() == "null" => None,
                    Some(raw) => Some(json_str(raw).unwrap_or_default()),
                };
                let resume = match frame.resume {
                    None => None,
                    Some(raw) if raw.get() == "null" => None,
                    Some(raw) => Some(
                        json_str(raw)
                            .filter(|r| r.len() <= MAX_RESUME_LEN)
                            .map(ResumeToken)
                            .ok_or_else(|| {
                                ParseError::BadMessage(format!(
                                    "\"resume\" must be a string of at most {MAX_RESUME_LEN} \
                                     bytes, as a welcome gave it."
                                ))
                            })?,
                    ),
                };
                Ok(ClientMessage::Join {
                    room,
                    name,
                    token,
                    resume,
                })
            }
            "signal" => {
                let to = match frame.to {
                    None => None,
                    Some(raw) if raw.get() == "null" => None,
                    Some(raw) => Some(PeerId(json_str(raw).ok_or_else(|| {
                        ParseError::BadMessage("\"to\" must be a peer id string.".into())
                    })?)),
                };
                let data = frame.data.ok_or_else(|| {
                    ParseError::BadMessage("A signal needs a \"data\" field.".into())
                })?;
                Ok(ClientMessage::Signal { to, data })
            }
            "leave" => Ok(ClientMessage::Leave),
            "ping" => Ok(ClientMessage::Ping),
            other => Err(ParseError::BadMessage(format!(
                "Unknown message type {:?}; expected join, signal, leave or ping.",
                truncate(other, 40)
            ))),
        }
    }
}

/// The value as a Rust string when the raw JSON is a string.
fn json_str(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(raw.get()).ok()
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Checks a room name: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn validate_room(room: &str) -> Result<(), ParseError> {
    let ok = !room.is_empty()
        && room.len() <= MAX_ROOM_LEN
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ParseError::BadRoom(
            "A room name is 1 to 64 letters, digits, '-' or '_'.".into(),
        ))
    }
}

/// Checks and trims a display name: 1 to 64 characters, at least one of them visible, and no
/// control characters, no format characters (Unicode category Cf: zero-width characters, bidi
/// overrides and isolates, soft hyphens) and no line or paragraph separators, so that a name shows
/// as what it is and cannot reorder or hide the text around it.
pub fn validate_name(name: &str) -> Result<String, ParseError> {
    let trimmed = name.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Err(ParseError::BadName(
            "A display name is 1 to 64 characters (spaces around it do not count).".into(),
        ));
    }
    if let Some(c) = trimmed
        .chars()
        .find(|&c| c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(ParseError::BadName(format!(
            "A display name cannot contain control or invisible formatting characters (it has U+{:04X}).",
            u32::from(c)
        )));
    }
    if !trimmed.chars().any(is_visible) {
        return Err(ParseError::BadName(
            "A display name needs at least one visible character.".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Unicode general category Cf (format), as of Unicode 15.1.
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Whether a character shows as something: not a space, and not one of the characters that are
/// letters or marks to Unicode but draw nothing (Hangul fillers, the blank Braille pattern,
/// combining grapheme joiner, variation selectors, Mongolian and Khmer invisibles).
fn is_visible(c: char) -> bool {
    !c.is_whitespace()
        && !c.is_control()
        && !is_format(c)
        && !matches!(
            u32::from(c),
            0x034F
                | 0x115F
                | 0x1160
                | 0x17B4
                | 0x17B5
                | 0x180B..=0x180F
                | 0x2800
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFFA0
                | 0xE0100..=0xE01EF
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn join_round_trips() {
        let msg = ClientMessage::Join {
            room: "kitchen".into(),
            name: "Ada".into(),
            token: None,
            resume: None,
        };
        let text = serde_json::to_string(&msg).expect("serialise");
        assert_eq!(text, r#"{"type":"join","room":"kitchen","name":"Ada"}"#);
        match ClientMessage::parse(&text).expect("parse") {
            ClientMessage::Join {
                room,
                name,
                token,
                resume,
            } => {
                assert_eq!((room.as_str(), name.as_str()), ("kitchen", "Ada"));
                assert_eq!((token, resume), (None, None));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn join_carries_a_token_when_given() {
        match ClientMessage::parse(r#"{"type":"join","room":"r","name":"Ada","token":"a.b.c"}"#) {
            Ok(ClientMessage::Join { token, .. }) => assert_eq!(token.as_deref(), Some("a.b.c")),
            other => panic!("unexpected {other:?}"),
        }
        match ClientMessage::parse(r#"{"type":"join","room":"r","name":"Ada","token":null}"#) {
            Ok(ClientMessage::Join { token, .. }) => assert_eq!(token, None),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn join_carries_a_bounded_resume_when_given() {
        let resume = "0123456789abcdef0123456789abcdef";
        let text = format!(r#"{{"type":"join","room":"r","name":"Ada","resume":"{resume}"}}"#);
        match ClientMessage::parse(&text) {
            Ok(ClientMessage::Join { resume: got, .. }) => {
                assert_eq!(got.as_ref().map(ResumeToken::as_str), Some(resume));
                // Not even a debug print of the message shows it.
                assert!(!format!("{:?}", ClientMessage::parse(&text)).contains(resume));
            }
            other => panic!("unexpected {other:?}"),
        }
        match ClientMessage::parse(r#"{"type":"join","room":"r","name":"Ada","resume":null}"#) {
            Ok(ClientMessage::Join { resume, .. }) => assert_eq!(resume, None),
            other => panic!("unexpected {other:?}"),
        }
        let longest = "a".repeat(MAX_RESUME_LEN);
        let text = format!(r#"{{"type":"join","room":"r","name":"Ada","resume":"{longest}"}}"#);
        assert!(ClientMessage::parse(&text).is_ok());
        for bad in [format!("\"{longest}a\""), "7".into(), "[]".into()] {
            let text = format!(r#"{{"type":"join","room":"r","name":"Ada","resume":{bad}}}"#);
            let err = ClientMessage::parse(&text).expect_err(&text);
            assert_eq!(err.code(), ErrorCode::BadMessage, "{text}");
        }
    }

    #[test]
    fn a_resume_token_matches_only_itself_and_never_shows() {
        let token = ResumeToken::random();
        assert_eq!(token.as_str().len(), 32);
        assert!(token.matches(token.as_str()));
        assert!(!token.matches(&token.as_str()[..31]));
        assert!(!token.matches(""));
        assert!(!token.matches(ResumeToken::random().as_str()));
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn error_codes_as_str_match_the_wire() {
        use ErrorCode::*;
        for code in [
            BadMessage,
            NotJoined,
            AlreadyJoined,
            BadRoom,
            BadName,
            RoomFull,
            UnknownRoom,
            UnknownPeer,
            TooLarge,
            RateLimited,
            JoinTimeout,
            Unauthorized,
            Unavailable,
        ] {
            let wire = serde_json::to_string(&code).expect("serialise");
            assert_eq!(wire, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn signal_keeps_data_verbatim() {
        let text = r#"{"type":"signal","to":"abc","data":{"b" : 1, "a":[1.0e3, "\u00e9"]}}"#;
        match ClientMessage::parse(text).expect("parse") {
            ClientMessage::Signal { to, data } => {
                assert_eq!(to, Some(PeerId::from("abc")));
                assert_eq!(data.get(), r#"{"b" : 1, "a":[1.0e3, "\u00e9"]}"#);
                let again =
                    serde_json::to_string(&ClientMessage::Signal { to, data }).expect("serialise");
                assert_eq!(
                    again,
                    r#"{"type":"signal","to":"abc","data":{"b" : 1, "a":[1.0e3, "\u00e9"]}}"#
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn signal_data_may_be_null() {
        match ClientMessage::parse(r#"{"type":"signal","data":null}"#) {
            Ok(ClientMessage::Signal { to: None, data }) => assert_eq!(data.get(), "null"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn signal_without_to_is_a_broadcast() {
        for text in [
            r#"{"type":"signal","data":1}"#,
            r#"{"type":"signal","to":null,"data":1}"#,
        ] {
            assert!(matches!(
                ClientMessage::parse(text),
                Ok(ClientMessage::Signal { to: None, .. })
            ));
        }
    }

    #[test]
    fn leave_and_ping_round_trip() {
        for (msg, text) in [
            (ClientMessage::Leave, r#"{"type":"leave"}"#),
            (ClientMessage::Ping, r#"{"type":"ping"}"#),
        ] {
            assert_eq!(serde_json::to_string(&msg).expect("serialise"), text);
            assert_eq!(
                format!("{:?}", ClientMessage::parse(text).expect("parse")),
                format!("{msg:?}")
            );
        }
    }

    #[test]
    fn server_messages_serialise_as_documented() {
        let id = PeerId::from("p1");
        let data = RawValue::from_string(r#"{"kind":"ring","name":"Ada"}"#.into()).expect("raw");
        let cases = [
            (ServerMessage::Pong, r#"{"type":"pong"}"#.to_owned()),
            (
                ServerMessage::PeerLeft { id: &id },
                r#"{"type":"peer-left","id":"p1"}"#.to_owned(),
            ),
            (
                ServerMessage::PeerJoined {
                    peer: PeerInfo {
                        id: id.clone(),
                        name: "Ada".into(),
                    },
                },
                r#"{"type":"peer-joined","peer":{"id":"p1","name":"Ada"}}"#.to_owned(),
            ),
            (
                ServerMessage::Signal {
                    from: &id,
                    data: &data,
                },
                r#"{"type":"signal","from":"p1","data":{"kind":"ring","name":"Ada"}}"#.to_owned(),
            ),
            (
                ServerMessage::Error {
                    code: ErrorCode::RoomFull,
                    message: "full",
                    refused: None,
                },
                r#"{"type":"error","code":"room-full","message":"full"}"#.to_owned(),
            ),
            (
                ServerMessage::Error {
                    code: ErrorCode::RateLimited,
                    message: "slow",
                    refused: Some(12),
                },
                r#"{"type":"error","code":"rate-limited","message":"slow","refused":12}"#
                    .to_owned(),
            ),
            (
                ServerMessage::Welcome {
                    id: &id,
                    room: "r",
                    peers: vec![],
                    ice_servers: &[],
                    resume: &ResumeToken::from("5e"),
                },
                r#"{"type":"welcome","id":"p1","room":"r","peers":[],"iceServers":[],"resume":"5e"}"#
                    .to_owned(),
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(msg.to_json(), want);
        }
    }

    #[test]
    fn a_signal_is_written_as_serde_would_write_it() {
        let data = RawValue::from_string(r#"{"sdp":"v=0\r\n","n":[1,2.5e3]}"#.into()).expect("raw");
        for from in [PeerId::random(), PeerId::from("odd \"id\"")] {
            let msg = ServerMessage::Signal {
                from: &from,
                data: &data,
            };
            assert_eq!(
                msg.to_json(),
                serde_json::to_string(&msg).expect("serialise")
            );
        }
    }

    #[test]
    fn bad_frames_get_the_right_code() {
        let cases = [
            ("", ErrorCode::BadMessage),
            ("[]", ErrorCode::BadMessage),
            ("{}", ErrorCode::BadMessage),
            (r#"{"type":5}"#, ErrorCode::BadMessage),
            (r#"{"type":"dance"}"#, ErrorCode::BadMessage),
            (r#"{"type":"signal","to":"x"}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"signal","to":7,"data":1}"#,
                ErrorCode::BadMessage,
            ),
            (r#"{"type":"join","name":"Ada"}"#, ErrorCode::BadRoom),
            (
                r#"{"type":"join","room":"","name":"Ada"}"#,
                ErrorCode::BadRoom,
            ),
            (
                r#"{"type":"join","room":"a b","name":"Ada"}"#,
                ErrorCode::BadRoom,
            ),
            (
                r#"{"type":"join","room":12,"name":"Ada"}"#,
                ErrorCode::BadRoom,
            ),
            (
                r#"{"type":"join","room":"r","name":"   "}"#,
                ErrorCode::BadName,
            ),
            (
                r#"{"type":"join","room":"r","name":"a\u0007b"}"#,
                ErrorCode::BadName,
            ),
            (r#"{"type":"join","room":"r"}"#, ErrorCode::BadName),
        ];
        for (text, code) in cases {
            let err = ClientMessage::parse(text).expect_err(text);
            assert_eq!(err.code(), code, "{text}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn room_and_name_limits_are_inclusive() {
        assert!(validate_room(&"a".repeat(64)).is_ok());
        assert!(validate_room(&"a".repeat(65)).is_err());
        assert!(validate_room("Az09_-").is_ok());
        assert!(validate_room("é").is_err());
        assert_eq!(
            validate_name("  Ada Lovelace ").expect("ok"),
            "Ada Lovelace"
        );
        assert!(validate_name(&"é".repeat(64)).is_ok());
        assert!(validate_name(&"é".repeat(65)).is_err());
    }

    #[test]
    fn names_that_hide_or_reorder_text_are_refused() {
        for name in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            "Ada\u{202E}evil",
            "Ada\u{2066}x\u{2069}",
            "Ad\u{00AD}a",
            "\u{FEFF}Ada",
            "\u{3164}",
            "\u{3164}\u{3164}",
            "\u{115F}\u{1160}",
            "\u{2800}",
            "Ada\u{2028}Bob",
        ] {
            let err = validate_name(name).expect_err(name);
            assert_eq!(err.code(), ErrorCode::BadName, "{name:?}");
        }
        for name in ["Ada", "李雷", "Zoë", "a\u{0301}", "🙂", "مرحبا", "אבי"] {
            assert!(validate_name(name).is_ok(), "{name:?}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = ClientMessage::parse(&text);
        }

        #[test]
        fn any_json_value_as_data_is_relayed_verbatim(n in any::<i64>(), s in ".{0,40}") {
            let data = serde_json::json!({"n": n, "s": s}).to_string();
            let text = format!(r#"{{"type":"signal","data":{data}}}"#);
            match ClientMessage::parse(&text) {
                Ok(ClientMessage::Signal { data: got, .. }) => prop_assert_eq!(got.get(), data.as_str()),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
