//! The `signaling` binary as an operator runs it: flags, the listening line, `.env`, signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_signaling");

struct Running {
    child: Child,
    url: String,
}

/// Starts the binary on a free port in `dir` and waits for its listening line.
fn start(dir: &std::path::Path, envs: &[(&str, &str)]) -> Running {
    start_with(Command::new(BIN), dir, envs)
}

/// As [`start`], with a command that runs the binary (under `prlimit`, say).
fn start_with(mut command: Command, dir: &std::path::Path, envs: &[(&str, &str)]) -> Running {
    command
        .args(["--addr", "127.0.0.1:0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "STUN_SERVER_ID",
        "TURN_URLS",
        "TURN_USERNAME",
        "TURN_CREDENTIAL",
        "TURN_SECRET",
        "SIGNALING_ADDR",
    ] {
        command.env_remove(var);
    }
    command.envs(envs.iter().copied());
    let mut child = command.spawn().expect("spawn the signaling binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "a real port: {url}"
    );
    Running { child, url }
}

fn get(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let request = async { reqwest::get(url).await?.text().await };
        tokio::time::timeout(Duration::from_secs(10), request)
            .await
            .unwrap_or_else(|_| panic!("no answer from {url} within 10 s"))
            .expect("GET")
    })
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn prints_its_address_serves_and_exits_0_on_sigterm() {
    let dir = tempdir();
    let mut server = start(&dir, &[]);
    assert!(get(&format!("{}/healthz", server.url)).contains("ok"));
    assert!(
        get(&server.url).contains("remoteVideo"),
        "the UI is embedded, whatever the directory"
    );
    signal(&server.child, "TERM");
    assert!(wait_exit(&mut server.child).success());
}

#[test]
fn sigterm_with_a_half_sent_header_exits_within_the_shutdown_deadline() {
    use std::io::Write as _;
    let dir = tempdir();
    // Only the shutdown deadline (3 s by default) can end that request.
    let mut server = start(&dir, &[("HEADER_TIMEOUT_SECS", "600")]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut half = std::net::TcpStream::connect(&addr).expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .expect("send");
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    signal(&server.child, "TERM");
    assert!(wait_exit(&mut server.child).success());
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "took {:?}",
        asked.elapsed()
    );
}

#[test]
fn silent_sockets_cannot_stop_healthz_under_a_low_open_file_limit() {
    // 128 descriptors in all, soft and hard, for the server only.
    let mut command = Command::new("prlimit");
    command.args(["--nofile=128:128", "--", BIN]);
    let dir = tempdir();
    let mut server = start_with(command, &dir, &[("HEADER_TIMEOUT_SECS", "600")]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    // More connections that never send a byte than the limit allows descriptors.
    let silent: Vec<_> = (0..160)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    assert!(get(&format!("{}/healthz", server.url)).contains("ok"));
    drop(silent);
    signal(&server.child, "TERM");
    assert!(wait_exit(&mut server.child).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        &mut server.child.stderr.take().expect("stderr"),
        &mut stderr,
    )
    .expect("read");
    assert!(
        stderr.contains("lowered the connection caps") && !stderr.contains("accept error"),
        "{stderr}"
    );
}

#[test]
fn exits_0_on_sigint() {
    let dir = tempdir();
    let mut server = start(&dir, &[]);
    signal(&server.child, "INT");
    assert!(wait_exit(&mut server.child).success());
}

#[test]
fn reads_dot_env_from_the_working_directory() {
    let dir = tempdir();
    std::fs::write(
        dir.join(".env"),
        "STUN_SERVER_ID=stun:from-dotenv.example:3478\n",
    )
    .expect("write .env");
    let mut server = start(&dir, &[]);
    let body = get(&format!("{}/ice-servers", server.url));
    assert!(body.contains("stun:from-dotenv.example:3478"), "{body}");
    signal(&server.child, "TERM");
    wait_exit(&mut server.child);
}

#[test]
fn a_bad_ice_configuration_is_a_clear_error() {
    let dir = tempdir();
    let output = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0"])
        .current_dir(&dir)
        .env("TURN_URLS", "turn:turn.example:3478")
        .env_remove("TURN_SECRET")
        .env_remove("TURN_USERNAME")
        .env_remove("TURN_CREDENTIAL")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TURN_SECRET") && stderr.contains("TURN_USERNAME"),
        "{stderr}"
    );
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = Command::new(BIN)
        .args(["--addr", &addr])
        .current_dir(tempdir())
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("could not listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_flag_and_variable() {
    let output = Command::new(BIN).arg("--help").output().expect("run");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "--addr",
        "SIGNALING_ADDR",
        "--max-message-bytes",
        "MAX_MESSAGE_BYTES",
        "MAX_PEERS_PER_ROOM",
        "MAX_CONNECTIONS",
        "JOIN_TIMEOUT_SECS",
        "MESSAGE_TIMEOUT_SECS",
        "RATE_PER_SEC",
        "RATE_BURST",
        "MAX_HTTP_CONNECTIONS",
        "HEADER_TIMEOUT_SECS",
        "IDLE_TIMEOUT_SECS",
        "SHUTDOWN_TIMEOUT_SECS",
        "SEND_QUEUE_BYTES",
        "DRAIN_TIMEOUT_SECS",
        "ALLOWED_ORIGINS",
        "TRUST_PROXY",
        "--public-host",
        "PUBLIC_HOSTS",
        "STUN_SERVER_ID",
        "TURN_URLS",
        "TURN_USERNAME",
        "TURN_CREDENTIAL",
        "TURN_SECRET",
        "TURN_TTL_SECS",
        "RUST_LOG",
        ".env",
    ] {
        assert!(
            help.contains(word),
            "--help does not mention {word}:\n{help}"
        );
    }
}

#[test]
fn behind_a_proxy_logs_the_forwarded_client_address() {
    let dir = tempdir();
    let mut server = start(&dir, &[("TRUST_PROXY", "true"), ("RUST_LOG", "info")]);
    let ws_url = server.url.replace("http://", "ws://") + "/ws";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
        let mut request = ws_url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("x-forwarded-for", "203.0.113.7".parse().expect("header"));
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        ws.send(Message::text(r#"{"type":"join","room":"r","name":"Ada"}"#))
            .await
            .expect("send");
        let welcome = ws.next().await.expect("frame").expect("ok");
        assert!(welcome.to_text().expect("text").contains("welcome"));
    });
    signal(&server.child, "TERM");
    wait_exit(&mut server.child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        &mut server.child.stderr.take().expect("stderr"),
        &mut stderr,
    )
    .expect("read");
    assert!(stderr.contains("203.0.113.7"), "{stderr}");
}

/// The server's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn readers_that_stall_while_pinging_are_dropped_and_memory_stays_bounded() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempdir();
    let mut server = start(
        &dir,
        &[
            ("DRAIN_TIMEOUT_SECS", "1"),
            ("RATE_PER_SEC", "1000000"),
            ("RATE_BURST", "1000000"),
            ("RUST_LOG", "warn"),
        ],
    );
    let ws_url = server.url.replace("http://", "ws://") + "/ws";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let joined = |room: String| {
        let ws_url = ws_url.clone();
        async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
                .await
                .expect("connect");
            let join = format!(r#"{{"type":"join","room":"{room}","name":"x"}}"#);
            ws.send(Message::text(join)).await.expect("send");
            let welcome = ws.next().await.expect("frame").expect("ok");
            let welcome: serde_json::Value =
                serde_json::from_str(welcome.to_text().expect("text")).expect("json");
            (ws, welcome["id"].as_str().expect("id").to_owned())
        }
    };
    runtime.block_on(async {
        let mut senders = Vec::new();
        for room in 0..8 {
            let (mut ada, _) = joined(format!("room{room}")).await;
            let (bob, bob_id) = joined(format!("room{room}")).await;
            let _peer_joined = ada.next().await;
            // Bob never reads again but pings every 50 ms.
            let (mut bob_sink, bob_unread) = bob.split();
            tokio::spawn(async move {
                let _unread = bob_unread;
                while bob_sink.send(Message::Ping(vec![1].into())).await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
            senders.push(tokio::spawn(async move {
                // 12 MiB for Bob: past the socket buffers and, in the server, past 1 MiB queued.
                let chunk = "c".repeat(60 * 1024);
                let signal = format!(r#"{{"type":"signal","to":"{bob_id}","data":"{chunk}"}}"#);
                for _ in 0..200 {
                    ada.send(Message::text(signal.clone())).await.expect("send");
                }
                // Whatever went through, Bob is gone within the patience.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                loop {
                    let frame = tokio::time::timeout_at(deadline, ada.next())
                        .await
                        .expect("peer-left within 10 s")
                        .expect("open")
                        .expect("frame");
                    if frame.to_text().is_ok_and(|t| t.contains("peer-left")) {
                        break;
                    }
                }
            }));
        }
        for sender in senders {
            sender.await.expect("the stalled reader was dropped");
        }
    });
    let peak_mib = peak_rss_kib(server.child.id()) / 1024;
    signal(&server.child, "TERM");
    wait_exit(&mut server.child);
    // 8 readers could pin 8 × 256 frames of 60 KiB (120 MiB) under the frame bound alone.
    assert!(peak_mib < 48, "peak RSS {peak_mib} MiB");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hearth-signaling-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
