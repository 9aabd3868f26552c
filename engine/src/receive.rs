//! What arrives from a connection: each stream `webrtcbin` adds a pad for is decoded in the
//! peer's own bin; pictures are scaled down (to at most [`REMOTE_MAX_WIDTH`] wide), turned into
//! JPEGs and handed over (tagged with the peer and the track), sound is measured and played.
//! Also the JPEG hand-over the preview uses.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gst::prelude::*;

use crate::{
    capsfilter, leaky_queue, make, now_ms, AudioOutput, EngineError, EngineEvent, Frame,
    FrameOrigin, MediaKind, Observer, PeerId, JPEG_QUALITY, REMOTE_MAX_WIDTH,
};

/// When pictures (by timestamp) reached an encoder, oldest first; at most [`STAMPS`] kept.
type Stamps = VecDeque<(Option<gst::ClockTime>, f64)>;
const STAMPS: usize = 16;

/// Pictures waiting between a decoder and the JPEG encoder: the oldest is dropped when full.
const VIDEO_QUEUE: u32 = 2;
/// Sound waiting before the speaker: 50 Opus frames of 20 ms, one second; the oldest is dropped
/// when full (a glitch rather than a delay that grows).
const AUDIO_QUEUE: u32 = 50;

/// What one connection has received so far.
#[derive(Debug)]
pub(crate) struct ReceiveCounters {
    pub frames: AtomicU64,
    /// Loudest channel of the remote sound, dBFS, as f64 bits; NaN before any sound.
    pub level_db: AtomicU64,
}

impl Default for ReceiveCounters {
    fn default() -> Self {
        ReceiveCounters {
            frames: AtomicU64::new(0),
            level_db: AtomicU64::new(f64::NAN.to_bits()),
        }
    }
}

impl ReceiveCounters {
    pub fn level_db(&self) -> Option<f64> {
        let level = f64::from_bits(self.level_db.load(Ordering::Relaxed));
        (!level.is_nan()).then_some(level)
    }
}

/// One connection's receiving side: where its decoders go and whom they tell.
pub(crate) struct Receiver {
    pub bin: gst::Bin,
    pub peer: PeerId,
    pub observer: Arc<dyn Observer>,
    pub counters: Arc<ReceiveCounters>,
    pub audio_output: AudioOutput,
}

impl Receiver {
    /// Decodes whatever `pad` (a `webrtcbin` source pad) carries.
    pub fn decode(self: &Arc<Self>, pad: &gst::Pad) -> Result<(), EngineError> {
        let track = pad
            .name()
            .rsplit('_')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let decodebin = make("decodebin", &format!("decode-{track}"))?;
        let receiver = Arc::downgrade(self);
        decodebin.connect_pad_added(move |_, pad| {
            let Some(receiver) = receiver.upgrade() else {
                return;
            };
            if let Err(e) = receiver.play(pad, track) {
                receiver.observer.event(
                    Some(receiver.peer),
                    EngineEvent::Error {
                        message: e.to_string(),
                    },
                );
            }
        });
        self.bin.add(&decodebin)?;
        decodebin.sync_state_with_parent()?;
        let sink = decodebin
            .static_pad("sink")
            .ok_or_else(|| EngineError::Pipeline("decodebin has no sink".into()))?;
        pad.link(&sink)
            .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
        Ok(())
    }

    /// Shows or plays one decoded stream.
    fn play(&self, pad: &gst::Pad, track: u32) -> Result<(), EngineError> {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let name = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let (kind, chain) = if name.starts_with("video/") {
            (MediaKind::Video, self.video_chain(track)?)
        } else if name.starts_with("audio/") {
            (MediaKind::Audio, self.audio_chain(track)?)
        } else {
            return Ok(());
        };
        self.bin.add_many(&chain)?;
        gst::Element::link_many(&chain)?;
        for element in &chain {
            element.sync_state_with_parent()?;
        }
        let sink = chain
            .first()
            .and_then(|first| first.static_pad("sink"))
            .ok_or_else(|| EngineError::Pipeline("no sink pad".into()))?;
        pad.link(&sink)
            .map_err(|e| EngineError::Pipeline(format!("{e:?}")))?;
        self.observer
            .event(Some(self.peer), EngineEvent::Track { kind, track });
        Ok(())
    }

    fn video_chain(&self, track: u32) -> Result<Vec<gst::Element>, EngineError> {
        let queue = leaky_queue(&format!("video-queue-{track}"), VIDEO_QUEUE)?;
        let convert = make("videoconvert", &format!("video-convert-{track}"))?;
        let scale = make("videoscale", &format!("video-scale-{track}"))?;
        let size = capsfilter(
            &format!("video-size-{track}"),
            &format!("video/x-raw,width=[1,{REMOTE_MAX_WIDTH}],pixel-aspect-ratio=1/1"),
        )?;
        let jpeg = make("jpegenc", &format!("video-jpeg-{track}"))?;
        jpeg.set_property("quality", JPEG_QUALITY);
        let sink = appsink(&format!("video-frames-{track}"))?;
        let counters = self.counters.clone();
        let observer = self.observer.clone();
        let origin = FrameOrigin::Remote {
            peer: self.peer,
            track,
        };
        hand_over(&jpeg, &sink, move |frame| {
            counters.frames.fetch_add(1, Ordering::Relaxed);
            observer.frame(origin, frame);
        })?;
        Ok(vec![queue, convert, scale, size, jpeg, sink.upcast()])
    }

    fn audio_chain(&self, track: u32) -> Result<Vec<gst::Element>, EngineError> {
        let queue = leaky_queue(&format!("audio-queue-{track}"), AUDIO_QUEUE)?;
        let convert = make("audioconvert", &format!("audio-convert-{track}"))?;
        let resample = make("audioresample", &format!("audio-resample-{track}"))?;
        // Its messages are routed to this peer by the engine's bus handler.
        let level = make("level", &format!("audio-level-{track}"))?;
        level.set_property("interval", 100_000_000u64);
        level.set_property("post-messages", true);
        let sink = match self.audio_output {
            AudioOutput::Speaker => make("autoaudiosink", &format!("audio-out-{track}"))?,
            AudioOutput::Discard => {
                let sink = make("fakesink", &format!("audio-out-{track}"))?;
                sink.set_property("sync", true);
                sink
            }
        };
        Ok(vec![queue, convert, resample, level, sink])
    }
}

/// An appsink that keeps only the newest JPEG (one buffer; older ones dropped), does not wait
/// for the clock, and does not hold the pipeline's state changes until a picture comes (the
/// camera may be off).
pub(crate) fn appsink(name: &str) -> Result<gst_app::AppSink, EngineError> {
    make("appsink", name)?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| EngineError::Pipeline("not an appsink".into()))
        .inspect(|sink| {
            sink.set_property("sync", false);
            sink.set_property("async", false);
            sink.set_max_buffers(1);
            sink.set_drop(true);
        })
}

/// Hands `sink`'s JPEGs to `deliver`, each stamped with when its picture reached `encoder`
/// (matched by timestamp).
pub(crate) fn hand_over(
    encoder: &gst::Element,
    sink: &gst_app::AppSink,
    deliver: impl Fn(Frame) + Send + Sync + 'static,
) -> Result<(), EngineError> {
    let stamps: Arc<Mutex<Stamps>> = Arc::default();
    let input = encoder
        .static_pad("sink")
        .ok_or_else(|| EngineError::Pipeline("encoder has no sink".into()))?;
    let probe_stamps = stamps.clone();
    input.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            let mut stamps = probe_stamps.lock().unwrap_or_else(PoisonError::into_inner);
            if stamps.len() >= STAMPS {
                stamps.pop_front();
            }
            stamps.push_back((buffer.pts(), now_ms()));
        }
        gst::PadProbeReturn::Ok
    });
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
                deliver(Frame {
                    width: width.max(0) as u32,
                    height: height.max(0) as u32,
                    jpeg: map.as_slice().to_vec(),
                    at_ms,
                });
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(())
}
