//! `loadgen`: the signaling server's benchmarks from the command line, one subcommand each, with
//! results as plain lines or JSON. BENCHMARKS.md records what they showed.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use hearth_bench::client::Connector;
use hearth_bench::relay::{Pace, Relay, RelayConfig};
use hearth_bench::server::{cpu_secs, BenchLimits, Redis, Server, ServerKind};
use hearth_bench::{idle, slow, stalled, storm};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Load generator for Hearth's signaling server. Traffic goes to loopback only.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    /// The scenario; all of them when left out.
    #[command(subcommand)]
    bench: Option<Bench>,
}

#[derive(Debug, Args)]
struct Common {
    /// Print one JSON object per scenario instead of plain lines.
    #[arg(long, global = true)]
    json: bool,
    /// Run `signaling::serve` inside this process instead of the `signaling` binary.
    #[arg(long, global = true, conflicts_with = "url")]
    in_process: bool,
    /// The `signaling` binary to start [default: `signaling` beside this program].
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// Use a server that is already running (ws://127.0.0.1:PORT/ws). Its limits must already
    /// allow the load (see `signaling --help`), and its memory is not measured.
    #[arg(long, global = true)]
    url: Option<String>,
    /// Listen backlog of the --in-process server (the binary's is 128, from tokio's bind).
    #[arg(long, global = true, default_value_t = 128)]
    backlog: u32,
    /// Loopback source addresses to spread client connections over (127.0.0.2 and up).
    #[arg(long, global = true, default_value_t = 16)]
    sources: usize,
    /// Start a redis-server and run the `signaling` binary with `--redis-url`: `relay` then runs
    /// two instances and puts the two peers of each room on different ones, `idle` runs one.
    #[arg(long, global = true, conflicts_with_all = ["url", "in_process"])]
    redis: bool,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Clients joined in rooms of two, idle: server memory per connection.
    Idle {
        #[arg(long, default_value_t = 20_000)]
        clients: usize,
        /// Seconds to stay connected after everyone joined (past the 10 s heartbeat).
        #[arg(long, default_value_t = 12)]
        hold_secs: u64,
    },
    /// Rooms of two relaying candidates and descriptions: top rate, then latency at a fixed rate.
    Relay(RelayArgs),
    /// Clients that all connect and join at once: time until every one is welcomed.
    Storm {
        #[arg(long, default_value_t = 5_000)]
        clients: usize,
    },
    /// Steady relay while one peer never reads: others' latency and server memory.
    Slow {
        #[arg(long, default_value_t = 50)]
        rooms: usize,
        /// Total steady relay rate, messages a second.
        #[arg(long, default_value_t = 5_000.0)]
        rate: f64,
        /// Seconds of each phase (baseline, then with slow peers).
        #[arg(long, default_value_t = 8)]
        secs: u64,
        /// Frames a second sent to each slow peer (about 6 KB each).
        #[arg(long, default_value_t = 2_000.0)]
        flood_rate: f64,
    },
    /// Readers that stall while pinging, each flooded by its partner: server memory, and whether
    /// each is dropped. Not part of `all`.
    Stalled {
        #[arg(long, default_value_t = 1_000)]
        readers: usize,
        /// Bytes of each frame sent to a stalled reader.
        #[arg(long, default_value_t = 60 * 1024)]
        frame_bytes: usize,
        /// Frames sent to each stalled reader.
        #[arg(long, default_value_t = 100)]
        frames_each: usize,
        /// Seconds to wait after the floods for the server to drop the readers.
        #[arg(long, default_value_t = 20)]
        settle_secs: u64,
    },
    /// Every scenario with its defaults, each against a fresh server.
    All,
}

#[derive(Debug, Args, Clone)]
struct RelayArgs {
    /// Rooms of two; each peer sends to the other.
    #[arg(long, default_value_t = 100)]
    rooms: usize,
    /// Seconds measured in each part (after a one-second warm-up).
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// Frames in flight per sender in the top-rate part.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Total rate for the latency part, messages a second; 0 skips it.
    #[arg(long, default_value_t = 20_000.0)]
    rate: f64,
    /// Skip the top-rate part.
    #[arg(long)]
    no_max: bool,
    /// One message in this many is a 3-6 KB description, the rest ~200-byte candidates.
    #[arg(long, default_value_t = 6)]
    description_every: u64,
}

impl Default for RelayArgs {
    fn default() -> Self {
        RelayArgs {
            rooms: 100,
            secs: 5,
            window: 32,
            rate: 20_000.0,
            no_max: false,
            description_every: 6,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Two sockets per client here and one per client in a child server, plus slack.
    let nofile = hearth_bench::raise_nofile(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli, nofile))
}

async fn run(cli: Cli, nofile: u64) -> anyhow::Result<()> {
    let kind = server_kind(&cli.common)?;
    let out = Output {
        json: cli.common.json,
    };
    out.line(&format!("open-files limit: {nofile}"));
    let sources = cli.common.sources;
    if cli.common.redis {
        return match cli.bench {
            Some(Bench::Relay(args)) => relay_redis_bench(&kind, sources, &args, &out).await,
            Some(Bench::Idle { clients, hold_secs }) => {
                let redis = Redis::start()?;
                out.line(&format!(
                    "idle: one server sharing rooms through Redis ({})",
                    redis.url
                ));
                let limits = BenchLimits {
                    redis_url: Some(redis.url.clone()),
                    ..BenchLimits::default()
                };
                idle_bench_with(&kind, &limits, nofile, sources, clients, hold_secs, &out).await
            }
            _ => anyhow::bail!("--redis goes with relay or idle"),
        };
    }
    match cli.bench.unwrap_or(Bench::All) {
        Bench::Idle { clients, hold_secs } => {
            idle_bench(&kind, nofile, sources, clients, hold_secs, &out).await
        }
        Bench::Relay(args) => relay_bench(&kind, sources, &args, &out).await,
        Bench::Storm { clients } => storm_bench(&kind, sources, clients, &out).await,
        Bench::Slow {
            rooms,
            rate,
            secs,
            flood_rate,
        } => {
            let cfg = slow::SlowConfig {
                rooms,
                rate,
                phase: Duration::from_secs(secs),
                flood_rate,
            };
            slow_bench(&kind, sources, &cfg, &out).await
        }
        Bench::Stalled {
            readers,
            frame_bytes,
            frames_each,
            settle_secs,
        } => {
            let cfg = stalled::StalledConfig {
                readers,
                frame_bytes,
                frames_each,
                settle: Duration::from_secs(settle_secs),
            };
            stalled_bench(&kind, sources, &cfg, &out).await
        }
        Bench::All => {
            relay_bench(&kind, sources, &RelayArgs::default(), &out).await?;
            storm_bench(&kind, sources, 5_000, &out).await?;
            idle_bench(&kind, nofile, sources, 20_000, 12, &out).await?;
            let cfg = slow::SlowConfig {
                rooms: 50,
                rate: 5_000.0,
                phase: Duration::from_secs(8),
                flood_rate: 2_000.0,
            };
            slow_bench(&kind, sources, &cfg, &out).await
        }
    }
}

fn server_kind(c: &Common) -> anyhow::Result<ServerKind> {
    if let Some(url) = &c.url {
        return Ok(ServerKind::Url(url.clone()));
    }
    if c.in_process {
        return Ok(ServerKind::InProcess { backlog: c.backlog });
    }
    let bin = match &c.server_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no directory for this program")?
            .join("signaling"),
    };
    Ok(ServerKind::Process(bin))
}

struct Output {
    json: bool,
}

impl Output {
    fn line(&self, text: &str) {
        if !self.json {
            println!("{text}");
        }
    }

    fn json(&self, scenario: &str, value: &impl serde::Serialize) {
        if self.json {
            let v = serde_json::json!({ "scenario": scenario, "result": value });
            println!("{v}");
        }
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

async fn idle_bench(
    kind: &ServerKind,
    nofile: u64,
    sources: usize,
    clients: usize,
    hold_secs: u64,
    out: &Output,
) -> anyhow::Result<()> {
    let limits = BenchLimits::default();
    idle_bench_with(kind, &limits, nofile, sources, clients, hold_secs, out).await
}

async fn idle_bench_with(
    kind: &ServerKind,
    limits: &BenchLimits,
    nofile: u64,
    sources: usize,
    clients: usize,
    hold_secs: u64,
    out: &Output,
) -> anyhow::Result<()> {
    // Each client is a socket here and one in the server; both processes need a few more files
    // of their own. Past the limit the figure would only measure EMFILE.
    let fit = nofile.saturating_sub(32) as usize;
    let clients = if clients > fit {
        out.line(&format!(
            "idle: the open-files limit ({nofile}, hard; raising it needs CAP_SYS_RESOURCE) fits {fit} clients, not {clients}; measuring {fit}"
        ));
        fit
    } else {
        clients
    };
    let server = Server::start(kind, limits)?;
    let connector = Arc::new(Connector::new(server.addr, sources));
    let r = idle::run(&server, connector, clients, Duration::from_secs(hold_secs)).await?;
    server.stop();
    out.json("idle", &r);
    out.line(&format!(
        "idle: {} of {} clients joined in {:.1} s ({} errors{}), {} dropped during a {:.0} s hold",
        r.joined,
        r.clients,
        r.connect_secs,
        r.errors,
        r.first_error
            .as_deref()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default(),
        r.dropped,
        r.hold_secs
    ));
    if let (Some(b), Some(j), Some(h), Some(per)) = (
        r.before,
        r.joined_memory,
        r.after_hold,
        r.bytes_per_connection,
    ) {
        out.line(&format!(
            "idle: server RSS {} KiB before, {} KiB joined, {} KiB after the hold (peak {} KiB)",
            b.rss_kib, j.rss_kib, h.rss_kib, h.peak_kib
        ));
        out.line(&format!(
            "idle: {:.1} KiB per idle connection (target <= 16 KiB: {}); {} connections held (target 20,000: {})",
            per / 1024.0,
            met(per <= 16.0 * 1024.0),
            r.joined - r.dropped,
            met(r.joined >= 20_000 && r.dropped == 0)
        ));
    } else {
        out.line("idle: server memory not measured (only with the server as a child process)");
    }
    if let Some(m) = r.loadgen {
        out.line(&format!("idle: load generator RSS {} KiB", m.rss_kib));
    }
    Ok(())
}

async fn relay_bench(
    kind: &ServerKind,
    sources: usize,
    args: &RelayArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let server = Server::start(kind, &BenchLimits::default())?;
    let connector = Connector::new(server.addr, sources);
    out.line(&format!(
        "relay: server {} with per-connection rate limit raised to {}/s; {} rooms of 2, one description (3-6 KB) per {} frames, the rest ~200-byte candidates",
        server.kind, BenchLimits::default().rate_per_sec, args.rooms, args.description_every
    ));
    let measure = Duration::from_secs(args.secs);
    if !args.no_max {
        let cfg = RelayConfig {
            rooms: args.rooms,
            pace: Pace::Max {
                window: args.window,
            },
            description_every: args.description_every,
        };
        let pids: Vec<u32> = server.pid.into_iter().collect();
        let r = relay_window((&connector, &connector), &cfg, measure, "max", &pids, None).await?;
        let (w, s) = (&r.window, &r.samples);
        out.json("relay-max", &serde_json::json!({"window": w, "sent": s.sent, "errors": s.errors, "dropped": s.dropped, "rooms": args.rooms, "frames_in_flight": args.window, "server_cores": r.server_cores, "loadgen_cores": r.loadgen_cores}));
        out.line(&format!(
            "relay max: {:.0} msg/s relayed ({} window per sender; target >= 100,000: {}), latency under that load {}; errors {}, dropped {}; CPU cores busy: server {}, load generator {}",
            w.per_sec, args.window, met(w.per_sec >= 100_000.0), w.latency, s.errors, s.dropped,
            cores(r.server_cores), cores(r.loadgen_cores)
        ));
    }
    if args.rate > 0.0 {
        let cfg = RelayConfig {
            rooms: args.rooms,
            pace: Pace::Rate { per_sec: args.rate },
            description_every: args.description_every,
        };
        let pids: Vec<u32> = server.pid.into_iter().collect();
        let r = relay_window((&connector, &connector), &cfg, measure, "rate", &pids, None).await?;
        let (w, s) = (&r.window, &r.samples);
        out.json("relay-rate", &serde_json::json!({"rate": args.rate, "window": w, "sent": s.sent, "errors": s.errors, "dropped": s.dropped, "rooms": args.rooms, "server_cores": r.server_cores, "loadgen_cores": r.loadgen_cores}));
        out.line(&format!(
            "relay at {:.0} msg/s: {:.0} msg/s received, latency {}{}; errors {}, dropped {}; CPU cores busy: server {}, load generator {}",
            args.rate,
            w.per_sec,
            w.latency,
            // The target is set for 20,000 msg/s; other rates are for finding where it bends.
            if args.rate == 20_000.0 {
                format!(
                    " (target p99 < 5 ms at 20,000 msg/s: {})",
                    met(w.latency.p99_us < 5_000 && w.per_sec >= args.rate * 0.98)
                )
            } else {
                String::new()
            },
            s.errors,
            s.dropped,
            cores(r.server_cores),
            cores(r.loadgen_cores)
        ));
    }
    server.stop();
    Ok(())
}

struct RelayResult {
    window: hearth_bench::relay::Window,
    samples: hearth_bench::relay::Samples,
    /// CPU cores busy on average during the window, when measurable (all servers together).
    server_cores: Option<f64>,
    loadgen_cores: Option<f64>,
    redis_cores: Option<f64>,
}

fn cores(c: Option<f64>) -> String {
    c.map(|c| format!("{c:.2}")).unwrap_or_else(|| "n/a".into())
}

/// Runs one relay configuration: a second of warm-up, then `measure`.
async fn relay_window(
    (first, second): (&Connector, &Connector),
    cfg: &RelayConfig,
    measure: Duration,
    tag: &str,
    server_pids: &[u32],
    redis_pid: Option<u32>,
) -> anyhow::Result<RelayResult> {
    let relay = Relay::start_across(first, second, cfg, Instant::now(), tag).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let servers_cpu = || -> Option<f64> {
        if server_pids.is_empty() {
            return None;
        }
        server_pids.iter().map(|&pid| cpu_secs(pid)).sum()
    };
    let cpu = || {
        (
            servers_cpu(),
            cpu_secs(std::process::id()),
            redis_pid.and_then(cpu_secs),
        )
    };
    let (server0, own0, redis0) = cpu();
    let from = relay.now();
    tokio::time::sleep(measure).await;
    let to = relay.now();
    let (server1, own1, redis1) = cpu();
    let samples = relay.finish().await;
    let secs = measure.as_secs_f64();
    let share = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| (b - a) / secs);
    Ok(RelayResult {
        window: samples.window(from, to),
        server_cores: share(server0, server1),
        loadgen_cores: share(own0, own1),
        redis_cores: share(redis0, redis1),
        samples,
    })
}

/// Relay through two instances sharing rooms through Redis: each room's peers on different
/// instances, so every frame crosses Redis.
async fn relay_redis_bench(
    kind: &ServerKind,
    sources: usize,
    args: &RelayArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let ServerKind::Process(_) = kind else {
        anyhow::bail!("--redis runs the signaling binary");
    };
    let redis = Redis::start()?;
    let limits = BenchLimits {
        redis_url: Some(redis.url.clone()),
        ..BenchLimits::default()
    };
    let one = Server::start(kind, &limits)?;
    let two = Server::start(kind, &limits)?;
    let (first, second) = (
        Connector::new(one.addr, sources),
        Connector::new(two.addr, sources),
    );
    let pids: Vec<u32> = one.pid.into_iter().chain(two.pid).collect();
    out.line(&format!(
        "relay-redis: two servers sharing rooms through redis-server, each room's peers on different servers; {} rooms of 2, one description (3-6 KB) per {} frames",
        args.rooms, args.description_every
    ));
    let measure = Duration::from_secs(args.secs);
    let mut paces = Vec::new();
    if !args.no_max {
        paces.push((
            "max",
            Pace::Max {
                window: args.window,
            },
        ));
    }
    if args.rate > 0.0 {
        paces.push(("rate", Pace::Rate { per_sec: args.rate }));
    }
    for (tag, pace) in paces {
        let cfg = RelayConfig {
            rooms: args.rooms,
            pace,
            description_every: args.description_every,
        };
        let r = relay_window(
            (&first, &second),
            &cfg,
            measure,
            tag,
            &pids,
            Some(redis.pid),
        )
        .await?;
        let (w, s) = (&r.window, &r.samples);
        out.json(&format!("relay-redis-{tag}"), &serde_json::json!({"pace": format!("{pace:?}"), "window": w, "sent": s.sent, "errors": s.errors, "dropped": s.dropped, "rooms": args.rooms, "server_cores": r.server_cores, "redis_cores": r.redis_cores, "loadgen_cores": r.loadgen_cores}));
        out.line(&format!(
            "relay-redis {}: {:.0} msg/s received, latency {}; errors {}, dropped {}; CPU cores busy: servers {}, redis-server {}, load generator {}",
            match pace {
                Pace::Max { window } => format!("max ({window} in flight per sender)"),
                Pace::Rate { per_sec } => format!("at {per_sec:.0} msg/s"),
            },
            w.per_sec,
            w.latency,
            s.errors,
            s.dropped,
            cores(r.server_cores),
            cores(r.redis_cores),
            cores(r.loadgen_cores)
        ));
    }
    one.stop();
    two.stop();
    Ok(())
}

async fn storm_bench(
    kind: &ServerKind,
    sources: usize,
    clients: usize,
    out: &Output,
) -> anyhow::Result<()> {
    let server = Server::start(kind, &BenchLimits::default())?;
    let connector = Arc::new(Connector::new(server.addr, sources));
    let r = storm::run(connector, server.kind, clients).await?;
    server.stop();
    out.json("storm", &r);
    out.line(&format!(
        "storm: {} of {} clients welcomed, all within {:.0} ms; {} errors{} (target 0 errors: {}); connect-to-welcome p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        r.welcomed,
        r.clients,
        r.all_welcomed_ms,
        r.errors,
        r.first_error.as_deref().map(|e| format!(", first: {e}")).unwrap_or_default(),
        met(r.errors == 0),
        f64::from(r.per_client.p50_us) / 1000.0,
        f64::from(r.per_client.p99_us) / 1000.0,
        f64::from(r.per_client.max_us) / 1000.0,
    ));
    Ok(())
}

async fn slow_bench(
    kind: &ServerKind,
    sources: usize,
    cfg: &slow::SlowConfig,
    out: &Output,
) -> anyhow::Result<()> {
    let server = Server::start(kind, &BenchLimits::default())?;
    let connector = Arc::new(Connector::new(server.addr, sources));
    let r = slow::run(&server, connector, cfg).await?;
    server.stop();
    out.json("slow", &r);
    out.line(&format!(
        "slow: {} rooms at {:.0} msg/s; baseline {:.0} msg/s, latency {}",
        r.rooms, r.rate, r.baseline.per_sec, r.baseline.latency
    ));
    out.line(&format!(
        "slow: with a peer flooded at {:.0} x {} B/s that never reads: {:.0} msg/s, latency {}",
        r.flood_rate, r.flood_frame_bytes, r.with_slow_peer.per_sec, r.with_slow_peer.latency
    ));
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    out.line(&format!(
        "slow: the server disconnected {} slow peers, each after {:?} frames, {:.0} ms on average; errors {}, others dropped {}",
        r.kicks,
        r.frames_until_kick,
        avg(&r.ms_until_kick),
        r.errors,
        r.dropped
    ));
    let kib = |k: Option<u64>| {
        k.map(|k| format!("{k} KiB"))
            .unwrap_or_else(|| "n/a".into())
    };
    out.line(&format!(
        "slow: server RSS peak {} during the baseline, {} with slow peers, {} at the end",
        kib(r.peak_baseline_kib),
        kib(r.peak_slow_kib),
        kib(r.end_kib)
    ));
    Ok(())
}

async fn stalled_bench(
    kind: &ServerKind,
    sources: usize,
    cfg: &stalled::StalledConfig,
    out: &Output,
) -> anyhow::Result<()> {
    let server = Server::start(kind, &BenchLimits::default())?;
    let connector = Arc::new(Connector::new(server.addr, sources));
    let r = stalled::run(&server, connector, cfg).await?;
    server.stop();
    out.json("stalled", &r);
    let kib = |k: Option<u64>| {
        k.map(|k| format!("{k} KiB"))
            .unwrap_or_else(|| "n/a".into())
    };
    out.line(&format!(
        "stalled: {} readers that stall while pinging, each sent {} frames of {} B; {} dropped by the server within {:.1} s",
        r.readers, r.frames_each, r.frame_bytes, r.dropped, r.secs
    ));
    out.line(&format!(
        "stalled: server RSS {} before, peak {}, {} at the end",
        kib(r.before_kib),
        kib(r.peak_kib),
        kib(r.end_kib)
    ));
    Ok(())
}
