//! The capture every connection shares: the camera and the microphone, each opened once and
//! split by a `tee`; the camera closed and opened again (video off and on), devices switched;
//! the preview's frames; the microphone's level; and, with [`Encoding::Shared`], the one VP8
//! encoder whose packets are teed to every connection.
//!
//! ```text
//! camera ─▶ videoconvert ▶ videoscale ▶ videorate ▶ I420 WxH@FPS ▶ tee ┬▶ queue ▶ jpegenc ▶ appsink (preview)
//!                                                                      ├▶ (Shared) queue ▶ valve ▶ vp8enc ▶ rtpvp8pay ▶ tee ┬▶ peer …
//!                                                                      └▶ (PerPeer) peer …                                  └▶ peer …
//! microphone ─▶ audioconvert ▶ audioresample ▶ volume (mute) ▶ level ▶ tee ┬▶ peer …
//!                                                                          └▶ peer …
//! ```
//!
//! A capture started with the video off makes no camera source at all until
//! [`CaptureGraph::set_camera`]`(true)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gst::prelude::*;

use crate::devices;
use crate::receive::{appsink, hand_over};
use crate::sdp::{AUDIO_RTP_CAPS, VIDEO_RTP_CAPS};
use crate::{
    capsfilter, leaky_queue, make, Capture, Encoding, EngineConfig, EngineError, FrameOrigin,
    MediaKind, Observer, FPS, HEIGHT, JPEG_QUALITY, WIDTH,
};

/// Pictures waiting for the preview's JPEG encoder: one; older ones are dropped.
const PREVIEW_QUEUE: u32 = 1;
/// Pictures waiting for the shared VP8 encoder: two; the oldest is dropped when full.
const ENCODE_QUEUE: u32 = 2;

/// What the capture has done so far.
#[derive(Debug)]
pub(crate) struct CaptureCounters {
    pub local_frames: AtomicU64,
    pub camera_opens: AtomicU64,
    /// The microphone's level as sent (after the mute), dBFS as f64 bits; NaN before any sound.
    pub microphone_db: AtomicU64,
}

impl Default for CaptureCounters {
    fn default() -> Self {
        CaptureCounters {
            local_frames: AtomicU64::new(0),
            camera_opens: AtomicU64::new(0),
            microphone_db: AtomicU64::new(f64::NAN.to_bits()),
        }
    }
}

impl CaptureCounters {
    pub fn microphone_db(&self) -> Option<f64> {
        let level = f64::from_bits(self.microphone_db.load(Ordering::Relaxed));
        (!level.is_nan()).then_some(level)
    }
}

/// The devices open now and the choices that reopen them.
#[derive(Default)]
struct Sources {
    video: Option<gst::Element>,
    audio: Option<gst::Element>,
    /// The camera chosen last (`None`: the system's default), opened when the video comes on.
    camera: Option<String>,
    /// Whether the person wants the camera on; `false` keeps it closed whatever else happens.
    camera_on: bool,
}

/// The one VP8 encoder of [`Encoding::Shared`].
struct SharedEncoder {
    /// Closed while no connection sends the picture, so a preview costs no encoding.
    valve: gst::Element,
    /// RTP packets, one branch per connection.
    tee: gst::Element,
    /// Connections sending the picture now.
    senders: Mutex<usize>,
}

pub(crate) struct CaptureGraph {
    pipeline: gst::Pipeline,
    capture: Capture,
    /// Where a camera source is linked.
    video_in: gst::Element,
    /// Raw pictures at the engine's size and rate.
    video_tee: gst::Element,
    /// Where a microphone source is linked.
    audio_in: gst::Element,
    /// Raw sound after the mute.
    audio_tee: gst::Element,
    volume: gst::Element,
    microphone_level: gst::Element,
    shared: Option<SharedEncoder>,
    sources: Mutex<Sources>,
    pub counters: Arc<CaptureCounters>,
}

/// `vp8enc ! rtpvp8pay ! caps`, tuned for real time: no look-ahead, fastest preset, constant
/// bitrate, a key frame at least every two seconds so a late joiner or a lost packet recovers
/// quickly.
pub(crate) fn vp8_encoder(prefix: &str) -> Result<Vec<gst::Element>, EngineError> {
    let encoder = make("vp8enc", &format!("{prefix}-vp8enc"))?;
    for (property, value) in [
        ("deadline", "1"),
        ("cpu-used", "8"),
        ("end-usage", "cbr"),
        ("target-bitrate", "1200000"),
        ("lag-in-frames", "0"),
        ("keyframe-max-dist", "60"),
        ("threads", "2"),
    ] {
        encoder.set_property_from_str(property, value);
    }
    let payloader = make("rtpvp8pay", &format!("{prefix}-vp8pay"))?;
    payloader.set_property("pt", 96u32);
    payloader.set_property_from_str("picture-id-mode", "15-bit");
    let caps = capsfilter(&format!("{prefix}-vp8caps"), VIDEO_RTP_CAPS)?;
    Ok(vec![encoder, payloader, caps])
}

/// `audioconvert ! opusenc ! rtpopuspay ! caps`: 48 kbit/s in 20 ms frames.
pub(crate) fn opus_encoder(prefix: &str) -> Result<Vec<gst::Element>, EngineError> {
    let convert = make("audioconvert", &format!("{prefix}-audioconvert"))?;
    let encoder = make("opusenc", &format!("{prefix}-opusenc"))?;
    encoder.set_property_from_str("bitrate", "48000");
    encoder.set_property_from_str("frame-size", "20");
    let payloader = make("rtpopuspay", &format!("{prefix}-opuspay"))?;
    payloader.set_property("pt", 111u32);
    let caps = capsfilter(&format!("{prefix}-opuscaps"), AUDIO_RTP_CAPS)?;
    Ok(vec![convert, encoder, payloader, caps])
}

/// A tee that carries on when it has no branch (no connection yet).
fn tee(name: &str) -> Result<gst::Element, EngineError> {
    let tee = make("tee", name)?;
    tee.set_property("allow-not-linked", true);
    Ok(tee)
}

/// Adds `chain` to `pipeline` and links it in order.
fn add_chain(pipeline: &gst::Pipeline, chain: &[&gst::Element]) -> Result<(), EngineError> {
    pipeline.add_many(chain.iter().copied())?;
    gst::Element::link_many(chain.iter().copied())?;
    Ok(())
}

impl CaptureGraph {
    /// Builds the capture into `pipeline` (not yet playing) and opens the microphone, and the
    /// camera if `config.video`.
    pub fn new(
        pipeline: &gst::Pipeline,
        config: &EngineConfig,
        observer: Arc<dyn Observer>,
    ) -> Result<CaptureGraph, EngineError> {
        let video_in = make("videoconvert", "capture-videoconvert")?;
        let scale = make("videoscale", "capture-videoscale")?;
        let rate = make("videorate", "capture-videorate")?;
        let size = capsfilter(
            "capture-videocaps",
            &format!(
                "video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1,pixel-aspect-ratio=1/1"
            ),
        )?;
        let video_tee = tee("capture-videotee")?;
        add_chain(pipeline, &[&video_in, &scale, &rate, &size, &video_tee])?;

        // The preview.
        let preview_queue = leaky_queue("preview-queue", PREVIEW_QUEUE)?;
        let jpeg = make("jpegenc", "preview-jpeg")?;
        jpeg.set_property("quality", JPEG_QUALITY);
        let preview = appsink("preview-frames")?;
        pipeline.add_many([&preview_queue, &jpeg, preview.upcast_ref()])?;
        gst::Element::link_many([&video_tee, &preview_queue, &jpeg, preview.upcast_ref()])?;
        let counters = Arc::new(CaptureCounters::default());
        let frames = counters.clone();
        let preview_observer = observer.clone();
        hand_over(&jpeg, &preview, move |frame| {
            frames.local_frames.fetch_add(1, Ordering::Relaxed);
            preview_observer.frame(FrameOrigin::Local, frame);
        })?;

        let shared = match config.encoding {
            Encoding::PerPeer => None,
            Encoding::Shared => {
                let queue = leaky_queue("shared-encode-queue", ENCODE_QUEUE)?;
                let valve = make("valve", "shared-encode-valve")?;
                valve.set_property("drop", true);
                crate::peer::forward_sticky_events(&valve);
                let encoder = vp8_encoder("shared")?;
                let rtp_tee = tee("shared-rtptee")?;
                pipeline.add_many([&queue, &valve, &rtp_tee])?;
                pipeline.add_many(&encoder)?;
                let mut chain = vec![&video_tee, &queue, &valve];
                chain.extend(encoder.iter());
                chain.push(&rtp_tee);
                gst::Element::link_many(chain)?;
                Some(SharedEncoder {
                    valve,
                    tee: rtp_tee,
                    senders: Mutex::new(0),
                })
            }
        };

        let audio_in = make("audioconvert", "capture-audioconvert")?;
        let resample = make("audioresample", "capture-audioresample")?;
        let volume = make("volume", "capture-volume")?;
        let microphone_level = make("level", "capture-level")?;
        microphone_level.set_property("interval", 100_000_000u64);
        microphone_level.set_property("post-messages", true);
        let audio_tee = tee("capture-audiotee")?;
        add_chain(
            pipeline,
            &[&audio_in, &resample, &volume, &microphone_level, &audio_tee],
        )?;

        let (camera, microphone) = match &config.capture {
            Capture::Test => (None, None),
            Capture::Devices { camera, microphone } => (camera.clone(), microphone.clone()),
        };
        let graph = CaptureGraph {
            pipeline: pipeline.clone(),
            capture: config.capture.clone(),
            video_in,
            video_tee,
            audio_in,
            audio_tee,
            volume,
            microphone_level,
            shared,
            sources: Mutex::new(Sources {
                camera: camera.clone(),
                camera_on: config.video,
                ..Sources::default()
            }),
            counters,
        };
        if let Some(src) =
            devices::source(&config.capture, MediaKind::Audio, microphone.as_deref())?
        {
            graph.attach(MediaKind::Audio, src)?;
        } else {
            tracing::info!("no microphone: the calls will not send sound");
        }
        if config.video {
            match devices::source(&config.capture, MediaKind::Video, camera.as_deref())? {
                Some(src) => graph.attach(MediaKind::Video, src)?,
                None => tracing::info!("no camera: the calls will not send a picture"),
            }
        }
        Ok(graph)
    }

    /// Where a connection takes the picture from: raw pictures to encode itself, or the
    /// shared encoder's packets.
    pub fn video_tee(&self) -> (&gst::Element, bool) {
        match &self.shared {
            Some(shared) => (&shared.tee, true),
            None => (&self.video_tee, false),
        }
    }

    pub fn audio_tee(&self) -> &gst::Element {
        &self.audio_tee
    }

    pub fn is_microphone_level(&self, element: &gst::Object) -> bool {
        element == self.microphone_level.upcast_ref::<gst::Object>()
    }

    /// One connection more (`true`) or less sends the picture: the shared encoder runs while
    /// any does, and a connection that starts gets a key frame to start from.
    pub fn video_senders_changed(&self, sending: bool) {
        let Some(shared) = &self.shared else { return };
        {
            let mut senders = shared
                .senders
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *senders = if sending {
                *senders + 1
            } else {
                senders.saturating_sub(1)
            };
            shared.valve.set_property("drop", *senders == 0);
        }
        if sending {
            self.request_key_frame();
        }
    }

    /// Asks the shared encoder for a key frame (a connection that starts needs one).
    pub fn request_key_frame(&self) {
        let Some(shared) = &self.shared else { return };
        let event = gst::event::CustomUpstream::new(
            gst::Structure::builder("GstForceKeyUnit")
                .field("all-headers", true)
                .field("count", 0u32)
                .build(),
        );
        if let Some(pad) = shared.tee.static_pad("sink") {
            pad.push_event(event);
        }
    }

    /// Mutes the microphone (`track.enabled = false`): every connection gets silence.
    pub fn set_microphone_enabled(&self, enabled: bool) {
        self.volume.set_property("mute", !enabled);
    }

    pub fn camera_on(&self) -> bool {
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .camera_on
    }

    /// Closes the camera for every connection (its light goes off, nothing more is captured)
    /// or opens the one chosen last again.
    pub fn set_camera(&self, on: bool) -> Result<(), EngineError> {
        let (old, camera) = {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            sources.camera_on = on;
            if on && sources.video.is_some() {
                return Ok(());
            }
            (
                if on { None } else { sources.video.take() },
                sources.camera.clone(),
            )
        };
        if let Some(old) = old {
            self.detach(old)?;
        }
        if !on {
            return Ok(());
        }
        match devices::source(&self.capture, MediaKind::Video, camera.as_deref())? {
            Some(src) => self.attach(MediaKind::Video, src),
            // Unplugged while the video was off: the call goes on without a picture.
            None => Err(EngineError::NoDevice("the camera is gone".into())),
        }
    }

    /// Switches to another camera or microphone, for every connection, without renegotiating.
    /// With the video off the camera stays closed; video on opens this one.
    pub fn switch_device(&self, kind: MediaKind, device_id: &str) -> Result<(), EngineError> {
        if kind == MediaKind::Video {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            sources.camera = Some(device_id.to_string());
            if !sources.camera_on {
                return Ok(());
            }
        }
        let old = {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            match kind {
                MediaKind::Video => sources.video.take(),
                MediaKind::Audio => sources.audio.take(),
            }
        };
        // The old device is released before the new one opens: one camera cannot be opened twice.
        if let Some(old) = old {
            self.detach(old)?;
        }
        let new = devices::source(&self.capture, kind, Some(device_id))?
            .ok_or_else(|| EngineError::NoDevice(device_id.to_string()))?;
        self.attach(kind, new)
    }

    fn attach(&self, kind: MediaKind, src: gst::Element) -> Result<(), EngineError> {
        let input = match kind {
            MediaKind::Video => &self.video_in,
            MediaKind::Audio => &self.audio_in,
        };
        self.pipeline.add(&src)?;
        src.link(input)?;
        src.sync_state_with_parent()?;
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        match kind {
            MediaKind::Video => {
                self.counters.camera_opens.fetch_add(1, Ordering::Relaxed);
                sources.video = Some(src);
            }
            MediaKind::Audio => sources.audio = Some(src),
        }
        Ok(())
    }

    fn detach(&self, src: gst::Element) -> Result<(), EngineError> {
        src.set_state(gst::State::Null)?;
        self.pipeline.remove(&src)?;
        Ok(())
    }
}
