//! Rooms of two relaying signals both ways, either as fast as the server turns them around
//! (closed loop, a window of frames in flight per sender) or at a fixed total rate (open loop),
//! timing every frame from send to receipt.

use crate::client::{self, Connector, Payloads, Ws};
use crate::stats::Latency;
use anyhow::Context as _;
use futures_util::stream::{self, SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _, TryStreamExt as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// How senders pace themselves.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as the peer receives: at most `window` frames in flight per sender, well under
    /// the server's per-peer send queue (256 frames), so nobody is kicked for being slow.
    Max { window: usize },
    /// This many frames a second in total, spread evenly over all senders.
    Rate { per_sec: f64 },
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub rooms: usize,
    pub pace: Pace,
    /// One frame in this many is an SDP description; the rest are candidates.
    pub description_every: u64,
}

/// Relaying rooms, running until [`Relay::finish`].
pub struct Relay {
    base: Instant,
    stop: Arc<AtomicBool>,
    windows: Vec<Arc<Semaphore>>,
    senders: Vec<JoinHandle<u64>>,
    readers: Vec<JoinHandle<ReaderOut>>,
}

#[derive(Default)]
struct ReaderOut {
    /// (receipt time, latency), both in microseconds since the run's base instant.
    samples: Vec<(u64, u32)>,
    errors: u64,
    dropped: bool,
}

/// Everything a relay run observed.
#[derive(Debug, Default)]
pub struct Samples {
    samples: Vec<(u64, u32)>,
    pub sent: u64,
    pub received: u64,
    /// `error` frames from the server (rate-limited, unknown-peer, …).
    pub errors: u64,
    /// Connections the server closed while the run was going.
    pub dropped: u64,
}

impl Relay {
    /// Connects and joins `rooms` pairs, then starts every sender and reader.
    pub async fn start(
        connector: &Connector,
        config: &RelayConfig,
        base: Instant,
        tag: &str,
    ) -> anyhow::Result<Relay> {
        Relay::start_across(connector, connector, config, base, tag).await
    }

    /// As [`Relay::start`], with the first peer of each room connected through `first` and the
    /// second through `second` (two servers sharing rooms through Redis).
    pub async fn start_across(
        first: &Connector,
        second: &Connector,
        config: &RelayConfig,
        base: Instant,
        tag: &str,
    ) -> anyhow::Result<Relay> {
        let pairs: Vec<(Ws, String, Ws, String)> = stream::iter(0..config.rooms)
            .map(|i| async move {
                let room = format!("bench-{tag}-{}-{i}", std::process::id());
                let mut a = first.connect().await?;
                let ida = client::join(&mut a, &room, "Ada").await?;
                let mut b = second.connect().await?;
                let idb = client::join(&mut b, &room, "Bob").await?;
                anyhow::Ok((a, ida, b, idb))
            })
            .buffer_unordered(64)
            .try_collect()
            .await
            .context("setting up the rooms")?;

        let senders_total = (2 * config.rooms).max(1) as f64;
        let stop = Arc::new(AtomicBool::new(false));
        let payloads = Arc::new(Payloads::new(config.description_every));
        let mut relay = Relay {
            base,
            stop: stop.clone(),
            windows: Vec::new(),
            senders: Vec::new(),
            readers: Vec::new(),
        };
        for (i, (a, ida, b, idb)) in pairs.into_iter().enumerate() {
            let window = match config.pace {
                Pace::Max { window } => window,
                // Open loop: the window only bounds what a stalled peer can pile up.
                Pace::Rate { .. } => 1 << 20,
            };
            let (a_sink, a_stream) = a.split();
            let (b_sink, b_stream) = b.split();
            let to_b = Arc::new(Semaphore::new(window));
            let to_a = Arc::new(Semaphore::new(window));
            relay.windows.extend([to_b.clone(), to_a.clone()]);
            // Stagger the open-loop senders so their ticks do not all land together.
            let offset = (i as f64 / senders_total) * 2.0;
            let shared = Shared {
                base,
                stop: stop.clone(),
                payloads: payloads.clone(),
                pace: config.pace,
                senders_total,
            };
            relay.senders.push(tokio::spawn(send(
                a_sink,
                idb,
                to_b.clone(),
                shared.clone(),
                offset,
            )));
            relay.senders.push(tokio::spawn(send(
                b_sink,
                ida,
                to_a.clone(),
                shared,
                offset + 1.0,
            )));
            relay
                .readers
                .push(tokio::spawn(receive(b_stream, to_b, base, stop.clone())));
            relay
                .readers
                .push(tokio::spawn(receive(a_stream, to_a, base, stop.clone())));
        }
        Ok(relay)
    }

    /// Microseconds since the run's base instant.
    pub fn now(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Stops sending, lets frames in flight arrive, closes every connection and returns what
    /// was seen.
    pub async fn finish(self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        for w in &self.windows {
            w.close();
        }
        let mut out = Samples::default();
        for s in self.senders {
            out.sent += s.await.unwrap_or(0);
        }
        for r in self.readers {
            let abort = r.abort_handle();
            match tokio::time::timeout(Duration::from_secs(5), r).await {
                Ok(Ok(r)) => {
                    out.received += r.samples.len() as u64;
                    out.samples.extend(r.samples);
                    out.errors += r.errors;
                    out.dropped += u64::from(r.dropped);
                }
                _ => abort.abort(),
            }
        }
        out
    }
}

impl Samples {
    /// Frames received in `[from, to)` (microseconds since the base instant): rate and latency.
    pub fn window(&self, from: u64, to: u64) -> Window {
        let mut lat: Vec<u32> = self
            .samples
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, l)| *l)
            .collect();
        let secs = (to.saturating_sub(from)) as f64 / 1e6;
        Window {
            received: lat.len() as u64,
            per_sec: lat.len() as f64 / secs.max(1e-9),
            latency: Latency::of(&mut lat),
        }
    }
}

/// One measured stretch of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Window {
    pub received: u64,
    pub per_sec: f64,
    pub latency: Latency,
}

#[derive(Clone)]
struct Shared {
    base: Instant,
    stop: Arc<AtomicBool>,
    payloads: Arc<Payloads>,
    pace: Pace,
    senders_total: f64,
}

/// Sends frames to `to` until stopped; returns how many were sent.
async fn send(
    mut sink: SplitSink<Ws, Message>,
    to: String,
    window: Arc<Semaphore>,
    s: Shared,
    offset: f64,
) -> u64 {
    let mut n = 0u64;
    let mut ticks = match s.pace {
        Pace::Rate { per_sec } => {
            let period = Duration::from_secs_f64(s.senders_total / per_sec);
            let first = tokio::time::Instant::now() + period.mul_f64(offset.fract());
            let mut t = tokio::time::interval_at(first, period);
            // Late ticks are sent late (and their latency counts from the actual send), not
            // bunched into a burst the server never saw in the real schedule.
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(t)
        }
        Pace::Max { .. } => None,
    };
    while !s.stop.load(Ordering::Relaxed) {
        if let Some(t) = ticks.as_mut() {
            t.tick().await;
        }
        match window.acquire().await {
            Ok(p) => p.forget(),
            Err(_) => break,
        }
        let micros = s.base.elapsed().as_micros() as u64;
        if sink
            .feed(Message::text(s.payloads.frame(&to, n, micros)))
            .await
            .is_err()
        {
            return n;
        }
        n += 1;
        // In the closed loop, write what the window allows in one go, as a busy client would.
        if ticks.is_none() {
            while let Ok(p) = window.try_acquire() {
                p.forget();
                let micros = s.base.elapsed().as_micros() as u64;
                if sink
                    .feed(Message::text(s.payloads.frame(&to, n, micros)))
                    .await
                    .is_err()
                {
                    return n;
                }
                n += 1;
            }
        }
        if sink.flush().await.is_err() {
            return n;
        }
    }
    let _ = sink.send(Message::Close(None)).await;
    n
}

/// Reads until the connection closes, timing each relayed signal and reopening the sender's
/// window by one.
async fn receive(
    mut stream: SplitStream<Ws>,
    window: Arc<Semaphore>,
    base: Instant,
    stop: Arc<AtomicBool>,
) -> ReaderOut {
    let mut out = ReaderOut::default();
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => {
                if let Some(sent) = client::stamp(text.as_str()) {
                    let now = base.elapsed().as_micros() as u64;
                    let latency = now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32;
                    out.samples.push((now, latency));
                    window.add_permits(1);
                } else if text.as_str().starts_with("{\"type\":\"error\"")
                    // Once stopping, a frame may reach a peer that already left: unknown-peer.
                    && !stop.load(Ordering::SeqCst)
                {
                    out.errors += 1;
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                out.dropped = !stop.load(Ordering::SeqCst);
                return out;
            }
            Some(Ok(_)) => {}
        }
    }
}
