//! Coming back after losing the connection: a `join` with the `resume` token of the last welcome
//! takes back the person's place from the session the server still holds for them (a ghost whose
//! socket it has not yet found dead): same id, nobody else told, the ghost closed with 4009. A
//! token serves once, and one that matches nobody is an ordinary join.

mod common;

use common::{Client, Server};
use serde_json::json;
use signaling::{Config, IceConfig, Metrics};

/// A server whose rooms hold two people, like a two-person call.
async fn rooms_of_two() -> Server {
    let mut config = Config::default();
    config.limits.max_peers_per_room = 2;
    Server::with(config).await
}

/// Ada, and Bob, who then goes silent: he reads nothing more and answers no ping, but his TCP
/// connection stays open, as when his network dropped without a word. The server keeps his
/// place until its peer timeout (30 s), longer than any of these tests.
async fn ada_and_a_ghost(server: &Server) -> (Client, Client, serde_json::Value) {
    let (mut ada, _) = server.joined("kitchen", "Ada").await;
    let (ghost, bob_welcome) = server.joined("kitchen", "Bob").await;
    ada.recv_type("peer-joined").await;
    (ada, ghost, bob_welcome)
}

#[tokio::test]
async fn a_ghost_is_replaced_by_a_join_with_its_token() {
    let metrics = Metrics::new();
    let server = Server::with(Config {
        metrics: metrics.clone(),
        ..Config::default()
    })
    .await;
    let (mut ada, mut ghost, bob_welcome) = ada_and_a_ghost(&server).await;
    let bob_id = common::id(&bob_welcome);

    let (mut bob, welcome) = server
        .resumed("kitchen", "Bob", &common::resume(&bob_welcome))
        .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(common::id(&welcome), bob_id);
    assert_eq!(welcome["peers"], bob_welcome["peers"]);
    assert_ne!(common::resume(&welcome), common::resume(&bob_welcome));

    // Ada hears neither a leave nor a join: her very next message answers her ping.
    ada.assert_usable().await;
    // What she sends to Bob's id reaches the new connection, and his answers come from that id.
    ada.send(json!({"type": "signal", "to": bob_id, "data": "still there?"}))
        .await;
    let signal = bob.recv_type("signal").await;
    assert_eq!(signal["data"], "still there?");
    bob.send(json!({"type": "signal", "data": "yes"})).await;
    assert_eq!(ada.recv_type("signal").await["from"], bob_id);

    let close = ghost.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4009);
    assert_eq!(
        close.reason,
        "Replaced by a newer connection of the same person."
    );
    // The ghost's end takes nobody out of the room.
    ada.assert_usable().await;
    let rendered = metrics.render();
    assert!(rendered.contains("hearth_resumes_total 1"), "{rendered}");
    assert!(rendered.contains(r#"hearth_disconnects_total{reason="replaced"} 1"#));
}

#[tokio::test]
async fn a_full_room_with_a_ghost_lets_its_owner_back_in_and_nobody_else() {
    let server = rooms_of_two().await;
    let (mut ada, _ghost, bob_welcome) = ada_and_a_ghost(&server).await;

    // Without the token Bob's return is just a third person.
    let mut stranger = server.client().await;
    stranger
        .send(json!({"type": "join", "room": "kitchen", "name": "Bob"}))
        .await;
    stranger.expect_error("room-full").await;

    let (_bob, welcome) = server
        .resumed("kitchen", "Bob", &common::resume(&bob_welcome))
        .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(common::id(&welcome), common::id(&bob_welcome));
    ada.assert_usable().await;
}

#[tokio::test]
async fn a_token_serves_once() {
    let server = rooms_of_two().await;
    let (mut ada, _ghost, bob_welcome) = ada_and_a_ghost(&server).await;
    let used = common::resume(&bob_welcome);
    let (mut bob, welcome) = server.resumed("kitchen", "Bob", &used).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");

    // Offered again, the token is nobody's: an ordinary join, which a room of two refuses.
    let (_thief, answer) = server.resumed("kitchen", "Bob", &used).await;
    assert_eq!(answer["code"], "room-full", "{answer}");
    ada.assert_usable().await;
    bob.assert_usable().await;

    // The token of the latest welcome is the one that works.
    let (_again, rewelcome) = server
        .resumed("kitchen", "Bob", &common::resume(&welcome))
        .await;
    assert_eq!(common::id(&rewelcome), common::id(&bob_welcome));
}

#[tokio::test]
async fn a_token_that_matches_nobody_joins_as_anyone_does() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("kitchen", "Ada").await;
    // As after a server restart: the token is from a welcome this server never gave.
    let (_bob, welcome) = server
        .resumed("kitchen", "Bob", "0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let joined = ada.recv_type("peer-joined").await;
    assert_eq!(joined["peer"]["id"], common::id(&welcome));

    // A token from another room is nobody's in this one.
    let (_cy, cy_welcome) = server.joined("hall", "Cy").await;
    let (_dan, dan_welcome) = server
        .resumed("kitchen", "Dan", &common::resume(&cy_welcome))
        .await;
    assert_ne!(common::id(&dan_welcome), common::id(&cy_welcome));
    assert_eq!(ada.recv_type("peer-joined").await["peer"]["name"], "Dan");
}

#[tokio::test]
async fn an_over_long_token_is_a_bad_message() {
    let server = Server::start().await;
    let (_, answer) = server.resumed("kitchen", "Ada", &"a".repeat(65)).await;
    assert_eq!(answer["code"], "bad-message", "{answer}");
}

#[tokio::test]
async fn a_resumed_welcome_has_turn_credentials_for_the_same_id() {
    let vars = [
        ("TURN_URLS", "turn:turn.example:3478"),
        ("TURN_SECRET", "s"),
    ];
    let ice = IceConfig::from_lookup(|key| {
        vars.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })
    .expect("valid");
    let server = Server::with(Config {
        ice,
        ..Config::default()
    })
    .await;
    let (_ada, _) = server.joined("kitchen", "Ada").await;
    let (_ghost, bob_welcome) = server.joined("kitchen", "Bob").await;
    let (_bob, welcome) = server
        .resumed("kitchen", "Bob", &common::resume(&bob_welcome))
        .await;
    let username = welcome["iceServers"][0]["username"]
        .as_str()
        .expect("username");
    assert!(username.ends_with(&format!(":{}", common::id(&bob_welcome))));
}
