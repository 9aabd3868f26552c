//! The engine: one GStreamer pipeline holding the shared capture and every connection (one
//! [`Peer`] per remote person, each in its own bin), the map of those connections, and the bus
//! that routes errors and sound levels to the connection they belong to. Screen sharing is the
//! capture's, so it is asked of the engine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use gst::glib;
use gst::prelude::*;

use crate::capture::CaptureGraph;
use crate::{
    init, AudioOutput, EngineConfig, EngineError, EngineEvent, MediaKind, Observer, Peer,
    PeerConfig, PeerId, Progress, ScreenInfo, ScreenSource,
};

/// The capture and the connections that share it.
pub struct Engine {
    pipeline: gst::Pipeline,
    capture: Arc<CaptureGraph>,
    peers: Mutex<HashMap<PeerId, Arc<Peer>>>,
    observer: Arc<dyn Observer>,
    audio_output: AudioOutput,
    next_peer: AtomicU64,
    closed: AtomicBool,
}

/// The connection `object` belongs to: the name of the nearest peer bin above it.
fn peer_of(object: &gst::Object) -> Option<PeerId> {
    let mut current = Some(object.clone());
    while let Some(object) = current {
        if let Some(id) = object
            .name()
            .strip_prefix("peer-")
            .and_then(|n| n.parse().ok())
        {
            return Some(PeerId(id));
        }
        current = object.parent();
    }
    None
}

impl Engine {
    /// Builds the pipeline and the capture and starts it: the microphone opens, and the camera
    /// too if `config.video`. Connections come with [`Engine::add_peer`].
    pub fn new(
        config: EngineConfig,
        observer: Arc<dyn Observer>,
    ) -> Result<Arc<Engine>, EngineError> {
        init()?;
        let pipeline = gst::Pipeline::with_name("hearth");
        let capture = Arc::new(CaptureGraph::new(&pipeline, &config, observer.clone())?);
        let engine = Arc::new(Engine {
            pipeline,
            capture,
            peers: Mutex::new(HashMap::new()),
            observer,
            audio_output: config.audio_output,
            next_peer: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        });
        engine.watch_bus(Arc::downgrade(&engine))?;
        engine.pipeline.set_state(gst::State::Playing)?;
        Ok(engine)
    }

    /// Errors from any element, told to the connection they happened in; sound levels stored
    /// where they belong (the microphone's, or a connection's remote sound).
    fn watch_bus(&self, engine: Weak<Engine>) -> Result<(), EngineError> {
        let bus = self
            .pipeline
            .bus()
            .ok_or_else(|| EngineError::Pipeline("no bus".into()))?;
        bus.set_sync_handler(move |_, message| {
            let Some(engine) = engine.upgrade() else {
                return gst::BusSyncReply::Drop;
            };
            match message.view() {
                gst::MessageView::Error(err) => {
                    let source = err.src();
                    let name = source.map(|s| s.name().to_string()).unwrap_or_default();
                    engine.observer.event(
                        source.and_then(peer_of),
                        EngineEvent::Error {
                            message: format!("{name}: {}", err.error()),
                        },
                    );
                }
                gst::MessageView::Element(element) => {
                    let level = element.structure().filter(|s| s.name() == "level");
                    if let (Some(s), Some(source)) = (level, element.src()) {
                        if let Ok(rms) = s.get::<glib::ValueArray>("rms") {
                            let loudest = rms
                                .iter()
                                .filter_map(|v| v.get::<f64>().ok())
                                .fold(f64::NEG_INFINITY, f64::max);
                            engine.record_level(source, loudest);
                        }
                    }
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
        Ok(())
    }

    fn record_level(&self, source: &gst::Object, db: f64) {
        if self.capture.is_microphone_level(source) {
            self.capture
                .counters
                .microphone_db
                .store(db.to_bits(), Ordering::Relaxed);
        } else if let Some(peer) = peer_of(source).and_then(|id| self.peer(id)) {
            peer.receive_counters()
                .level_db
                .store(db.to_bits(), Ordering::Relaxed);
        }
    }

    fn check_open(&self) -> Result<(), EngineError> {
        if self.closed.load(Ordering::Acquire) {
            Err(EngineError::Closed)
        } else {
            Ok(())
        }
    }

    /// A new connection fed by the capture (nothing sent on it until [`Peer::set_sending`]).
    /// `negotiation-needed` comes for it once it runs.
    pub fn add_peer(&self, config: &PeerConfig) -> Result<Arc<Peer>, EngineError> {
        self.check_open()?;
        let id = PeerId(self.next_peer.fetch_add(1, Ordering::Relaxed));
        let peer = Peer::new(
            id,
            &self.pipeline,
            self.capture.clone(),
            config,
            self.observer.clone(),
            self.audio_output,
        )?;
        self.peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, peer.clone());
        Ok(peer)
    }

    /// Ends one connection and takes it out of the pipeline; the capture and the other
    /// connections go on. `false` if there was no such connection.
    pub fn remove_peer(&self, id: PeerId) -> bool {
        // Out of the map first: the bus handler takes this lock from streaming threads, and
        // stopping the bin waits for them.
        let peer = self
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        match peer {
            Some(peer) => {
                peer.close(Some(&self.pipeline));
                true
            }
            None => false,
        }
    }

    pub fn peer(&self, id: PeerId) -> Option<Arc<Peer>> {
        self.peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// The connections, oldest first.
    pub fn peer_ids(&self) -> Vec<PeerId> {
        let mut ids: Vec<PeerId> = self
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        ids.sort();
        ids
    }

    /// Closes the camera for every connection (video off: its light goes off, nothing more is
    /// captured, as with a browser's stopped track) or opens the one chosen last again.
    /// Whether a connection sends the picture is [`Peer::set_sending`]'s business.
    pub fn set_camera(&self, on: bool) -> Result<(), EngineError> {
        self.check_open()?;
        self.capture.set_camera(on)
    }

    /// Whether the person has the camera on (it may still be missing).
    pub fn camera_on(&self) -> bool {
        self.capture.camera_on()
    }

    /// Mutes the microphone for every connection (`track.enabled = false`): silence is sent.
    pub fn set_microphone_enabled(&self, enabled: bool) -> Result<(), EngineError> {
        self.check_open()?;
        self.capture.set_microphone_enabled(enabled);
        Ok(())
    }

    /// Switches to another camera or microphone for every connection, without renegotiating.
    pub fn switch_device(&self, kind: MediaKind, device_id: &str) -> Result<(), EngineError> {
        self.check_open()?;
        self.capture.switch_device(kind, device_id)
    }

    /// Sends the screen instead of the camera to every connection, in the video track each
    /// already has (no renegotiation), at up to 1920x1080 and 15 fps and a higher bitrate;
    /// the preview shows it too. The camera stays as it is meanwhile. Returns the size sent.
    /// Blocks until the screen's first picture (a few seconds at most).
    pub fn share_screen(&self, source: &ScreenSource) -> Result<ScreenInfo, EngineError> {
        self.check_open()?;
        self.capture.share_screen(source)
    }

    /// Sends the camera again, as the person left it (nothing while it is closed), and
    /// releases the screen. Nothing happens when the screen is not shared.
    pub fn stop_screen_share(&self) -> Result<(), EngineError> {
        self.check_open()?;
        self.capture.stop_screen()
    }

    /// Whether the screen is shared now.
    pub fn sharing_screen(&self) -> bool {
        self.capture.sharing_screen()
    }

    /// The capture's figures (no connection's: see [`Peer::progress`]).
    pub fn progress(&self) -> Progress {
        let counters = &self.capture.counters;
        Progress {
            local_frames: counters.local_frames.load(Ordering::Relaxed),
            camera_opens: counters.camera_opens.load(Ordering::Relaxed),
            screen_frames: counters.screen_frames.load(Ordering::Relaxed),
            remote_frames: 0,
            remote_level_db: None,
        }
    }

    /// `close()` of everything: every connection ends, the devices are released. Idempotent.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let peers: Vec<Arc<Peer>> = self
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, peer)| peer)
            .collect();
        for peer in &peers {
            peer.unblock_data();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        for peer in peers {
            peer.close(None);
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
