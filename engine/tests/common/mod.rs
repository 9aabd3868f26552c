//! What the engine tests share: an observer that forwards events, counts frames by origin and
//! passes data-channel messages on, engines on test sources with one or more connections, and
//! handing candidates from one connection to its other end while waiting for states and frames.

#![allow(dead_code)] // each test file uses its own part

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_engine::{
    AudioOutput, Capture, DataKind, Encoding, Engine, EngineConfig, EngineEvent, Frame,
    FrameOrigin, IceServer, Observer, Peer, PeerConfig, PeerId, Progress,
};
use tokio::sync::mpsc;

pub type Events = mpsc::UnboundedReceiver<(Option<PeerId>, EngineEvent)>;

/// A data-channel message as the observer got it: connection, channel, kind, payload.
pub type Message = (PeerId, u16, DataKind, Vec<u8>);

pub struct Forward {
    pub events: mpsc::UnboundedSender<(Option<PeerId>, EngineEvent)>,
    pub remote_sizes: Mutex<Vec<(u32, u32)>>,
    /// The size of the newest preview picture.
    pub local_size: Mutex<Option<(u32, u32)>>,
    /// Frames handed over, by where they came from.
    pub frames: Mutex<HashMap<FrameOrigin, u64>>,
    messages: mpsc::UnboundedSender<Message>,
    /// Where the messages go, until a test takes it ([`Forward::inbox`]).
    inbox: Mutex<Option<mpsc::UnboundedReceiver<Message>>>,
}

impl Observer for Forward {
    fn event(&self, peer: Option<PeerId>, event: EngineEvent) {
        let _ = self.events.send((peer, event));
    }
    fn frame(&self, origin: FrameOrigin, frame: Frame) {
        assert!(
            frame.jpeg.starts_with(&[0xFF, 0xD8]) && frame.jpeg.ends_with(&[0xFF, 0xD9]),
            "not a JPEG"
        );
        assert!(frame.at_ms > 0.0);
        match origin {
            FrameOrigin::Remote { .. } => {
                if let Ok(mut sizes) = self.remote_sizes.lock() {
                    sizes.push((frame.width, frame.height));
                }
            }
            FrameOrigin::Local => {
                if let Ok(mut size) = self.local_size.lock() {
                    *size = Some((frame.width, frame.height));
                }
            }
        }
        if let Ok(mut frames) = self.frames.lock() {
            *frames.entry(origin).or_default() += 1;
        }
    }
    fn data(&self, peer: PeerId, channel: u16, kind: DataKind, payload: &[u8]) {
        let _ = self.messages.send((peer, channel, kind, payload.to_vec()));
    }
}

impl Forward {
    /// The data-channel messages this engine receives (once).
    pub fn inbox(&self) -> mpsc::UnboundedReceiver<Message> {
        self.inbox
            .lock()
            .expect("inbox")
            .take()
            .expect("the inbox was taken already")
    }

    /// The size of the newest remote picture.
    pub fn last_remote_size(&self) -> Option<(u32, u32)> {
        self.remote_sizes.lock().expect("sizes").last().copied()
    }

    /// Frames from each remote (connection, track), as counted by the observer.
    pub fn remote_origins(&self) -> HashMap<FrameOrigin, u64> {
        let frames = self.frames.lock().expect("frames");
        frames
            .iter()
            .filter(|(origin, _)| matches!(origin, FrameOrigin::Remote { .. }))
            .map(|(origin, count)| (*origin, *count))
            .collect()
    }
}

/// An engine on test sources, the camera on if `video`.
pub fn capture(video: bool, encoding: Encoding) -> (Arc<Engine>, Events, Arc<Forward>) {
    capture_of(Capture::Test, video, encoding)
}

pub fn capture_of(
    capture: Capture,
    video: bool,
    encoding: Encoding,
) -> (Arc<Engine>, Events, Arc<Forward>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (messages, inbox) = mpsc::unbounded_channel();
    let observer = Arc::new(Forward {
        events: tx,
        remote_sizes: Mutex::new(Vec::new()),
        local_size: Mutex::new(None),
        frames: Mutex::new(HashMap::new()),
        messages,
        inbox: Mutex::new(Some(inbox)),
    });
    let config = EngineConfig {
        capture,
        video,
        audio_output: AudioOutput::Discard,
        encoding,
    };
    let engine = Engine::new(config, observer.clone()).expect("the engine starts");
    (engine, rx, observer)
}

/// One side of a two-party call: an engine with one connection.
pub struct Side {
    pub engine: Arc<Engine>,
    pub peer: Arc<Peer>,
    pub events: Events,
    pub seen: Arc<Forward>,
}

pub fn side() -> Side {
    side_with(Vec::new(), false)
}

/// An engine on test sources (camera on, shared encoder) and one connection with these ICE
/// servers, relayed candidates only if `relay_only`.
pub fn side_with(ice_servers: Vec<IceServer>, relay_only: bool) -> Side {
    let (engine, events, seen) = capture(true, Encoding::default());
    let peer = engine
        .add_peer(&PeerConfig {
            ice_servers,
            relay_only,
        })
        .expect("a connection");
    Side {
        engine,
        peer,
        events,
        seen,
    }
}

/// What [`relay`] saw of one connection: its connection and signaling states as they come,
/// every candidate it handed over, and its other events (data channels, negotiation needed).
pub struct Relayed {
    pub states: mpsc::UnboundedReceiver<String>,
    pub signaling: mpsc::UnboundedReceiver<String>,
    pub candidates: Arc<Mutex<Vec<String>>>,
    pub others: mpsc::UnboundedReceiver<EngineEvent>,
}

#[derive(Clone)]
struct Route {
    to: Arc<Peer>,
    states: mpsc::UnboundedSender<String>,
    signaling: mpsc::UnboundedSender<String>,
    candidates: Arc<Mutex<Vec<String>>>,
    others: mpsc::UnboundedSender<EngineEvent>,
}

/// Hands one engine's candidates to the other end of each of its connections and records each
/// connection's states. Routes are added as connections are (before they negotiate: events of a
/// connection without a route are dropped).
pub struct Relayer {
    routes: Arc<Mutex<HashMap<PeerId, Route>>>,
}

impl Relayer {
    pub fn start(mut events: Events) -> Relayer {
        let routes: Arc<Mutex<HashMap<PeerId, Route>>> = Arc::default();
        let table = routes.clone();
        tokio::spawn(async move {
            while let Some((peer, event)) = events.recv().await {
                if let EngineEvent::Error { message } = &event {
                    panic!("engine error ({peer:?}): {message}");
                }
                let route = peer.and_then(|p| table.lock().expect("routes").get(&p).cloned());
                let Some(Route {
                    to,
                    states,
                    signaling,
                    candidates: seen,
                    others,
                }) = route
                else {
                    continue;
                };
                match event {
                    EngineEvent::IceCandidate {
                        candidate,
                        sdp_m_line_index,
                    } => {
                        // The other end may have been removed: its candidates go nowhere.
                        let _ = to.add_ice_candidate(sdp_m_line_index, &candidate);
                        seen.lock().expect("candidates").push(candidate);
                    }
                    EngineEvent::ConnectionState { state } => {
                        let _ = states.send(state);
                    }
                    EngineEvent::SignalingState { state } => {
                        let _ = signaling.send(state);
                    }
                    other => {
                        let _ = others.send(other);
                    }
                }
            }
        });
        Relayer { routes }
    }

    /// From this engine's connection `from` to the other end's `to`.
    pub fn route(&self, from: PeerId, to: Arc<Peer>) -> Relayed {
        let (states_tx, states) = mpsc::unbounded_channel();
        let (signaling_tx, signaling) = mpsc::unbounded_channel();
        let (others_tx, others) = mpsc::unbounded_channel();
        let candidates = Arc::new(Mutex::new(Vec::new()));
        self.routes.lock().expect("routes").insert(
            from,
            Route {
                to,
                states: states_tx,
                signaling: signaling_tx,
                candidates: candidates.clone(),
                others: others_tx,
            },
        );
        Relayed {
            states,
            signaling,
            candidates,
            others,
        }
    }
}

/// [`Relayer`] for an engine with one connection.
pub fn relay(events: Events, from: PeerId, to: Arc<Peer>) -> Relayed {
    Relayer::start(events).route(from, to)
}

/// Waits for a connection state; 60 s at most (two shared cores may be very busy), so a
/// connection that never forms fails the test.
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
    if tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .is_err()
    {
        panic!("not {wanted} within 60 s");
    }
}

/// Polls until `test` holds; the timeout only keeps a broken build from hanging the suite.
pub async fn until(
    progress: impl Fn() -> Progress,
    what: &str,
    test: impl Fn(Progress) -> bool,
) -> Progress {
    // 90 s: two shared cores may be very busy.
    for _ in 0..1800 {
        let now = progress();
        if test(now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: still {:?}", progress());
}

/// Waits until `count` stops growing (pictures in flight have arrived; the machine may be
/// busy), then checks that it stays still for a second: what "no more frames" means here.
pub async fn stays_still(count: impl Fn() -> u64, what: &str) {
    let mut last = count();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = count();
        if now == last {
            break;
        }
        last = now;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(count() <= last + 1, "{what}: {last} then {}", count());
}

/// Heavy tests of one file run one at a time: two cores do not carry more calls at once.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One offer from `a` and the answer from `b`, applied on both sides (`ice_restart` as
/// `restartIce()` asks).
pub async fn negotiate(a: &Peer, b: &Peer, ice_restart: bool) {
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

/// Starts sending sound and picture on `peer`, as the page does when it attaches its tracks.
pub fn send_all(peer: &Peer) {
    for kind in [
        hearth_engine::MediaKind::Audio,
        hearth_engine::MediaKind::Video,
    ] {
        peer.set_sending(kind, true).expect("sending");
    }
}
