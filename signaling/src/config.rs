//! Everything a running server is told from outside: ICE servers, limits, and which origins may
//! connect. Passed into [`crate::serve`] as a value; there is no global configuration.

use crate::auth::Auth;
use crate::ice::IceConfig;
use crate::metrics::Metrics;
use crate::redis_store::RedisConfig;
use std::time::Duration;

/// The server's configuration. `Config::default()` is what the standalone binary uses without flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// STUN and TURN servers handed to clients in `welcome` and `/ice-servers`.
    pub ice: IceConfig,
    /// Limits that protect the server and the other clients from one client.
    pub limits: Limits,
    /// Origins allowed besides the page's own and the desktop app's (exact `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Host names (or addresses) clients may reach this server by, with or without a port, e.g.
    /// `hearth.example.org`; other `Host` headers get 403 on every route but `/healthz`, so a web
    /// page on a DNS-rebinding domain cannot talk to a server on loopback or the LAN. Empty: any
    /// host. A server on this computer or a LAN lists [`crate::LOOPBACK_HOSTS`], its addresses and
    /// its mDNS name.
    pub allowed_hosts: Vec<String>,
    /// Believe `X-Forwarded-For` / `X-Forwarded-Host` (only behind a reverse proxy that sets them).
    pub trust_proxy: bool,
    /// Serve the embedded UI at `/`.
    pub serve_ui: bool,
    /// When set, the only rooms that can be joined; others get `unknown-room`. The desktop app's
    /// host mode allows just its one hard-to-guess room, so a wrong room code is reported as such.
    pub only_rooms: Option<Vec<String>>,
    /// Invite tokens: when set, `join` and `/ice-servers` need a token signed with this secret.
    /// None: anyone who can reach the server may use it.
    pub auth: Option<Auth>,
    /// Where the server counts what it does; serve them with [`crate::serve_metrics`].
    pub metrics: Metrics,
    /// Share rooms with other instances through this Redis; None: rooms live in this process.
    pub redis: Option<RedisConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ice: IceConfig::default(),
            limits: Limits::default(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            trust_proxy: false,
            serve_ui: true,
            only_rooms: None,
            auth: None,
            metrics: Metrics::new(),
            redis: None,
        }
    }
}

/// Hard limits. Each has a test that shows what happens past it.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest text frame processed; a larger one is answered `too-large` and skipped.
    pub max_message_bytes: usize,
    /// Peers a room holds; the next `join` is answered `room-full`.
    pub max_peers_per_room: usize,
    /// Open WebSocket connections; further upgrade requests get 503. Lowered at start to fit the
    /// open-file limit (logged).
    pub max_connections: usize,
    /// Open TCP connections that are not WebSockets (requests, and upgrades in progress); when all
    /// are taken, the oldest is closed to make room for a new one. Lowered at start to fit the
    /// open-file limit (logged).
    pub max_http_connections: usize,
    /// Time a client has to send a request's headers, and an open HTTP connection may wait for
    /// its next request.
    pub header_timeout: Duration,
    /// An HTTP connection (not a WebSocket) on which no byte moved either way for this long is
    /// closed, whatever state its request is in.
    pub idle_timeout: Duration,
    /// Time shutdown waits for requests to finish and WebSockets to close before closing
    /// whatever remains.
    pub shutdown_timeout: Duration,
    /// Time a connection may stay without being in a room before `join-timeout` and close.
    pub join_timeout: Duration,
    /// How often the server sends a WebSocket ping.
    pub heartbeat_interval: Duration,
    /// A peer from which nothing (not even a pong) arrived for this long is dropped.
    pub peer_timeout: Duration,
    /// Time a message may take to arrive whole: a peer whose bytes have not formed a complete
    /// message for this long (a fragmented message left unfinished, a frame sent a byte at a time)
    /// is dropped, whatever control frames it sends meanwhile.
    pub message_timeout: Duration,
    /// Messages allowed per second, sustained.
    pub rate_per_sec: f64,
    /// Messages allowed in a burst above the sustained rate.
    pub rate_burst: f64,
    /// Frames waiting to be written to one peer; past it the peer is disconnected, so a client that
    /// stops reading can never hold memory or slow down its room. A client's answers to its own
    /// messages wait here too, so keep it above `rate_burst` (a burst's refusals take one reply).
    pub send_queue: usize,
    /// Bytes waiting to be written to one peer (frames queued and not yet flushed); past it the peer
    /// is disconnected as for `send_queue`. Bounds memory where `send_queue` alone would let 256
    /// frames of 64 KiB wait.
    pub send_queue_bytes: usize,
    /// Time a peer's queue may stay non-empty: a client that has not taken everything queued for it
    /// within this time is disconnected, whatever it sends meanwhile (its pings do not count).
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 * 1024,
            max_peers_per_room: 6,
            max_connections: 20_000,
            max_http_connections: 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(3),
            join_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(10),
            peer_timeout: Duration::from_secs(30),
            message_timeout: Duration::from_secs(10),
            rate_per_sec: 50.0,
            rate_burst: 200.0,
            send_queue: 256,
            send_queue_bytes: 1024 * 1024,
            drain_timeout: Duration::from_secs(5),
        }
    }
}
