//! DNS rebinding: a server that lists the names it is reached by refuses requests for any other
//! name, even when `Origin` matches `Host` as it does for a page on a rebinding domain.

mod common;

use common::{Client, Server, PATIENCE};
use signaling::{Config, LOOPBACK_HOSTS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// What a desktop app hosting a call allows: loopback, its LAN address, its mDNS name.
fn host_mode() -> Config {
    let mut allowed: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    allowed.extend(["192.168.1.20".to_owned(), "ada-laptop.local".to_owned()]);
    Config {
        allowed_hosts: allowed,
        ..Config::default()
    }
}

/// The status code of `GET path` sent with this `Host` header.
async fn status(server: &Server, path: &str, host: &str) -> u16 {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut answer))
        .await
        .expect("an answer")
        .expect("read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer:?}"))
}

#[tokio::test]
async fn a_rebinding_host_gets_403_for_the_websocket() {
    let server = Server::with(host_mode()).await;
    let port = server.addr.port();
    let evil = format!("rebind.evil.example:{port}");
    let mut request = server.ws_url().into_client_request().expect("request");
    let headers = request.headers_mut();
    headers.insert("host", evil.parse().expect("header"));
    headers.insert("origin", format!("http://{evil}").parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| "a connection")),
    }
}

#[tokio::test]
async fn a_rebinding_host_gets_403_for_ice_servers_and_the_page() {
    let server = Server::with(host_mode()).await;
    let port = server.addr.port();
    for path in ["/ice-servers", "/"] {
        assert_eq!(
            status(&server, path, &format!("rebind.evil.example:{port}")).await,
            403
        );
        assert_eq!(status(&server, path, "").await, 403, "no host at all");
    }
    // Health checks answer whatever the name.
    assert_eq!(
        status(&server, "/healthz", "rebind.evil.example").await,
        200
    );
}

#[tokio::test]
async fn the_hosts_own_names_are_served() {
    let server = Server::with(host_mode()).await;
    let port = server.addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("192.168.1.20:{port}"),
        format!("Ada-Laptop.local:{port}"),
    ] {
        assert_eq!(status(&server, "/ice-servers", &host).await, 200, "{host}");
    }
    // The app's own page, as the webview opens it, may use the WebSocket.
    let mut client = Client::connect(&server, Some("tauri://localhost"))
        .await
        .expect("loopback is allowed");
    client.assert_usable().await;
}

#[tokio::test]
async fn without_a_list_any_host_is_served() {
    let server = Server::start().await;
    assert_eq!(
        status(&server, "/ice-servers", "anything.example").await,
        200
    );
}
