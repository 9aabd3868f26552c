//! What the engine tests share: an observer that forwards events, engines on test sources, and
//! handing one side's candidates to the other while waiting for states and frames.

#![allow(dead_code)] // each test file uses its own part

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_engine::{
    AudioOutput, Capture, Engine, EngineConfig, EngineEvent, Frame, FrameSource, IceServer,
    Observer, Progress,
};
use tokio::sync::mpsc;

pub struct Forward {
    pub events: mpsc::UnboundedSender<EngineEvent>,
    pub remote_sizes: Mutex<Vec<(u32, u32)>>,
}

impl Observer for Forward {
    fn event(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }
    fn frame(&self, source: FrameSource, frame: Frame) {
        assert!(
            frame.jpeg.starts_with(&[0xFF, 0xD8]) && frame.jpeg.ends_with(&[0xFF, 0xD9]),
            "not a JPEG"
        );
        assert!(frame.at_ms > 0.0);
        if source == FrameSource::Remote {
            if let Ok(mut sizes) = self.remote_sizes.lock() {
                sizes.push((frame.width, frame.height));
            }
        }
    }
}

pub fn engine() -> (
    Arc<Engine>,
    mpsc::UnboundedReceiver<EngineEvent>,
    Arc<Forward>,
) {
    engine_with(Vec::new(), false)
}

/// An engine on test sources with these ICE servers, relayed candidates only if `relay_only`.
pub fn engine_with(
    ice_servers: Vec<IceServer>,
    relay_only: bool,
) -> (
    Arc<Engine>,
    mpsc::UnboundedReceiver<EngineEvent>,
    Arc<Forward>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let observer = Arc::new(Forward {
        events: tx,
        remote_sizes: Mutex::new(Vec::new()),
    });
    let config = EngineConfig {
        ice_servers,
        relay_only,
        capture: Capture::Test,
        audio_output: AudioOutput::Discard,
    };
    let engine = Engine::new(config, observer.clone()).expect("the engine starts");
    (engine, rx, observer)
}

/// What [`relay`] saw of one side: its connection states as they come, and every candidate it
/// handed over.
pub struct Relayed {
    pub states: mpsc::UnboundedReceiver<String>,
    pub candidates: Arc<Mutex<Vec<String>>>,
}

/// Hands one side's candidates to the other and records its connection states and candidates.
pub fn relay(mut events: mpsc::UnboundedReceiver<EngineEvent>, to: Arc<Engine>) -> Relayed {
    let (states_tx, states) = mpsc::unbounded_channel();
    let candidates = Arc::new(Mutex::new(Vec::new()));
    let seen = candidates.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                EngineEvent::IceCandidate {
                    candidate,
                    sdp_m_line_index,
                } => {
                    to.add_ice_candidate(sdp_m_line_index, &candidate)
                        .expect("candidate accepted");
                    seen.lock().expect("candidates").push(candidate);
                }
                EngineEvent::ConnectionState { state } => {
                    let _ = states_tx.send(state);
                }
                EngineEvent::Error { message } => panic!("engine error: {message}"),
                _ => {}
            }
        }
    });
    Relayed { states, candidates }
}

/// Waits for a connection state; 30 s at most, so a connection that never forms fails the test.
pub async fn until_state(states: &mut mpsc::UnboundedReceiver<String>, wanted: &str) {
    let wait = async {
        while let Some(state) = states.recv().await {
            assert_ne!(state, "failed", "the connection failed");
            if state == wanted {
                return;
            }
        }
        panic!("no more connection states before {wanted}");
    };
    if tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .is_err()
    {
        panic!("not {wanted} within 30 s");
    }
}

/// Polls until `test` holds; the timeout only keeps a broken build from hanging the suite.
pub async fn until(engine: &Engine, what: &str, test: impl Fn(Progress) -> bool) -> Progress {
    for _ in 0..1200 {
        let progress = engine.progress();
        if test(progress) {
            return progress;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: still {:?}", engine.progress());
}

/// One offer from `a` and the answer from `b`, applied on both sides (`ice_restart` as
/// `restartIce()` asks).
pub async fn negotiate(a: &Engine, b: &Engine, ice_restart: bool) {
    let offer = a.create_offer(ice_restart).await.expect("offer");
    a.set_local_description(&offer)
        .await
        .expect("a: local offer");
    b.set_remote_description(&offer)
        .await
        .expect("b: remote offer");
    let answer = b.create_answer().await.expect("answer");
    b.set_local_description(&answer)
        .await
        .expect("b: local answer");
    a.set_remote_description(&answer)
        .await
        .expect("a: remote answer");
}
