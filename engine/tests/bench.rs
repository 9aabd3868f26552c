//! Measures, by hand, what sending to three connections costs with one VP8 encoder shared and
//! with one encoder per connection: `cargo test -p hearth-engine --test bench -- --ignored
//! --nocapture`. One engine (the camera on, 640x360 at 30 fps) sends picture and sound to three
//! receiving engines in the same process (no camera, sending nothing); the process's CPU and
//! that of the encoding threads are read from `/proc/self` over 20 s, and each connection's
//! outbound video bitrate and key-frame requests from its stats.

mod common;

use std::time::{Duration, Instant};

use common::{capture, negotiate, relay, send_all, until, until_state, Relayer, SERIAL};
use hearth_engine::{Encoding, MediaKind, PeerConfig};

const MEASURE: Duration = Duration::from_secs(20);

/// Clock ticks of CPU (user + system) of the process, and of its threads whose name starts
/// with one of `threads`.
fn cpu_ticks(threads: &[&str]) -> (u64, u64) {
    let ticks = |stat: &str| -> u64 {
        // Fields after the command name (which may hold spaces): state is the 3rd field,
        // utime the 14th and stime the 15th.
        let rest = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i - 3)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        field(14) + field(15)
    };
    let process = std::fs::read_to_string("/proc/self/stat")
        .map(|s| ticks(&s))
        .unwrap_or(0);
    let mut matched = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if threads.iter().any(|t| comm.trim().starts_with(t)) {
                matched += std::fs::read_to_string(task.path().join("stat"))
                    .map(|s| ticks(&s))
                    .unwrap_or(0);
            }
        }
    }
    (process, matched)
}

/// Bytes of video sent and key frames asked for (PLI + FIR) on one connection so far.
async fn sent(peer: &hearth_engine::Peer) -> (u64, u64) {
    let stats = peer.stats().await.expect("stats");
    let video = stats
        .iter()
        .filter(|s| s["type"] == "outbound-rtp" && s["kind"] == "video");
    video.fold((0, 0), |(bytes, keys), s| {
        (
            bytes + s["bytesSent"].as_u64().unwrap_or(0),
            keys + s["pliCount"].as_u64().unwrap_or(0) + s["firCount"].as_u64().unwrap_or(0),
        )
    })
}

async fn three_receivers(encoding: Encoding) {
    let _one_at_a_time = SERIAL.lock().await;
    let (a, a_events, _) = capture(true, encoding);
    let a_relay = Relayer::start(a_events);
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    // HEARTH_BENCH_PEERS: how many receiving engines (3 unless said).
    let count = std::env::var("HEARTH_BENCH_PEERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    for _ in 0..count {
        let (engine, events, _) = capture(false, encoding);
        let receiver = engine.add_peer(&PeerConfig::default()).expect("receiver");
        let sender = a.add_peer(&PeerConfig::default()).expect("sender");
        let mut states = a_relay.route(sender.id(), receiver.clone()).states;
        let _ = relay(events, receiver.id(), sender.clone());
        send_all(&sender);
        negotiate(&sender, &receiver, false).await;
        until_state(&mut states, "connected").await;
        until(|| receiver.progress(), "frames", |p| p.remote_frames >= 30).await;
        senders.push(sender);
        receivers.push((engine, receiver));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Encoding threads: the shared encoder's queue, or each connection's video queue.
    let encoders: &[&str] = match encoding {
        Encoding::Shared => &["shared-encode-q"],
        Encoding::PerPeer => &["video-queue:src"],
    };
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let mut before = Vec::new();
    for peer in &senders {
        before.push(sent(peer).await);
    }
    let frames_before: Vec<u64> = receivers
        .iter()
        .map(|(_, r)| r.progress().remote_frames)
        .collect();
    let (cpu0, enc0) = cpu_ticks(encoders);
    let started = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let (cpu1, enc1) = cpu_ticks(encoders);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{encoding:?}, {count} connections: process {:.2} cores, encoding threads {:.2} cores over {seconds:.0} s",
        (cpu1 - cpu0) as f64 / ticks_per_second / seconds,
        (enc1 - enc0) as f64 / ticks_per_second / seconds,
    );
    for (i, peer) in senders.iter().enumerate() {
        let (bytes, keys) = sent(peer).await;
        let frames = receivers[i].1.progress().remote_frames - frames_before[i];
        println!(
            "  connection {}: video {:.0} kbit/s, {} key frames asked for, {:.1} fps received",
            i + 1,
            (bytes - before[i].0) as f64 * 8.0 / 1000.0 / seconds,
            keys - before[i].1,
            frames as f64 / seconds,
        );
    }
    for peer in &senders {
        peer.set_sending(MediaKind::Video, false).expect("stop");
    }
    a.close();
    for (engine, _) in receivers {
        engine.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn cpu_of_three_connections_with_a_shared_encoder() {
    three_receivers(Encoding::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn cpu_of_three_connections_with_an_encoder_each() {
    three_receivers(Encoding::PerPeer).await;
}
