//! One connection to one remote person: its own bin in the engine's pipeline holding a
//! `webrtcbin`, the branches that feed it from the capture's tees (a queue and a valve, and with
//! [`Encoding::PerPeer`] its own VP8 encoder; its own Opus encoder always), its receive
//! branches, and its two data channels (made with it, see `data`). Negotiation and ICE mirror
//! `RTCPeerConnection`.
//!
//! GStreamer 1.22's webrtcbin has no rollback and refuses transceiver direction changes other
//! than to inactive, so a peer offers and answers `sendrecv` audio and video from the first
//! description and never changes a direction: what is sent is switched by the valves
//! ([`Peer::set_sending`]). The native side is always the impolite peer of perfect negotiation,
//! so it never needs a rollback.
//!
//! [`Encoding::PerPeer`]: crate::Encoding::PerPeer

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use tokio::sync::oneshot;

use crate::capture::{opus_encoder, CaptureGraph};
use crate::data::DataChannels;
use crate::receive::{ReceiveCounters, Receiver};
use crate::sdp::{from_gst, ssrc_kinds, to_gst, AUDIO_RTP_CAPS, VIDEO_RTP_CAPS};
use crate::{
    enum_nick, ice, leaky_queue, make, stats, AudioOutput, DataKind, EngineError, EngineEvent,
    MediaKind, Observer, PeerConfig, PeerId, Progress,
};

/// Raw pictures waiting for this connection's own encoder: two; the oldest is dropped when full.
const RAW_VIDEO_QUEUE: u32 = 2;
/// Shared encoder's packets waiting for this connection: 64 (about half a second at 1.2
/// Mbit/s); the oldest is dropped when full, and the receiver asks for a key frame.
const RTP_VIDEO_QUEUE: u32 = 64;
/// Raw sound waiting for this connection's Opus encoder: 50 buffers (about a second); the
/// oldest is dropped when full.
const AUDIO_QUEUE: u32 = 50;
/// How long removing a connection waits for its branch of a tee to be idle.
const UNLINK_WAIT: Duration = Duration::from_secs(1);

/// One peer connection. Made by [`crate::Engine::add_peer`], ended by
/// [`crate::Engine::remove_peer`] (or the engine's close).
pub struct Peer {
    id: PeerId,
    bin: gst::Bin,
    webrtc: gst::Element,
    video_valve: gst::Element,
    audio_valve: gst::Element,
    video_sending: AtomicBool,
    /// The tee pads feeding this connection, released when it is removed.
    feeds: Mutex<Vec<(gst::Element, gst::Pad)>>,
    capture: Arc<CaptureGraph>,
    receiver: Arc<Receiver>,
    /// Made once the bin runs; `None` only while it is being built.
    data: Mutex<Option<Arc<DataChannels>>>,
    observer: Arc<dyn Observer>,
    closed: AtomicBool,
}

/// A valve that drops everything until opened.
fn closed_valve(name: &str) -> Result<gst::Element, EngineError> {
    let valve = make("valve", name)?;
    valve.set_property("drop", true);
    forward_sticky_events(&valve);
    Ok(valve)
}

/// A closed valve still passes caps and segments on: the encoder behind it must see the segment
/// of a camera opened while the valve was closed, or (GStreamer 1.22's vp8enc) it matches none of
/// the new frames' timestamps and drops them all ("vpx pts … does not match input frames").
pub(crate) fn forward_sticky_events(valve: &gst::Element) {
    valve.set_property_from_str("drop-mode", "forward-sticky-events");
}

impl Peer {
    /// Builds the connection's bin, adds it to `pipeline` (running) and feeds it from the
    /// capture's tees.
    pub(crate) fn new(
        id: PeerId,
        pipeline: &gst::Pipeline,
        capture: Arc<CaptureGraph>,
        config: &PeerConfig,
        observer: Arc<dyn Observer>,
        audio_output: AudioOutput,
    ) -> Result<Arc<Peer>, EngineError> {
        let bin = gst::Bin::builder().name(id.to_string()).build();
        let webrtc = make("webrtcbin", "webrtc")?;
        webrtc.set_property_from_str("bundle-policy", "max-bundle");
        // latency: the jitter buffer's, in ms; webrtcbin's default of 200 is meant for the
        // internet at large and would be most of the delay on a LAN.
        webrtc.set_property("latency", 100u32);
        let ice = ice::for_webrtcbin(&config.ice_servers);
        if let Some(stun) = &ice.stun {
            webrtc.set_property("stun-server", stun);
        }
        for turn in &ice.turn {
            if !webrtc.emit_by_name::<bool>("add-turn-server", &[turn]) {
                tracing::warn!("webrtcbin refused a TURN server URL");
            }
        }
        if config.relay_only {
            webrtc.set_property_from_str("ice-transport-policy", "relay");
        }
        bin.add(&webrtc)?;

        let (video_tee, encoded) = capture.video_tee();
        let video_tee = video_tee.clone();
        let video_valve = closed_valve("video-valve")?;
        let mut video = if encoded {
            vec![
                leaky_queue("video-queue", RTP_VIDEO_QUEUE)?,
                video_valve.clone(),
            ]
        } else {
            let mut chain = vec![
                leaky_queue("video-queue", RAW_VIDEO_QUEUE)?,
                video_valve.clone(),
            ];
            chain.extend(capture.vp8_encoder("video")?);
            chain
        };
        let audio_valve = closed_valve("audio-valve")?;
        let mut audio = vec![
            leaky_queue("audio-queue", AUDIO_QUEUE)?,
            audio_valve.clone(),
        ];
        audio.extend(opus_encoder("audio")?);
        let video_input = Self::send_branch(&bin, &webrtc, &mut video, "video", VIDEO_RTP_CAPS, 0)?;
        let audio_input = Self::send_branch(&bin, &webrtc, &mut audio, "audio", AUDIO_RTP_CAPS, 1)?;

        let receiver = Arc::new(Receiver {
            bin: bin.clone(),
            peer: id,
            observer: observer.clone(),
            counters: Arc::new(ReceiveCounters::default()),
            audio_output,
        });
        let peer = Arc::new(Peer {
            id,
            bin,
            webrtc,
            video_valve,
            audio_valve,
            video_sending: AtomicBool::new(false),
            feeds: Mutex::new(Vec::new()),
            capture,
            receiver,
            data: Mutex::new(None),
            observer,
            closed: AtomicBool::new(false),
        });
        peer.wire();
        pipeline.add(&peer.bin)?;
        let started = peer.bin.sync_state_with_parent().map_err(EngineError::from);
        let fed = started
            .and_then(|_| peer.feed(&video_tee, &video_input))
            .and_then(|_| peer.feed(peer.capture.audio_tee(), &audio_input))
            // The data channels, before any description: the first offer or answer carries
            // their m=application section.
            .and_then(|_| DataChannels::create(&peer.webrtc, id, peer.observer.clone()))
            .map(|data| {
                *peer.data.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(data));
            });
        if let Err(e) = fed {
            // Half built: out of the pipeline again, the capture undisturbed.
            peer.close(Some(pipeline));
            return Err(e);
        }
        Ok(peer)
    }

    /// Adds `chain` to `bin`, links it into a new `sendrecv` transceiver of `webrtc` that
    /// offers `caps`, and returns the bin's ghost pad feeding it.
    fn send_branch(
        bin: &gst::Bin,
        webrtc: &gst::Element,
        chain: &mut [gst::Element],
        name: &str,
        caps: &str,
        index: i32,
    ) -> Result<gst::GhostPad, EngineError> {
        bin.add_many(chain.iter())?;
        gst::Element::link_many(chain.iter())?;
        let (Some(first), Some(last)) = (chain.first(), chain.last()) else {
            return Err(EngineError::Pipeline("an empty branch".into()));
        };
        let sink = webrtc
            .request_pad_simple("sink_%u")
            .ok_or_else(|| EngineError::Pipeline("webrtcbin gave no sink pad".into()))?;
        let src = last
            .static_pad("src")
            .ok_or_else(|| EngineError::Pipeline("no source pad".into()))?;
        src.link(&sink)
            .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
        // What the offer says before any packet has gone through (the camera may be off).
        let caps: gst::Caps = caps
            .parse()
            .map_err(|e: glib::BoolError| EngineError::Pipeline(e.to_string()))?;
        let transceiver = webrtc
            .emit_by_name::<Option<gst_webrtc::WebRTCRTPTransceiver>>("get-transceiver", &[&index])
            .ok_or_else(|| EngineError::Pipeline("webrtcbin made no transceiver".into()))?;
        transceiver.set_property("codec-preferences", &caps);
        let input = first
            .static_pad("sink")
            .ok_or_else(|| EngineError::Pipeline("no sink pad".into()))?;
        let ghost = gst::GhostPad::builder_with_target(&input)?
            .name(name)
            .build();
        bin.add_pad(&ghost)?;
        Ok(ghost)
    }

    /// Links a new branch of `tee` to `input`.
    fn feed(&self, tee: &gst::Element, input: &gst::GhostPad) -> Result<(), EngineError> {
        let pad = tee
            .request_pad_simple("src_%u")
            .ok_or_else(|| EngineError::Pipeline("the tee gave no pad".into()))?;
        pad.link(input)
            .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((tee.clone(), pad));
        Ok(())
    }

    fn wire(&self) {
        let (observer, id) = (self.observer.clone(), self.id);
        self.webrtc
            .connect("on-negotiation-needed", false, move |_| {
                observer.event(Some(id), EngineEvent::NegotiationNeeded);
                None
            });
        let (observer, id) = (self.observer.clone(), self.id);
        self.webrtc
            .connect("on-ice-candidate", false, move |values| {
                let mline = values.get(1).and_then(|v| v.get::<u32>().ok());
                let candidate = values.get(2).and_then(|v| v.get::<String>().ok());
                if let (Some(sdp_m_line_index), Some(candidate)) = (mline, candidate) {
                    observer.event(
                        Some(id),
                        EngineEvent::IceCandidate {
                            candidate,
                            sdp_m_line_index,
                        },
                    );
                }
                None
            });
        let (observer, id) = (self.observer.clone(), self.id);
        self.webrtc
            .connect_notify(Some("connection-state"), move |webrtc, _| {
                let state = enum_nick(&webrtc.property_value("connection-state"));
                observer.event(Some(id), EngineEvent::ConnectionState { state });
            });
        let (observer, id) = (self.observer.clone(), self.id);
        self.webrtc
            .connect_notify(Some("signaling-state"), move |webrtc, _| {
                let state = enum_nick(&webrtc.property_value("signaling-state"));
                observer.event(Some(id), EngineEvent::SignalingState { state });
            });
        let (observer, id) = (self.observer.clone(), self.id);
        self.webrtc
            .connect_notify(Some("ice-gathering-state"), move |webrtc, _| {
                let state = enum_nick(&webrtc.property_value("ice-gathering-state"));
                observer.event(Some(id), EngineEvent::IceGatheringState { state });
            });
        // Incoming media: webrtcbin adds a pad per remote stream; decode whatever it carries.
        let receiver = Arc::downgrade(&self.receiver);
        self.webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let Some(receiver) = receiver.upgrade() else {
                return;
            };
            if let Err(e) = receiver.decode(pad) {
                receiver.observer.event(
                    Some(receiver.peer),
                    EngineEvent::Error {
                        message: e.to_string(),
                    },
                );
            }
        });
    }

    pub fn id(&self) -> PeerId {
        self.id
    }

    pub(crate) fn receive_counters(&self) -> &ReceiveCounters {
        &self.receiver.counters
    }

    fn check_open(&self) -> Result<(), EngineError> {
        if self.closed.load(Ordering::Acquire) {
            Err(EngineError::Closed)
        } else {
            Ok(())
        }
    }

    /// `createOffer()`; `ice_restart` asks for new ICE credentials (`restartIce()`), which
    /// GStreamer 1.22's webrtcbin does not honour: there it is a plain renegotiation.
    pub async fn create_offer(
        &self,
        ice_restart: bool,
    ) -> Result<crate::SessionDescription, EngineError> {
        let options = gst::Structure::builder("options")
            .field("ice-restart", ice_restart)
            .build();
        self.create("create-offer", Some(options), "offer").await
    }

    /// `createAnswer()`, after a remote offer.
    pub async fn create_answer(&self) -> Result<crate::SessionDescription, EngineError> {
        self.create("create-answer", None, "answer").await
    }

    /// Emits webrtcbin's `create-offer` or `create-answer` and takes `field` from its reply.
    async fn create(
        &self,
        signal: &str,
        options: Option<gst::Structure>,
        field: &str,
    ) -> Result<crate::SessionDescription, EngineError> {
        self.check_open()?;
        let (promise, rx) = promise();
        self.webrtc
            .emit_by_name::<()>(signal, &[&options, &promise]);
        let reply = settle(rx)
            .await?
            .ok_or_else(|| EngineError::Negotiation(format!("no {field}")))?;
        let description = reply
            .get::<gst_webrtc::WebRTCSessionDescription>(field)
            .map_err(|e| EngineError::Negotiation(e.to_string()))?;
        from_gst(&description)
    }

    pub async fn set_local_description(
        &self,
        description: &crate::SessionDescription,
    ) -> Result<(), EngineError> {
        self.set_description("set-local-description", description)
            .await
    }

    pub async fn set_remote_description(
        &self,
        description: &crate::SessionDescription,
    ) -> Result<(), EngineError> {
        self.set_description("set-remote-description", description)
            .await
    }

    /// Emits webrtcbin's `set-local-description` or `set-remote-description` and waits for it.
    async fn set_description(
        &self,
        signal: &str,
        description: &crate::SessionDescription,
    ) -> Result<(), EngineError> {
        self.check_open()?;
        let description = to_gst(description)?;
        let (promise, rx) = promise();
        self.webrtc
            .emit_by_name::<()>(signal, &[&description, &promise]);
        settle(rx).await.map(|_| ())
    }

    /// `addIceCandidate()`. An empty candidate (end of candidates) is accepted and ignored.
    pub fn add_ice_candidate(
        &self,
        sdp_m_line_index: u32,
        candidate: &str,
    ) -> Result<(), EngineError> {
        self.check_open()?;
        if candidate.trim().is_empty() {
            return Ok(());
        }
        self.webrtc
            .emit_by_name::<()>("add-ice-candidate", &[&sdp_m_line_index, &candidate]);
        Ok(())
    }

    /// `signalingState` as webrtcbin has it: `stable`, `have-local-offer`,
    /// `have-remote-offer`, ... (the page reads it, never computes it).
    pub fn signaling_state(&self) -> String {
        enum_nick(&self.webrtc.property_value("signaling-state"))
    }

    /// `connectionState`: `new`, `connecting`, `connected`, `disconnected`, `failed`, `closed`.
    pub fn connection_state(&self) -> String {
        enum_nick(&self.webrtc.property_value("connection-state"))
    }

    /// `getStats()`, as a list of the browser's stats objects: what webrtcbin reports, and the
    /// microphone's measured level; nothing else (see the `stats` module).
    pub async fn stats(&self) -> Result<Vec<serde_json::Value>, EngineError> {
        self.check_open()?;
        let (promise, rx) = promise();
        self.webrtc
            .emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
        let reply = settle(rx).await?;
        let mut list = reply.map(|r| stats::to_json(&r)).unwrap_or_default();
        // webrtcbin 1.22 labels streams' kinds unreliably under bundle (every inbound stream gets
        // the first codec's); the descriptions say which SSRC carries what.
        let mut kinds = std::collections::HashMap::new();
        for property in ["local-description", "remote-description"] {
            if let Some(description) = self
                .webrtc
                .property::<Option<gst_webrtc::WebRTCSessionDescription>>(property)
            {
                ssrc_kinds(&description, &mut kinds);
            }
        }
        stats::label_kinds(&mut list, &kinds);
        if let Some(db) = self.capture.counters.microphone_db() {
            list.push(stats::microphone(db));
        }
        Ok(list)
    }

    /// Starts or stops sending `kind` on this connection (a track attached or removed, the
    /// picture turned off). Nothing is encoded or sent for this connection before the first
    /// call with `enabled`, so a preview costs no encoding. Muting the microphone is the
    /// capture's ([`crate::Engine::set_microphone_enabled`]): a muted microphone sends silence
    /// to everyone, as a browser's disabled track does.
    pub fn set_sending(&self, kind: MediaKind, enabled: bool) -> Result<(), EngineError> {
        self.check_open()?;
        match kind {
            MediaKind::Audio => self.audio_valve.set_property("drop", !enabled),
            MediaKind::Video => {
                self.video_valve.set_property("drop", !enabled);
                if self.video_sending.swap(enabled, Ordering::AcqRel) != enabled {
                    self.capture.video_senders_changed(enabled);
                }
            }
        }
        Ok(())
    }

    fn data_channels(&self) -> Result<Arc<DataChannels>, EngineError> {
        self.check_open()?;
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(EngineError::Closed)
    }

    /// Sends one message on data channel `channel` ([`crate::CHAT`] or [`crate::FILES`]), as
    /// `RTCDataChannel.send()`; returns its `bufferedAmount` afterwards. Refused with
    /// [`EngineError::DataBusy`] while more than [`crate::HIGH_WATER`] bytes wait (wait for
    /// [`EngineEvent::DataBufferedLow`]), [`EngineError::DataClosed`] before it opens.
    pub fn send_data(
        &self,
        channel: u16,
        kind: DataKind,
        payload: &[u8],
    ) -> Result<u64, EngineError> {
        self.data_channels()?.send(channel, kind, payload)
    }

    /// The bytes waiting to be sent on data channel `channel` (`bufferedAmount`).
    pub fn data_buffered(&self, channel: u16) -> Result<u64, EngineError> {
        self.data_channels()?.buffered(channel)
    }

    /// Frames captured and received so far, and this connection's remote sound level.
    pub fn progress(&self) -> Progress {
        let capture = &self.capture.counters;
        Progress {
            local_frames: capture.local_frames.load(Ordering::Relaxed),
            camera_opens: capture.camera_opens.load(Ordering::Relaxed),
            screen_frames: capture.screen_frames.load(Ordering::Relaxed),
            remote_frames: self.receiver.counters.frames.load(Ordering::Relaxed),
            remote_level_db: self.receiver.counters.level_db(),
        }
    }

    /// Marks the connection closed and says so; `detach` also takes its bin out of the
    /// running pipeline (not needed when the whole pipeline stops). Idempotent.
    pub(crate) fn close(&self, pipeline: Option<&gst::Pipeline>) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.video_sending.swap(false, Ordering::AcqRel) {
            self.capture.video_senders_changed(false);
        }
        // The data channels end with the webrtcbin; never closed one by one (see `data`).
        let data = self
            .data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(data) = data {
            data.ended();
        }
        if let Some(pipeline) = pipeline {
            self.unblock_data();
            let feeds =
                std::mem::take(&mut *self.feeds.lock().unwrap_or_else(PoisonError::into_inner));
            for (tee, pad) in feeds {
                unlink_when_idle(&pad);
                tee.release_request_pad(&pad);
            }
            if let Err(e) = self.bin.set_state(gst::State::Null) {
                tracing::warn!("stopping {}: {e}", self.id);
            }
            if let Err(e) = pipeline.remove(&self.bin) {
                tracing::warn!("removing {}: {e}", self.id);
            }
        }
        self.observer.event(
            Some(self.id),
            EngineEvent::ConnectionState {
                state: "closed".into(),
            },
        );
    }
}

impl Peer {
    /// Lets go of messages still waiting to be sent, before the connection stops: GStreamer
    /// 1.22's `sctpenc` otherwise waits for room for them with the pad lock the state change
    /// needs, until SCTP gives up on the unanswered data (about four minutes, measured). A
    /// flush of its output ends the wait; what was waiting is dropped, as a browser does on
    /// `close()`. The element is webrtcbin's own, so it is found by its factory.
    pub(crate) fn unblock_data(&self) {
        let Some(webrtc) = self.webrtc.downcast_ref::<gst::Bin>() else {
            return;
        };
        for element in webrtc.iterate_recurse().into_iter().flatten() {
            let is_sctpenc = element.factory().is_some_and(|f| f.name() == "sctpenc");
            if let (true, Some(pad)) = (is_sctpenc, element.static_pad("src")) {
                pad.send_event(gst::event::FlushStart::new());
            }
        }
    }
}

/// Unlinks a tee's `pad` between two buffers (never in the middle of a push), waiting
/// [`UNLINK_WAIT`] at most; the other branches of the tee go on undisturbed.
fn unlink_when_idle(pad: &gst::Pad) {
    let (done, wait) = std::sync::mpsc::sync_channel::<()>(1);
    let probe = pad.add_probe(gst::PadProbeType::IDLE, move |pad, _| {
        if let Some(peer) = pad.peer() {
            let _ = pad.unlink(&peer);
        }
        let _ = done.try_send(());
        gst::PadProbeReturn::Remove
    });
    if probe.is_some() && wait.recv_timeout(UNLINK_WAIT).is_err() {
        tracing::warn!("a tee branch was not idle within {UNLINK_WAIT:?}; unlinking anyway");
    }
    if let Some(peer) = pad.peer() {
        let _ = pad.unlink(&peer);
    }
}

type Reply = Result<Option<gst::Structure>, String>;

/// A promise whose reply arrives on a oneshot channel, errors turned into strings.
fn promise() -> (gst::Promise, oneshot::Receiver<Reply>) {
    let (tx, rx) = oneshot::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let result = match reply {
            Ok(Some(s)) => match s.get::<glib::Error>("error") {
                Ok(e) => Err(e.to_string()),
                Err(_) => Ok(Some(s.to_owned())),
            },
            Ok(None) => Ok(None),
            Err(e) => Err(format!("{e:?}")),
        };
        let _ = tx.send(result);
    });
    (promise, rx)
}

async fn settle(rx: oneshot::Receiver<Reply>) -> Result<Option<gst::Structure>, EngineError> {
    rx.await
        .map_err(|_| EngineError::Closed)?
        .map_err(EngineError::Negotiation)
}
