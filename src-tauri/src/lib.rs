//! Hearth's desktop app: a Tauri shell around the call UI in `ui/`, with host mode (the signaling
//! server embedded), settings, and the webview's media set up.
//!
//! # Layout
//! - `commands`: what the UI calls; thin adapters over the modules below.
//! - `host`: host mode, the embedded `signaling::serve` with one room.
//! - `address`: typed server addresses made into URLs.
//! - `settings`: the settings file, atomic writes, corrupt files kept aside.
//! - `ice`: ICE servers from settings, environment and `.env`.
//! - `downloads`: files received in a call, written to the Downloads folder as they come.
//! - `webview`: WebKitGTK media settings and permission answers.
//! - `native` (Linux): calls through the native media engine where the webview has no WebRTC.
//! - `state`, `error`: shared state and the `{code, message}` error.

mod address;
mod commands;
mod downloads;
mod error;
mod host;
mod ice;
#[cfg(target_os = "linux")]
mod native;
mod settings;
mod state;
mod webview;

use state::AppState;
use tauri::{Manager, RunEvent, WindowEvent};

/// The commands of every platform, plus `$extra`.
macro_rules! handler {
    ($($extra:path),* $(,)?) => {
        tauri::generate_handler![
            commands::app_info,
            commands::ice_servers,
            commands::load_settings,
            commands::save_settings,
            commands::start_hosting,
            commands::stop_hosting,
            commands::resolve_server,
            commands::open_in_browser,
            commands::open_link,
            commands::page_left,
            commands::download_begin,
            commands::download_write,
            commands::download_finish,
            commands::download_abort,
            $($extra),*
        ]
    };
}

/// How long closing may take to release devices and end the embedded server before the app
/// exits anyway: a stuck device driver must not leave a window that will not close.
const STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long closing waits for the page to hang up and leave the room (`page_left`).
const PAGE_LEAVE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Stops what outlives the page: the embedded server, the native engine's devices, and files
/// half received (removed).
async fn stop_services(handle: &tauri::AppHandle) {
    handle.state::<downloads::Downloads>().abort_all();
    let stop = async {
        #[cfg(target_os = "linux")]
        handle.state::<native::NativeState>().close().await;
        let state = handle.state::<state::AppState>();
        let host = state.host.lock().await.take();
        if let Some(host) = host {
            host.stop().await;
        }
    };
    if tokio::time::timeout(STOP_LIMIT, stop).await.is_err() {
        tracing::warn!(
            "closing took longer than {} s; exiting without waiting further",
            STOP_LIMIT.as_secs()
        );
    }
}

/// Builds and runs the app until its window is closed.
pub fn run() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("Hearth needs a graphical desktop: neither DISPLAY nor WAYLAND_DISPLAY is set.");
        std::process::exit(1);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Host mode serves the LAN: as many connections as the system allows, not its small default.
    if let Err(e) = signaling::raise_open_file_limit() {
        tracing::warn!(error = %e, "could not raise the open-file limit");
    }

    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let config_dir = app.path().app_config_dir().ok();
            app.manage(state::AppState::new(config_dir));
            // Received files go to the Downloads folder (the home folder's if there is none).
            let folder = app
                .path()
                .download_dir()
                .or_else(|_| app.path().home_dir().map(|home| home.join("Downloads")))
                .unwrap_or_else(|_| std::env::temp_dir());
            app.manage(downloads::Downloads::new(folder));
            #[cfg(target_os = "linux")]
            app.manage(native::NativeState::default());
            if let Some(window) = app.get_webview_window("main") {
                webview::configure(&window)?;
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // Let the page hang up and leave first (the tutorial's step 8), then stop hosting.
                api.prevent_close();
                let window = window.clone();
                if let Some(webview) = window.get_webview_window(window.label()) {
                    let _ = webview.eval("window.dispatchEvent(new Event('hearth-closing'))");
                }
                tauri::async_runtime::spawn(async move {
                    // The page says when its hang-up and leave are sent; a page that hangs
                    // does not keep the window open for more than two seconds.
                    let state = window.app_handle().state::<AppState>();
                    let left = tokio::time::timeout(PAGE_LEAVE_LIMIT, state.page_left.notified());
                    if left.await.is_err() {
                        tracing::warn!("the page did not say it left the room; closing anyway");
                    }
                    stop_services(window.app_handle()).await;
                    let _ = window.destroy();
                });
            }
        });
    #[cfg(target_os = "linux")]
    let builder = builder.invoke_handler(handler![
        native::native_status,
        native::native_devices,
        native::native_start,
        native::native_close,
        native::native_preview_frame,
        native::native_set_camera,
        native::native_switch_device,
        native::native_progress,
        native::native_connect,
        native::native_disconnect,
        native::native_peer_create_offer,
        native::native_peer_create_answer,
        native::native_peer_set_local_description,
        native::native_peer_set_remote_description,
        native::native_peer_add_ice_candidate,
        native::native_peer_stats,
        native::native_peer_progress,
        native::native_peer_signaling_state,
        native::native_peer_set_sending,
        native::native_set_microphone,
        native::native_remote_frame,
        native::native_peer_send,
        native::native_share_screen,
    ]);
    #[cfg(not(target_os = "linux"))]
    let builder = builder.invoke_handler(handler![]);
    let app = builder.build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Hearth could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // Whatever ended the app, free the port and the devices.
            tauri::async_runtime::block_on(stop_services(handle));
        }
    });
}
