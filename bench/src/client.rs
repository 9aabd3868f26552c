//! Benchmark clients: WebSockets from many loopback source addresses, joining rooms, and the
//! realistic signal payloads they exchange.

use anyhow::{bail, Context as _};
use futures_util::{SinkExt as _, StreamExt as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// Opens client connections to one server, spreading them over source addresses 127.0.0.2,
/// 127.0.0.3, …: one address has about 28,000 ephemeral ports, and a benchmark run leaves
/// earlier connections in TIME_WAIT.
pub struct Connector {
    server: SocketAddr,
    sources: Vec<Ipv4Addr>,
    next: AtomicUsize,
}

impl Connector {
    pub fn new(server: SocketAddr, sources: usize) -> Connector {
        let sources = (0..sources.clamp(1, 250))
            .map(|i| Ipv4Addr::new(127, 0, 0, 2 + i as u8))
            .collect();
        Connector {
            server,
            sources,
            next: AtomicUsize::new(0),
        }
    }

    pub async fn connect(&self) -> anyhow::Result<Ws> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let source = self.sources[i % self.sources.len()];
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((source, 0)))?;
        let stream = socket
            .connect(self.server)
            .await
            .with_context(|| format!("connect from {source}"))?;
        // Signals are small and latency-bound, as in browsers (which disable Nagle too).
        stream.set_nodelay(true)?;
        // The client's side must stay small too, or 20,000 clients would measure the load
        // generator's memory instead of the server's: tungstenite's default read buffer is 128 KiB.
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let url = format!("ws://{}/ws", self.server);
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .context("WebSocket handshake")?;
        Ok(ws)
    }
}

/// Sends `join` and waits for the `welcome`; returns this peer's id.
pub async fn join(ws: &mut Ws, room: &str, name: &str) -> anyhow::Result<String> {
    let join = serde_json::json!({"type": "join", "room": room, "name": name});
    ws.send(Message::text(join.to_string())).await?;
    loop {
        let frame = ws.next().await.context("closed before welcome")??;
        let Message::Text(text) = frame else { continue };
        let msg: serde_json::Value = serde_json::from_str(text.as_str())?;
        match msg["type"].as_str() {
            Some("welcome") => {
                return msg["id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("welcome without id")
            }
            // The server may queue a `peer-joined` for someone joining the same instant ahead of
            // this peer's own `welcome`; it is not an error for the benchmark.
            Some("peer-joined") => continue,
            _ => bail!("expected welcome, got {text}"),
        }
    }
}

/// Signal payloads shaped like Hearth's: trickled ICE candidates of about 200 bytes and SDP
/// descriptions of 3 to 6 KB, each carrying its send time so the receiver can measure latency.
pub struct Payloads {
    candidate: String,
    descriptions: Vec<String>,
    /// One message in this many is a description; the rest are candidates.
    description_every: u64,
}

/// Where the send timestamp goes in a payload, and how wide it is: fixed, so frames of one kind
/// always have the same length, and padded with spaces since JSON forbids leading zeros.
const STAMP: &str = "{\"t\":";
const STAMP_DIGITS: usize = 16;

impl Payloads {
    pub fn new(description_every: u64) -> Payloads {
        let candidate = r#","kind":"candidate","candidate":{"candidate":"candidate:842163049 1 udp 1677729535 203.0.113.7 61523 typ srflx raddr 192.168.1.5 rport 61523 generation 0 ufrag x9Qe network-cost 999","sdpMid":"0","sdpMLineIndex":0}}"#.to_owned();
        let descriptions = [3000, 4000, 5000, 6000]
            .into_iter()
            .map(|size| {
                format!(
                    r#","kind":"description","description":{{"type":"offer","sdp":"{}"}}}}"#,
                    sdp(size)
                )
            })
            .collect();
        Payloads {
            candidate,
            descriptions,
            description_every: description_every.max(1),
        }
    }

    /// The `n`th signal frame to `to`, stamped with `micros`.
    pub fn frame(&self, to: &str, n: u64, micros: u64) -> String {
        let body = if n % self.description_every == self.description_every - 1 {
            &self.descriptions[(n / self.description_every) as usize % self.descriptions.len()]
        } else {
            &self.candidate
        };
        format!(
            "{{\"type\":\"signal\",\"to\":\"{to}\",\"data\":{STAMP}{micros:>width$}{body}}}",
            width = STAMP_DIGITS
        )
    }

    /// A large frame for the slow-consumer test.
    pub fn largest(&self, to: &str, micros: u64) -> String {
        let body = self.descriptions.last().map(String::as_str).unwrap_or("}");
        format!(
            "{{\"type\":\"signal\",\"to\":\"{to}\",\"data\":{STAMP}{micros:>width$}{body}}}",
            width = STAMP_DIGITS
        )
    }
}

/// The send time in a relayed signal frame, if it is one.
pub fn stamp(frame: &str) -> Option<u64> {
    if !frame.starts_with("{\"type\":\"signal\"") {
        return None;
    }
    let at = frame.find(STAMP)? + STAMP.len();
    frame.get(at..at + STAMP_DIGITS)?.trim_start().parse().ok()
}

/// SDP-like text of about `size` bytes, JSON-escaped (CRLF line ends as in real SDP).
fn sdp(size: usize) -> String {
    const HEAD: &str = "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0 1\\r\\na=extmap-allow-mixed\\r\\na=msid-semantic: WMS stream\\r\\n";
    const LINES: [&str; 8] = [
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 127\\r\\n",
        "a=rtpmap:96 VP8/90000\\r\\na=rtcp-fb:96 goog-remb\\r\\na=rtcp-fb:96 transport-cc\\r\\n",
        "a=rtcp-fb:96 ccm fir\\r\\na=rtcp-fb:96 nack\\r\\na=rtcp-fb:96 nack pli\\r\\n",
        "a=fmtp:97 apt=96\\r\\na=rtpmap:98 VP9/90000\\r\\na=fmtp:98 profile-id=0\\r\\n",
        "a=ice-ufrag:x9Qe\\r\\na=ice-pwd:Yk3LhBq7cD0vW2nZs5aR8tUf\\r\\na=ice-options:trickle\\r\\n",
        "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\\r\\n",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\\r\\na=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\\r\\n",
        "a=ssrc:1284915633 cname:oXx2nJ0uWl3bUo4s\\r\\na=ssrc:1284915633 msid:stream video0\\r\\n",
    ];
    let mut out = String::with_capacity(size + 128);
    out.push_str(HEAD);
    let mut i = 0;
    while out.len() < size {
        out.push_str(LINES[i % LINES.len()]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_valid_json_of_the_intended_sizes_and_carry_their_stamp() {
        let p = Payloads::new(6);
        let to = "0123456789abcdef0123456789abcdef";
        let mut sizes = Vec::new();
        for n in 0..12 {
            let frame = p.frame(to, n, 1234);
            let v: serde_json::Value = serde_json::from_str(&frame).expect("valid JSON");
            assert_eq!(v["type"], "signal");
            assert_eq!(v["data"]["t"], 1234);
            sizes.push(frame.len());
        }
        // The server relays `data` byte for byte behind its own envelope.
        let frame = p.frame(to, 0, 99);
        let data = &frame[frame.find("\"data\":").expect("data") + 7..frame.len() - 1];
        let relayed = format!("{{\"type\":\"signal\",\"from\":\"{to}\",\"data\":{data}}}");
        assert_eq!(stamp(&relayed), Some(99));
        assert!(sizes[0] > 180 && sizes[0] < 320, "candidate {}", sizes[0]);
        assert!(
            sizes[5] >= 3000 && sizes[5] < 3300,
            "description {}",
            sizes[5]
        );
        assert!(
            sizes[11] >= 4000 && sizes[11] < 4300,
            "description {}",
            sizes[11]
        );
    }
}
