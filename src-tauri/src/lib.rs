//! Hearth's desktop app: a Tauri shell around the call UI in `ui/`, with host mode (the signaling
//! server embedded), settings, and the webview's media set up.
//!
//! # Layout
//! - `commands`: what the UI calls; thin adapters over the modules below.
//! - `host`: host mode, the embedded `signaling::serve` with one room.
//! - `address`: typed server addresses made into URLs.
//! - `settings`: the settings file, atomic writes, corrupt files kept aside.
//! - `ice`: ICE servers from settings, environment and `.env`.
//! - `webview`: WebKitGTK media settings and permission answers.
//! - `state`, `error`: shared state and the `{code, message}` error.

mod address;
mod commands;
mod error;
mod host;
mod ice;
mod settings;
mod state;
mod webview;

use tauri::{Manager, RunEvent, WindowEvent};

/// Builds and runs the app until its window is closed.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let config_dir = app.path().app_config_dir().ok();
            app.manage(state::AppState::new(config_dir));
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
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    let state = window.state::<state::AppState>();
                    if let Some(host) = state.host.lock().await.take() {
                        host.stop().await;
                    }
                    let _ = window.destroy();
                });
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::ice_servers,
            commands::load_settings,
            commands::save_settings,
            commands::start_hosting,
            commands::stop_hosting,
            commands::resolve_server,
            commands::open_in_browser,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Hearth could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // Whatever ended the app, free the port.
            let state = handle.state::<state::AppState>();
            tauri::async_runtime::block_on(async {
                if let Some(host) = state.host.lock().await.take() {
                    host.stop().await;
                }
            });
        }
    });
}
