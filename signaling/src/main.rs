//! The standalone signaling server: reads flags and environment, binds, and calls `signaling::serve`.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use signaling::{Auth, Config, IceConfig, Limits};
use std::io::Write as _;
use std::time::Duration;
use tokio::net::TcpListener;

const ENVIRONMENT: &str = "\
ICE servers (environment or .env only, never flags, so secrets stay out of `ps`):
  STUN_SERVER_ID    STUN URL(s), comma-separated, e.g. stun:stun.example.org:3478
  TURN_URLS         TURN URL(s), comma-separated, e.g. turn:turn.example.org:3478,turns:turn.example.org:5349
  TURN_USERNAME     static TURN username (with TURN_CREDENTIAL)
  TURN_CREDENTIAL   static TURN password, handed to every client
  TURN_SECRET       coturn `static-auth-secret`: clients get time-limited credentials instead;
                    the secret itself never leaves this server
  TURN_TTL_SECS     lifetime of those credentials in seconds [default: 86400]

Invite tokens (environment or .env only):
  AUTH_SECRET       turns tokens on: `join` and /ice-servers need a token signed with it
                    (HS256, at least 32 bytes; make one with `openssl rand -base64 48`).
                    Make tokens with `signaling token --room ROOM --ttl 2h`.

Other variables:
  RUST_LOG          log filter, e.g. info or signaling=debug [default: info]

A .env file in the working directory is read first; real environment variables win over it.";

/// Hearth's signaling server: rooms, relay, ICE configuration, and the Hearth web UI at /.
#[derive(Debug, Parser)]
#[command(version, after_help = ENVIRONMENT)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to serve Prometheus metrics on, at /metrics (e.g. 127.0.0.1:9090); keep it off
    /// the public network. Without it no metrics are served.
    #[arg(long, env = "METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SIGNALING_ADDR", default_value = "127.0.0.1:7878")]
    addr: String,
    /// Largest message in bytes; larger ones are answered `too-large`.
    #[arg(long, env = "MAX_MESSAGE_BYTES", default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// People per room.
    #[arg(long, env = "MAX_PEERS_PER_ROOM", default_value_t = Limits::default().max_peers_per_room)]
    max_peers_per_room: usize,
    /// Open WebSocket connections; more get HTTP 503. Lowered to fit the open-file limit (logged).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Open TCP connections that are not WebSockets; past it the oldest is closed to make room.
    /// Lowered to fit the open-file limit (logged).
    #[arg(long, env = "MAX_HTTP_CONNECTIONS", default_value_t = Limits::default().max_http_connections)]
    max_http_connections: usize,
    /// Seconds a client has to send a request's headers, and a kept-alive connection may wait for
    /// its next request.
    #[arg(long, env = "HEADER_TIMEOUT_SECS", default_value_t = Limits::default().header_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Seconds an HTTP connection (not a WebSocket) may move no byte before it is closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_secs: u64,
    /// Seconds shutdown waits for connections to finish before closing them.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = Limits::default().shutdown_timeout.as_secs())]
    shutdown_timeout_secs: u64,
    /// Seconds a connection may stay without joining a room.
    #[arg(long, env = "JOIN_TIMEOUT_SECS", default_value_t = Limits::default().join_timeout.as_secs())]
    join_timeout_secs: u64,
    /// Seconds a message may take to arrive whole (all fragments of it); past it the connection
    /// is closed with 1008.
    #[arg(long, env = "MESSAGE_TIMEOUT_SECS", default_value_t = Limits::default().message_timeout.as_secs())]
    message_timeout_secs: u64,
    /// Messages per second allowed per connection, sustained.
    #[arg(long, env = "RATE_PER_SEC", default_value_t = Limits::default().rate_per_sec)]
    rate_per_sec: f64,
    /// Messages allowed in a burst per connection.
    #[arg(long, env = "RATE_BURST", default_value_t = Limits::default().rate_burst)]
    rate_burst: f64,
    /// Bytes waiting to be sent to one client; past it the client is disconnected.
    #[arg(long, env = "SEND_QUEUE_BYTES", default_value_t = Limits::default().send_queue_bytes)]
    send_queue_bytes: usize,
    /// Seconds a client may leave messages waiting for it; past it it is disconnected, whatever it
    /// sends meanwhile.
    #[arg(long, env = "DRAIN_TIMEOUT_SECS", default_value_t = Limits::default().drain_timeout.as_secs())]
    drain_timeout_secs: u64,
    /// Further origins allowed to open WebSockets, comma-separated (e.g. https://hearth.example.org).
    /// The page's own origin and the desktop app are always allowed.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Host names clients reach this server by, comma-separated (e.g. hearth.example.org); requests
    /// naming another host get 403 (DNS-rebinding protection). Without it any host is accepted.
    #[arg(long, env = "PUBLIC_HOSTS", value_delimiter = ',')]
    public_host: Vec<String>,
    /// Share rooms with other instances through this Redis (redis://[:password@]host[:port][/db]):
    /// people connected to different instances meet in one room. Without it rooms live in this
    /// process. Prefer the REDIS_URL variable when the URL carries a password.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// Behind a reverse proxy: take the client address from X-Forwarded-For and the host from
    /// X-Forwarded-Host.
    #[arg(long, env = "TRUST_PROXY")]
    trust_proxy: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints an invite token signed with AUTH_SECRET and, with --url, the invite link.
    Token {
        /// The room the token opens, or * for every room.
        #[arg(long)]
        room: String,
        /// How long the token is valid: 90s, 30m, 2h, 7d, or seconds.
        #[arg(long, default_value = "24h", value_parser = ttl_arg)]
        ttl: Duration,
        /// The display name the holder appears under, whatever they type.
        #[arg(long)]
        name: Option<String>,
        /// The server's public address (e.g. https://hearth.example.org): prints the invite link
        /// too.
        #[arg(long)]
        url: Option<String>,
    },
}

fn ttl_arg(text: &str) -> Result<Duration, String> {
    signaling::auth::parse_ttl(text)
        .ok_or_else(|| format!("{text:?} is not a lifetime; write e.g. 90s, 30m, 2h or 7d"))
}

/// Prints a token, and the invite link when the server's address is given.
fn print_token(
    room: &str,
    ttl: Duration,
    name: Option<&str>,
    url: Option<&str>,
) -> anyhow::Result<()> {
    let auth = Auth::from_lookup(|k| std::env::var(k).ok())?.context(
        "AUTH_SECRET is not set: tokens are signed with the secret the server runs with",
    )?;
    let token = auth.mint(room, ttl, name, std::time::SystemTime::now())?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{token}")?;
    if let Some(url) = url {
        let mut link = format!(
            "{}/?room={}&token={token}",
            url.trim_end_matches('/'),
            query_value(room)
        );
        if let Some(name) = name {
            link.push_str(&format!("&name={}", query_value(name.trim())));
        }
        writeln!(stdout, "{link}")?;
    }
    Ok(())
}

/// Percent-encodes a query parameter's value (everything but RFC 3986's unreserved characters).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Read .env before clap, so its values count as environment.
    let dotenv = dotenvy::dotenv();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match dotenv {
        Ok(path) => tracing::info!(path = %path.display(), "read .env"),
        Err(e) if e.not_found() => {}
        Err(e) => anyhow::bail!("could not read .env: {e}"),
    }
    if let Some(Command::Token {
        room,
        ttl,
        name,
        url,
    }) = &args.command
    {
        return print_token(room, *ttl, name.as_deref(), url.as_deref());
    }

    // A low soft limit (1,024 is common) would cap connections long before the flags do.
    match signaling::raise_open_file_limit() {
        Ok(limit) => tracing::info!(open_file_limit = limit, "raised the open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }

    let ice = IceConfig::from_env().context("the ICE server configuration is not usable")?;
    let auth = Auth::from_lookup(|k| std::env::var(k).ok())
        .context("the invite token configuration is not usable")?;
    match &auth {
        Some(_) => tracing::info!("invite tokens are required"),
        None => tracing::warn!(
            "anyone who can reach this server may use it and its TURN credentials; set \
             AUTH_SECRET to require invite tokens"
        ),
    }
    let config = Config {
        ice,
        limits: Limits {
            max_message_bytes: args.max_message_bytes,
            max_peers_per_room: args.max_peers_per_room.max(1),
            max_connections: args.max_connections,
            max_http_connections: args.max_http_connections.max(1),
            header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout_secs),
            join_timeout: Duration::from_secs(args.join_timeout_secs),
            message_timeout: Duration::from_secs(args.message_timeout_secs.max(1)),
            rate_per_sec: args.rate_per_sec,
            rate_burst: args.rate_burst.max(1.0),
            send_queue_bytes: args.send_queue_bytes,
            drain_timeout: Duration::from_secs(args.drain_timeout_secs.max(1)),
            ..Limits::default()
        },
        allowed_origins: args
            .allowed_origins
            .into_iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect(),
        allowed_hosts: args
            .public_host
            .into_iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        trust_proxy: args.trust_proxy,
        serve_ui: true,
        only_rooms: None,
        auth,
        metrics: signaling::Metrics::new(),
        redis: args
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(signaling::RedisConfig::new),
    };

    if config.allowed_hosts.is_empty() {
        tracing::warn!(
            "any Host header is accepted; list the names this server is reached by with \
             --public-host (PUBLIC_HOSTS) so that pages on other domains pointed at it are refused"
        );
    }

    // Watch for signals before saying we listen: a script may send one as soon as it reads that.
    let shutdown = shutdown_signal().context("could not watch for SIGINT and SIGTERM")?;
    let listener = listen(&args.addr)
        .await
        .with_context(|| format!("could not listen on {}", args.addr))?;
    let local = listener.local_addr()?;
    let stopping = tokio_util::sync::CancellationToken::new();
    if let Some(addr) = &args.metrics_addr {
        let metrics_listener = listen(addr)
            .await
            .with_context(|| format!("could not listen for metrics on {addr}"))?;
        let at = metrics_listener.local_addr()?;
        tracing::info!(%at, "serving metrics at /metrics");
        let metrics = config.metrics.clone();
        let stop = stopping.clone();
        tokio::spawn(async move {
            let stopped = async move { stop.cancelled().await };
            if let Err(e) = signaling::serve_metrics(metrics_listener, metrics, stopped).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    // Scripts wait for this exact line, so print it on stdout and flush it.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{local}")?;
    stdout.flush()?;

    signaling::serve(listener, config, shutdown).await?;
    stopping.cancel();
    tracing::info!("stopped");
    Ok(())
}

/// Binds like `TcpListener::bind`, but with a listen backlog of 4096 instead of tokio's 128: when
/// thousands of clients reconnect at once (a restart), a full accept queue drops their handshakes
/// and each waits a whole SYN retransmission (1 s, then 3 s) instead of milliseconds. The kernel
/// caps the backlog at `net.core.somaxconn` (4096 by default).
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does on Unix: a restarted server can take its port back at once.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(4096)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so no signal after this call is missed.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
    }
}
