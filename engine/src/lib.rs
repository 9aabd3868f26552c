//! Hearth's native media engine: WebRTC calls on GStreamer's `webrtcbin`, used where the webview
//! has no `RTCPeerConnection`. One [`Engine`] is one pipeline holding one capture (camera and
//! microphone, opened once, shared through tees) and any number of [`Peer`]s, one `webrtcbin`
//! per remote person, added and removed while it runs (the shape of GStreamer's
//! multiparty-sendrecv example). A peer's surface mirrors the part of `RTCPeerConnection` the
//! call module uses, so one call logic drives both.
//!
//! This file owns the types shared by every part; the parts are:
//! - `engine`: the pipeline, its bus, and the map of peers;
//! - `capture`: devices opened, tees, camera on/off, the screen in its place, how encoders
//!   are tuned, the shared encoder, preview frames;
//! - `screen`: where a shared screen comes from (X11, or a test pattern);
//! - `peer`: one connection (its `webrtcbin`, send branches, negotiation, ICE);
//! - `data`: a connection's two pre-negotiated data channels (chat and files);
//! - `receive`: decoding, frames handed over, sound out;
//! - `sdp`, `stats`, `devices`, `ice`, `error`: helpers named after what they convert or find.

mod capture;
mod data;
mod devices;
mod engine;
mod error;
mod ice;
mod peer;
mod receive;
mod screen;
mod sdp;
mod stats;

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use gst::glib;
use gst::prelude::*;
use serde::{Deserialize, Serialize};

pub use data::{DataKind, DataState, CHAT, FILES, HIGH_WATER, LOW_WATER, MAX_MESSAGE};
pub use devices::{list as list_devices, Capture, DeviceInfo, TEST_CAMERA, TEST_MICROPHONE};
pub use engine::Engine;
pub use error::EngineError;
pub use ice::{for_webrtcbin, IceServer, WebrtcbinIce};
pub use peer::Peer;
pub use screen::{
    ScreenInfo, ScreenSource, SCREEN_BITRATE, SCREEN_FPS, SCREEN_MAX_HEIGHT, SCREEN_MAX_WIDTH,
    TEST_SCREEN_HEIGHT, TEST_SCREEN_WIDTH,
};

/// The picture size the engine captures and sends, and paints the local preview at.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 360;
pub const FPS: u32 = 30;
/// The VP8 encoders' bitrate while the camera is sent, bits per second (the screen's is
/// [`SCREEN_BITRATE`]).
pub const CAMERA_BITRATE: u32 = 1_200_000;
/// Remote pictures wider than this are scaled down to it (height following the aspect ratio)
/// before they are handed over, so a 1080p sender does not cost the UI 8 MB a frame; narrower
/// ones keep their size. 1280: a shared screen stays readable (a 1280x720 camera is handed
/// over at its size too, about four times the JPEG work of 640x360).
pub const REMOTE_MAX_WIDTH: u32 = 1280;

/// JPEG quality for pictures handed to the UI: sharp at 640x360, about 30 KB a frame.
pub(crate) const JPEG_QUALITY: i32 = 85;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
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

/// Which picture the page asks for: its own preview or the (default connection's) remote one.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FrameSource {
    Local,
    Remote,
}

/// One connection of an [`Engine`], unique for the engine's life (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer-{}", self.0)
    }
}

/// Where a picture comes from: the capture (the preview), or one remote track of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameOrigin {
    Local,
    /// `track`: the number of the `webrtcbin` pad that carried it (one per remote stream).
    Remote {
        peer: PeerId,
        track: u32,
    },
}

impl FrameOrigin {
    pub fn source(&self) -> FrameSource {
        match self {
            FrameOrigin::Local => FrameSource::Local,
            FrameOrigin::Remote { .. } => FrameSource::Remote,
        }
    }
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
    /// `signalingState` changed (read from webrtcbin, never computed).
    SignalingState {
        state: String,
    },
    /// `iceGatheringState` changed; `complete` stands for the browser's end-of-candidates.
    IceGatheringState {
        state: String,
    },
    /// A remote stream arrived; its pictures come as [`FrameOrigin::Remote`] with this `track`.
    Track {
        kind: MediaKind,
        track: u32,
    },
    Error {
        message: String,
    },
    /// A data channel ([`CHAT`] or [`FILES`]) opened or closed.
    DataState {
        channel: u16,
        state: DataState,
    },
    /// The bytes waiting on a data channel dropped below [`LOW_WATER`]
    /// (`bufferedamountlow`).
    DataBufferedLow {
        channel: u16,
    },
}

/// Receives events and frames. Called from GStreamer's threads: return quickly.
pub trait Observer: Send + Sync + 'static {
    /// `peer`: the connection the event is about; `None` for the capture's own (a camera error).
    fn event(&self, peer: Option<PeerId>, event: EngineEvent);
    fn frame(&self, origin: FrameOrigin, frame: Frame);
    /// A message arrived on data channel `channel` ([`CHAT`] or [`FILES`]) of `peer`. Called
    /// for every message, in order; the payload is only borrowed for the call.
    fn data(&self, peer: PeerId, channel: u16, kind: DataKind, payload: &[u8]);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioOutput {
    /// The system's default speaker.
    Speaker,
    /// Decoded and measured, not played (tests, and machines without sound).
    Discard,
}

/// How the picture is encoded for several connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// One VP8 encoder per connection: each gets its own key frames (a lost packet on one link
    /// costs only that link a key frame) and could get its own bitrate, at one encoder's CPU per
    /// connection.
    PerPeer,
    /// One VP8 encoder for everyone, its RTP packets teed to each connection: one encoder's CPU
    /// whatever the number of connections; a key frame asked for by one goes to all.
    #[default]
    Shared,
}

/// What the capture opens. Connections are added with [`Engine::add_peer`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub capture: Capture,
    /// Open the camera at start. `false`: the camera stays closed (its light off, no source
    /// element made) until [`Engine::set_camera`]`(true)`.
    pub video: bool,
    pub audio_output: AudioOutput,
    pub encoding: Encoding,
}

/// One connection's settings, as `RTCConfiguration`.
#[derive(Debug, Clone, Default)]
pub struct PeerConfig {
    pub ice_servers: Vec<IceServer>,
    /// Only relayed (TURN) candidates, as `iceTransportPolicy: "relay"` in a browser: the other
    /// side never learns this machine's addresses.
    pub relay_only: bool,
}

/// Figures about the capture and one connection so far.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Pictures captured (and shown as the preview) since the capture opened.
    pub local_frames: u64,
    /// How many times a camera source element was made (opened) since the capture started.
    pub camera_opens: u64,
    /// Pictures of the shared screen captured since the capture opened.
    pub screen_frames: u64,
    /// Pictures received from this connection (every remote video track).
    pub remote_frames: u64,
    /// The connection's remote sound, loudest channel, dBFS; `None` before any sound.
    pub remote_level_db: Option<f64>,
}

/// Every GStreamer element factory the engine makes or needs, checked at start so a missing plugin
/// is named before a call, not in the middle of one.
const FACTORIES: &[&str] = &[
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
    "tee",
    "valve",
    "input-selector",
    "autoaudiosink",
    "queue",
    "capsfilter",
    "videoconvert",
    "videoscale",
    "videorate",
    "audioconvert",
    "audioresample",
    "volume",
    "appsink",
    "fakesink",
];

/// Makes sure GStreamer is initialised and has what a call needs.
pub fn init() -> Result<(), EngineError> {
    gst::init().map_err(|e| EngineError::Init(e.to_string()))?;
    for plugin in FACTORIES {
        if gst::ElementFactory::find(plugin).is_none() {
            return Err(EngineError::MissingPlugin(plugin));
        }
    }
    Ok(())
}

pub(crate) fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

pub(crate) fn enum_nick(value: &glib::Value) -> String {
    glib::EnumValue::from_value(value)
        .map(|(_, v)| v.nick().to_string())
        .unwrap_or_default()
}

/// Makes an element of `factory`, named `name` (names are for logs and debugging only: the
/// engine keeps typed handles and never looks elements up by name).
pub(crate) fn make(factory: &str, name: &str) -> Result<gst::Element, EngineError> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| EngineError::MissingPlugin(plugin_name(factory)))
}

/// The `'static` name of a factory the engine uses, for [`EngineError::MissingPlugin`].
fn plugin_name(factory: &str) -> &'static str {
    FACTORIES
        .iter()
        .find(|k| **k == factory)
        .copied()
        .unwrap_or("gstreamer1.0-plugins-base")
}

/// A `capsfilter` holding `caps`.
pub(crate) fn capsfilter(name: &str, caps: &str) -> Result<gst::Element, EngineError> {
    let caps: gst::Caps = caps
        .parse()
        .map_err(|e: glib::BoolError| EngineError::Pipeline(e.to_string()))?;
    let filter = make("capsfilter", name)?;
    filter.set_property("caps", &caps);
    Ok(filter)
}

/// A queue holding at most `buffers` buffers (and no byte or time limit) that drops the oldest
/// when full, so a slow branch loses pictures instead of holding up the others.
pub(crate) fn leaky_queue(name: &str, buffers: u32) -> Result<gst::Element, EngineError> {
    let queue = make("queue", name)?;
    queue.set_property("max-size-buffers", buffers);
    queue.set_property("max-size-bytes", 0u32);
    queue.set_property("max-size-time", 0u64);
    queue.set_property_from_str("leaky", "downstream");
    Ok(queue)
}
