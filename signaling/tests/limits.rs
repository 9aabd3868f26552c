//! Limits that protect the server and the room: dead peers, slow readers, the connection cap,
//! origins, and shutdown.

mod common;

use common::{Client, Server};
use futures_util::SinkExt;
use serde_json::json;
use signaling::Config;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let mut config = Config::default();
    config.limits.heartbeat_interval = Duration::from_millis(100);
    config.limits.peer_timeout = Duration::from_millis(400);
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    // Bob joins and then never reads again, so never answers a ping.
    let (bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    // Ada keeps answering (her client reads), so she stays.
    let left = ada.recv_type("peer-left").await;
    assert_eq!(left["id"], common::id(&wb));
    ada.assert_usable().await;
    drop(bob);
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_disconnected_without_slowing_the_sender() {
    let mut config = Config::default();
    config.limits.send_queue = 8;
    config.limits.rate_per_sec = 1e6;
    config.limits.rate_burst = 1e6;
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let to = common::id(&wb);
    // Enough to fill the socket buffers and the queue many times over; Ada's own round trip stays
    // quick meanwhile: the server never waits on Bob.
    let left = flood_until_left(&mut ada, &to, 2000).await;
    let left = left.expect("the slow peer was disconnected");
    assert_eq!(left["id"], to);
    ada.assert_usable().await;
    drop(bob);
}

/// Stops reading `client` for good but keeps it sending WebSocket pings every 50 ms, as a client
/// that wants to look alive while the server's queue for it grows.
fn stall_but_keep_pinging(client: Client) -> tokio::task::JoinHandle<()> {
    use futures_util::StreamExt;
    let (mut sink, unread) = client.ws.split();
    tokio::spawn(async move {
        let _unread = unread;
        while sink.send(Message::Ping(vec![1].into())).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Signals of 60 KiB from `from` to `to`, each followed by a ping and its pong, until the room says
/// `to` left (returned), or `max` are sent.
async fn flood_until_left(from: &mut Client, to: &str, max: usize) -> Option<serde_json::Value> {
    let chunk = "c".repeat(60 * 1024);
    let mut left = None;
    for _ in 0..max {
        from.send(json!({"type": "signal", "to": to, "data": chunk}))
            .await;
        from.send(json!({"type": "ping"})).await;
        loop {
            let reply = from.recv().await;
            match reply["type"].as_str() {
                Some("pong") => break,
                Some("peer-left") => left = Some(reply),
                // Once `to` is gone, signals to it are refused until the peer-left is read.
                Some("error") if reply["code"] == "unknown-peer" => {}
                _ => panic!("unexpected {reply}"),
            }
        }
        if left.is_some() {
            break;
        }
    }
    left
}

#[tokio::test]
async fn a_reader_that_stalls_is_dropped_at_the_byte_bound_though_it_pings() {
    let mut config = Config::default();
    // Only the byte bound can act: frames and time are plentiful.
    config.limits.send_queue = 100_000;
    config.limits.send_queue_bytes = 256 * 1024;
    config.limits.drain_timeout = Duration::from_secs(600);
    config.limits.rate_per_sec = 1e6;
    config.limits.rate_burst = 1e6;
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let pinging = stall_but_keep_pinging(bob);
    // The kernel's socket buffers take a few MiB first; 30 MiB is far past them and the bound.
    let left = flood_until_left(&mut ada, &common::id(&wb), 500).await;
    assert_eq!(
        left.expect("the stalled reader was dropped")["id"],
        common::id(&wb)
    );
    ada.assert_usable().await;
    pinging.abort();
}

#[tokio::test]
async fn a_reader_that_stalls_is_dropped_when_its_queue_does_not_drain_though_it_pings() {
    let mut config = Config::default();
    // Only the drain timeout can act: the queue may hold everything sent here.
    config.limits.send_queue = 100_000;
    config.limits.send_queue_bytes = 1 << 30;
    config.limits.drain_timeout = Duration::from_secs(2);
    config.limits.rate_per_sec = 1e6;
    config.limits.rate_burst = 1e6;
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let pinging = stall_but_keep_pinging(bob);
    // More than the socket buffers hold, then silence: what is queued for Bob never drains.
    let left = match flood_until_left(&mut ada, &common::id(&wb), 200).await {
        Some(left) => left,
        None => ada.recv_type("peer-left").await,
    };
    assert_eq!(left["id"], common::id(&wb));
    ada.assert_usable().await;
    pinging.abort();
}

#[tokio::test]
async fn connections_past_the_cap_get_503() {
    let mut config = Config::default();
    config.limits.max_connections = 2;
    let server = Server::with(config).await;
    let a = server.client().await;
    let _b = server.client().await;
    match Client::connect(&server, None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected 503, got {:?}", other.map(|_| "a connection")),
    }
    // A slot frees up when a client goes.
    drop(a);
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        if let Ok(mut c) = Client::connect(&server, None).await {
            c.assert_usable().await;
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_with_403() {
    let server = Server::start().await;
    match Client::connect(&server, Some("http://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| "a connection")),
    }
    let own = format!("http://{}", server.addr);
    for origin in [
        own.as_str(),
        "tauri://localhost",
        "http://tauri.localhost",
        "https://tauri.localhost",
    ] {
        let mut client = Client::connect(&server, Some(origin))
            .await
            .unwrap_or_else(|e| panic!("{origin}: {e}"));
        client.assert_usable().await;
    }
}

#[tokio::test]
async fn allowed_origins_are_let_in() {
    let config = Config {
        allowed_origins: vec!["https://hearth.example".into()],
        ..Config::default()
    };
    let server = Server::with(config).await;
    let mut client = Client::connect(&server, Some("https://hearth.example"))
        .await
        .expect("allowed");
    client.assert_usable().await;
    assert!(Client::connect(&server, Some("https://other.example"))
        .await
        .is_err());
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1001_and_returns() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let mut idle = server.client().await;
    let stopping = tokio::spawn(server.stop());
    for client in [&mut ada, &mut idle] {
        let close = client.recv_close().await.expect("a close frame");
        assert_eq!(u16::from(close.code), 1001);
    }
    stopping.await.expect("serve returned");
    let _ = ada.ws.send(Message::text("{}")).await;
}
