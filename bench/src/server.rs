//! The server under test: the `signaling` binary as a child process (so its memory is its own),
//! `signaling::serve` in this process on a runtime of its own, or one already running at a URL.

use anyhow::{bail, Context as _};
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where the server comes from.
#[derive(Debug, Clone)]
pub enum ServerKind {
    /// The `signaling` binary at this path, started with limits raised for the benchmark.
    Process(PathBuf),
    /// `signaling::serve` on a separate multi-threaded runtime inside this process, listening with
    /// this backlog. 128 is what `tokio::net::TcpListener::bind` (mio 1.2, like std) and so the
    /// `signaling` binary use; the storm shows what a longer queue changes.
    InProcess { backlog: u32 },
    /// A server someone else started; `ws://host:port/ws`.
    Url(String),
}

/// Limits the benchmark needs lifted; everything else stays at the server's defaults.
#[derive(Debug, Clone)]
pub struct BenchLimits {
    pub max_connections: usize,
    /// Per-connection messages per second and burst. The default (50/s, burst 200) protects a
    /// public server from one client; a load generator multiplexing a room's traffic needs more.
    pub rate_per_sec: f64,
    /// Idle clients stay joined, but storm clients may wait long for their welcome.
    pub join_timeout_secs: u64,
    /// Share rooms through this Redis (`--redis-url`); the binary only.
    pub redis_url: Option<String>,
}

impl Default for BenchLimits {
    fn default() -> Self {
        BenchLimits {
            max_connections: 100_000,
            rate_per_sec: 1_000_000.0,
            join_timeout_secs: 3600,
            redis_url: None,
        }
    }
}

/// A running server; stops it when dropped (child killed, in-process runtime shut down).
pub struct Server {
    pub addr: SocketAddr,
    /// The process whose memory is the server's alone, when there is one.
    pub pid: Option<u32>,
    pub kind: &'static str,
    handle: Handle,
}

enum Handle {
    Child(Child),
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
    External,
}

impl Server {
    pub fn start(kind: &ServerKind, limits: &BenchLimits) -> anyhow::Result<Server> {
        match kind {
            ServerKind::Process(bin) => Self::spawn(bin, limits),
            ServerKind::InProcess { backlog } => Self::in_process(limits, *backlog),
            ServerKind::Url(url) => {
                let rest = url
                    .strip_prefix("ws://")
                    .context("--url must be ws://host:port/ws")?;
                let host = rest.split('/').next().unwrap_or(rest);
                let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?
                    .next()
                    .context("--url names no address")?;
                if !addr.ip().is_loopback() {
                    bail!("the benchmark only sends traffic to loopback addresses, not {addr}");
                }
                Ok(Server {
                    addr,
                    pid: None,
                    kind: "external",
                    handle: Handle::External,
                })
            }
        }
    }

    fn spawn(bin: &PathBuf, limits: &BenchLimits) -> anyhow::Result<Server> {
        let mut command = Command::new(bin);
        if let Some(url) = &limits.redis_url {
            command.args(["--redis-url", url]);
        }
        let mut child = command
            .args(["--addr", "127.0.0.1:0"])
            .args(["--max-connections", &limits.max_connections.to_string()])
            .args(["--rate-per-sec", &limits.rate_per_sec.to_string()])
            .args(["--rate-burst", &limits.rate_per_sec.to_string()])
            .args(["--join-timeout-secs", &limits.join_timeout_secs.to_string()])
            // Per-join info lines would make the storm a logging benchmark; keep the user's choice.
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!(
                    "could not start {} (build it: cargo build --release -p signaling)",
                    bin.display()
                )
            })?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .with_context(|| format!("unexpected first line from signaling: {line:?}"))?
            .parse()?;
        Ok(Server {
            addr,
            pid: Some(child.id()),
            kind: "process",
            handle: Handle::Child(child),
        })
    }

    fn in_process(limits: &BenchLimits, backlog: u32) -> anyhow::Result<Server> {
        let config = signaling::Config {
            limits: signaling::Limits {
                max_connections: limits.max_connections,
                rate_per_sec: limits.rate_per_sec,
                rate_burst: limits.rate_per_sec,
                join_timeout: Duration::from_secs(limits.join_timeout_secs),
                ..signaling::Limits::default()
            },
            serve_ui: false,
            ..signaling::Config::default()
        };
        // Its own runtime on its own thread, so the server's tasks are not queued behind the load
        // generator's, and so this works when called from inside the generator's runtime.
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let started = (|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("server")
                    .build()?;
                let listener = runtime.block_on(async {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.set_reuseaddr(true)?;
                    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
                    socket.listen(backlog)
                })?;
                std::io::Result::Ok((runtime, listener))
            })();
            let (runtime, listener) = match started {
                Ok(started) => started,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(listener.local_addr());
            let served = runtime.block_on(signaling::serve(listener, config, async move {
                let _ = stopped.await;
            }));
            if let Err(e) = served {
                eprintln!("in-process server failed: {e}");
            }
        });
        let addr = ready.recv().context("the server thread died")??;
        Ok(Server {
            addr,
            pid: None,
            kind: "in-process",
            handle: Handle::InProcess {
                stop: Some(stop),
                thread: Some(thread),
            },
        })
    }

    /// Resident memory of the server process now and at its peak, in KiB.
    pub fn memory(&self) -> Option<Memory> {
        self.pid.and_then(Memory::of)
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        match &mut self.handle {
            Handle::Child(child) => {
                // SIGKILL: a graceful close of thousands of sockets is not what is measured.
                let _ = child.kill();
                let _ = child.wait();
            }
            Handle::InProcess { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
            Handle::External => {}
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }

    pub fn own() -> Option<Memory> {
        Memory::of(std::process::id())
    }
}

/// Debian's `redis-server` on a free loopback port, nothing saved to disk, for servers that share
/// rooms; killed when dropped.
pub struct Redis {
    pub url: String,
    pub pid: u32,
    child: Child,
}

impl Redis {
    pub fn start() -> anyhow::Result<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("could not start redis-server (apt-get install redis-server)")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        if !ready {
            bail!("redis-server did not start");
        }
        Ok(Redis {
            url: format!("redis://127.0.0.1:{port}/"),
            pid: child.id(),
            child,
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted from after its closing parenthesis.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15 of the whole line; Linux counts them in 1/100 s.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}
