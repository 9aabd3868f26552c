//! Slow consumer: rooms relaying at a steady rate while, in another room, one peer floods a
//! partner that never reads. Others' latency should not move, and the server's memory should stay
//! bounded because it disconnects a peer whose send queue fills.

use crate::client::{self, Connector, Payloads};
use crate::relay::{Pace, Relay, RelayConfig, Window};
use crate::server::{Memory, Server};
use futures_util::{SinkExt as _, StreamExt as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SlowReport {
    pub server: &'static str,
    pub rooms: usize,
    pub rate: f64,
    /// Others' relay before any slow peer, and while slow peers were being flooded.
    pub baseline: Window,
    pub with_slow_peer: Window,
    /// Frames a second sent to each slow peer, and their size.
    pub flood_rate: f64,
    pub flood_frame_bytes: usize,
    /// Slow peers the server disconnected, after how many frames and how long each.
    pub kicks: usize,
    pub frames_until_kick: Vec<u64>,
    pub ms_until_kick: Vec<f64>,
    /// Server RSS: highest while only the steady rooms ran, highest with slow peers, at the end.
    pub peak_baseline_kib: Option<u64>,
    pub peak_slow_kib: Option<u64>,
    pub end_kib: Option<u64>,
    pub errors: u64,
    pub dropped: u64,
}

pub struct SlowConfig {
    pub rooms: usize,
    pub rate: f64,
    pub phase: Duration,
    pub flood_rate: f64,
}

pub async fn run(
    server: &Server,
    connector: Arc<Connector>,
    cfg: &SlowConfig,
) -> anyhow::Result<SlowReport> {
    let base = Instant::now();
    let relay = Relay::start(
        &connector,
        &RelayConfig {
            rooms: cfg.rooms,
            pace: Pace::Rate { per_sec: cfg.rate },
            description_every: 6,
        },
        base,
        "slow",
    )
    .await?;
    let pid = server.pid;
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                if let Some(m) = pid.and_then(Memory::of) {
                    samples.push((base.elapsed().as_micros() as u64, m.rss_kib));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        })
    };
    // Warm-up, then the baseline phase.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t1 = relay.now();
    tokio::time::sleep(cfg.phase).await;
    let t2 = relay.now();

    let payloads = Payloads::new(6);
    let flood_frame_bytes = payloads.largest(&"0".repeat(32), 0).len();
    let mut frames_until_kick = Vec::new();
    let mut ms_until_kick = Vec::new();
    let phase_end = Instant::now() + cfg.phase;
    let mut round = 0;
    while Instant::now() < phase_end {
        round += 1;
        let room = format!("slow-{}-{round}", std::process::id());
        let mut flooder = connector.connect().await?;
        client::join(&mut flooder, &room, "Flood").await?;
        // Never polled again: its socket buffers fill, then the server's queue for it.
        let mut sleeper = connector.connect().await?;
        let sleeper_id = client::join(&mut sleeper, &room, "Sleeper").await?;
        let (mut sink, mut stream) = flooder.split();
        let kicked = Arc::new(AtomicBool::new(false));
        let watcher = {
            let kicked = kicked.clone();
            tokio::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    if let Message::Text(t) = frame {
                        if t.as_str().starts_with("{\"type\":\"peer-left\"") {
                            kicked.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            })
        };
        let started = Instant::now();
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / cfg.flood_rate));
        let mut sent = 0u64;
        while !kicked.load(Ordering::SeqCst) && Instant::now() < phase_end {
            ticks.tick().await;
            let frame = payloads.largest(&sleeper_id, base.elapsed().as_micros() as u64);
            if sink.send(Message::text(frame)).await.is_err() {
                break;
            }
            sent += 1;
        }
        if kicked.load(Ordering::SeqCst) {
            frames_until_kick.push(sent);
            ms_until_kick.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        watcher.abort();
        drop((sink, sleeper));
    }
    let t3 = relay.now();
    sampling.store(false, Ordering::Relaxed);
    let memory = sampler.await.unwrap_or_default();
    let samples = relay.finish().await;
    let peak = |from: u64, to: u64| {
        memory
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, k)| *k)
            .max()
    };
    Ok(SlowReport {
        server: server.kind,
        rooms: cfg.rooms,
        rate: cfg.rate,
        baseline: samples.window(t1, t2),
        with_slow_peer: samples.window(t2, t3),
        flood_rate: cfg.flood_rate,
        flood_frame_bytes,
        kicks: frames_until_kick.len(),
        frames_until_kick,
        ms_until_kick,
        peak_baseline_kib: peak(t1, t2),
        peak_slow_kib: peak(t2, t3),
        end_kib: memory.last().map(|(_, k)| *k),
        errors: samples.errors,
        dropped: samples.dropped,
    })
}
