//! Join storm: every client connects and joins at the same moment; how long until the last one
//! is welcomed, and whether any failed.

use crate::client::{self, Connector};
use crate::stats::Latency;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone, serde::Serialize)]
pub struct StormReport {
    pub server: &'static str,
    pub clients: usize,
    pub welcomed: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    /// From the first connect to the last welcome.
    pub all_welcomed_ms: f64,
    /// Each client's connect-to-welcome time.
    pub per_client: Latency,
}

pub async fn run(
    connector: Arc<Connector>,
    server: &'static str,
    clients: usize,
) -> anyhow::Result<StormReport> {
    let (done_tx, mut done) = mpsc::channel(clients.max(1));
    // Clients stay connected until everyone is in, so leaving never overlaps joining.
    let (stop_tx, stop) = watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let (connector, done_tx, mut stop) = (connector.clone(), done_tx.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let room = format!("storm-{}-{}", std::process::id(), i / 2);
            let result = async {
                let mut ws = connector.connect().await?;
                client::join(&mut ws, &room, "storm").await?;
                anyhow::Ok(ws)
            }
            .await;
            let (ws, outcome) = match result {
                Ok(ws) => (Some(ws), Ok((t0.elapsed(), started.elapsed()))),
                Err(e) => (None, Err(format!("{e:#}"))),
            };
            let _ = done_tx.send(outcome).await;
            let _ = stop.changed().await;
            drop(ws);
        }));
    }
    drop(done_tx);
    let mut welcomed = Vec::with_capacity(clients);
    let mut last = Duration::ZERO;
    let mut errors = 0;
    let mut first_error = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while welcomed.len() + errors < clients {
        match tokio::time::timeout_at(deadline, done.recv()).await {
            Ok(Some(Ok((own, since_start)))) => {
                welcomed.push(own.as_micros().min(u128::from(u32::MAX)) as u32);
                last = last.max(since_start);
            }
            Ok(Some(Err(e))) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
            Ok(None) => break,
            Err(_) => {
                first_error.get_or_insert_with(|| "timed out after 120 s".into());
                break;
            }
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let count = welcomed.len();
    Ok(StormReport {
        server,
        clients,
        welcomed: count,
        errors: clients - count,
        first_error,
        all_welcomed_ms: last.as_secs_f64() * 1000.0,
        per_client: Latency::of(&mut welcomed),
    })
}
