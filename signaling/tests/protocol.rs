//! The protocol contract of docs/PROTOCOL.md, one test per point, against the real server.

mod common;

use common::{id, Client, Server};
use serde_json::json;

#[tokio::test]
async fn join_welcomes_with_id_room_peers_and_ice_servers() {
    let server = Server::start().await;
    let (mut ada, welcome) = server.joined("kitchen", "  Ada  ").await;
    assert_eq!(welcome["room"], "kitchen");
    assert_eq!(welcome["peers"], json!([]));
    assert_eq!(welcome["iceServers"], json!([]));
    let ada_id = id(&welcome);
    assert_eq!(ada_id.len(), 32, "128 random bits in hex");

    let (_bob, welcome) = server.joined("kitchen", "Bob").await;
    assert_eq!(
        welcome["peers"],
        json!([{"id": ada_id, "name": "Ada"}]),
        "names are trimmed"
    );
    assert_ne!(id(&welcome), ada_id);
    let joined = ada.recv_type("peer-joined").await;
    assert_eq!(joined["peer"], json!({"id": id(&welcome), "name": "Bob"}));
}

#[tokio::test]
async fn ids_are_unique_and_unguessable() {
    let server = Server::start().await;
    let mut ids = std::collections::HashSet::new();
    for i in 0..50 {
        let (_c, welcome) = server.joined(&format!("room{i}"), "x").await;
        assert!(id(&welcome).chars().all(|c| c.is_ascii_hexdigit()));
        assert!(ids.insert(id(&welcome)));
    }
}

#[tokio::test]
async fn signal_to_a_peer_is_relayed_verbatim_with_from() {
    let server = Server::start().await;
    let (mut ada, wa) = server.joined("r", "Ada").await;
    let (mut bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    // Odd spacing, exponent notation and escapes survive byte for byte.
    let data = r#"{"kind" : "description", "n": 1.0e3, "s":"\u00e9\n", "description":{"type":"offer","sdp":"v=0\r\n"}}"#;
    ada.send_text(&format!(
        r#"{{"type":"signal","to":"{}","data":{data}}}"#,
        id(&wb)
    ))
    .await;
    let text = bob.recv_text().await;
    assert_eq!(
        text,
        format!(r#"{{"type":"signal","from":"{}","data":{data}}}"#, id(&wa))
    );
}

#[tokio::test]
async fn signal_without_to_reaches_every_other_peer_of_the_room() {
    let mut config = signaling::Config::default();
    config.limits.max_peers_per_room = 3;
    let server = Server::with(config).await;
    let (mut a, wa) = server.joined("r", "A").await;
    let (mut b, _) = server.joined("r", "B").await;
    let (mut c, _) = server.joined("r", "C").await;
    a.recv_type("peer-joined").await;
    a.recv_type("peer-joined").await;
    b.recv_type("peer-joined").await;
    a.send(json!({"type": "signal", "data": {"kind": "hangup"}}))
        .await;
    for peer in [&mut b, &mut c] {
        let msg = peer.recv_type("signal").await;
        assert_eq!(
            msg,
            json!({"type": "signal", "from": id(&wa), "data": {"kind": "hangup"}})
        );
    }
    // The sender does not hear its own broadcast: its next message is the pong.
    a.assert_usable().await;
}

#[tokio::test]
async fn leave_tells_the_room_and_allows_another_join() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    bob.send(json!({"type": "leave"})).await;
    assert_eq!(
        ada.recv_type("peer-left").await,
        json!({"type": "peer-left", "id": id(&wb)})
    );
    bob.send(json!({"type": "join", "room": "other", "name": "Bob"}))
        .await;
    let again = bob.recv_type("welcome").await;
    assert_eq!(again["room"], "other");
    assert_ne!(id(&again), id(&wb), "a new join gets a new id");
}

#[tokio::test]
async fn closing_the_connection_tells_the_room() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    bob.ws.close(None).await.expect("close");
    assert_eq!(ada.recv_type("peer-left").await["id"], id(&wb));
}

#[tokio::test]
async fn dropping_the_connection_without_close_tells_the_room() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    drop(bob);
    assert_eq!(ada.recv_type("peer-left").await["id"], id(&wb));
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let server = Server::start().await;
    let mut client = server.client().await;
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.recv().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn many_messages_arrive_complete_and_in_order() {
    let mut config = signaling::Config::default();
    config.limits.rate_per_sec = 1e6;
    config.limits.rate_burst = 1e6;
    config.limits.send_queue = 4096;
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, wb) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let to = id(&wb);
    let n = 2000;
    let sender = tokio::spawn(async move {
        for seq in 0..n {
            ada.send(json!({"type": "signal", "to": to, "data": {"seq": seq}}))
                .await;
        }
        ada
    });
    for seq in 0..n {
        assert_eq!(bob.recv_type("signal").await["data"]["seq"], seq);
    }
    sender.await.expect("sender").assert_usable().await;
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = Server::start().await;
    let (mut a1, _) = server.joined("one", "A1").await;
    let (mut b1, _) = server.joined("one", "B1").await;
    let (mut a2, _) = server.joined("two", "A2").await;
    let (mut b2, w_b2) = server.joined("two", "B2").await;
    a1.recv_type("peer-joined").await;
    a2.recv_type("peer-joined").await;
    a1.send(json!({"type": "signal", "data": "for room one"}))
        .await;
    assert_eq!(b1.recv_type("signal").await["data"], "for room one");
    // Addressing a peer of another room is refused as unknown, and nothing arrives there.
    a1.send(json!({"type": "signal", "to": id(&w_b2), "data": "sneak"}))
        .await;
    a1.expect_error("unknown-peer").await;
    b1.send(json!({"type": "leave"})).await;
    a1.recv_type("peer-left").await;
    // Room two heard nothing of it: the next thing each sees is its own pong.
    a2.assert_usable().await;
    b2.assert_usable().await;
}

#[tokio::test]
async fn a_room_frees_up_when_everyone_leaves() {
    let server = Server::start().await;
    for round in 0..3 {
        let (a, _) = server.joined("r", "A").await;
        let (b, w) = server.joined("r", "B").await;
        assert_eq!(
            w["peers"].as_array().map(Vec::len),
            Some(1),
            "round {round}"
        );
        drop((a, b));
        server.wait_for_rooms(0).await;
    }
}

#[tokio::test]
async fn a_client_can_connect_without_an_origin_header() {
    let server = Server::start().await;
    let mut client = Client::connect(&server, None)
        .await
        .expect("native clients send no Origin");
    client.assert_usable().await;
}

#[tokio::test]
async fn signal_data_may_be_any_json_value_including_null() {
    let server = Server::start().await;
    let (mut ada, wa) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    for data in ["null", "0", "\"text\"", "[]", "false"] {
        ada.send_text(&format!(r#"{{"type":"signal","data":{data}}}"#))
            .await;
        assert_eq!(
            bob.recv_text().await,
            format!(r#"{{"type":"signal","from":"{}","data":{data}}}"#, id(&wa))
        );
    }
}
