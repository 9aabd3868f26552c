//! Measures, by hand (`cargo test --release -p hearth-engine --test bench -- --ignored
//! --nocapture <name>`):
//! - what sending to three connections costs with one VP8 encoder shared and with one encoder
//!   per connection: one engine (the camera on, 640x360 at 30 fps) sends picture and sound to
//!   three receiving engines in the same process (no camera, sending nothing); the process's CPU
//!   and that of the encoding threads are read from `/proc/self` over 20 s, and each
//!   connection's outbound video bitrate and key-frame requests from its stats;
//! - the data channel's rate between two engines on loopback: 100 MB in 16 KiB messages under
//!   the page's flow control (wait for buffered-low above the high-water mark);
//! - what sharing a 1920x1080 screen at 15 fps costs: the process's CPU while one engine sends
//!   its screen to another (both cameras closed) against the same call sending nothing, and
//!   the screen's capture, encoding and preview threads. The screen is a test pattern, or with
//!   `HEARTH_BENCH_SCREEN=x11` the X display in `DISPLAY` (under `xvfb-run -s "-screen 0
//!   1920x1080x24"`).

mod common;

use std::time::{Duration, Instant};

use common::{capture, negotiate, relay, send_all, until, until_state, Relayer, SERIAL};
use hearth_engine::{
    DataKind, DataState, Encoding, EngineError, EngineEvent, MediaKind, PeerConfig, ScreenSource,
    FILES, HIGH_WATER,
};

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

/// A calls B (both on test sources, cameras closed, A sending its picture track); returns both
/// engines, A's connection, B's connection and A's other events.
async fn quiet_call() -> (
    std::sync::Arc<hearth_engine::Engine>,
    std::sync::Arc<hearth_engine::Peer>,
    std::sync::Arc<hearth_engine::Engine>,
    std::sync::Arc<hearth_engine::Peer>,
    std::sync::Arc<common::Forward>,
    tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
) {
    let (a, a_events, _) = capture(false, Encoding::PerPeer);
    let (b, b_events, b_seen) = capture(false, Encoding::PerPeer);
    let ab = a.add_peer(&PeerConfig::default()).expect("a to b");
    let ba = b.add_peer(&PeerConfig::default()).expect("b to a");
    let a_relayed = relay(a_events, ab.id(), ba.clone());
    let mut states = a_relayed.states;
    let _ = relay(b_events, ba.id(), ab.clone());
    send_all(&ab);
    negotiate(&ab, &ba, false).await;
    until_state(&mut states, "connected").await;
    (a, ab, b, ba, b_seen, a_relayed.others)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn data_channel_rate_between_two_engines() {
    let _one_at_a_time = SERIAL.lock().await;
    const TOTAL: usize = 100 * 1000 * 1000;
    const CHUNK: usize = 16 * 1024;
    let (a, ab, b, _ba, b_seen, mut others) = quiet_call().await;
    let mut open = 0;
    while open < 2 {
        if let Some(EngineEvent::DataState {
            state: DataState::Open,
            ..
        }) = others.recv().await
        {
            open += 1;
        }
    }
    let mut inbox = b_seen.inbox();
    let receiving = tokio::spawn(async move {
        let mut received = 0;
        while received < TOTAL {
            let (_, _, _, bytes) = inbox.recv().await.expect("inbox");
            received += bytes.len();
        }
        Instant::now()
    });
    let chunk = vec![0x5a; CHUNK];
    let (cpu0, _) = cpu_ticks(&[]);
    let started = Instant::now();
    let mut sent = 0;
    while sent < TOTAL {
        let len = CHUNK.min(TOTAL - sent);
        match ab.send_data(FILES, DataKind::Binary, &chunk[..len]) {
            Ok(buffered) => {
                sent += len;
                if buffered <= HIGH_WATER {
                    continue;
                }
            }
            Err(EngineError::DataBusy(_)) => {}
            Err(e) => panic!("{e}"),
        }
        while !matches!(
            others.recv().await,
            Some(EngineEvent::DataBufferedLow { .. })
        ) {}
    }
    let done = receiving.await.expect("receiver");
    let (cpu1, _) = cpu_ticks(&[]);
    let seconds = done.duration_since(started).as_secs_f64();
    println!(
        "data channel, engine to engine on loopback: {} MB in {seconds:.1} s = {:.1} MB/s; \
         process {:.2} cores",
        TOTAL / 1_000_000,
        TOTAL as f64 / 1e6 / seconds,
        (cpu1 - cpu0) as f64 / 100.0 / seconds,
    );
    a.close();
    b.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn cpu_of_sharing_a_1080p_screen() {
    let _one_at_a_time = SERIAL.lock().await;
    let source = match std::env::var("HEARTH_BENCH_SCREEN").as_deref() {
        Ok("x11") => ScreenSource::X11 {
            display: std::env::var("DISPLAY").expect("DISPLAY for the x11 screen"),
        },
        _ => ScreenSource::Test {
            width: 1920,
            height: 1080,
        },
    };
    let (a, ab, b, ba, b_seen, _) = quiet_call().await;
    // The sender's threads: the screen's source (capture and scaling), its connection's video
    // queue (VP8 encoding and sending), the preview's queue (JPEG for the page).
    let groups: [&[&str]; 3] = [
        &["screen-test:src", "screen-x11:src"],
        &["video-queue:src"],
        &["preview-queue:s"],
    ];
    let measure = |label: &'static str| {
        let (ab, ba) = (ab.clone(), ba.clone());
        async move {
            let frames0 = ba.progress().remote_frames;
            let captured0 = ab.progress().screen_frames;
            let before: Vec<(u64, u64)> = groups.iter().map(|g| cpu_ticks(g)).collect();
            let stats0 = sent(&ab).await;
            let started = Instant::now();
            tokio::time::sleep(MEASURE).await;
            let after: Vec<(u64, u64)> = groups.iter().map(|g| cpu_ticks(g)).collect();
            let stats1 = sent(&ab).await;
            let seconds = started.elapsed().as_secs_f64();
            let cores = |i: usize| (after[i].1 - before[i].1) as f64 / 100.0 / seconds;
            println!(
                "{label}: process {:.2} cores (capture {:.2}, encoding {:.2}, preview {:.2}); \
                 {:.1} fps captured, video {:.0} kbit/s, {:.1} fps received",
                (after[0].0 - before[0].0) as f64 / 100.0 / seconds,
                cores(0),
                cores(1),
                cores(2),
                (ab.progress().screen_frames - captured0) as f64 / seconds,
                (stats1.0 - stats0.0) as f64 * 8.0 / 1000.0 / seconds,
                (ba.progress().remote_frames - frames0) as f64 / seconds,
            );
        }
    };
    measure("a call sending nothing").await;
    let info = a.share_screen(&source).expect("share");
    until(
        || ba.progress(),
        "b sees the screen",
        |p| p.remote_frames >= 30,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    measure("sharing the screen").await;
    println!(
        "  {source:?}: sent at {}x{}, received as {:?}",
        info.width,
        info.height,
        b_seen.last_remote_size()
    );
    a.close();
    b.close();
}
