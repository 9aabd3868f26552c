//! Idle capacity: many clients joined in rooms of two, doing nothing but answering the server's
//! pings, and what each costs the server in resident memory.

use crate::client::{self, Connector};
use crate::server::{Memory, Server};
use futures_util::StreamExt as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, serde::Serialize)]
pub struct IdleReport {
    pub server: &'static str,
    pub clients: usize,
    pub joined: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub connect_secs: f64,
    /// Server memory right after start, once all clients joined, and after the hold.
    pub before: Option<Memory>,
    pub joined_memory: Option<Memory>,
    pub after_hold: Option<Memory>,
    /// (RSS once joined − RSS before) / joined clients.
    pub bytes_per_connection: Option<f64>,
    pub hold_secs: f64,
    /// Clients the server closed during the hold (it should close none: they answer pings).
    pub dropped: u64,
    pub loadgen: Option<Memory>,
}

pub async fn run(
    server: &Server,
    connector: Arc<Connector>,
    clients: usize,
    hold: Duration,
) -> anyhow::Result<IdleReport> {
    // Let the server finish starting (its runtime's threads, the first allocations) first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.memory();
    let (stop_tx, stop) = watch::channel(false);
    let joined = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    // Bounded concurrency while connecting: the point is the idle state, not a storm.
    let connecting = Arc::new(Semaphore::new(256));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let (connector, joined, errors, dropped, first_error, connecting, mut stop) = (
            connector.clone(),
            joined.clone(),
            errors.clone(),
            dropped.clone(),
            first_error.clone(),
            connecting.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = connecting.acquire_owned().await;
            let room = format!("idle-{}-{}", std::process::id(), i / 2);
            let ws = async {
                let mut ws = connector.connect().await?;
                client::join(&mut ws, &room, "idle").await?;
                anyhow::Ok(ws)
            }
            .await;
            drop(permit);
            let mut ws = match ws {
                Ok(ws) => ws,
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert_with(|| format!("{e:#}"));
                    return;
                }
            };
            joined.fetch_add(1, Ordering::Relaxed);
            // Reading is what answers the server's pings; anything else is ignored.
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    frame = ws.next() => match frame {
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            if !*stop.borrow() {
                                dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            return;
                        }
                        Some(Ok(_)) => {}
                    }
                }
            }
        }));
    }
    while joined.load(Ordering::Relaxed) + errors.load(Ordering::Relaxed) < clients as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    // Allocations settle (the last joins' replies written, buffers returned).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let joined_memory = server.memory();
    let loadgen = Memory::own();
    tokio::time::sleep(hold).await;
    let after_hold = server.memory();
    let _ = stop_tx.send(true);
    for t in tasks {
        t.abort();
    }
    let n = joined.load(Ordering::Relaxed);
    let bytes_per_connection = match (before, joined_memory) {
        (Some(b), Some(a)) if n > 0 => {
            Some(a.rss_kib.saturating_sub(b.rss_kib) as f64 * 1024.0 / n as f64)
        }
        _ => None,
    };
    let first_error = first_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    Ok(IdleReport {
        server: server.kind,
        clients,
        joined: n,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        connect_secs,
        before,
        joined_memory,
        after_hold,
        bytes_per_connection,
        hold_secs: hold.as_secs_f64(),
        dropped: dropped.load(Ordering::Relaxed),
        loadgen,
    })
}
