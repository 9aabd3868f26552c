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
    let chunk = "c".repeat(60 * 1024);
    // Enough to fill the socket buffers and the queue many times over.
    let mut left = None;
    for _ in 0..2000 {
        ada.send(json!({"type": "signal", "to": to, "data": chunk}))
            .await;
        // Ada's own round trip stays quick: the server never waits on Bob.
        ada.send(json!({"type": "ping"})).await;
        loop {
            let reply = ada.recv().await;
            match reply["type"].as_str() {
                Some("pong") => break,
                Some("peer-left") => left = Some(reply),
                // Once Bob is gone, signals to him are refused until the peer-left is read.
                Some("error") if reply["code"] == "unknown-peer" => {}
                _ => panic!("unexpected {reply}"),
            }
        }
        if left.is_some() {
            break;
        }
    }
    let left = left.expect("the slow peer was disconnected");
    assert_eq!(left["id"], to);
    ada.assert_usable().await;
    drop(bob);
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
