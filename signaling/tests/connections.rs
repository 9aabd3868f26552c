//! TCP connections before they become WebSockets: the header timeout, the idle timeout, and a
//! shutdown that ends whatever clients do.

mod common;

use common::{Server, PATIENCE};
use signaling::Config;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (end of stream or reset); fails the test if it is
/// still open after the patience. Returns what was read.
async fn closed_by_server(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A header timeout short for a test, long for a busy machine to send a request in.
fn short_header_timeout() -> Config {
    let mut config = Config::default();
    config.limits.header_timeout = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn a_header_sent_a_byte_at_a_time_is_cut_off_at_the_header_timeout() {
    let server = Server::with(short_header_timeout()).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    // 2 s in all, twice the timeout.
    let dribble = async {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    };
    dribble.await;
    closed_by_server(&mut slow).await;
    // Everyone else was served all along.
    assert_eq!(server.health().await["status"], "ok");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
    let server = Server::with(short_header_timeout()).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed_by_server(&mut silent).await.is_empty());
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_when_no_next_request_comes() {
    let server = Server::with(short_header_timeout()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let answer = String::from_utf8_lossy(&closed_by_server(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_response_the_client_never_reads_is_dropped_at_the_idle_timeout() {
    let mut config = Config::default();
    config.limits.idle_timeout = Duration::from_millis(300);
    config.limits.header_timeout = Duration::from_secs(60);
    let server = Server::with(config).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // Pipelined requests for the UI whose answers are never read fill the socket buffers.
    let requests = "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2000);
    let _ = tokio::time::timeout(PATIENCE, stream.write_all(requests.as_bytes())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    closed_by_server(&mut stream).await;
}

#[tokio::test]
async fn past_the_cap_the_oldest_silent_connection_makes_room() {
    let mut config = Config::default();
    config.limits.max_http_connections = 8;
    config.limits.header_timeout = Duration::from_secs(60);
    let server = Server::with(config).await;
    let mut silent = Vec::new();
    for _ in 0..12 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // The cap holds 8 silent sockets and still serves a new request, once the oldest have had
    // their 2 s of grace.
    let health = tokio::time::timeout(PATIENCE, server.health())
        .await
        .expect("served despite the silent sockets");
    assert_eq!(health["status"], "ok");
    // The first ones were closed to make room.
    closed_by_server(&mut silent[0]).await;
}

#[tokio::test]
async fn websockets_are_never_closed_to_make_room() {
    let mut config = Config::default();
    config.limits.max_http_connections = 4;
    config.limits.header_timeout = Duration::from_secs(60);
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let mut silent = Vec::new();
    for _ in 0..6 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    assert_eq!(server.health().await["status"], "ok");
    ada.assert_usable().await;
    bob.assert_usable().await;
}

#[tokio::test]
async fn shutdown_ends_within_its_deadline_despite_a_half_sent_header() {
    let mut config = Config::default();
    config.limits.header_timeout = Duration::from_secs(600);
    config.limits.shutdown_timeout = Duration::from_millis(300);
    let server = Server::with(config).await;
    let mut half = TcpStream::connect(server.addr).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("send");
    // Let the server read it, so the request is in progress when shutdown starts.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // `stop` fails the test unless `serve` returns within the patience.
    server.stop().await;
    closed_by_server(&mut half).await;
}
