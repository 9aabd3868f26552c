//! Stalled readers: many peers that stop reading but keep sending WebSocket pings, each sent a
//! flood by its partner. The server's memory should stay bounded by its per-client queue limits,
//! and each stalled reader should be dropped.

use crate::client::{self, Connector};
use crate::server::{Memory, Server};
use futures_util::{SinkExt as _, StreamExt as _};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StalledReport {
    pub server: &'static str,
    pub readers: usize,
    pub frame_bytes: usize,
    pub frames_each: usize,
    /// Stalled readers the server dropped (their partner got `peer-left`) by the end.
    pub dropped: usize,
    /// Server RSS before the readers joined, at the highest, and at the end.
    pub before_kib: Option<u64>,
    pub peak_kib: Option<u64>,
    pub end_kib: Option<u64>,
    pub secs: f64,
}

pub struct StalledConfig {
    pub readers: usize,
    pub frame_bytes: usize,
    pub frames_each: usize,
    /// How long to wait after the floods for the server to drop the readers.
    pub settle: Duration,
}

pub async fn run(
    server: &Server,
    connector: Arc<Connector>,
    cfg: &StalledConfig,
) -> anyhow::Result<StalledReport> {
    let started = Instant::now();
    let pid = server.pid;
    let before_kib = pid.and_then(Memory::of).map(|m| m.rss_kib);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = None;
            while sampling.load(Ordering::Relaxed) {
                if let Some(m) = pid.and_then(Memory::of) {
                    peak = peak.max(Some(m.rss_kib));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        })
    };
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut floods = Vec::new();
    let mut sleepers = Vec::new();
    for i in 0..cfg.readers {
        let room = format!("stalled-{}-{i}", std::process::id());
        let mut flooder = connector.connect().await?;
        client::join(&mut flooder, &room, "Flood").await?;
        let mut sleeper = connector.connect().await?;
        let sleeper_id = client::join(&mut sleeper, &room, "Sleeper").await?;
        // The sleeper never reads again but pings every second, as a client that wants to look
        // alive would.
        let (mut ping, unread) = sleeper.split();
        sleepers.push(tokio::spawn(async move {
            let _unread = unread;
            while ping.send(Message::Ping(vec![1].into())).await.is_ok() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
        let frame = format!(
            r#"{{"type":"signal","to":"{sleeper_id}","data":"{}"}}"#,
            "s".repeat(cfg.frame_bytes.saturating_sub(60))
        );
        let frames = cfg.frames_each;
        let dropped = dropped.clone();
        floods.push(tokio::spawn(async move {
            let (mut sink, mut stream) = flooder.split();
            let watch = async {
                while let Some(Ok(frame)) = stream.next().await {
                    if let Message::Text(t) = frame {
                        if t.as_str().starts_with("{\"type\":\"peer-left\"") {
                            dropped.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            };
            let flood = async {
                for _ in 0..frames {
                    if sink.send(Message::text(frame.clone())).await.is_err() {
                        break;
                    }
                }
                // Keep the connection (and the watch) until the end of the run.
                std::future::pending::<()>().await
            };
            tokio::select! {
                () = watch => {}
                () = flood => {}
            }
        }));
    }
    let deadline = Instant::now() + cfg.settle;
    while Instant::now() < deadline && dropped.load(Ordering::SeqCst) < cfg.readers {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end_kib = pid.and_then(Memory::of).map(|m| m.rss_kib);
    sampling.store(false, Ordering::Relaxed);
    let peak_kib = sampler.await.unwrap_or_default();
    for flood in floods {
        flood.abort();
    }
    for sleeper in sleepers {
        sleeper.abort();
    }
    Ok(StalledReport {
        server: server.kind,
        readers: cfg.readers,
        frame_bytes: cfg.frame_bytes,
        frames_each: cfg.frames_each,
        dropped: dropped.load(Ordering::SeqCst),
        before_kib,
        peak_kib,
        end_kib,
        secs: started.elapsed().as_secs_f64(),
    })
}
