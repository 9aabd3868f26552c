//! The one task that owns the native engine (the capture) and the map of connections by name,
//! fed by commands on a bounded channel, so opening, connecting, disconnecting and closing
//! never race; and the observer that routes the engine's events, frames and data-channel
//! messages, tagged with their connection, to that connection's page channels and frame slots.
//!
//! Negotiation and stats do not go through the task: it hands out the connection's handle and
//! the command awaits the operation itself, so a slow negotiation never holds up another
//! connection. Data-channel sends do not either: they find the connection in the routes.
//!
//! # Received messages toward the page
//! A message is handed to the connection's `data` channel on the GStreamer thread that
//! received it, as raw bytes ([`super::data::frame`]); no queue of ours holds it. Sending on a
//! Tauri channel does not block (Tauri keeps the bytes until the page fetches them), so a slow
//! page never stalls a call. If the send fails (the page is gone), the message is dropped and
//! a warning logged once per connection. How much waits in Tauri is bounded by the sender's
//! flow control only as far as the page keeps up: the page must read its channel promptly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use hearth_engine::{
    AudioOutput, Capture, DataKind, Encoding, Engine, EngineConfig, EngineEvent, Frame,
    FrameOrigin, MediaKind, Observer, Peer, PeerConfig, PeerId,
};
use tauri::ipc::{Channel, InvokeResponseBody};
use tokio::sync::{mpsc, oneshot};

use super::data::{frame, Outgoing};
use super::frames::FrameSlot;
use crate::error::CommandError;

/// Commands waiting for the service: 32. When full, a command waits for room (the page's
/// commands are awaited one by one, so this is only reached by a page gone wrong).
const COMMANDS: usize = 32;

/// Tracks of one connection with a frame slot of their own: 16 (a person sends one picture
/// today; screen sharing adds one). A request for another track beyond that is refused.
const TRACKS: usize = 16;

/// Where one connection's events, pictures and messages go, and the connection itself.
pub struct Route {
    peer: Arc<Peer>,
    events: Channel<EngineEvent>,
    /// Data-channel messages, as raw bytes.
    data: Channel<InvokeResponseBody>,
    /// Whether a failed send to `data` was logged already (once per connection).
    data_warned: AtomicBool,
    /// The newest remote picture of any of its tracks.
    pub any: Arc<FrameSlot>,
    /// The newest remote picture of each track, made on the first frame or request; at most
    /// [`TRACKS`].
    tracks: Mutex<HashMap<u32, Arc<FrameSlot>>>,
}

impl Route {
    /// The slot of `track`; `None` if it is new and the connection has [`TRACKS`] already.
    pub fn track(&self, track: u32) -> Option<Arc<FrameSlot>> {
        let mut tracks = self.tracks.lock().unwrap_or_else(PoisonError::into_inner);
        if tracks.len() >= TRACKS && !tracks.contains_key(&track) {
            return None;
        }
        Some(tracks.entry(track).or_default().clone())
    }
}

/// The routes of every connection, by engine id and by the page's name.
#[derive(Default)]
pub struct Routes {
    by_peer: HashMap<PeerId, Arc<Route>>,
    by_name: HashMap<String, Arc<Route>>,
}

impl Routes {
    pub fn named(&self, connection: &str) -> Option<Arc<Route>> {
        self.by_name.get(connection).cloned()
    }
}

fn no_connection(connection: &str) -> CommandError {
    CommandError::new("closed", format!("no connection {connection}"))
}

/// Routes the engine's events and frames. Events of a connection not yet (or no longer) routed
/// are dropped; the capture's own go to every connection.
struct Forward {
    routes: Arc<RwLock<Routes>>,
    local: Arc<FrameSlot>,
}

impl Observer for Forward {
    fn event(&self, peer: Option<PeerId>, event: EngineEvent) {
        if let EngineEvent::Error { message } = &event {
            tracing::warn!("native engine ({peer:?}): {message}");
        }
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        match peer {
            Some(peer) => {
                if let Some(route) = routes.by_peer.get(&peer) {
                    let _ = route.events.send(event);
                }
            }
            None => {
                for route in routes.by_peer.values() {
                    let _ = route.events.send(event.clone());
                }
            }
        }
    }

    fn frame(&self, origin: FrameOrigin, frame: Frame) {
        match origin {
            FrameOrigin::Local => self.local.publish(&frame),
            FrameOrigin::Remote { peer, track } => {
                let route = self
                    .routes
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .by_peer
                    .get(&peer)
                    .cloned();
                if let Some(route) = route {
                    route.any.publish(&frame);
                    if let Some(slot) = route.track(track) {
                        slot.publish(&frame);
                    }
                }
            }
        }
    }

    fn data(&self, peer: PeerId, channel: u16, kind: DataKind, payload: &[u8]) {
        let route = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_peer
            .get(&peer)
            .cloned();
        let Some(route) = route else { return };
        let message = InvokeResponseBody::Raw(frame(channel, kind, payload));
        if let Err(e) = route.data.send(message) {
            if !route.data_warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "a data-channel message for the page was dropped ({peer}): {e}; \
                     later failures of this connection are not logged"
                );
            }
        }
    }
}

/// What opening a connection needs.
pub struct Connect {
    pub connection: String,
    pub peer: PeerConfig,
    /// The devices; used when the capture opens, and switched to if it is open with others.
    pub capture: Capture,
    /// The camera on or off; `None` leaves an open capture as it is and opens a new one with
    /// the camera closed.
    pub video: Option<bool>,
    pub events: Channel<EngineEvent>,
    /// Where the connection's data-channel messages go, as raw bytes.
    pub data: Channel<InvokeResponseBody>,
}

type Reply<T> = oneshot::Sender<Result<T, CommandError>>;

enum Command {
    Start(Capture, Option<bool>, Reply<()>),
    Connect(Connect, Reply<()>),
    Disconnect(String, Reply<bool>),
    Close(Reply<()>),
    Peer(String, Reply<Arc<Peer>>),
    Engine(Reply<Arc<Engine>>),
    SwitchDevice(MediaKind, String, Reply<()>),
}

/// The page-side handle of the service task.
pub struct Service {
    commands: mpsc::Sender<Command>,
    pub routes: Arc<RwLock<Routes>>,
    /// The preview.
    pub local: Arc<FrameSlot>,
}

fn gone() -> CommandError {
    CommandError::new(
        "native-unavailable",
        "the native engine's service has stopped",
    )
}

fn no_call() -> CommandError {
    CommandError::new("closed", "no native call is open")
}

/// How the picture is encoded: one encoder per connection unless `HEARTH_ENCODING=shared` (for
/// measuring the two, `bench/desktop-group.mjs`). Per connection because, with the shared
/// encoder, vp8enc sometimes drops every frame after the camera is opened mid-call ("vpx pts …
/// does not match input frames"; about one run in fifteen of tests/desktop/late-media.test.mjs),
/// which the per-connection encoder behind a sticky-forwarding valve does not (25 runs of 25).
fn encoding() -> Encoding {
    match std::env::var("HEARTH_ENCODING").as_deref() {
        Ok("shared") => Encoding::Shared,
        _ => Encoding::PerPeer,
    }
}

/// Runs blocking engine work (device and pipeline state changes) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, hearth_engine::EngineError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| CommandError::new("native-unavailable", e.to_string()))?
        .map_err(CommandError::from)
}

impl Service {
    pub fn start() -> Service {
        let (commands, rx) = mpsc::channel(COMMANDS);
        let routes: Arc<RwLock<Routes>> = Arc::default();
        let local: Arc<FrameSlot> = Arc::default();
        let owner = Owner {
            engine: None,
            connections: HashMap::new(),
            devices: (None, None),
            routes: routes.clone(),
            local: local.clone(),
        };
        tauri::async_runtime::spawn(owner.run(rx));
        Service {
            commands,
            routes,
            local,
        }
    }

    async fn ask<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(command(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Opens the capture if it is not open; an open one switches to these devices, and its camera
    /// is turned on or off as `video` says (left as it is for `None`).
    pub async fn start_capture(
        &self,
        capture: Capture,
        video: Option<bool>,
    ) -> Result<(), CommandError> {
        self.ask(|reply| Command::Start(capture, video, reply))
            .await
    }

    /// Opens the capture if it is not open, and the connection `connect.connection`, replacing
    /// one of that name.
    pub async fn connect(&self, connect: Connect) -> Result<(), CommandError> {
        self.ask(|reply| Command::Connect(connect, reply)).await
    }

    /// Ends one connection; the capture and the others go on. `false` if there was none.
    pub async fn disconnect(&self, connection: String) -> Result<bool, CommandError> {
        self.ask(|reply| Command::Disconnect(connection, reply))
            .await
    }

    /// Ends every connection and closes the capture: devices released.
    pub async fn close(&self) {
        let _ = self.ask(Command::Close).await;
    }

    pub async fn peer(&self, connection: &str) -> Result<Arc<Peer>, CommandError> {
        let connection = connection.to_string();
        self.ask(|reply| Command::Peer(connection, reply)).await
    }

    pub async fn engine(&self) -> Result<Arc<Engine>, CommandError> {
        self.ask(Command::Engine).await
    }

    pub async fn switch_device(&self, kind: MediaKind, device: String) -> Result<(), CommandError> {
        self.ask(|reply| Command::SwitchDevice(kind, device, reply))
            .await
    }

    /// Queues `payload` on a connection's data channel, as `outgoing` says; returns the
    /// channel's `bufferedAmount` afterwards. Found through the routes, not the task: one
    /// message of a file never waits behind a slow command.
    pub fn send_data(&self, outgoing: &Outgoing, payload: &[u8]) -> Result<u64, CommandError> {
        let route = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .named(&outgoing.connection)
            .ok_or_else(|| no_connection(&outgoing.connection))?;
        Ok(route
            .peer
            .send_data(outgoing.channel, outgoing.kind, payload)?)
    }
}

/// The service task's state: the only owner of the engine and the connections.
struct Owner {
    engine: Option<Arc<Engine>>,
    connections: HashMap<String, Arc<Peer>>,
    /// The camera and microphone asked for last (`None`: the default).
    devices: (Option<String>, Option<String>),
    routes: Arc<RwLock<Routes>>,
    local: Arc<FrameSlot>,
}

impl Owner {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::Start(capture, video, reply) => {
                    let started = self.engine_for(&capture, video).await.map(|_| ());
                    let _ = reply.send(started);
                }
                Command::Connect(connect, reply) => {
                    let _ = reply.send(self.connect(connect).await);
                }
                Command::Disconnect(connection, reply) => {
                    let _ = reply.send(Ok(self.disconnect(&connection).await));
                }
                Command::Close(reply) => {
                    self.close().await;
                    let _ = reply.send(Ok(()));
                }
                Command::Peer(connection, reply) => {
                    let peer = self.connections.get(&connection).cloned();
                    let _ = reply.send(peer.ok_or_else(no_call));
                }
                Command::Engine(reply) => {
                    let _ = reply.send(self.engine.clone().ok_or_else(no_call));
                }
                Command::SwitchDevice(kind, device, reply) => {
                    let _ = reply.send(self.switch_device(kind, device).await);
                }
            }
        }
        self.close().await;
    }

    async fn engine_for(
        &mut self,
        capture: &Capture,
        video: Option<bool>,
    ) -> Result<Arc<Engine>, CommandError> {
        let wanted = match capture {
            Capture::Devices { camera, microphone } => (camera.clone(), microphone.clone()),
            Capture::Test => (None, None),
        };
        if let Some(engine) = &self.engine {
            let engine = engine.clone();
            // Open already: the camera stays as the person left it unless asked otherwise.
            if let Some(video) = video.filter(|v| *v != engine.camera_on()) {
                let camera = engine.clone();
                blocking(move || camera.set_camera(video)).await?;
            }
            for (kind, now, want) in [
                (MediaKind::Video, self.devices.0.clone(), wanted.0),
                (MediaKind::Audio, self.devices.1.clone(), wanted.1),
            ] {
                if let Some(device) = want.filter(|w| Some(w) != now.as_ref()) {
                    self.switch_device(kind, device).await?;
                }
            }
            return Ok(engine);
        }
        let config = EngineConfig {
            capture: capture.clone(),
            video: video.unwrap_or(true),
            audio_output: if crate::webview::fake_media() {
                AudioOutput::Discard
            } else {
                AudioOutput::Speaker
            },
            encoding: encoding(),
        };
        let observer = Arc::new(Forward {
            routes: self.routes.clone(),
            local: self.local.clone(),
        });
        let engine = blocking(move || Engine::new(config, observer)).await?;
        self.devices = wanted;
        self.engine = Some(engine.clone());
        Ok(engine)
    }

    async fn connect(&mut self, connect: Connect) -> Result<(), CommandError> {
        // A capture opened for a connection keeps the camera closed unless asked: the camera is
        // opened by the page's preview or Start Video, never by a call on its own.
        let video = connect.video.or(self.engine.is_none().then_some(false));
        let engine = self.engine_for(&connect.capture, video).await?;
        self.disconnect(&connect.connection).await;
        let config = connect.peer.clone();
        let peer = blocking(move || engine.add_peer(&config)).await?;
        let route = Arc::new(Route {
            peer: peer.clone(),
            events: connect.events,
            data: connect.data,
            data_warned: AtomicBool::new(false),
            any: Arc::default(),
            tracks: Mutex::new(HashMap::new()),
        });
        {
            let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
            routes.by_peer.insert(peer.id(), route.clone());
            routes.by_name.insert(connect.connection.clone(), route);
        }
        self.connections.insert(connect.connection, peer);
        Ok(())
    }

    async fn disconnect(&mut self, connection: &str) -> bool {
        let Some(peer) = self.connections.remove(connection) else {
            return false;
        };
        {
            let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
            routes.by_peer.remove(&peer.id());
            routes.by_name.remove(connection);
        }
        if let Some(engine) = self.engine.clone() {
            let id = peer.id();
            let _ = blocking(move || Ok(engine.remove_peer(id))).await;
        }
        true
    }

    async fn switch_device(&mut self, kind: MediaKind, device: String) -> Result<(), CommandError> {
        let engine = self.engine.clone().ok_or_else(no_call)?;
        let id = device.clone();
        blocking(move || engine.switch_device(kind, &id)).await?;
        match kind {
            MediaKind::Video => self.devices.0 = Some(device),
            MediaKind::Audio => self.devices.1 = Some(device),
        }
        Ok(())
    }

    async fn close(&mut self) {
        self.connections.clear();
        {
            let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
            *routes = Routes::default();
        }
        if let Some(engine) = self.engine.take() {
            // Stopping a pipeline waits for its streaming threads; off the async workers, so a
            // slow device cannot stall the commands and events of everything else.
            let _ = tauri::async_runtime::spawn_blocking(move || engine.close()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A connection's settings on test sources; its events are dropped.
    fn connect(connection: &str, video: Option<bool>) -> Connect {
        Connect {
            connection: connection.into(),
            peer: PeerConfig::default(),
            capture: Capture::Test,
            video,
            events: Channel::new(|_| Ok(())),
            data: Channel::new(|_| Ok(())),
        }
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(800)).await;
    }

    /// A connection whose events (as JSON) and data-channel messages (as raw bytes) come out on
    /// the returned receivers, as the page would get them.
    fn observed(
        connection: &str,
    ) -> (
        Connect,
        mpsc::UnboundedReceiver<serde_json::Value>,
        mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (data_tx, data) = mpsc::unbounded_channel();
        let mut connect = connect(connection, Some(false));
        connect.events = Channel::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                let _ = events_tx.send(serde_json::from_str(&json).expect("an event is JSON"));
            }
            Ok(())
        });
        connect.data = Channel::new(move |body| {
            match body {
                InvokeResponseBody::Raw(bytes) => {
                    let _ = data_tx.send(bytes);
                }
                InvokeResponseBody::Json(json) => panic!("a message went as JSON: {json}"),
            }
            Ok(())
        });
        (connect, events, data)
    }

    /// Hands `events`' candidates to `to` and passes the data-channel events on.
    fn relay(
        mut events: mpsc::UnboundedReceiver<serde_json::Value>,
        to: Arc<Peer>,
    ) -> mpsc::UnboundedReceiver<serde_json::Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event["type"].as_str() {
                    Some("ice-candidate") => {
                        let line = event["sdpMLineIndex"].as_u64().expect("index") as u32;
                        let candidate = event["candidate"].as_str().expect("candidate");
                        let _ = to.add_ice_candidate(line, candidate);
                    }
                    Some("data-state" | "data-buffered-low") => {
                        let _ = tx.send(event);
                    }
                    _ => {}
                }
            }
        });
        rx
    }

    async fn both_open(events: &mut mpsc::UnboundedReceiver<serde_json::Value>) {
        for _ in 0..2 {
            let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
                .await
                .expect("the data channels did not open in 60 s")
                .expect("events");
            assert_eq!(event["type"], "data-state");
            assert_eq!(event["state"], "open");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn data_channel_messages_cross_the_bridge_as_raw_bytes() {
        let (ada, bob) = (Service::start(), Service::start());
        let (to_bob, ada_events, _) = observed("bob");
        let (to_ada, bob_events, mut bob_data) = observed("ada");
        ada.connect(to_bob).await.expect("ada connects");
        bob.connect(to_ada).await.expect("bob connects");
        let (ada_peer, bob_peer) = (
            ada.peer("bob").await.expect("ada's"),
            bob.peer("ada").await.expect("bob's"),
        );
        let mut ada_events = relay(ada_events, bob_peer.clone());
        let mut bob_events = relay(bob_events, ada_peer.clone());
        let offer = ada_peer.create_offer(false).await.expect("offer");
        ada_peer.set_local_description(&offer).await.expect("local");
        bob_peer
            .set_remote_description(&offer)
            .await
            .expect("remote");
        let answer = bob_peer.create_answer().await.expect("answer");
        bob_peer
            .set_local_description(&answer)
            .await
            .expect("local");
        ada_peer
            .set_remote_description(&answer)
            .await
            .expect("remote");
        both_open(&mut ada_events).await;
        both_open(&mut bob_events).await;

        let chat = Outgoing {
            connection: "bob".into(),
            channel: hearth_engine::CHAT,
            kind: DataKind::Text,
        };
        ada.send_data(&chat, "hi <i>bob</i>".as_bytes())
            .expect("sent");
        let message = tokio::time::timeout(Duration::from_secs(30), bob_data.recv())
            .await
            .expect("no message in 30 s")
            .expect("data");
        assert_eq!(message, frame(0, DataKind::Text, b"hi <i>bob</i>"));

        // Above the high-water mark the page is told `busy`, and later that it may go on.
        let files = Outgoing {
            connection: "bob".into(),
            channel: hearth_engine::FILES,
            kind: DataKind::Binary,
        };
        let chunk = vec![7u8; hearth_engine::MAX_MESSAGE];
        let refused = (0..2000)
            .map(|_| ada.send_data(&files, &chunk))
            .find_map(Result::err)
            .expect("never busy");
        assert_eq!(refused.code, "busy", "{refused:?}");
        loop {
            let event = tokio::time::timeout(Duration::from_secs(60), ada_events.recv())
                .await
                .expect("no buffered-low in 60 s")
                .expect("events");
            if event["type"] == "data-buffered-low" {
                assert_eq!(event["channel"], 1);
                break;
            }
        }
        let unknown = Outgoing {
            connection: "nobody".into(),
            ..chat
        };
        assert_eq!(
            ada.send_data(&unknown, b"x").expect_err("no").code,
            "closed"
        );
        // With megabytes still waiting, closing ends at once.
        let start = std::time::Instant::now();
        ada.close().await;
        bob.close().await;
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "closing took {:?}",
            start.elapsed()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_opened_with_the_video_off_never_opens_the_camera() {
        let service = Service::start();
        service
            .connect(connect("a", Some(false)))
            .await
            .expect("open with the video off");
        let engine = service.engine().await.expect("the capture");
        settle().await;
        assert_eq!(engine.progress().camera_opens, 0);
        assert_eq!(engine.progress().local_frames, 0);

        // The connection made again (nothing said of the video) and a second
        // connection keep it closed.
        service
            .connect(connect("a", None))
            .await
            .expect("the next call");
        service.connect(connect("b", None)).await.expect("b");
        settle().await;
        assert_eq!(engine.progress().camera_opens, 0);
        assert_eq!(engine.progress().local_frames, 0);

        // Starting the capture again without a word on the video (the preview asked for its
        // devices) leaves the camera as it is.
        service
            .start_capture(Capture::Test, None)
            .await
            .expect("start again");
        settle().await;
        assert_eq!(engine.progress().camera_opens, 0);

        // Start Video opens it once for every connection; a third connection does not reopen it.
        engine.set_camera(true).expect("camera on");
        service.connect(connect("c", None)).await.expect("c");
        settle().await;
        assert!(engine.progress().local_frames > 0);
        assert_eq!(engine.progress().camera_opens, 1);
        assert!(
            !service.local.next(0).await.is_empty(),
            "no preview frame for the page"
        );

        // One connection ends; the others and the capture stay.
        assert!(service.disconnect("b".into()).await.expect("disconnect"));
        assert!(!service.disconnect("b".into()).await.expect("again"));
        assert!(service.peer("b").await.is_err());
        assert!(service.peer("c").await.is_ok());
        assert!(service.peer("a").await.is_ok());
        assert!(service.routes.read().expect("routes").named("b").is_none());

        service.close().await;
        assert!(service.engine().await.is_err());
        assert!(service.peer("c").await.is_err());
    }
}
