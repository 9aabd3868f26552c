//! HTTP routes: the WebSocket upgrade (with the origin check and connection cap), `/ice-servers`,
//! `/healthz`, and the embedded UI; the host-name check in front of all but `/healthz`.

use crate::server::Activity;
use crate::slots::Handover;
use crate::state::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use include_dir::{include_dir, Dir};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// The UI in `ui/`, built into the binary so the server works from any directory.
static UI: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../ui");

/// The page loads only its own files and talks only to its own server; the room name in the
/// address never leaks to other sites.
const UI_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                      media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; \
                      base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// Origins of the desktop app's webview on each platform.
pub const DESKTOP_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// Names the desktop app's own webview and the machine itself use for a server on this computer.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/ws", get(websocket))
        .route("/ice-servers", get(ice_servers));
    if state.config.serve_ui {
        router = router.fallback(get(ui_file));
    }
    router
        // Only on the routes above: health checks may name the server however they like.
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// Refuses requests whose `Host` (or trusted `X-Forwarded-Host`) is not one of
/// `Config::allowed_hosts`, when that list is set: a page on a rebinding domain, pointed by DNS at
/// this server, is refused although its `Origin` matches its `Host`.
async fn check_host(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let allowed = &state.config.allowed_hosts;
    if allowed.is_empty() {
        return next.run(request).await;
    }
    let host = request_host(request.headers(), state.config.trust_proxy);
    let known = host.is_some_and(|host| {
        let name = host_name(host);
        allowed
            .iter()
            .any(|a| host_name(a).eq_ignore_ascii_case(name))
    });
    if known {
        return next.run(request).await;
    }
    let host = host.unwrap_or("(none)");
    tracing::warn!(%host, path = %request.uri().path(), "refused a request for another host name");
    (
        StatusCode::FORBIDDEN,
        format!("This server does not answer to the host name {host:?}.\n"),
    )
        .into_response()
}

/// The host the client asked for: `X-Forwarded-Host` behind a trusted proxy, else `Host`.
fn request_host(headers: &HeaderMap, trust_proxy: bool) -> Option<&str> {
    trust_proxy
        .then(|| headers.get("x-forwarded-host"))
        .flatten()
        .or_else(|| headers.get(header::HOST))
        .and_then(|h| h.to_str().ok())
}

/// The name in a `Host` value or an allow-list entry, without port, brackets or final dot:
/// `[::1]:7878` → `::1`, `Example.org.:443` → `Example.org`.
fn host_name(authority: &str) -> &str {
    let authority = authority.trim();
    let name = if let Some(rest) = authority.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(inside, _)| inside)
    } else if authority.matches(':').count() == 1 {
        authority
            .split_once(':')
            .map_or(authority, |(name, _)| name)
    } else {
        authority
    };
    name.strip_suffix('.').unwrap_or(name)
}

async fn websocket(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer_addr): ConnectInfo<SocketAddr>,
    activity: Option<Extension<Arc<Activity>>>,
    handover: Option<Extension<Handover>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let client = client_address(&headers, peer_addr, state.config.trust_proxy);
    if let Err(origin) = check_origin(
        &headers,
        &state.config.allowed_origins,
        state.config.trust_proxy,
    ) {
        tracing::warn!(%client, %origin, "refused a WebSocket from another origin");
        return (
            StatusCode::FORBIDDEN,
            format!("Origin {origin} may not use this server.\n"),
        )
            .into_response();
    }
    if state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.\n",
        )
            .into_response();
    }
    let Some(slot) = state.admit() else {
        tracing::warn!(%client, "refused a WebSocket: connection limit reached");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is at its connection limit; try again later.\n",
        )
            .into_response();
    };
    let max = state.config.limits.max_message_bytes;
    // Frames past the soft limit get a `too-large` reply and the connection lives on; only frames
    // past it by more than 16 KiB are refused by the WebSocket layer itself, which closes with
    // 1009. The same bound holds a message sent in fragments while it is unfinished.
    let hard_max = max.saturating_add(16 * 1024);
    let token = state.sessions.token();
    // The connection's descriptor now belongs to the WebSocket, taken here rather than after the
    // upgrade, when the HTTP side may already have given it back.
    let descriptor = handover.and_then(|Extension(h)| h.take());
    upgrade
        // tungstenite reserves its read buffer per connection; signaling frames are small, and
        // the buffer grows for the rare large one.
        .read_buffer_size(4 * 1024)
        // Frames queued together go out in one write of up to 32 KiB when the writer flushes,
        // not one system call each; the buffer grows no further than the largest batch.
        .write_buffer_size(32 * 1024)
        .max_message_size(hard_max)
        .max_frame_size(hard_max)
        .on_upgrade(move |socket| async move {
            let activity = activity.map(|Extension(a)| a);
            crate::session::run(socket, state, client, activity).await;
            drop((slot, token, descriptor));
        })
}

async fn ice_servers(State(state): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(auth) = &state.config.auth {
        let token = bearer_token(&headers).or_else(|| query_token(&uri));
        if let Err(e) = auth.verify(token, None) {
            state.config.metrics.refused("unauthorized", 1);
            let mut response = (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="hearth""#),
            );
            return response;
        }
    }
    let id = crate::protocol::PeerId::random();
    let servers = state.config.ice.ice_servers(SystemTime::now(), id.as_str());
    let mut response = Json(serde_json::json!({ "iceServers": servers })).into_response();
    // Credentials inside; never let a cache keep them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The `token` query parameter. Tokens are base64url and dots, which need no percent-decoding.
fn query_token(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// `{"status":"ok","rooms":N}`, and with Redis `"redis":"ok"` or `"unavailable"` (joins are
/// refused then, so a balancer may prefer other instances).
async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let mut health = serde_json::json!({ "status": "ok", "rooms": state.rooms.room_count() });
    if let Some(ok) = state.rooms.shared_ok() {
        health["redis"] = serde_json::json!(if ok { "ok" } else { "unavailable" });
    }
    Json(health)
}

async fn ui_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let Some(file) = UI.get_file(&path) else {
        return (StatusCode::NOT_FOUND, "Not found\n").into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, content_type(&path)),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, UI_CSP),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (headers, file.contents()).into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// The client's address for logs: the socket's, or the first `X-Forwarded-For` hop when a trusted
/// proxy sets it.
fn client_address(headers: &HeaderMap, peer: SocketAddr, trust_proxy: bool) -> String {
    if trust_proxy {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        if let Some(ip) = forwarded {
            return ip.to_owned();
        }
    }
    peer.ip().to_string()
}

/// Allows no Origin (native clients), the page's own origin, the desktop app, and the configured
/// list. Returns the refused origin otherwise.
fn check_origin(headers: &HeaderMap, allowed: &[String], trust_proxy: bool) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| "(not text)".to_owned())?;
    if DESKTOP_ORIGINS.contains(&origin)
        || allowed
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let host = request_host(headers, trust_proxy);
    let origin_authority = origin.split_once("://").map(|(_, rest)| rest);
    match (origin_authority, host) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(origin.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn origins() {
        let none: &[String] = &[];
        assert!(check_origin(&headers(&[("host", "a:1")]), none, false).is_ok());
        assert!(check_origin(
            &headers(&[("host", "a:1"), ("origin", "http://a:1")]),
            none,
            false
        )
        .is_ok());
        assert!(check_origin(
            &headers(&[("host", "a:1"), ("origin", "http://b:1")]),
            none,
            false
        )
        .is_err());
        assert!(check_origin(
            &headers(&[("host", "a:1"), ("origin", "tauri://localhost")]),
            none,
            false
        )
        .is_ok());
        assert!(check_origin(
            &headers(&[("host", "a:1"), ("origin", "null")]),
            none,
            false
        )
        .is_err());
        let allowed = ["https://b.example".to_owned()];
        assert!(check_origin(
            &headers(&[("host", "a:1"), ("origin", "https://b.example")]),
            &allowed,
            false
        )
        .is_ok());
        let proxied = headers(&[
            ("host", "127.0.0.1:7878"),
            ("x-forwarded-host", "hearth.example"),
            ("origin", "https://hearth.example"),
        ]);
        assert!(check_origin(&proxied, none, true).is_ok());
        assert!(check_origin(&proxied, none, false).is_err());
    }

    #[test]
    fn host_names_drop_port_brackets_and_final_dot() {
        for (authority, name) in [
            ("localhost:7878", "localhost"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]:7878", "::1"),
            ("::1", "::1"),
            ("Example.org.:443", "Example.org"),
            ("hearth.local", "hearth.local"),
        ] {
            assert_eq!(host_name(authority), name, "{authority}");
        }
    }

    #[test]
    fn forwarded_for_only_when_trusted() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.1")]);
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(client_address(&h, peer, true), "203.0.113.9");
        assert_eq!(client_address(&h, peer, false), "127.0.0.1");
    }

    #[test]
    fn the_ui_is_embedded() {
        let index = UI
            .get_file("index.html")
            .expect("ui/index.html is embedded");
        let html = index.contents_utf8().expect("utf-8");
        assert!(html.contains(r#"id="localVideo""#) && html.contains(r#"id="remoteVideo""#));
    }
}
