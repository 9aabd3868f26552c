//! Every error code of docs/PROTOCOL.md, each provoked for real, and the connection's state after it.

mod common;

use common::{Client, Server};
use futures_util::SinkExt;
use serde_json::json;
use signaling::Config;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn bad_message_keeps_the_connection_usable() {
    let server = Server::start().await;
    let mut client = server.client().await;
    for text in [
        "not json",
        "[1,2]",
        "{}",
        r#"{"type":"dance"}"#,
        r#"{"type":"signal"}"#,
        "\"join\"",
    ] {
        client.send_text(text).await;
        client.expect_error("bad-message").await;
    }
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("send");
    client.expect_error("bad-message").await;
    client.assert_usable().await;
}

#[tokio::test]
async fn signal_and_leave_before_join_are_not_joined() {
    let server = Server::start().await;
    let mut client = server.client().await;
    client.send(json!({"type": "signal", "data": 1})).await;
    client.expect_error("not-joined").await;
    client.send(json!({"type": "leave"})).await;
    client.expect_error("not-joined").await;
    client.assert_usable().await;
}

#[tokio::test]
async fn joining_twice_is_already_joined() {
    let server = Server::start().await;
    let (mut client, _) = server.joined("r", "Ada").await;
    client
        .send(json!({"type": "join", "room": "s", "name": "Ada"}))
        .await;
    client.expect_error("already-joined").await;
    client.assert_usable().await;
}

#[tokio::test]
async fn bad_rooms_are_refused() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let long = "a".repeat(65);
    for room in [
        json!(""),
        json!("with space"),
        json!("ünï"),
        json!(long),
        json!(7),
        json!(null),
        json!("a/b"),
    ] {
        client
            .send(json!({"type": "join", "room": room, "name": "Ada"}))
            .await;
        client.expect_error("bad-room").await;
    }
    client.send(json!({"type": "join", "name": "Ada"})).await;
    client.expect_error("bad-room").await;
    // The longest legal name works.
    client
        .send(json!({"type": "join", "room": "A-z_9".repeat(12) + "abcd", "name": "Ada"}))
        .await;
    client.recv_type("welcome").await;
}

#[tokio::test]
async fn bad_names_are_refused() {
    let server = Server::start().await;
    let mut client = server.client().await;
    for name in [
        json!(""),
        json!("   "),
        json!("x".repeat(65)),
        json!(3),
        json!("bell\u{7}"),
        json!("\u{200B}\u{200D}"),
        json!("Ada\u{202E}gnp.exe"),
        json!("x\u{2066}y\u{2069}"),
        json!("Ad\u{AD}a"),
        json!("\u{3164}"),
    ] {
        client
            .send(json!({"type": "join", "room": "r", "name": name}))
            .await;
        client.expect_error("bad-name").await;
    }
    client
        .send(json!({"type": "join", "room": "r", "name": format!(" {} ", "é".repeat(64))}))
        .await;
    client.recv_type("welcome").await;
}

#[tokio::test]
async fn a_full_room_refuses_and_the_connection_may_join_another() {
    let mut config = Config::default();
    config.limits.max_peers_per_room = 2;
    let server = Server::with(config).await;
    let (_a, _) = server.joined("r", "A").await;
    let (_b, _) = server.joined("r", "B").await;
    let mut third = server.client().await;
    third
        .send(json!({"type": "join", "room": "r", "name": "C"}))
        .await;
    let err = third.expect_error("room-full").await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("full")));
    third
        .send(json!({"type": "join", "room": "elsewhere", "name": "C"}))
        .await;
    third.recv_type("welcome").await;
}

#[tokio::test]
async fn max_peers_per_room_is_configurable() {
    let mut config = Config::default();
    config.limits.max_peers_per_room = 1;
    let server = Server::with(config).await;
    let (_a, _) = server.joined("r", "A").await;
    let mut b = server.client().await;
    b.send(json!({"type": "join", "room": "r", "name": "B"}))
        .await;
    b.expect_error("room-full").await;
}

#[tokio::test]
async fn unknown_peers_are_refused() {
    let server = Server::start().await;
    let (mut ada, wa) = server.joined("r", "Ada").await;
    ada.send(json!({"type": "signal", "to": "0123456789abcdef0123456789abcdef", "data": 1}))
        .await;
    ada.expect_error("unknown-peer").await;
    ada.send(json!({"type": "signal", "to": common::id(&wa), "data": 1}))
        .await;
    ada.expect_error("unknown-peer").await; // yourself
    ada.assert_usable().await;
}

#[tokio::test]
async fn too_large_messages_are_refused_and_others_are_unaffected() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let big = "x".repeat(64 * 1024);
    ada.send(json!({"type": "signal", "data": big})).await;
    let err = ada.expect_error("too-large").await;
    assert!(
        err["message"].as_str().is_some_and(|m| m.contains("65536")),
        "{err}"
    );
    ada.assert_usable().await;
    // Just under the limit still goes through.
    let fits = "y".repeat(64 * 1024 - 40);
    ada.send(json!({"type": "signal", "data": fits})).await;
    assert_eq!(
        bob.recv_type("signal").await["data"].as_str().map(str::len),
        Some(fits.len())
    );
    bob.assert_usable().await;
}

#[tokio::test]
async fn a_huge_frame_closes_with_1009_and_others_are_unaffected() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let _ = ada.ws.send(Message::text(huge)).await;
    let close = ada.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    bob.recv_type("peer-left").await;
    bob.assert_usable().await;
}

#[tokio::test]
async fn message_size_limit_is_configurable() {
    let mut config = Config::default();
    config.limits.max_message_bytes = 100;
    let server = Server::with(config).await;
    let mut client = server.client().await;
    client
        .send(json!({"type": "signal", "data": "z".repeat(100)}))
        .await;
    client.expect_error("too-large").await;
}

/// Once a burst is over: pings `client` every 500 ms until one is answered, adding up the
/// `rate-limited` reports that come meanwhile. Returns the messages they refused, not counting the
/// pings refused here.
async fn refused_until_a_pong(client: &mut Client) -> u64 {
    use futures_util::StreamExt;
    let (mut refused, mut pings) = (0, 0);
    loop {
        client.send(json!({"type": "ping"})).await;
        pings += 1;
        let wait = tokio::time::sleep(Duration::from_millis(500));
        tokio::pin!(wait);
        loop {
            let frame = tokio::select! {
                () = &mut wait => break,
                frame = client.ws.next() => frame,
            };
            let Some(Ok(Message::Text(text))) = frame else {
                continue;
            };
            let msg: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
            match (msg["type"].as_str(), msg["code"].as_str()) {
                // Every ping before the answered one was refused.
                (Some("pong"), _) => return refused - (pings - 1),
                (Some("error"), Some("rate-limited")) => {
                    refused += msg["refused"].as_u64().expect("a count")
                }
                _ => panic!("unexpected {msg}"),
            }
        }
        assert!(pings < 20, "no ping answered in 10 s");
    }
}

/// Reads `client`'s replies to `sent` pings: pongs and `rate-limited` errors, whose `refused`
/// counts stand for the others. Returns (pongs, refused, rate-limited replies).
async fn tally_pings(client: &mut Client, sent: u64) -> (u64, u64, u64) {
    let (mut pongs, mut refused, mut replies) = (0, 0, 0);
    while pongs + refused < sent {
        let msg = client.recv().await;
        match (msg["type"].as_str(), msg["code"].as_str()) {
            (Some("pong"), _) => pongs += 1,
            (Some("error"), Some("rate-limited")) => {
                refused += msg["refused"]
                    .as_u64()
                    .expect("a count of refused messages");
                replies += 1;
            }
            _ => panic!("unexpected {msg}"),
        }
    }
    assert_eq!(pongs + refused, sent, "every message is accounted for once");
    (pongs, refused, replies)
}

#[tokio::test]
async fn a_burst_of_10000_pings_gets_its_refusals_and_keeps_the_connection() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let sent = 10_000;
    let started = tokio::time::Instant::now();
    for _ in 0..sent {
        client.send_text(r#"{"type":"ping"}"#).await;
    }
    let (pongs, refused, replies) = tally_pings(&mut client, sent).await;
    assert!(pongs >= 200, "the burst allowance goes through: {pongs}");
    assert!(refused >= 5_000, "the excess is refused: {refused}");
    // A report per message that went through (each flushes the count) and one per 50 ms at
    // most: far fewer replies than refusals, however slowly the machine runs the burst.
    let bound = pongs + started.elapsed().as_millis() as u64 / 50 + 1;
    assert!(
        replies <= bound,
        "refusals are reported per burst: {replies} replies for {refused} refusals"
    );
    // The bucket refills at the sustained rate.
    assert_eq!(refused_until_a_pong(&mut client).await, 0);
    client.assert_usable().await;
}

#[tokio::test]
async fn a_burst_of_10000_signals_is_relayed_up_to_the_limit_and_the_rest_reported() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let sent = 10_000;
    let frame = json!({"type": "signal", "to": common::id(&wb), "data": {"kind": "candidate"}});
    for _ in 0..sent {
        ada.send(frame.clone()).await;
    }
    // Signals that went through get no reply; a ping once the bucket has refilled ends the count.
    let refused = refused_until_a_pong(&mut ada).await;
    let relayed = sent - refused;
    assert!(
        relayed >= 200,
        "the burst allowance goes through: {relayed}"
    );
    for _ in 0..relayed {
        bob.recv_type("signal").await;
    }
    // Exactly those: Bob's next message is his own pong.
    bob.assert_usable().await;
}

#[tokio::test]
async fn websocket_ping_frames_count_against_the_rate_limit() {
    let server = Server::start().await;
    let mut client = server.client().await;
    for _ in 0..10_000 {
        client
            .ws
            .send(Message::Ping(vec![7].into()))
            .await
            .expect("send");
    }
    // Past the burst allowance they are refused and reported, a few reports for the whole burst;
    // a text ping once the bucket has refilled ends the count.
    let refused = refused_until_a_pong(&mut client).await;
    assert!(refused >= 5_000, "refused {refused} of 10,000");
}

#[tokio::test]
async fn no_join_in_time_is_join_timeout_then_close() {
    let mut config = Config::default();
    config.limits.join_timeout = Duration::from_millis(300);
    let server = Server::with(config).await;
    let mut client = server.client().await;
    client.assert_usable().await; // pings do not count as joining
    client.expect_error("join-timeout").await;
    let close = client.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
}

#[tokio::test]
async fn a_joined_client_is_not_timed_out() {
    let mut config = Config::default();
    config.limits.join_timeout = Duration::from_millis(200);
    let server = Server::with(config).await;
    let (mut client, _) = server.joined("r", "Ada").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.assert_usable().await;
}

#[tokio::test]
async fn a_server_limited_to_some_rooms_refuses_others_as_unknown_room() {
    let config = Config {
        only_rooms: Some(vec!["k7m2-qx9f".into()]),
        ..Config::default()
    };
    let server = Server::with(config).await;
    let mut client = server.client().await;
    client
        .send(json!({"type": "join", "room": "k7m2-qx9g", "name": "Ada"}))
        .await;
    let err = client.expect_error("unknown-room").await;
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("room code")),
        "{err}"
    );
    client
        .send(json!({"type": "join", "room": "k7m2-qx9f", "name": "Ada"}))
        .await;
    client.recv_type("welcome").await;
}

#[tokio::test]
async fn a_room_holds_six_by_default() {
    let server = Server::start().await;
    let mut people = Vec::new();
    for name in ["A", "B", "C", "D", "E", "F"] {
        people.push(server.joined("r", name).await);
    }
    let mut seventh = server.client().await;
    seventh
        .send(json!({"type": "join", "room": "r", "name": "G"}))
        .await;
    seventh.expect_error("room-full").await;
}
