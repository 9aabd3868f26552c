//! Decoded pictures on their way to the page: the newest one of each source kept in a slot that
//! the page long-polls, so a slow page drops frames instead of queueing them (each slot holds
//! one frame; a newer one replaces it).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hearth_engine::Frame;
use tokio::sync::watch;

/// Bytes before the JPEG in a frame message: sequence, width, height (u32 each, little endian),
/// 4 bytes of padding, then the wall-clock milliseconds the picture reached the encoder (f64).
pub const FRAME_HEADER: usize = 24;

/// How long a page's request for a frame waits for one before an empty reply.
const FRAME_WAIT: Duration = Duration::from_secs(1);

/// The newest picture of one source, ready to send.
pub struct FrameSlot {
    latest: watch::Sender<Option<Arc<Vec<u8>>>>,
    seq: AtomicU32,
}

impl Default for FrameSlot {
    fn default() -> Self {
        FrameSlot {
            latest: watch::channel(None).0,
            seq: AtomicU32::new(0),
        }
    }
}

impl FrameSlot {
    pub fn publish(&self, frame: &Frame) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut bytes = Vec::with_capacity(FRAME_HEADER + frame.jpeg.len());
        bytes.extend_from_slice(&seq.to_le_bytes());
        bytes.extend_from_slice(&frame.width.to_le_bytes());
        bytes.extend_from_slice(&frame.height.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&frame.at_ms.to_le_bytes());
        bytes.extend_from_slice(&frame.jpeg);
        self.latest.send_replace(Some(Arc::new(bytes)));
    }

    /// The newest frame after sequence number `after`, waiting up to [`FRAME_WAIT`] for one;
    /// empty if none came (the page simply asks again).
    pub async fn next(&self, after: u32) -> Vec<u8> {
        let mut latest = self.latest.subscribe();
        let wait = async {
            loop {
                let newest = latest.borrow_and_update().clone();
                if let Some(bytes) = newest {
                    let seq = bytes
                        .get(..4)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map(u32::from_le_bytes);
                    if seq != Some(after) {
                        return Some(bytes);
                    }
                }
                if latest.changed().await.is_err() {
                    return None;
                }
            }
        };
        match tokio::time::timeout(FRAME_WAIT, wait).await {
            Ok(Some(bytes)) => bytes.as_ref().clone(),
            _ => Vec::new(),
        }
    }
}
