//! The capture every connection shares: the camera and the microphone, each opened once and
//! split by a `tee`; the camera closed and opened again (video off and on), devices switched;
//! the shared screen standing in for the camera; the preview's frames; the microphone's level;
//! how every VP8 encoder is tuned (camera or screen); and, with [`Encoding::Shared`], the one
//! VP8 encoder whose packets are teed to every connection.
//!
//! ```text
//! camera ─▶ videoconvert ▶ videoscale ▶ videorate ▶ I420 WxH@FPS ──────────────────┐
//!                                                                  input-selector ─▶ tee ┬▶ queue ▶ jpegenc ▶ appsink (preview)
//! screen ─▶ videorate ▶ 15 fps ▶ videoconvert ▶ videoscale ▶ I420 ≤1920x1080 ──────┘     ├▶ (Shared) queue ▶ valve ▶ vp8enc ▶ rtpvp8pay ▶ tee ┬▶ peer …
//!                                                                                        └▶ (PerPeer) peer …                                  └▶ peer …
//! microphone ─▶ audioconvert ▶ audioresample ▶ volume (mute) ▶ level ▶ tee ┬▶ peer …
//!                                                                          └▶ peer …
//! ```
//!
//! Sharing the screen switches the selector to the screen, so every connection's existing video
//! track carries it (no renegotiation; the encoders follow the new size), and tunes every
//! encoder for it ([`SCREEN`]: a higher bitrate, unchanged blocks skipped); stopping switches
//! back to the camera, which stayed as the person left it (open or closed). The screen's source
//! exists only while it is shared.
//!
//! A capture started with the video off makes no camera source at all until
//! [`CaptureGraph::set_camera`]`(true)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;

use crate::devices;
use crate::receive::{appsink, hand_over};
use crate::screen::{
    ScreenInfo, ScreenSource, SCREEN_BITRATE, SCREEN_FPS, SCREEN_MAX_HEIGHT, SCREEN_MAX_WIDTH,
};
use crate::sdp::{AUDIO_RTP_CAPS, VIDEO_RTP_CAPS};
use crate::{
    capsfilter, leaky_queue, make, Capture, Encoding, EngineConfig, EngineError, FrameOrigin,
    MediaKind, Observer, CAMERA_BITRATE, FPS, HEIGHT, JPEG_QUALITY, WIDTH,
};

/// Pictures waiting for the preview's JPEG encoder: one; older ones are dropped.
const PREVIEW_QUEUE: u32 = 1;
/// Pictures waiting for the shared VP8 encoder: two; the oldest is dropped when full.
const ENCODE_QUEUE: u32 = 2;
/// How long sharing waits for the screen's first picture (its size) before giving up.
const SCREEN_START: Duration = Duration::from_secs(5);

/// What the capture has done so far.
#[derive(Debug)]
pub(crate) struct CaptureCounters {
    pub local_frames: AtomicU64,
    pub camera_opens: AtomicU64,
    /// Pictures of the shared screen captured.
    pub screen_frames: AtomicU64,
    /// The microphone's level as sent (after the mute), dBFS as f64 bits; NaN before any sound.
    pub microphone_db: AtomicU64,
}

impl Default for CaptureCounters {
    fn default() -> Self {
        CaptureCounters {
            local_frames: AtomicU64::new(0),
            camera_opens: AtomicU64::new(0),
            screen_frames: AtomicU64::new(0),
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

/// How a VP8 encoder is set for what it encodes.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    /// `target-bitrate`, bits per second.
    bitrate: u32,
    /// `static-threshold`: how much a block must change to be encoded again; vp8enc's default
    /// (1) for a camera, 100 for a screen (its documented advice), whose blocks mostly stay.
    static_threshold: u32,
}

const CAMERA: Tuning = Tuning {
    bitrate: CAMERA_BITRATE,
    static_threshold: 1,
};
const SCREEN: Tuning = Tuning {
    bitrate: SCREEN_BITRATE,
    static_threshold: 100,
};

impl Tuning {
    fn apply(&self, encoder: &gst::Element) {
        encoder.set_property_from_str("target-bitrate", &self.bitrate.to_string());
        encoder.set_property_from_str("static-threshold", &self.static_threshold.to_string());
    }
}

/// Every VP8 encoder of this capture (the shared one, or one per connection) and how they are
/// tuned: for the camera, or for the screen while it is shared.
struct Encoders {
    tuning: Tuning,
    /// Weak: an encoder goes with its connection.
    list: Vec<glib::WeakRef<gst::Element>>,
}

/// The picture switch in front of the video tee.
struct Selector {
    selector: gst::Element,
    camera: gst::Pad,
    screen: gst::Pad,
    /// Where a screen source is linked.
    screen_in: gst::Element,
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
    selector: Selector,
    encoders: Mutex<Encoders>,
    /// Where a microphone source is linked.
    audio_in: gst::Element,
    /// Raw sound after the mute.
    audio_tee: gst::Element,
    volume: gst::Element,
    microphone_level: gst::Element,
    shared: Option<SharedEncoder>,
    sources: Mutex<Sources>,
    /// The shared screen's source while it is shared. Held while sharing starts (up to
    /// [`SCREEN_START`]), so two shares or a share and a stop never interleave; nothing else
    /// takes it.
    screen: Mutex<Option<gst::Element>>,
    pub counters: Arc<CaptureCounters>,
}

/// `vp8enc ! rtpvp8pay ! caps`, tuned for real time: no look-ahead, fastest preset, constant
/// bitrate, a key frame at least every two seconds so a late joiner or a lost packet recovers
/// quickly. The encoder comes first.
fn vp8_encoder(prefix: &str, tuning: Tuning) -> Result<Vec<gst::Element>, EngineError> {
    let encoder = make("vp8enc", &format!("{prefix}-vp8enc"))?;
    tuning.apply(&encoder);
    for (property, value) in [
        ("deadline", "1"),
        ("cpu-used", "8"),
        ("end-usage", "cbr"),
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

/// A new input of `selector`, fed by `from`.
fn request_linked(selector: &gst::Element, from: &gst::Element) -> Result<gst::Pad, EngineError> {
    let pad = selector
        .request_pad_simple("sink_%u")
        .ok_or_else(|| EngineError::Pipeline("input-selector gave no pad".into()))?;
    let output = from
        .static_pad("src")
        .ok_or_else(|| EngineError::Pipeline("no source pad".into()))?;
    output
        .link(&pad)
        .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
    Ok(pad)
}

/// The size in `pad`'s current caps.
fn picture_size(pad: &gst::Pad) -> Option<ScreenInfo> {
    let caps = pad.current_caps()?;
    let s = caps.structure(0)?;
    Some(ScreenInfo {
        width: u32::try_from(s.get::<i32>("width").ok()?).ok()?,
        height: u32::try_from(s.get::<i32>("height").ok()?).ok()?,
    })
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
        // Inactive inputs drop their pictures at once instead of waiting for the active one.
        let selector = make("input-selector", "capture-selector")?;
        selector.set_property("sync-streams", false);
        add_chain(pipeline, &[&video_in, &scale, &rate, &size])?;
        pipeline.add_many([&selector, &video_tee])?;
        selector.link(&video_tee)?;
        let camera_pad = request_linked(&selector, &size)?;

        // The screen: at most SCREEN_FPS, fitted into the largest size sent.
        let screen_in = make("videorate", "screen-videorate")?;
        let screen_rate = capsfilter(
            "screen-ratecaps",
            &format!("video/x-raw,framerate={SCREEN_FPS}/1"),
        )?;
        let screen_convert = make("videoconvert", "screen-videoconvert")?;
        let screen_scale = make("videoscale", "screen-videoscale")?;
        let screen_size = capsfilter(
            "screen-sizecaps",
            &format!(
                "video/x-raw,format=I420,width=[1,{SCREEN_MAX_WIDTH}],height=[1,{SCREEN_MAX_HEIGHT}],pixel-aspect-ratio=1/1"
            ),
        )?;
        add_chain(
            pipeline,
            &[
                &screen_in,
                &screen_rate,
                &screen_convert,
                &screen_scale,
                &screen_size,
            ],
        )?;
        let screen_pad = request_linked(&selector, &screen_size)?;
        selector.set_property("active-pad", &camera_pad);
        let counters = Arc::new(CaptureCounters::default());
        let screen_frames = counters.clone();
        screen_pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            screen_frames.screen_frames.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });

        // The preview.
        let preview_queue = leaky_queue("preview-queue", PREVIEW_QUEUE)?;
        let jpeg = make("jpegenc", "preview-jpeg")?;
        jpeg.set_property("quality", JPEG_QUALITY);
        let preview = appsink("preview-frames")?;
        pipeline.add_many([&preview_queue, &jpeg, preview.upcast_ref()])?;
        gst::Element::link_many([&video_tee, &preview_queue, &jpeg, preview.upcast_ref()])?;
        let frames = counters.clone();
        let preview_observer = observer.clone();
        hand_over(&jpeg, &preview, move |frame| {
            frames.local_frames.fetch_add(1, Ordering::Relaxed);
            preview_observer.frame(FrameOrigin::Local, frame);
        })?;

        let (shared, shared_encoder) = match config.encoding {
            Encoding::PerPeer => (None, None),
            Encoding::Shared => {
                let queue = leaky_queue("shared-encode-queue", ENCODE_QUEUE)?;
                let valve = make("valve", "shared-encode-valve")?;
                valve.set_property("drop", true);
                crate::peer::forward_sticky_events(&valve);
                let encoder = vp8_encoder("shared", CAMERA)?;
                let rtp_tee = tee("shared-rtptee")?;
                pipeline.add_many([&queue, &valve, &rtp_tee])?;
                pipeline.add_many(&encoder)?;
                let mut chain = vec![&video_tee, &queue, &valve];
                chain.extend(encoder.iter());
                chain.push(&rtp_tee);
                gst::Element::link_many(chain)?;
                let weak = encoder.first().map(|e| e.downgrade());
                (
                    Some(SharedEncoder {
                        valve,
                        tee: rtp_tee,
                        senders: Mutex::new(0),
                    }),
                    weak,
                )
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
            selector: Selector {
                selector,
                camera: camera_pad,
                screen: screen_pad,
                screen_in,
            },
            encoders: Mutex::new(Encoders {
                tuning: CAMERA,
                list: shared_encoder.into_iter().collect(),
            }),
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
            screen: Mutex::new(None),
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

    /// `vp8enc ! rtpvp8pay ! caps` for one connection, tuned for what is sent now (the camera
    /// or the screen) and tuned again when that changes.
    pub fn vp8_encoder(&self, prefix: &str) -> Result<Vec<gst::Element>, EngineError> {
        let mut encoders = self.encoders.lock().unwrap_or_else(PoisonError::into_inner);
        let chain = vp8_encoder(prefix, encoders.tuning)?;
        encoders.list.retain(|e| e.upgrade().is_some());
        if let Some(encoder) = chain.first() {
            encoders.list.push(encoder.downgrade());
        }
        Ok(chain)
    }

    /// Tunes every encoder for what is sent now.
    fn tune(&self, tuning: Tuning) {
        let mut encoders = self.encoders.lock().unwrap_or_else(PoisonError::into_inner);
        encoders.tuning = tuning;
        encoders.list.retain(|e| e.upgrade().is_some());
        for encoder in encoders.list.iter().filter_map(|e| e.upgrade()) {
            tuning.apply(&encoder);
        }
    }

    /// Whether the screen is shared now.
    pub fn sharing_screen(&self) -> bool {
        self.screen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Sends the screen instead of the camera to every connection (and the preview), once its
    /// first picture is there; the camera stays as it is. Sharing again while shared changes
    /// nothing. Returns the size sent.
    pub fn share_screen(&self, source: &ScreenSource) -> Result<ScreenInfo, EngineError> {
        let mut screen = self.screen.lock().unwrap_or_else(PoisonError::into_inner);
        if screen.is_some() {
            return picture_size(&self.selector.screen)
                .ok_or_else(|| EngineError::NoScreen("the shared screen has no picture".into()));
        }
        let src = source.element()?;
        // The selector's input keeps the caps of an earlier share: a new picture says the size.
        let before = self.counters.screen_frames.load(Ordering::Relaxed);
        // Started on its own first (a live source opens its device going to PAUSED and sends
        // nothing until PLAYING): a display that cannot be opened is an answer, not an error on
        // the call's bus.
        if src.set_state(gst::State::Paused).is_err() {
            let _ = src.set_state(gst::State::Null);
            return Err(EngineError::NoScreen(match source {
                ScreenSource::X11 { display } => {
                    format!("the X11 display {display} could not be opened")
                }
                ScreenSource::Test { .. } => "the test screen could not start".into(),
            }));
        }
        self.pipeline.add(&src)?;
        let started = src
            .link(&self.selector.screen_in)
            .map_err(EngineError::from)
            .and_then(|_| src.sync_state_with_parent().map_err(EngineError::from))
            .and_then(|_| self.first_screen_picture(before));
        let size = match started {
            Ok(size) => size,
            Err(e) => {
                let _ = self.detach(src);
                return Err(e);
            }
        };
        *screen = Some(src);
        drop(screen);
        self.tune(SCREEN);
        self.selector
            .selector
            .set_property("active-pad", &self.selector.screen);
        self.request_key_frame();
        Ok(size)
    }

    /// Waits up to [`SCREEN_START`] for the screen's first picture (more than `before` counted)
    /// and returns its size.
    fn first_screen_picture(&self, before: u64) -> Result<ScreenInfo, EngineError> {
        let start = Instant::now();
        loop {
            if self.counters.screen_frames.load(Ordering::Relaxed) > before {
                if let Some(size) = picture_size(&self.selector.screen) {
                    return Ok(size);
                }
            }
            if start.elapsed() > SCREEN_START {
                return Err(EngineError::NoScreen(format!(
                    "no picture of the screen came within {} s",
                    SCREEN_START.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends the camera again (as the person left it: nothing while it is closed) and releases
    /// the screen. Stopping while not sharing changes nothing.
    pub fn stop_screen(&self) -> Result<(), EngineError> {
        let mut screen = self.screen.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(source) = screen.take() else {
            return Ok(());
        };
        self.selector
            .selector
            .set_property("active-pad", &self.selector.camera);
        self.tune(CAMERA);
        self.request_key_frame();
        self.detach(source)
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
