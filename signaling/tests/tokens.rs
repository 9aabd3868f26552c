//! Invite tokens: with `AUTH_SECRET` set, who gets into which room, what the refused are told,
//! when their connection is closed, and who may fetch TURN credentials from `/ice-servers`.

mod common;

use common::{Client, Server};
use serde_json::{json, Value};
use signaling::{Auth, Config};
use std::time::{Duration, SystemTime};

const SECRET: &str = "test-secret-test-secret-test-secret-0123";
const HOUR: Duration = Duration::from_secs(3600);

fn auth() -> Auth {
    Auth::new(SECRET).expect("a long enough secret")
}

fn token(room: &str, name: Option<&str>) -> String {
    auth()
        .mint(room, HOUR, name, SystemTime::now())
        .expect("mint")
}

async fn server() -> Server {
    Server::with(Config {
        auth: Some(auth()),
        ..Config::default()
    })
    .await
}

async fn join(client: &mut Client, room: &str, token: Option<&str>) -> Value {
    let mut msg = json!({"type": "join", "room": room, "name": "Ada"});
    if let Some(token) = token {
        msg["token"] = json!(token);
    }
    client.send(msg).await;
    client.recv().await
}

fn assert_unauthorized(reply: &Value, says: &str) {
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "unauthorized", "{reply}");
    let message = reply["message"].as_str().expect("a sentence");
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

#[tokio::test]
async fn a_valid_token_opens_its_room() {
    let server = server().await;
    let mut client = server.client().await;
    let welcome = join(&mut client, "kitchen", Some(&token("kitchen", None))).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["room"], "kitchen");
}

#[tokio::test]
async fn a_token_for_every_room_opens_any() {
    let server = server().await;
    let mut client = server.client().await;
    let welcome = join(&mut client, "garden", Some(&token("*", None))).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
}

#[tokio::test]
async fn the_name_in_a_token_is_the_name_others_see() {
    let server = server().await;
    let mut ada = server.client().await;
    join(&mut ada, "kitchen", Some(&token("kitchen", None))).await;
    let mut bob = server.client().await;
    // Bob types "Ada", but his invite says who he is.
    let welcome = join(&mut bob, "kitchen", Some(&token("kitchen", Some("Bob")))).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let joined = ada.recv_type("peer-joined").await;
    assert_eq!(joined["peer"]["name"], "Bob");
}

#[tokio::test]
async fn each_unusable_token_is_refused_with_its_reason() {
    let server = server().await;
    let past = SystemTime::now() - 2 * HOUR;
    let expired = auth()
        .mint("kitchen", Duration::from_secs(60), None, past)
        .expect("mint");
    let other_secret = Auth::new("another-secret-another-secret-another-9")
        .expect("secret")
        .mint("kitchen", HOUR, None, SystemTime::now())
        .expect("mint");
    let cases: [(Option<&str>, &str); 5] = [
        (None, "needs an invite token"),
        (Some("not-a-token"), "not a token"),
        (Some(&expired), "expired"),
        (Some(&other_secret), "not issued by this server"),
        (
            Some(&token("garden", None)),
            "for room \"garden\", not \"kitchen\"",
        ),
    ];
    for (token, says) in cases {
        // Fresh connections: three refusals on one would close it.
        let mut client = server.client().await;
        assert_unauthorized(&join(&mut client, "kitchen", token).await, says);
        client.assert_usable().await;
    }
    // Nobody got in.
    server.wait_for_rooms(0).await;
}

#[tokio::test]
async fn a_token_that_is_not_a_string_is_unauthorized() {
    let server = server().await;
    let mut client = server.client().await;
    client
        .send(json!({"type": "join", "room": "kitchen", "name": "Ada", "token": 42}))
        .await;
    assert_unauthorized(&client.recv().await, "needs an invite token");
}

#[tokio::test]
async fn a_refused_join_can_be_retried_with_a_good_token() {
    let server = server().await;
    let mut client = server.client().await;
    assert_unauthorized(&join(&mut client, "kitchen", None).await, "needs");
    assert_unauthorized(
        &join(&mut client, "kitchen", Some("x.y.z")).await,
        "not a token",
    );
    let welcome = join(&mut client, "kitchen", Some(&token("kitchen", None))).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
}

#[tokio::test]
async fn the_third_refusal_closes_the_connection() {
    let server = server().await;
    let mut client = server.client().await;
    for _ in 0..3 {
        assert_unauthorized(
            &join(&mut client, "kitchen", Some("bad")).await,
            "not a token",
        );
    }
    let close = client.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
}

#[tokio::test]
async fn without_a_secret_tokens_are_not_needed_and_ignored() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let welcome = join(&mut client, "kitchen", Some("anything")).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
}

#[tokio::test]
async fn ice_servers_need_a_token_as_bearer_or_query() {
    let server = server().await;
    let http = reqwest::Client::new();
    let url = server.url("/ice-servers");

    let refused = http.get(&url).send().await.expect("GET");
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Bearer realm="hearth""#
    );
    assert!(refused.text().await.expect("body").contains("invite token"));

    let bad = http.get(&url).bearer_auth("bad").send().await.expect("GET");
    assert_eq!(bad.status(), 401);

    let good = token("kitchen", None);
    let by_header = http.get(&url).bearer_auth(&good).send().await.expect("GET");
    assert_eq!(by_header.status(), 200);
    assert_eq!(
        by_header.json::<Value>().await.expect("JSON"),
        json!({"iceServers": []})
    );

    let by_query = http
        .get(format!("{url}?token={good}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(by_query.status(), 200);

    // The health check stays open for load balancers.
    assert_eq!(server.health().await["status"], "ok");
}

/// `signaling token` as an operator runs it.
fn token_command(args: &[&str], secret: Option<&str>) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_signaling"));
    command
        .arg("token")
        .args(args)
        .env_remove("AUTH_SECRET")
        // No .env from the working directory.
        .current_dir(std::env::temp_dir());
    if let Some(secret) = secret {
        command.env("AUTH_SECRET", secret);
    }
    command.output().expect("run signaling token")
}

#[test]
fn the_token_command_prints_a_token_and_the_invite_link() {
    let out = token_command(
        &[
            "--room",
            "kitchen",
            "--ttl",
            "2h",
            "--name",
            "Ada L",
            "--url",
            "https://hearth.example/",
        ],
        Some(SECRET),
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let claims = auth()
        .verify(Some(lines[0]), Some("kitchen"))
        .expect("the printed token is valid for its room");
    assert_eq!(claims.name.as_deref(), Some("Ada L"));
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!((now + 7000..=now + 7300).contains(&claims.exp), "two hours");
    assert_eq!(
        lines[1],
        format!(
            "https://hearth.example/?room=kitchen&token={}&name=Ada%20L",
            lines[0]
        )
    );
}

#[test]
fn the_token_command_needs_the_secret() {
    let out = token_command(&["--room", "kitchen"], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH_SECRET"), "{stderr}");
    let bad_ttl = token_command(&["--room", "kitchen", "--ttl", "soon"], Some(SECRET));
    assert!(!bad_ttl.status.success());
}
