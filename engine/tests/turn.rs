//! A call relayed through a real TURN server: Debian's coturn and two engines that may use
//! relayed candidates only, so pictures arriving prove the TURN URL and its credentials reached
//! webrtcbin and work; an engine with the wrong password gets no candidate at all.
//!
//! The ICE agent gathers on non-loopback interfaces only, so the test runs in a network namespace
//! it makes itself (`unshare --map-root-user --net`, a veth pair with 10.99.0.1), where the TURN
//! server and both engines live and from which nothing leaves.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{negotiate, relay, send_all, side_with, until, until_state, Side};
use hearth_engine::{EngineEvent, IceServer, MediaKind};

/// Set in the copy of this test that runs inside the namespace.
const INSIDE: &str = "HEARTH_TURN_NAMESPACE";
const ADDRESS: &str = "10.99.0.1";
const PORT: u16 = 3478;
const USER: &str = "hearth";
const PASSWORD: &str = "turn-secret";

#[test]
fn a_call_relayed_through_turn_with_credentials() {
    if std::env::var_os(INSIDE).is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(call_through_turn());
        return;
    }
    let this_test = std::env::current_exe().expect("the test binary");
    let namespace = format!(
        "ip link add v0 type veth peer name v1 && ip addr add {ADDRESS}/24 dev v0 && \
         ip link set v0 up && ip link set v1 up && ip link set lo up && \
         exec \"$0\" --exact a_call_relayed_through_turn_with_credentials --nocapture"
    );
    let run = Command::new("unshare")
        .args(["--map-root-user", "--net", "sh", "-c", &namespace])
        .arg(this_test)
        .env(INSIDE, "1")
        .output()
        .expect("unshare runs (util-linux)");
    assert!(
        run.status.success(),
        "the call through TURN, in its namespace, failed ({}):\n{}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// coturn with one long-term-credential user, stopped on drop.
struct TurnServer(Child);

impl TurnServer {
    fn start() -> TurnServer {
        let child = Command::new("turnserver")
            .args([
                &format!("--listening-ip={ADDRESS}"),
                &format!("--relay-ip={ADDRESS}"),
                &format!("--listening-port={PORT}"),
                "--lt-cred-mech",
                &format!("--user={USER}:{PASSWORD}"),
                "--realm=hearth.test",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--pidfile=/dev/null",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver runs (Debian's coturn; npm test installs it)");
        let server = TurnServer(child);
        // It opens its TCP and UDP listeners together; the TCP one is the one we can wait for.
        for _ in 0..100 {
            if TcpStream::connect((ADDRESS, PORT)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("turnserver did not listen on {ADDRESS}:{PORT} within 5 s");
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn turn(password: &str) -> IceServer {
    IceServer {
        urls: vec![format!("turn:{ADDRESS}:{PORT}?transport=udp")],
        username: Some(USER.into()),
        credential: Some(password.into()),
    }
}

async fn call_through_turn() {
    let _server = TurnServer::start();

    let Side {
        engine: refused_engine,
        peer: refused,
        events: mut refused_events,
        ..
    } = side_with(vec![turn("wrong")], true);
    refused
        .set_sending(MediaKind::Video, true)
        .expect("sending");
    let offer = refused.create_offer(false).await.expect("offer");
    refused
        .set_local_description(&offer)
        .await
        .expect("local offer");

    let a = side_with(vec![turn(PASSWORD)], true);
    let b = side_with(vec![turn(PASSWORD)], true);
    let a_relayed = relay(a.events, a.peer.id(), b.peer.clone());
    let mut a_states = a_relayed.states;
    let mut b_states = relay(b.events, b.peer.id(), a.peer.clone()).states;
    send_all(&a.peer);
    send_all(&b.peer);
    negotiate(&a.peer, &b.peer, false).await;
    until_state(&mut a_states, "connected").await;
    until_state(&mut b_states, "connected").await;
    until(
        || b.peer.progress(),
        "b sees a through TURN",
        |p| p.remote_frames >= 60,
    )
    .await;
    until(
        || a.peer.progress(),
        "a sees b through TURN",
        |p| p.remote_frames >= 60,
    )
    .await;
    // Every candidate a offered must be relayed, from the TURN server's address.
    let offered = a_relayed.candidates.lock().expect("candidates").clone();
    assert!(!offered.is_empty(), "a offered no candidates");
    for candidate in &offered {
        assert!(
            candidate.contains(" typ relay") && candidate.contains(ADDRESS),
            "not relayed through the TURN server: {candidate}"
        );
    }

    // Meanwhile the engine with the wrong password has had every chance to allocate a relay.
    let mut candidates = Vec::new();
    while let Ok((_, event)) = refused_events.try_recv() {
        if let EngineEvent::IceCandidate { candidate, .. } = event {
            candidates.push(candidate);
        }
    }
    assert!(
        candidates.is_empty(),
        "the wrong TURN password still gave candidates: {candidates:?}"
    );
    for engine in [&a.engine, &b.engine, &refused_engine] {
        engine.close();
    }
}
