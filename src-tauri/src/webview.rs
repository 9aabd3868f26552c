//! The webview's media set-up. On Linux (WebKitGTK) camera and microphone are off unless turned
//! on, and every permission request needs an answer; elsewhere the platform asks the user itself.

/// Whether fake camera and microphone were asked for (tests): `HEARTH_FAKE_MEDIA=1`.
pub fn fake_media() -> bool {
    std::env::var("HEARTH_FAKE_MEDIA").is_ok_and(|v| v == "1")
}

/// Whether the webview may composite on the GPU: `HEARTH_WEBVIEW_GPU=1`. Off by default on Linux:
/// where no GPU drives it (a virtual screen, a remote desktop, a driver WebKit cannot use) WebKit's
/// compositor runs on a software GL and repaints the whole window for every video frame, about a
/// core at 30 fps; painting without it repaints only what changed (BENCHMARKS.md, "Desktop app").
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn gpu_compositing() -> bool {
    std::env::var("HEARTH_WEBVIEW_GPU").is_ok_and(|v| v == "1")
}

/// Pages the app serves itself; only they may have the camera and microphone.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_app_origin(uri: &str) -> bool {
    [
        "tauri://localhost",
        "http://tauri.localhost",
        "https://tauri.localhost",
    ]
    .iter()
    .any(|origin| uri == *origin || uri.starts_with(&format!("{origin}/")))
}

/// Turns on media capture (and WebRTC, where this WebKitGTK has it) and answers permission
/// requests: camera and microphone for the app's own pages, nothing else.
pub fn configure(window: &tauri::WebviewWindow) -> tauri::Result<()> {
    let fake = fake_media();
    window.with_webview(move |webview| {
        #[cfg(target_os = "linux")]
        {
            use webkit2gtk::glib::prelude::Cast as _;
            use webkit2gtk::{
                HardwareAccelerationPolicy, PermissionRequestExt as _, SettingsExt as _,
                UserMediaPermissionRequest, WebViewExt as _,
            };
            let view = webview.inner();
            if let Some(settings) = view.settings() {
                if !gpu_compositing() {
                    settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                }
                settings.set_enable_media_stream(true);
                settings.set_enable_webrtc(true);
                settings.set_enable_mock_capture_devices(fake);
                settings.set_media_playback_requires_user_gesture(false);
            }
            view.connect_permission_request(|view, request| {
                let from_app = view.uri().is_some_and(|uri| is_app_origin(&uri));
                if from_app
                    && request
                        .downcast_ref::<UserMediaPermissionRequest>()
                        .is_some()
                {
                    request.allow();
                } else {
                    tracing::info!(uri = ?view.uri(), "denied a permission request");
                    request.deny();
                }
                true
            });
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (webview, fake);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_app_itself_counts_as_the_app() {
        assert!(is_app_origin("tauri://localhost"));
        assert!(is_app_origin("tauri://localhost/index.html"));
        assert!(is_app_origin("http://tauri.localhost/"));
        assert!(!is_app_origin("tauri://localhost.evil.example/"));
        assert!(!is_app_origin("http://192.168.1.5:7878/"));
        assert!(!is_app_origin("https://example.org/"));
    }
}
