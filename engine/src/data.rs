//! A connection's two data channels, made with it and kept for its whole life: `chat` (id 0)
//! and `files` (id 1), both pre-negotiated (`negotiated: true`, fixed ids, ordered, reliable),
//! so the first description already carries the one `m=application` section and no channel
//! ever needs a renegotiation. The browser makes the same two before its first description.
//!
//! They are never closed one by one: GStreamer 1.22.0's data-channel close deadlocks and leaks
//! (fixed in 1.22.3), so they end with the connection's `webrtcbin`.
//!
//! What is sent waits in the channel's own queue (webrtcbin's `bufferedAmount`); a send is
//! refused ([`EngineError::DataBusy`]) while more than [`HIGH_WATER`] bytes wait, and the owner
//! is told ([`EngineEvent::DataBufferedLow`]) when the queue drops below [`LOW_WATER`], as a
//! browser's `bufferedamountlow`. What arrives goes straight to the [`Observer`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gst::glib;
use gst::prelude::*;
use serde::Serialize;

use crate::{EngineError, EngineEvent, Observer, PeerId};

/// The chat channel's id.
pub const CHAT: u16 = 0;
/// The file-transfer channel's id.
pub const FILES: u16 = 1;
/// Every channel a connection has: its id and label.
const CHANNELS: [(u16, &str); 2] = [(CHAT, "chat"), (FILES, "files")];

/// Bytes waiting to be sent above which a send is refused: 4 MiB, the page's high-water mark.
pub const HIGH_WATER: u64 = 4 * 1024 * 1024;
/// `bufferedAmountLowThreshold`: 256 KiB.
pub const LOW_WATER: u64 = 256 * 1024;
/// The largest message sent: 64 KiB, the SCTP default webrtcbin's descriptions imply (they
/// carry no `max-message-size`, so a browser sends at most that to it too). Longer ones are
/// refused ([`EngineError::DataTooLarge`]); files go in chunks of about 16 KiB.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Whether a message is text (UTF-8) or bytes, as a browser's `string` or `ArrayBuffer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    Text,
    Binary,
}

/// A data channel's `readyState`, as far as the page cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataState {
    Open,
    Closed,
}

struct Channel {
    id: u16,
    channel: gst_webrtc::WebRTCDataChannel,
    /// Whether `open` was told and `closed` not yet (so each is told once).
    open: Arc<AtomicBool>,
}

/// The data channels of one connection.
pub(crate) struct DataChannels {
    channels: Vec<Channel>,
    peer: PeerId,
    observer: Arc<dyn Observer>,
}

impl DataChannels {
    /// Makes every channel on `webrtc` (before any description) and routes what they do to
    /// `observer`.
    pub fn create(
        webrtc: &gst::Element,
        peer: PeerId,
        observer: Arc<dyn Observer>,
    ) -> Result<DataChannels, EngineError> {
        let mut channels = Vec::with_capacity(CHANNELS.len());
        for (id, label) in CHANNELS {
            let init = gst::Structure::builder("config")
                .field("negotiated", true)
                .field("id", i32::from(id))
                .field("ordered", true)
                .build();
            let channel = webrtc
                .emit_by_name::<Option<gst_webrtc::WebRTCDataChannel>>(
                    "create-data-channel",
                    &[&label, &init],
                )
                .ok_or_else(|| {
                    EngineError::Pipeline(format!("webrtcbin made no `{label}` data channel"))
                })?;
            channel.set_buffered_amount_low_threshold(LOW_WATER);
            let open = Arc::new(AtomicBool::new(false));
            wire(&channel, id, peer, &observer, &open);
            channels.push(Channel { id, channel, open });
        }
        Ok(DataChannels {
            channels,
            peer,
            observer,
        })
    }

    fn channel(&self, id: u16) -> Result<&Channel, EngineError> {
        self.channels
            .iter()
            .find(|c| c.id == id)
            .ok_or(EngineError::NoDataChannel(id))
    }

    /// Queues `payload` on channel `id`; returns the bytes waiting afterwards
    /// (`bufferedAmount`). Refused while more than [`HIGH_WATER`] wait, when the channel is not
    /// open, and for text that is not UTF-8 or a message over [`MAX_MESSAGE`].
    pub fn send(&self, id: u16, kind: DataKind, payload: &[u8]) -> Result<u64, EngineError> {
        let channel = self.channel(id)?;
        if channel.channel.ready_state() != gst_webrtc::WebRTCDataChannelState::Open {
            return Err(EngineError::DataClosed(id));
        }
        if payload.len() > MAX_MESSAGE {
            return Err(EngineError::DataTooLarge(payload.len()));
        }
        let waiting = channel.channel.buffered_amount();
        if waiting > HIGH_WATER {
            return Err(EngineError::DataBusy(waiting));
        }
        let sent = match kind {
            DataKind::Text => {
                let text = std::str::from_utf8(payload).map_err(|_| EngineError::DataNotText)?;
                channel.channel.send_string_full(Some(text))
            }
            DataKind::Binary => channel
                .channel
                .send_data_full(Some(&glib::Bytes::from(payload))),
        };
        sent.map_err(|e| match channel.channel.ready_state() {
            gst_webrtc::WebRTCDataChannelState::Open => EngineError::DataSend(e.to_string()),
            _ => EngineError::DataClosed(id),
        })?;
        Ok(channel.channel.buffered_amount())
    }

    /// The bytes waiting on channel `id` (`bufferedAmount`).
    pub fn buffered(&self, id: u16) -> Result<u64, EngineError> {
        Ok(self.channel(id)?.channel.buffered_amount())
    }

    /// Says `closed` for every channel that was open (the connection ends). The channels
    /// themselves are not closed: they end with the `webrtcbin`.
    pub fn ended(&self) {
        for channel in &self.channels {
            if channel.open.swap(false, Ordering::AcqRel) {
                self.observer.event(
                    Some(self.peer),
                    EngineEvent::DataState {
                        channel: channel.id,
                        state: DataState::Closed,
                    },
                );
            }
        }
    }
}

/// Routes one channel's messages, state changes and low-water mark to `observer`.
fn wire(
    channel: &gst_webrtc::WebRTCDataChannel,
    id: u16,
    peer: PeerId,
    observer: &Arc<dyn Observer>,
    open: &Arc<AtomicBool>,
) {
    let (to, is_open) = (observer.clone(), open.clone());
    channel.connect_on_open(move |_| {
        if !is_open.swap(true, Ordering::AcqRel) {
            to.event(
                Some(peer),
                EngineEvent::DataState {
                    channel: id,
                    state: DataState::Open,
                },
            );
        }
    });
    let (to, is_open) = (observer.clone(), open.clone());
    channel.connect_on_close(move |_| {
        if is_open.swap(false, Ordering::AcqRel) {
            to.event(
                Some(peer),
                EngineEvent::DataState {
                    channel: id,
                    state: DataState::Closed,
                },
            );
        }
    });
    let to = observer.clone();
    channel.connect_on_error(move |_, error| {
        to.event(
            Some(peer),
            EngineEvent::Error {
                message: format!("data channel {id}: {error}"),
            },
        );
    });
    let to = observer.clone();
    channel.connect_on_message_string(move |_, text| {
        to.data(peer, id, DataKind::Text, text.unwrap_or("").as_bytes());
    });
    let to = observer.clone();
    channel.connect_on_message_data(move |_, bytes| {
        let payload = bytes.map(|b| b.as_ref()).unwrap_or(&[]);
        to.data(peer, id, DataKind::Binary, payload);
    });
    let to = observer.clone();
    channel.connect_on_buffered_amount_low(move |_| {
        to.event(Some(peer), EngineEvent::DataBufferedLow { channel: id });
    });
}
