//! Calls without the webview's WebRTC: the native engine (`hearth-engine`, GStreamer's webrtcbin)
//! behind commands that mirror `RTCPeerConnection`, one connection per other person. One service
//! task ([`service`]) owns the capture and a map of connections by the page's name for them;
//! events and frames carry their connection. Decoded pictures reach the page by long polling,
//! newest frame first ([`frames`]). `ui/js/bridge.js` lists these commands for the page.
//!
//! # The capture (camera and microphone, shared by every connection)
//! - `native_status()` → `{available, message}`; `native_devices()` → `[{kind, deviceId, label}]`
//! - `native_start {camera?, microphone?, video?}`: opens the capture unless open (the camera
//!   only if `video` is not `false`); when open, switches to the devices asked for and turns the
//!   camera on or off as `video` says.
//! - `native_close`: ends every connection and closes the capture (devices released).
//! - `native_set_camera {on}`: closes or reopens the camera for every connection.
//! - `native_set_microphone {enabled}`: mute for every connection (silence is sent).
//! - `native_switch_device {kind, deviceId}`
//! - `native_progress` → `{localFrames, cameraOpens, screenFrames, remoteFrames: 0,
//!   remoteLevelDb: null}`
//! - `native_preview_frame {after}` → the newest preview frame (see [`frames::FRAME_HEADER`]):
//!   whatever is sent, the camera or the shared screen
//! - `native_share_screen {on}` → `{width, height}`: every connection's video track carries the
//!   screen instead of the camera (no renegotiation), up to 1920x1080 at 15 fps and 2.5
//!   Mbit/s; `on: false` brings back the camera as it was (closed if it was closed) and
//!   answers the camera's size. The screen is X11's (`DISPLAY`), a 1280x720 test pattern with
//!   `HEARTH_FAKE_MEDIA=1`; error `no-screen`, with the reason, where there is none (Wayland).
//!
//! # One connection per other person
//! `connection` is the page's name for it (any string, unique while it lives):
//! - `native_connect {connection, iceServers, relayOnly?, camera?, microphone?, video?, events,
//!   data}`: opens the capture if needed (as `native_start`, but with the camera closed unless
//!   `video` is `true`) and a connection of that name, replacing one of that name, with its two
//!   pre-negotiated data channels (`chat` id 0, `files` id 1); `events` receives that
//!   connection's events (`ice-candidate`, `negotiation-needed`, `connection-state`,
//!   `signaling-state`, `track {kind, track}`, `error`, `data-state {channel, state: "open" |
//!   "closed"}`, `data-buffered-low {channel}` below 256 KiB waiting); `data` (a raw channel:
//!   `ArrayBuffer`s) receives every data-channel message as `[channel, 0 text | 1 binary,
//!   payload…]` (see [`data`]).
//! - `native_disconnect {connection}` → `bool` (whether it existed); the others go on.
//! - `native_peer_create_offer {connection, iceRestart}`, `native_peer_create_answer {connection}`
//! - `native_peer_set_local_description {connection, description}`,
//!   `native_peer_set_remote_description {connection, description}`
//! - `native_peer_add_ice_candidate {connection, sdpMLineIndex, candidate}`
//! - `native_peer_stats {connection}` → `[stat]` (only what webrtcbin reports, and the measured
//!   microphone level), `native_peer_progress {connection}` (as `native_progress`, with that
//!   connection's remote frames and sound level), `native_peer_signaling_state {connection}`
//!   → `"stable"` | `"have-local-offer"` | ... (read from webrtcbin)
//! - `native_peer_set_sending {connection, kind, enabled}`: that connection sends `kind` or not.
//! - `native_peer_send`: the raw body is one message's payload; headers `hearth-connection`
//!   (not `connection`, which webviews drop: see [`data::CONNECTION_HEADER`]), `channel`
//!   (`"0"` | `"1"`), `kind` (`"text"` | `"binary"`) → the channel's `bufferedAmount` after
//!   queueing. Errors: `busy` above 4 MiB waiting (wait for `data-buffered-low`), `closed`
//!   when the channel is not open, `bad-request` for wrong headers, a JSON body, text that is
//!   not UTF-8 or a message over 64 KiB.
//! - `native_remote_frame {connection, track?, after}` → frame bytes of that connection's track
//!   (`track` as in its `track` event; without it, its newest picture of any track).

mod data;
mod frames;
mod service;

use std::sync::Arc;

use hearth_engine::{
    Capture, DeviceInfo, EngineError, EngineEvent, IceServer, MediaKind, Peer, PeerConfig,
    Progress, ScreenInfo, ScreenSource, SessionDescription,
};
use tauri::ipc::{Channel, InvokeBody, InvokeResponseBody, Request, Response};
use tauri::State;

use crate::error::CommandError;
use data::Outgoing;
use service::{Connect, Service};

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        let code = match e {
            EngineError::Init(_) | EngineError::MissingPlugin(_) => "native-unavailable",
            EngineError::NoDevice(_) => "no-device",
            EngineError::Closed | EngineError::DataClosed(_) => "closed",
            EngineError::DataBusy(_) => "busy",
            EngineError::NoDataChannel(_)
            | EngineError::DataTooLarge(_)
            | EngineError::DataNotText => "bad-request",
            EngineError::DataSend(_) => "data-send",
            EngineError::NoScreen(_) => "no-screen",
            _ => "negotiation",
        };
        CommandError::new(code, e.to_string())
    }
}

/// The native engine's service (its capture and connections).
pub struct NativeState {
    service: Service,
}

impl Default for NativeState {
    fn default() -> Self {
        NativeState {
            service: Service::start(),
        }
    }
}

impl NativeState {
    /// Stops every connection and the capture: devices released.
    pub async fn close(&self) {
        self.service.close().await;
    }

    async fn peer(&self, connection: &str) -> Result<Arc<Peer>, CommandError> {
        self.service.peer(connection).await
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

/// Opens the capture unless it is open; an open one switches to the devices asked for, and its
/// camera is turned on or off as `video` says (left as it is without it).
#[tauri::command]
pub async fn native_start(
    state: State<'_, NativeState>,
    camera: Option<String>,
    microphone: Option<String>,
    video: Option<bool>,
) -> Result<(), CommandError> {
    hearth_engine::init()?;
    state
        .service
        .start_capture(capture(camera, microphone), video)
        .await
}

#[tauri::command]
pub async fn native_close(state: State<'_, NativeState>) -> Result<(), CommandError> {
    state.close().await;
    Ok(())
}

/// Video off closes the camera for every connection, video on opens it again (opening a device
/// can take a while).
#[tauri::command]
pub async fn native_set_camera(
    state: State<'_, NativeState>,
    on: bool,
) -> Result<(), CommandError> {
    let engine = state.service.engine().await?;
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
    state.service.switch_device(kind, device_id).await
}

/// The capture's figures (pictures captured, camera openings).
#[tauri::command]
pub async fn native_progress(state: State<'_, NativeState>) -> Result<Progress, CommandError> {
    Ok(state.service.engine().await?.progress())
}

/// Where a shared screen comes from here: the test pattern with `HEARTH_FAKE_MEDIA=1` (unless
/// `HEARTH_FAKE_SCREEN=0`: fake camera and microphone, the real screen, as the desktop test on
/// Xvfb shares it), else the session's X11 display.
fn screen_source() -> Result<ScreenSource, EngineError> {
    let real_screen = std::env::var("HEARTH_FAKE_SCREEN").is_ok_and(|v| v == "0");
    if crate::webview::fake_media() && !real_screen {
        return Ok(ScreenSource::test());
    }
    let display = std::env::var("DISPLAY").ok();
    // A Wayland compositor without the session type said is Wayland all the same (its X11
    // display, XWayland, shows only X11 windows).
    let session = std::env::var("XDG_SESSION_TYPE")
        .ok()
        .or_else(|| std::env::var_os("WAYLAND_DISPLAY").map(|_| "wayland".to_string()));
    ScreenSource::detect(display.as_deref(), session.as_deref())
}

/// Shares the screen with every connection (`on`) or goes back to the camera as it was; answers
/// the size of the picture now sent.
#[tauri::command]
pub async fn native_share_screen(
    state: State<'_, NativeState>,
    on: bool,
) -> Result<ScreenInfo, CommandError> {
    let engine = state.service.engine().await?;
    tauri::async_runtime::spawn_blocking(move || {
        if on {
            engine.share_screen(&screen_source()?)
        } else {
            engine.stop_screen_share().map(|()| ScreenInfo {
                width: hearth_engine::WIDTH,
                height: hearth_engine::HEIGHT,
            })
        }
    })
    .await
    .map_err(|e| CommandError::new("engine", e.to_string()))?
    .map_err(CommandError::from)
}

/// One data-channel message from the page: the raw body is its payload, the headers say where
/// it goes (see [`Outgoing`]). Answers the channel's `bufferedAmount` after queueing.
#[tauri::command]
pub async fn native_peer_send(
    state: State<'_, NativeState>,
    request: Request<'_>,
) -> Result<u64, CommandError> {
    let outgoing = Outgoing::from_headers(request.headers())?;
    let InvokeBody::Raw(payload) = request.body() else {
        return Err(CommandError::new(
            "bad-request",
            "a data-channel message is sent as raw bytes (an ArrayBuffer or Uint8Array)",
        ));
    };
    state.service.send_data(&outgoing, payload)
}

/// The newest preview picture after sequence number `after`, waiting up to a second for one; an
/// empty reply means none came (the page simply asks again).
#[tauri::command]
pub async fn native_preview_frame(
    state: State<'_, NativeState>,
    after: u32,
) -> Result<Response, CommandError> {
    Ok(Response::new(state.service.local.next(after).await))
}

/// Opens the capture if needed and the connection `connection`, replacing one of that name.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn native_connect(
    state: State<'_, NativeState>,
    connection: String,
    ice_servers: Vec<IceServer>,
    relay_only: Option<bool>,
    camera: Option<String>,
    microphone: Option<String>,
    video: Option<bool>,
    events: Channel<EngineEvent>,
    data: Channel<InvokeResponseBody>,
) -> Result<(), CommandError> {
    hearth_engine::init()?;
    state
        .service
        .connect(Connect {
            connection,
            peer: PeerConfig {
                ice_servers,
                relay_only: relay_only.unwrap_or(false),
            },
            capture: capture(camera, microphone),
            video,
            events,
            data,
        })
        .await
}

#[tauri::command]
pub async fn native_disconnect(
    state: State<'_, NativeState>,
    connection: String,
) -> Result<bool, CommandError> {
    state.service.disconnect(connection).await
}

#[tauri::command]
pub async fn native_peer_create_offer(
    state: State<'_, NativeState>,
    connection: String,
    ice_restart: bool,
) -> Result<SessionDescription, CommandError> {
    Ok(state
        .peer(&connection)
        .await?
        .create_offer(ice_restart)
        .await?)
}

#[tauri::command]
pub async fn native_peer_create_answer(
    state: State<'_, NativeState>,
    connection: String,
) -> Result<SessionDescription, CommandError> {
    Ok(state.peer(&connection).await?.create_answer().await?)
}

#[tauri::command]
pub async fn native_peer_set_local_description(
    state: State<'_, NativeState>,
    connection: String,
    description: SessionDescription,
) -> Result<(), CommandError> {
    Ok(state
        .peer(&connection)
        .await?
        .set_local_description(&description)
        .await?)
}

#[tauri::command]
pub async fn native_peer_set_remote_description(
    state: State<'_, NativeState>,
    connection: String,
    description: SessionDescription,
) -> Result<(), CommandError> {
    Ok(state
        .peer(&connection)
        .await?
        .set_remote_description(&description)
        .await?)
}

#[tauri::command]
pub async fn native_peer_add_ice_candidate(
    state: State<'_, NativeState>,
    connection: String,
    sdp_m_line_index: u32,
    candidate: String,
) -> Result<(), CommandError> {
    Ok(state
        .peer(&connection)
        .await?
        .add_ice_candidate(sdp_m_line_index, &candidate)?)
}

#[tauri::command]
pub async fn native_peer_stats(
    state: State<'_, NativeState>,
    connection: String,
) -> Result<Vec<serde_json::Value>, CommandError> {
    Ok(state.peer(&connection).await?.stats().await?)
}

#[tauri::command]
pub async fn native_peer_progress(
    state: State<'_, NativeState>,
    connection: String,
) -> Result<Progress, CommandError> {
    Ok(state.peer(&connection).await?.progress())
}

#[tauri::command]
pub async fn native_peer_signaling_state(
    state: State<'_, NativeState>,
    connection: String,
) -> Result<String, CommandError> {
    Ok(state.peer(&connection).await?.signaling_state())
}

#[tauri::command]
pub async fn native_peer_set_sending(
    state: State<'_, NativeState>,
    connection: String,
    kind: MediaKind,
    enabled: bool,
) -> Result<(), CommandError> {
    Ok(state.peer(&connection).await?.set_sending(kind, enabled)?)
}

#[tauri::command]
pub async fn native_set_microphone(
    state: State<'_, NativeState>,
    enabled: bool,
) -> Result<(), CommandError> {
    Ok(state
        .service
        .engine()
        .await?
        .set_microphone_enabled(enabled)?)
}

#[tauri::command]
pub async fn native_remote_frame(
    state: State<'_, NativeState>,
    connection: String,
    track: Option<u32>,
    after: u32,
) -> Result<Response, CommandError> {
    let route = state
        .service
        .routes
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .named(&connection)
        .ok_or_else(|| CommandError::new("closed", format!("no connection {connection}")))?;
    let slot = match track {
        Some(track) => route
            .track(track)
            .ok_or_else(|| CommandError::new("closed", format!("no track {track}")))?,
        None => route.any.clone(),
    };
    Ok(Response::new(slot.next(after).await))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_can_tell_data_and_screen_refusals_apart() {
        let code = |e: EngineError| CommandError::from(e).code;
        assert_eq!(code(EngineError::DataBusy(5_000_000)), "busy");
        assert_eq!(code(EngineError::DataClosed(0)), "closed");
        assert_eq!(code(EngineError::Closed), "closed");
        assert_eq!(code(EngineError::NoDataChannel(2)), "bad-request");
        assert_eq!(code(EngineError::DataTooLarge(70_000)), "bad-request");
        assert_eq!(code(EngineError::DataNotText), "bad-request");
        let no_screen = CommandError::from(EngineError::NoScreen("Wayland".into()));
        assert_eq!(no_screen.code, "no-screen");
        assert!(no_screen.message.contains("Wayland"));
    }
}
