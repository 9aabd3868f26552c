//! Commands the UI calls: thin adapters from the webview to the library code.

use crate::address::{self, ServerAddress};
use crate::downloads::Downloads;
use crate::error::CommandError;
use crate::host::{Host, HostInfo};
use crate::settings::{Loaded, Settings};
use crate::state::AppState;
use signaling::IceServer;
use std::time::{Duration, SystemTime};
use tauri::State;

/// Facts about the app for the UI.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    version: &'static str,
    platform: &'static str,
    fake_media: bool,
}

/// The page has hung up and left the room (its socket closed): the window may close now.
#[tauri::command]
pub fn page_left(state: State<'_, AppState>) {
    state.page_left.notify_one();
}

#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        platform: std::env::consts::OS,
        fake_media: crate::webview::fake_media(),
    }
}

/// The ICE servers for a call not set up by a remote server (host mode).
#[tauri::command]
pub fn ice_servers(state: State<'_, AppState>) -> Result<Vec<IceServer>, CommandError> {
    let ice = state.ice_config()?;
    Ok(ice.ice_servers(SystemTime::now(), "hearth-desktop"))
}

#[tauri::command]
pub fn load_settings(state: State<'_, AppState>) -> Loaded {
    state.loaded_settings()
}

#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> Result<(), CommandError> {
    state.save_settings(settings)?;
    Ok(())
}

/// Starts host mode for a call of up to `max_people` (2 to 6, 4 when not given), or returns the
/// running one.
#[tauri::command]
pub async fn start_hosting(
    state: State<'_, AppState>,
    max_people: Option<usize>,
) -> Result<HostInfo, CommandError> {
    let mut host = state.host.lock().await;
    if let Some(running) = host.as_ref() {
        return Ok(running.info.clone());
    }
    let mut config = signaling::Config {
        ice: state.ice_config()?,
        ..signaling::Config::default()
    };
    config.limits.max_peers_per_room = max_people
        .unwrap_or(crate::host::DEFAULT_PEOPLE)
        .clamp(crate::host::MIN_PEOPLE, crate::host::MAX_PEOPLE);
    let started = Host::start(config, crate::host::DEFAULT_PORT).await?;
    let info = started.info.clone();
    *host = Some(started);
    Ok(info)
}

/// Ends host mode: every connection is closed and the port freed.
#[tauri::command]
pub async fn stop_hosting(state: State<'_, AppState>) -> Result<(), CommandError> {
    let running = state.host.lock().await.take();
    if let Some(host) = running {
        host.stop().await;
    }
    Ok(())
}

/// Reads a typed server address and checks that something answers there, explaining failures.
#[tauri::command]
pub async fn resolve_server(
    state: State<'_, AppState>,
    input: String,
) -> Result<ServerAddress, CommandError> {
    let server = address::parse(&input)?;
    probe(&server).await?;
    if let Err(e) = state.remember_server(input.trim()) {
        tracing::warn!(error = %e, "could not remember the server");
    }
    Ok(server)
}

/// Opens the call page in the default browser: the host's own server on loopback (a secure
/// context, so the browser grants the camera), or the remote server's page.
#[tauri::command]
pub async fn open_in_browser(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    server: Option<String>,
    room: String,
    name: String,
) -> Result<String, CommandError> {
    use tauri_plugin_opener::OpenerExt as _;
    let base = match server {
        Some(server) => address::parse(&server)?.http_url,
        None => match state.host.lock().await.as_ref() {
            Some(host) => host.info.local_url.clone(),
            None => {
                return Err(CommandError::new(
                    "not-hosting",
                    "Start hosting first, or enter a server to join.",
                ))
            }
        },
    };
    let url = format!("{base}/?room={}&name={}", encode(&room), encode(&name));
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        CommandError::new(
            "open-failed",
            format!("Could not open a browser: {e}. Open {url} yourself."),
        )
    })?;
    Ok(url)
}

/// Opens a web link from a chat message in the system's browser; only `http` and `https`
/// links, so a message can never make the app open a file or another program.
#[tauri::command]
pub fn open_link(app: tauri::AppHandle, url: String) -> Result<(), CommandError> {
    use tauri_plugin_opener::OpenerExt as _;
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.len() > 4096 {
        return Err(CommandError::new(
            "bad-link",
            "Only web links (http or https) are opened.",
        ));
    }
    app.opener()
        .open_url(&url, None::<&str>)
        .map_err(|e| CommandError::new("open-failed", format!("Could not open a browser: {e}.")))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Connects to the server's port, so that "nobody there" and "no such host" are told apart
/// before the page tries its WebSocket.
async fn probe(server: &ServerAddress) -> Result<(), CommandError> {
    let target = (
        server
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        server.port,
    );
    match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(target)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(CommandError::new(
            "refused",
            format!("{} refused the connection: nothing is hosting a call there. Check the address and that the host pressed Host a call.", server.authority),
        )),
        Ok(Err(e)) => Err(CommandError::new("unreachable", format!("Could not reach {}: {e}.", server.authority))),
        Err(_) => Err(CommandError::new(
            "unreachable",
            format!("{} did not answer within 5 seconds. Check the address and that you are on the same network.", server.authority),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parameters_are_encoded() {
        assert_eq!(encode("Ada Lovelace&co"), "Ada%20Lovelace%26co");
        assert_eq!(encode("k7m2-qx9f"), "k7m2-qx9f");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[tokio::test]
    async fn probing_tells_refused_from_working() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(
            probe(&address::parse(&format!("127.0.0.1:{port}")).expect("addr"))
                .await
                .is_ok()
        );
        drop(listener);
        let err = probe(&address::parse(&format!("127.0.0.1:{port}")).expect("addr"))
            .await
            .expect_err("refused");
        assert_eq!(err.code, "refused");
        assert!(err.message.contains("refused"), "{}", err.message);
    }
}

/// Starts receiving a file from a call into the Downloads folder.
#[tauri::command]
pub async fn download_begin(
    downloads: State<'_, Downloads>,
    id: String,
    name: String,
    size: u64,
) -> Result<(), CommandError> {
    Ok(downloads.begin(&id, &name, size)?)
}

/// Appends bytes to a file being received: the request's body is the bytes (raw, not JSON) and
/// its `id` header names the file.
#[tauri::command]
pub async fn download_write(
    downloads: State<'_, Downloads>,
    request: tauri::ipc::Request<'_>,
) -> Result<(), CommandError> {
    let id = request
        .headers()
        .get("id")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CommandError::new("bad-request", "the id header is missing"))?;
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::new(
            "bad-request",
            "the bytes must come as a raw body",
        ));
    };
    Ok(downloads.write(id, bytes)?)
}

/// Every byte of the file is in: it gets its own name in Downloads. Returns its path.
#[tauri::command]
pub async fn download_finish(
    downloads: State<'_, Downloads>,
    id: String,
) -> Result<String, CommandError> {
    Ok(downloads.finish(&id)?.display().to_string())
}

/// The file is not kept (cancelled or damaged); whether there was one.
#[tauri::command]
pub async fn download_abort(
    downloads: State<'_, Downloads>,
    id: String,
) -> Result<bool, CommandError> {
    Ok(downloads.abort(&id))
}
