//! Calls without the webview's WebRTC: the native engine (`hearth-engine`, GStreamer's webrtcbin)
//! behind commands that mirror `RTCPeerConnection`, its events on a channel, and its decoded
//! pictures handed to the UI by long polling, newest frame first, so a slow page drops frames
//! instead of queueing them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hearth_engine::{
    AudioOutput, Capture, DeviceInfo, Engine, EngineConfig, EngineError, EngineEvent, Frame,
    FrameSource, IceServer, MediaKind, Observer, Progress, SessionDescription,
};
use tauri::ipc::{Channel, Response};
use tauri::State;
use tokio::sync::{watch, Mutex};

use crate::error::CommandError;

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        let code = match e {
            EngineError::Init(_) | EngineError::MissingPlugin(_) => "native-unavailable",
            EngineError::NoDevice(_) => "no-device",
            EngineError::Closed => "closed",
            _ => "negotiation",
        };
        CommandError::new(code, e.to_string())
    }
}

/// Bytes before the JPEG in a frame message: sequence, width, height (u32 each, little endian),
/// 4 bytes of padding, then the wall-clock milliseconds the picture reached the encoder (f64).
pub const FRAME_HEADER: usize = 24;

/// The newest picture of one source, ready to send.
struct FrameSlot {
    latest: watch::Sender<Option<Arc<Vec<u8>>>>,
    seq: AtomicU32,
}

impl FrameSlot {
    fn new() -> Self {
        FrameSlot {
            latest: watch::channel(None).0,
            seq: AtomicU32::new(0),
        }
    }

    fn publish(&self, frame: Frame) {
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
}

struct Forward {
    events: Channel<EngineEvent>,
    local: Arc<FrameSlot>,
    remote: Arc<FrameSlot>,
}

impl Observer for Forward {
    fn event(&self, event: EngineEvent) {
        if let EngineEvent::Error { message } = &event {
            tracing::warn!("native engine: {message}");
        }
        let _ = self.events.send(event);
    }

    fn frame(&self, source: FrameSource, frame: Frame) {
        match source {
            FrameSource::Local => self.local.publish(frame),
            FrameSource::Remote => self.remote.publish(frame),
        }
    }
}

/// The engine of the current call (or of the preview between calls).
pub struct NativeState {
    engine: Mutex<Option<Arc<Engine>>>,
    local: Arc<FrameSlot>,
    remote: Arc<FrameSlot>,
}

impl Default for NativeState {
    fn default() -> Self {
        NativeState {
            engine: Mutex::new(None),
            local: Arc::new(FrameSlot::new()),
            remote: Arc::new(FrameSlot::new()),
        }
    }
}

impl NativeState {
    async fn engine(&self) -> Result<Arc<Engine>, CommandError> {
        self.engine
            .lock()
            .await
            .clone()
            .ok_or_else(|| CommandError::new("closed", "no native call is open"))
    }

    /// Stops the engine, if any: devices released, connection closed.
    pub async fn close(&self) {
        if let Some(engine) = self.engine.lock().await.take() {
            // Stopping a pipeline waits for its streaming threads; off the async workers, so a
            // slow device cannot stall the commands and events of everything else.
            let _ = tokio::task::spawn_blocking(move || engine.close()).await;
        }
    }
}

fn capture(camera: Option<String>, microphone: Option<String>) -> Capture {
    if crate::webview::fake_media() {
        Capture::Test
    } else {
        Capture::Devices { camera, microphone }
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeStatus {
    available: bool,
    message: Option<String>,
}

/// Whether calls can go through the native engine on this machine, and if not, why.
#[tauri::command]
pub fn native_status() -> NativeStatus {
    // Turning it off shows what people without GStreamer's plugins get (tests, troubleshooting).
    if std::env::var("HEARTH_NATIVE").is_ok_and(|v| v == "0") {
        return NativeStatus {
            available: false,
            message: Some("turned off by HEARTH_NATIVE=0".into()),
        };
    }
    match hearth_engine::init() {
        Ok(()) => NativeStatus {
            available: true,
            message: None,
        },
        Err(e) => NativeStatus {
            available: false,
            message: Some(e.to_string()),
        },
    }
}

#[tauri::command]
pub async fn native_devices() -> Result<Vec<DeviceInfo>, CommandError> {
    hearth_engine::init()?;
    let capture = capture(None, None);
    tauri::async_runtime::spawn_blocking(move || hearth_engine::list_devices(&capture))
        .await
        .map_err(|e| CommandError::new("native-unavailable", e.to_string()))
}

/// Opens camera and microphone and a fresh connection, replacing any before it.
#[tauri::command]
pub async fn native_open(
    state: State<'_, NativeState>,
    ice_servers: Vec<IceServer>,
    camera: Option<String>,
    microphone: Option<String>,
    relay_only: Option<bool>,
    events: Channel<EngineEvent>,
) -> Result<(), CommandError> {
    state.close().await;
    let observer = Arc::new(Forward {
        events,
        local: state.local.clone(),
        remote: state.remote.clone(),
    });
    let audio_output = if crate::webview::fake_media() {
        AudioOutput::Discard
    } else {
        AudioOutput::Speaker
    };
    let config = EngineConfig {
        ice_servers,
        relay_only: relay_only.unwrap_or(false),
        capture: capture(camera, microphone),
        audio_output,
    };
    let engine = tauri::async_runtime::spawn_blocking(move || Engine::new(config, observer))
        .await
        .map_err(|e| CommandError::new("native-unavailable", e.to_string()))??;
    *state.engine.lock().await = Some(engine);
    Ok(())
}

#[tauri::command]
pub async fn native_close(state: State<'_, NativeState>) -> Result<(), CommandError> {
    state.close().await;
    Ok(())
}

#[tauri::command]
pub async fn native_create_offer(
    state: State<'_, NativeState>,
    ice_restart: bool,
) -> Result<SessionDescription, CommandError> {
    Ok(state.engine().await?.create_offer(ice_restart).await?)
}

#[tauri::command]
pub async fn native_create_answer(
    state: State<'_, NativeState>,
) -> Result<SessionDescription, CommandError> {
    Ok(state.engine().await?.create_answer().await?)
}

#[tauri::command]
pub async fn native_set_local_description(
    state: State<'_, NativeState>,
    description: SessionDescription,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .set_local_description(&description)
        .await?)
}

#[tauri::command]
pub async fn native_set_remote_description(
    state: State<'_, NativeState>,
    description: SessionDescription,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .set_remote_description(&description)
        .await?)
}

#[tauri::command]
pub async fn native_add_ice_candidate(
    state: State<'_, NativeState>,
    sdp_m_line_index: u32,
    candidate: String,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .add_ice_candidate(sdp_m_line_index, &candidate)?)
}

#[tauri::command]
pub async fn native_stats(
    state: State<'_, NativeState>,
) -> Result<Vec<serde_json::Value>, CommandError> {
    Ok(state.engine().await?.stats().await?)
}

#[tauri::command]
pub async fn native_set_sending(
    state: State<'_, NativeState>,
    kind: MediaKind,
    enabled: bool,
) -> Result<(), CommandError> {
    Ok(state.engine().await?.set_sending(kind, enabled)?)
}

/// Video off closes the camera, video on opens it again (opening a device can take a while).
#[tauri::command]
pub async fn native_set_camera(
    state: State<'_, NativeState>,
    on: bool,
) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    tauri::async_runtime::spawn_blocking(move || engine.set_camera(on))
        .await
        .map_err(|e| CommandError::new("engine", e.to_string()))??;
    Ok(())
}

#[tauri::command]
pub async fn native_switch_device(
    state: State<'_, NativeState>,
    kind: MediaKind,
    device_id: String,
) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    tauri::async_runtime::spawn_blocking(move || engine.switch_device(kind, &device_id))
        .await
        .map_err(|e| CommandError::new("no-device", e.to_string()))??;
    Ok(())
}

#[tauri::command]
pub async fn native_progress(state: State<'_, NativeState>) -> Result<Progress, CommandError> {
    Ok(state.engine().await?.progress())
}

/// The newest frame of `source` after sequence number `after`, waiting up to a second for one;
/// an empty reply means none came (the page simply asks again).
#[tauri::command]
pub async fn native_frame(
    state: State<'_, NativeState>,
    source: FrameSource,
    after: u32,
) -> Result<Response, CommandError> {
    let slot = match source {
        FrameSource::Local => state.local.clone(),
        FrameSource::Remote => state.remote.clone(),
    };
    let mut latest = slot.latest.subscribe();
    let wait = async {
        loop {
            let newest = latest.borrow_and_update().clone();
            if let Some(bytes) = newest {
                let seq = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                if seq != after {
                    return Some(bytes);
                }
            }
            if latest.changed().await.is_err() {
                return None;
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(1), wait).await {
        Ok(Some(bytes)) => Ok(Response::new(bytes.as_ref().clone())),
        _ => Ok(Response::new(Vec::new())),
    }
}
