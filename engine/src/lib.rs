//! Hearth's native media engine: one WebRTC peer connection on GStreamer's `webrtcbin`, with
//! capture, VP8/Opus encoding, decoding, sound out, and decoded frames handed to the UI. Used where
//! the webview has no `RTCPeerConnection`; its surface mirrors the part of that interface the
//! call module uses, so one call logic drives both.

mod devices;
mod error;
mod ice;
mod stats;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use gst::glib;
use gst::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use devices::{list as list_devices, Capture, DeviceInfo, TEST_CAMERA, TEST_MICROPHONE};
pub use error::EngineError;
pub use ice::{for_webrtcbin, IceServer, WebrtcbinIce};

/// The picture size the engine captures and sends, and paints the local preview at.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 480;
pub const FPS: u32 = 30;
/// Remote pictures are scaled to this width (height follows the aspect ratio) before they are
/// handed over, so a 1080p sender does not cost the UI 8 MB a frame.
pub const REMOTE_WIDTH: u32 = 640;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Video,
}

/// `{type, sdp}`, as in `RTCSessionDescriptionInit`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionDescription {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FrameSource {
    Local,
    Remote,
}

/// One decoded picture, as a JPEG: a twentieth of the raw size, which is what lets the webview's
/// IPC keep up (raw RGBA frames measured 3 frames per second there; see BENCHMARKS.md).
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
    /// Wall-clock milliseconds when the decoded (or captured) picture reached the JPEG encoder,
    /// so that display latency counts the encoding too.
    pub at_ms: f64,
}

/// When pictures (by timestamp) reached an encoder, oldest first.
type Stamps = VecDeque<(Option<gst::ClockTime>, f64)>;

/// JPEG quality for pictures handed to the UI: sharp at 640x480, about 40 KB a frame.
const JPEG_QUALITY: i32 = 85;

/// What the engine tells its owner, in the browser's words.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EngineEvent {
    #[serde(rename_all = "camelCase")]
    IceCandidate {
        candidate: String,
        sdp_m_line_index: u32,
    },
    NegotiationNeeded,
    ConnectionState {
        state: String,
    },
    Track {
        kind: MediaKind,
    },
    Error {
        message: String,
    },
}

/// Receives events and frames. Called from GStreamer's threads: return quickly.
pub trait Observer: Send + Sync + 'static {
    fn event(&self, event: EngineEvent);
    fn frame(&self, source: FrameSource, frame: Frame);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioOutput {
    /// The system's default speaker.
    Speaker,
    /// Decoded and measured, not played (tests, and machines without sound).
    Discard,
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub ice_servers: Vec<IceServer>,
    /// Only relayed (TURN) candidates, as `iceTransportPolicy: "relay"` in a browser: the other
    /// side never learns this machine's addresses.
    pub relay_only: bool,
    pub capture: Capture,
    pub audio_output: AudioOutput,
}

/// Counters the UI and tests read.
#[derive(Debug, Default)]
struct Counters {
    local_frames: AtomicU64,
    remote_frames: AtomicU64,
    /// Loudest channel of the remote sound, dBFS, as f64 bits; NaN before any sound.
    remote_level_db: AtomicU64,
}

/// Figures about the call so far.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub local_frames: u64,
    pub remote_frames: u64,
    pub remote_level_db: Option<f64>,
}

/// One peer connection and its media.
pub struct Engine {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    capture: Capture,
    observer: Arc<dyn Observer>,
    counters: Arc<Counters>,
    closed: AtomicBool,
    /// The current source of each kind, replaced when the person switches devices.
    sources: Mutex<Sources>,
}

#[derive(Default)]
struct Sources {
    video: Option<gst::Element>,
    audio: Option<gst::Element>,
    /// The camera chosen last (`None`: the system's default), reopened when video comes back.
    camera: Option<String>,
    /// The camera was closed by `set_camera(false)`, as opposed to never having been there:
    /// `set_camera(true)` opens it again.
    camera_released: bool,
}

/// Makes sure GStreamer is initialised and has what a call needs.
pub fn init() -> Result<(), EngineError> {
    gst::init().map_err(|e| EngineError::Init(e.to_string()))?;
    for plugin in [
        "webrtcbin",
        "nicesrc",
        "vp8enc",
        "vp8dec",
        "opusenc",
        "opusdec",
        "rtpvp8pay",
        "rtpopuspay",
        "jpegenc",
        "decodebin",
        "level",
        "autoaudiosink",
    ] {
        if gst::ElementFactory::find(plugin).is_none() {
            return Err(EngineError::MissingPlugin(plugin));
        }
    }
    Ok(())
}

const VIDEO_RTP_CAPS: &str =
    "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000";
const AUDIO_RTP_CAPS: &str =
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2";

fn pipeline_description(send_video: bool, send_audio: bool) -> String {
    // latency: the jitter buffer's, in ms; webrtcbin's default of 200 is meant for the internet
    // at large and would be most of the delay on a LAN.
    let mut d = String::from("webrtcbin name=webrtc bundle-policy=max-bundle latency=100 ");
    if send_video {
        // vp8enc for real time: no look-ahead, fastest preset, constant bitrate, a key frame at
        // least every two seconds so a late joiner or a lost packet recovers quickly.
        d.push_str(&format!(
            "videoconvert name=videoin ! videoscale ! videorate ! \
             video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1,pixel-aspect-ratio=1/1 ! tee name=videotee \
             videotee. ! queue max-size-buffers=2 leaky=downstream ! valve name=videovalve drop=true ! videoconvert ! \
             vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=1200000 lag-in-frames=0 \
             keyframe-max-dist=60 threads=2 ! rtpvp8pay pt=96 picture-id-mode=15-bit ! {VIDEO_RTP_CAPS} ! webrtc. \
             videotee. ! queue max-size-buffers=1 leaky=downstream ! videoconvert ! \
             jpegenc name=localjpeg quality={JPEG_QUALITY} ! appsink name=localframes sync=false max-buffers=1 drop=true "
        ));
    }
    if send_audio {
        d.push_str(&format!(
            "audioconvert name=audioin ! audioresample ! volume name=micvolume ! valve name=audiovalve drop=true ! audioconvert ! \
             opusenc bitrate=48000 frame-size=20 ! rtpopuspay pt=111 ! {AUDIO_RTP_CAPS} ! webrtc. "
        ));
    }
    d
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn enum_nick(value: &glib::Value) -> String {
    glib::EnumValue::from_value(value)
        .map(|(_, v)| v.nick().to_string())
        .unwrap_or_default()
}

/// A promise whose reply arrives on a oneshot channel, errors turned into strings.
fn promise() -> (
    gst::Promise,
    oneshot::Receiver<Result<Option<gst::Structure>, String>>,
) {
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

async fn settle(
    rx: oneshot::Receiver<Result<Option<gst::Structure>, String>>,
) -> Result<Option<gst::Structure>, EngineError> {
    rx.await
        .map_err(|_| EngineError::Closed)?
        .map_err(EngineError::Negotiation)
}

fn sdp_type(kind: &str) -> Result<gst_webrtc::WebRTCSDPType, EngineError> {
    match kind {
        "offer" => Ok(gst_webrtc::WebRTCSDPType::Offer),
        "answer" => Ok(gst_webrtc::WebRTCSDPType::Answer),
        "pranswer" => Ok(gst_webrtc::WebRTCSDPType::Pranswer),
        "rollback" => Ok(gst_webrtc::WebRTCSDPType::Rollback),
        other => Err(EngineError::BadSdpType(other.to_string())),
    }
}

fn to_gst(
    description: &SessionDescription,
) -> Result<gst_webrtc::WebRTCSessionDescription, EngineError> {
    let kind = sdp_type(&description.kind)?;
    let sdp = gst_sdp::SDPMessage::parse_buffer(description.sdp.as_bytes())
        .map_err(|e| EngineError::BadSdp(e.to_string()))?;
    // GStreamer's parser takes almost any text; a description without a version line or any
    // media section is not one a peer could have meant.
    if kind != gst_webrtc::WebRTCSDPType::Rollback
        && (!description.sdp.starts_with("v=0") || sdp.medias_len() == 0)
    {
        return Err(EngineError::BadSdp(
            "no version line or no media section".into(),
        ));
    }
    Ok(gst_webrtc::WebRTCSessionDescription::new(kind, sdp))
}

fn from_gst(
    description: &gst_webrtc::WebRTCSessionDescription,
) -> Result<SessionDescription, EngineError> {
    let kind = match description.type_() {
        gst_webrtc::WebRTCSDPType::Offer => "offer",
        gst_webrtc::WebRTCSDPType::Answer => "answer",
        gst_webrtc::WebRTCSDPType::Pranswer => "pranswer",
        _ => "rollback",
    };
    let sdp = description
        .sdp()
        .as_text()
        .map_err(|e| EngineError::BadSdp(e.to_string()))?;
    Ok(SessionDescription {
        kind: kind.into(),
        sdp,
    })
}

impl Engine {
    /// Builds the pipeline, opens the devices and starts capturing. Negotiation is the caller's:
    /// `negotiation-needed` comes once the pipeline runs.
    pub fn new(
        config: EngineConfig,
        observer: Arc<dyn Observer>,
    ) -> Result<Arc<Engine>, EngineError> {
        init()?;
        let (camera, microphone) = match &config.capture {
            Capture::Test => (None, None),
            Capture::Devices { camera, microphone } => (camera.clone(), microphone.clone()),
        };
        let video_src = devices::source(&config.capture, MediaKind::Video, camera.as_deref())?;
        let audio_src = devices::source(&config.capture, MediaKind::Audio, microphone.as_deref())?;
        let pipeline = gst::parse::launch(&pipeline_description(
            video_src.is_some(),
            audio_src.is_some(),
        ))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| EngineError::Pipeline("not a pipeline".into()))?;
        let webrtc = pipeline
            .by_name("webrtc")
            .ok_or_else(|| EngineError::Pipeline("no webrtcbin".into()))?;

        let ice = ice::for_webrtcbin(&config.ice_servers);
        if let Some(stun) = &ice.stun {
            webrtc.set_property("stun-server", stun);
        }
        for turn in &ice.turn {
            let added = webrtc.emit_by_name::<bool>("add-turn-server", &[turn]);
            if !added {
                tracing::warn!("webrtcbin refused a TURN server URL");
            }
        }
        if config.relay_only {
            webrtc.set_property_from_str("ice-transport-policy", "relay");
        }

        // Nothing to send of a kind: still receive it.
        for (kind, present, caps) in [
            (MediaKind::Video, video_src.is_some(), VIDEO_RTP_CAPS),
            (MediaKind::Audio, audio_src.is_some(), AUDIO_RTP_CAPS),
        ] {
            if !present {
                let caps: gst::Caps = caps
                    .parse()
                    .map_err(|e: gst::glib::BoolError| EngineError::Pipeline(e.to_string()))?;
                webrtc.emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
                    "add-transceiver",
                    &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps],
                );
                tracing::info!(?kind, "no device: receiving only");
            }
        }

        let engine = Arc::new(Engine {
            pipeline,
            webrtc,
            capture: config.capture.clone(),
            observer,
            counters: Arc::new(Counters {
                remote_level_db: AtomicU64::new(f64::NAN.to_bits()),
                ..Counters::default()
            }),
            closed: AtomicBool::new(false),
            sources: Mutex::new(Sources {
                camera: match &config.capture {
                    Capture::Devices { camera, .. } => camera.clone(),
                    Capture::Test => None,
                },
                ..Sources::default()
            }),
        });
        if let Some(src) = video_src {
            engine.attach_source(MediaKind::Video, src)?;
        }
        if let Some(src) = audio_src {
            engine.attach_source(MediaKind::Audio, src)?;
        }
        engine.wire(config.audio_output)?;
        engine.pipeline.set_state(gst::State::Playing)?;
        Ok(engine)
    }

    fn attach_source(&self, kind: MediaKind, src: gst::Element) -> Result<(), EngineError> {
        let input = match kind {
            MediaKind::Video => "videoin",
            MediaKind::Audio => "audioin",
        };
        let input = self
            .pipeline
            .by_name(input)
            .ok_or_else(|| EngineError::Pipeline(format!("no {input}")))?;
        self.pipeline.add(&src)?;
        src.link(&input)?;
        src.sync_state_with_parent()?;
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        match kind {
            MediaKind::Video => sources.video = Some(src),
            MediaKind::Audio => sources.audio = Some(src),
        }
        Ok(())
    }

    fn wire(self: &Arc<Self>, audio_output: AudioOutput) -> Result<(), EngineError> {
        let observer = self.observer.clone();
        self.webrtc
            .connect("on-negotiation-needed", false, move |_| {
                observer.event(EngineEvent::NegotiationNeeded);
                None
            });
        let observer = self.observer.clone();
        self.webrtc
            .connect("on-ice-candidate", false, move |values| {
                let mline = values.get(1).and_then(|v| v.get::<u32>().ok());
                let candidate = values.get(2).and_then(|v| v.get::<String>().ok());
                if let (Some(sdp_m_line_index), Some(candidate)) = (mline, candidate) {
                    observer.event(EngineEvent::IceCandidate {
                        candidate,
                        sdp_m_line_index,
                    });
                }
                None
            });
        let observer = self.observer.clone();
        self.webrtc
            .connect_notify(Some("connection-state"), move |webrtc, _| {
                let state = enum_nick(&webrtc.property_value("connection-state"));
                observer.event(EngineEvent::ConnectionState { state });
            });

        if let (Some(encoder), Some(sink)) = (
            self.pipeline.by_name("localjpeg"),
            self.pipeline.by_name("localframes"),
        ) {
            self.deliver_frames(&encoder, sink, FrameSource::Local)?;
        }

        // Incoming media: webrtcbin adds a pad per remote stream; decode whatever it carries.
        let weak = Arc::downgrade(self);
        self.webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            if let Some(engine) = weak.upgrade() {
                if let Err(e) = engine.decode(pad, audio_output) {
                    engine.observer.event(EngineEvent::Error {
                        message: e.to_string(),
                    });
                }
            }
        });

        // Errors from any element, and the remote sound's level.
        let observer = self.observer.clone();
        let counters = self.counters.clone();
        let bus = self
            .pipeline
            .bus()
            .ok_or_else(|| EngineError::Pipeline("no bus".into()))?;
        bus.set_sync_handler(move |_, message| {
            match message.view() {
                gst::MessageView::Error(err) => {
                    let source = err.src().map(|s| s.name().to_string()).unwrap_or_default();
                    observer.event(EngineEvent::Error {
                        message: format!("{source}: {}", err.error()),
                    });
                }
                gst::MessageView::Element(element) => {
                    if let Some(s) = element.structure().filter(|s| s.name() == "level") {
                        if let Ok(rms) = s.get::<glib::ValueArray>("rms") {
                            let loudest = rms
                                .iter()
                                .filter_map(|v| v.get::<f64>().ok())
                                .fold(f64::NEG_INFINITY, f64::max);
                            counters
                                .remote_level_db
                                .store(loudest.to_bits(), Ordering::Relaxed);
                        }
                    }
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
        Ok(())
    }

    /// Hands `sink`'s JPEGs to the observer, each stamped with when its picture reached
    /// `encoder` (matched by timestamp).
    fn deliver_frames(
        &self,
        encoder: &gst::Element,
        sink: gst::Element,
        source: FrameSource,
    ) -> Result<(), EngineError> {
        let sink = sink
            .downcast::<gst_app::AppSink>()
            .map_err(|_| EngineError::Pipeline("not an appsink".into()))?;
        let stamps: Arc<Mutex<Stamps>> = Arc::default();
        let input = encoder
            .static_pad("sink")
            .ok_or_else(|| EngineError::Pipeline("encoder has no sink".into()))?;
        let probe_stamps = stamps.clone();
        input.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                let mut stamps = probe_stamps.lock().unwrap_or_else(PoisonError::into_inner);
                if stamps.len() >= 16 {
                    stamps.pop_front();
                }
                stamps.push_back((buffer.pts(), now_ms()));
            }
            gst::PadProbeReturn::Ok
        });
        let observer = self.observer.clone();
        let counters = self.counters.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let size = caps.structure(0).and_then(|s| {
                        Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?))
                    });
                    let Some((width, height)) = size else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let at_ms = {
                        let mut stamps = stamps.lock().unwrap_or_else(PoisonError::into_inner);
                        match stamps.iter().position(|(pts, _)| *pts == buffer.pts()) {
                            Some(i) => stamps
                                .drain(..=i)
                                .next_back()
                                .map_or_else(now_ms, |(_, at)| at),
                            None => now_ms(),
                        }
                    };
                    match source {
                        FrameSource::Local => counters.local_frames.fetch_add(1, Ordering::Relaxed),
                        FrameSource::Remote => {
                            counters.remote_frames.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    let frame = Frame {
                        width: width.max(0) as u32,
                        height: height.max(0) as u32,
                        jpeg: map.as_slice().to_vec(),
                        at_ms,
                    };
                    observer.frame(source, frame);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        Ok(())
    }

    fn decode(
        self: &Arc<Self>,
        pad: &gst::Pad,
        audio_output: AudioOutput,
    ) -> Result<(), EngineError> {
        let decodebin = gst::ElementFactory::make("decodebin").build()?;
        let weak = Arc::downgrade(self);
        decodebin.connect_pad_added(move |_, pad| {
            let Some(engine) = weak.upgrade() else { return };
            if let Err(e) = engine.play(pad, audio_output) {
                engine.observer.event(EngineEvent::Error {
                    message: e.to_string(),
                });
            }
        });
        self.pipeline.add(&decodebin)?;
        decodebin.sync_state_with_parent()?;
        let sink = decodebin
            .static_pad("sink")
            .ok_or_else(|| EngineError::Pipeline("decodebin has no sink".into()))?;
        pad.link(&sink)
            .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
        Ok(())
    }

    /// Shows or plays one decoded remote stream.
    fn play(&self, pad: &gst::Pad, audio_output: AudioOutput) -> Result<(), EngineError> {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let name = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let (kind, description) = if name.starts_with("video/") {
            (
                MediaKind::Video,
                format!(
                    "queue max-size-buffers=2 leaky=downstream ! videoconvert ! videoscale ! \
                     video/x-raw,width={REMOTE_WIDTH},pixel-aspect-ratio=1/1 ! jpegenc name=remotejpeg quality={JPEG_QUALITY} ! \
                     appsink name=remoteframes sync=false max-buffers=1 drop=true"
                ),
            )
        } else if name.starts_with("audio/") {
            let sink = match audio_output {
                AudioOutput::Speaker => "autoaudiosink",
                AudioOutput::Discard => "fakesink sync=true",
            };
            (
                MediaKind::Audio,
                format!("queue ! audioconvert ! audioresample ! level interval=100000000 post-messages=true ! {sink}"),
            )
        } else {
            return Ok(());
        };
        let bin = gst::parse::bin_from_description(&description, true)?;
        self.pipeline.add(&bin)?;
        if kind == MediaKind::Video {
            if let (Some(encoder), Some(sink)) =
                (bin.by_name("remotejpeg"), bin.by_name("remoteframes"))
            {
                self.deliver_frames(&encoder, sink, FrameSource::Remote)?;
            }
        }
        bin.sync_state_with_parent()?;
        let sink = bin
            .static_pad("sink")
            .ok_or_else(|| EngineError::Pipeline("bin has no sink".into()))?;
        pad.link(&sink)
            .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
        self.observer.event(EngineEvent::Track { kind });
        Ok(())
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
    pub async fn create_offer(&self, ice_restart: bool) -> Result<SessionDescription, EngineError> {
        let options = gst::Structure::builder("options")
            .field("ice-restart", ice_restart)
            .build();
        self.create("create-offer", Some(options), "offer").await
    }

    /// `createAnswer()`, after a remote offer.
    pub async fn create_answer(&self) -> Result<SessionDescription, EngineError> {
        self.create("create-answer", None, "answer").await
    }

    /// Emits webrtcbin's `create-offer` or `create-answer` and takes `field` from its reply.
    async fn create(
        &self,
        signal: &str,
        options: Option<gst::Structure>,
        field: &str,
    ) -> Result<SessionDescription, EngineError> {
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
        description: &SessionDescription,
    ) -> Result<(), EngineError> {
        self.set_description("set-local-description", description)
            .await
    }

    pub async fn set_remote_description(
        &self,
        description: &SessionDescription,
    ) -> Result<(), EngineError> {
        self.set_description("set-remote-description", description)
            .await
    }

    /// Emits webrtcbin's `set-local-description` or `set-remote-description` and waits for it.
    async fn set_description(
        &self,
        signal: &str,
        description: &SessionDescription,
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

    /// `signalingState`: `stable`, `have-local-offer`, `have-remote-offer`, ...
    pub fn signaling_state(&self) -> String {
        enum_nick(&self.webrtc.property_value("signaling-state"))
    }

    pub fn connection_state(&self) -> String {
        enum_nick(&self.webrtc.property_value("connection-state"))
    }

    /// `getStats()`, as a list of the browser's stats objects.
    pub async fn stats(&self) -> Result<Vec<serde_json::Value>, EngineError> {
        self.check_open()?;
        let (promise, rx) = promise();
        self.webrtc
            .emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
        let reply = settle(rx).await?;
        let mut list = reply.map(|r| stats::to_json(&r)).unwrap_or_default();
        // webrtcbin 1.22 labels streams' kinds unreliably under bundle (every inbound stream gets
        // the first codec's); the descriptions say which SSRC carries what.
        let kinds = self.ssrc_kinds();
        for stat in &mut list {
            let ssrc = stat.get("ssrc").and_then(serde_json::Value::as_u64);
            if let Some(kind) = ssrc.and_then(|ssrc| kinds.get(&ssrc)) {
                stat["kind"] = serde_json::Value::String(kind.clone());
            }
        }
        // What the browser reports about the microphone, which webrtcbin does not.
        if let Some(volume) = self.pipeline.by_name("micvolume") {
            let muted = volume.property::<bool>("mute");
            list.push(serde_json::json!({
                "id": "hearth-microphone", "type": "media-source", "kind": "audio",
                "audioLevel": if muted { 0.0 } else { 1.0 },
            }));
        }
        Ok(list)
    }

    /// Which media kind each SSRC in the local and remote descriptions carries.
    fn ssrc_kinds(&self) -> std::collections::HashMap<u64, String> {
        let mut kinds = std::collections::HashMap::new();
        for property in ["local-description", "remote-description"] {
            let description = self
                .webrtc
                .property::<Option<gst_webrtc::WebRTCSessionDescription>>(property);
            let Some(description) = description else {
                continue;
            };
            for media in description.sdp().medias() {
                let Some(kind) = media.media() else { continue };
                for attribute in media.attributes().filter(|a| a.key() == "ssrc") {
                    let ssrc = attribute
                        .value()
                        .and_then(|v| v.split(' ').next()?.parse().ok());
                    if let Some(ssrc) = ssrc {
                        kinds.insert(ssrc, kind.to_string());
                    }
                }
            }
        }
        kinds
    }

    /// Starts sending `kind` (a track attached), mutes the microphone (`track.enabled = false`),
    /// or stops sending the picture. Nothing is encoded or sent before the first call with
    /// `enabled`, so a preview costs no encoding.
    pub fn set_sending(&self, kind: MediaKind, enabled: bool) -> Result<(), EngineError> {
        self.check_open()?;
        match kind {
            MediaKind::Audio => {
                if let Some(volume) = self.pipeline.by_name("micvolume") {
                    volume.set_property("mute", !enabled);
                }
                // Once sending, a muted microphone sends silence, as a browser's disabled
                // track does; the valve only keeps the encoder idle until then.
                if enabled {
                    if let Some(valve) = self.pipeline.by_name("audiovalve") {
                        valve.set_property("drop", false);
                    }
                }
            }
            MediaKind::Video => {
                if let Some(valve) = self.pipeline.by_name("videovalve") {
                    valve.set_property("drop", !enabled);
                }
            }
        }
        Ok(())
    }

    /// Closes the camera (video off: its light goes off and other programs may use it, as with a
    /// browser's stopped track) or opens it again, the one chosen last. The preview stops and
    /// starts with it; whether the picture is sent is [`Engine::set_sending`]'s business.
    pub fn set_camera(&self, on: bool) -> Result<(), EngineError> {
        self.check_open()?;
        if on {
            self.reopen_camera()
        } else {
            self.release_camera()
        }
    }

    fn release_camera(&self) -> Result<(), EngineError> {
        let old = {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            let old = sources.video.take();
            sources.camera_released |= old.is_some();
            old
        };
        if let Some(old) = old {
            old.set_state(gst::State::Null)?;
            self.pipeline.remove(&old)?;
        }
        Ok(())
    }

    fn reopen_camera(&self) -> Result<(), EngineError> {
        let camera = {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            if !std::mem::take(&mut sources.camera_released) {
                return Ok(());
            }
            sources.camera.clone()
        };
        match devices::source(&self.capture, MediaKind::Video, camera.as_deref())? {
            Some(src) => self.attach_source(MediaKind::Video, src),
            // Unplugged while the video was off: the call goes on without a picture.
            None => Err(EngineError::NoDevice("the camera is gone".into())),
        }
    }

    /// Switches to another camera or microphone mid-call, without renegotiating.
    pub fn switch_device(&self, kind: MediaKind, device_id: &str) -> Result<(), EngineError> {
        self.check_open()?;
        if kind == MediaKind::Video {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            sources.camera = Some(device_id.to_string());
            // With the video off the camera stays closed; video on opens this one.
            if sources.camera_released {
                return Ok(());
            }
        }
        let new = devices::source(&self.capture, kind, Some(device_id))?
            .ok_or_else(|| EngineError::NoDevice(device_id.to_string()))?;
        let old = {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            match kind {
                MediaKind::Video => sources.video.take(),
                MediaKind::Audio => sources.audio.take(),
            }
        };
        let Some(old) = old else {
            return Err(EngineError::NoDevice(
                "this call started without one".into(),
            ));
        };
        // The old device is released before the new one opens: one camera cannot be opened twice.
        old.set_state(gst::State::Null)?;
        self.pipeline.remove(&old)?;
        self.attach_source(kind, new)
    }

    /// Frames shown and received so far, and the remote sound's level.
    pub fn progress(&self) -> Progress {
        let level = f64::from_bits(self.counters.remote_level_db.load(Ordering::Relaxed));
        Progress {
            local_frames: self.counters.local_frames.load(Ordering::Relaxed),
            remote_frames: self.counters.remote_frames.load(Ordering::Relaxed),
            remote_level_db: (!level.is_nan()).then_some(level),
        }
    }

    /// `close()`: stops the devices and the connection. Idempotent.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        self.observer.event(EngineEvent::ConnectionState {
            state: "closed".into(),
        });
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
