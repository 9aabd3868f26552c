//! The HTTP side: `/ice-servers`, `/healthz`, the embedded UI, and what a plain GET of `/ws` gets.

mod common;

use base64::Engine as _;
use common::Server;
use serde_json::{json, Value};
use signaling::{Config, IceConfig};
use std::time::{SystemTime, UNIX_EPOCH};

fn ice(vars: &[(&str, &str)]) -> IceConfig {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    IceConfig::from_lookup(|key| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        .expect("valid")
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("GET");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = Server::start().await;
    assert_eq!(
        get_json(&server.url("/healthz")).await,
        json!({"status": "ok", "rooms": 0})
    );
}

#[tokio::test]
async fn ice_servers_without_configuration_is_an_empty_list() {
    let server = Server::start().await;
    assert_eq!(
        get_json(&server.url("/ice-servers")).await,
        json!({"iceServers": []})
    );
}

#[tokio::test]
async fn ice_servers_lists_stun_and_static_turn_and_welcome_matches() {
    let config = Config {
        ice: ice(&[
            ("STUN_SERVER_ID", "stun:stun.example:3478"),
            (
                "TURN_URLS",
                "turn:turn.example:3478,turns:turn.example:5349",
            ),
            ("TURN_USERNAME", "alice"),
            ("TURN_CREDENTIAL", "wonderland"),
        ]),
        ..Config::default()
    };
    let server = Server::with(config).await;
    let want = json!([
        {"urls": ["stun:stun.example:3478"]},
        {"urls": ["turn:turn.example:3478", "turns:turn.example:5349"], "username": "alice", "credential": "wonderland"},
    ]);
    assert_eq!(
        get_json(&server.url("/ice-servers")).await["iceServers"],
        want
    );
    let (_c, welcome) = server.joined("r", "Ada").await;
    assert_eq!(welcome["iceServers"], want);
}

/// HMAC-SHA1 written out from RFC 2104 over the `sha1` crate alone, independent of the server's
/// use of the `hmac` crate.
fn reference_hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner_hash = Sha1::digest(&inner);
    let outer: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner_hash.iter().copied())
        .collect();
    Sha1::digest(&outer).to_vec()
}

#[test]
fn reference_hmac_matches_rfc_2202() {
    // RFC 2202 test case 2.
    let mac = reference_hmac_sha1(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

#[tokio::test]
async fn turn_rest_credentials_are_time_limited_and_verifiable() {
    let secret = "coturn-static-auth-secret";
    let config = Config {
        ice: ice(&[
            ("TURN_URLS", "turn:turn.example:3478"),
            ("TURN_SECRET", secret),
            ("TURN_TTL_SECS", "3600"),
        ]),
        ..Config::default()
    };
    let server = Server::with(config).await;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let body = get_json(&server.url("/ice-servers")).await;
    let (_c, welcome) = server.joined("r", "Ada").await;
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();

    for servers in [&body["iceServers"], &welcome["iceServers"]] {
        let turn = &servers[0];
        let username = turn["username"].as_str().expect("username");
        let (expiry, _id) = username.split_once(':').expect("expiry:id");
        let expiry: u64 = expiry.parse().expect("unix time");
        assert!(
            (before + 3600..=after + 3600).contains(&expiry),
            "expiry {expiry} is an hour ahead"
        );
        let want = base64::engine::general_purpose::STANDARD
            .encode(reference_hmac_sha1(secret.as_bytes(), username.as_bytes()));
        assert_eq!(turn["credential"], want);
        assert!(
            !servers.to_string().contains(secret),
            "the secret never leaves the server"
        );
    }
    // In a welcome the username names the peer.
    let username = welcome["iceServers"][0]["username"]
        .as_str()
        .expect("username");
    assert!(username.ends_with(&format!(":{}", common::id(&welcome))));
}

#[tokio::test]
async fn the_ui_is_served_at_the_root() {
    let server = Server::start().await;
    let response = reqwest::get(server.url("/")).await.expect("GET /");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let html = response.text().await.expect("body");
    assert!(html.contains(r#"id="localVideo""#) && html.contains(r#"id="remoteVideo""#));
    let missing = reqwest::get(server.url("/no/such/file.js"))
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_ui_can_be_turned_off() {
    let server = Server::with(Config {
        serve_ui: false,
        ..Config::default()
    })
    .await;
    assert_eq!(
        reqwest::get(server.url("/")).await.expect("GET /").status(),
        404
    );
    assert_eq!(
        reqwest::get(server.url("/healthz"))
            .await
            .expect("GET")
            .status(),
        200
    );
}

#[tokio::test]
async fn a_plain_get_of_ws_is_a_client_error() {
    let server = Server::start().await;
    let status = reqwest::get(server.url("/ws"))
        .await
        .expect("GET /ws")
        .status();
    assert!(status.is_client_error(), "{status}");
}
