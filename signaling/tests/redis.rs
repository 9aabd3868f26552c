//! Several instances sharing rooms through a real Redis (Debian's `redis-server`, one per test on
//! a free port, nothing saved to disk): people on different instances meet and relay both ways in
//! order, the room limit holds under concurrent joins through different instances, a killed
//! instance leaves no ghosts, losing Redis refuses joins but not calls and recovers by itself,
//! an instance that stops sends its people to the others, and a person who comes back with their
//! `resume` token takes their place back from their ghost, on whichever instance either is.

mod common;

use common::{Client, Server, PATIENCE};
use serde_json::{json, Value};
use signaling::{Config, Limits, Metrics, RedisConfig};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` of its own on a free loopback port; killed when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Redis { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it (again, empty, on the same port) and waits until it accepts commands.
    fn restart(&mut self) {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (the setup installs Debian's redis-server)");
        let stdout = child.stdout.take().expect("stdout");
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        assert!(ready, "redis-server did not start");
        self.child = Some(child);
    }

    /// Stops (SIGSTOP) or resumes (SIGCONT) it: a Redis that holds everything but answers nothing.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Kills it: everything it held is gone.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Short heartbeats, so a dead instance is found within a second or two.
fn shared(redis: &Redis) -> RedisConfig {
    RedisConfig {
        heartbeat: Duration::from_millis(200),
        expiry: Duration::from_millis(1000),
        timeout: Duration::from_millis(500),
        ..RedisConfig::new(redis.url())
    }
}

async fn instance(redis: &Redis) -> Server {
    Server::with(Config {
        redis: Some(shared(redis)),
        ..Config::default()
    })
    .await
}

async fn join(server: &Server, room: &str, name: &str) -> (Client, Value) {
    server.joined(room, name).await
}

fn ids(welcome: &Value) -> Vec<String> {
    welcome["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn people_on_three_instances_meet_and_relay_both_ways_in_order() {
    let redis = Redis::start();
    let metrics = Metrics::new();
    let a = Server::with(Config {
        redis: Some(shared(&redis)),
        metrics: metrics.clone(),
        ..Config::default()
    })
    .await;
    let (b, c) = (instance(&redis).await, instance(&redis).await);

    let (mut ada, ada_welcome) = join(&a, "kitchen", "Ada").await;
    let (mut bob, bob_welcome) = join(&b, "kitchen", "Bob").await;
    assert_eq!(
        bob_welcome["peers"],
        json!([{"id": common::id(&ada_welcome), "name": "Ada"}])
    );
    let joined = ada.recv_type("peer-joined").await;
    assert_eq!(joined["peer"]["name"], "Bob");
    let (mut cy, cy_welcome) = join(&c, "kitchen", "Cy").await;
    // In the order they joined, whatever instance they are on.
    assert_eq!(
        ids(&cy_welcome),
        [common::id(&ada_welcome), common::id(&bob_welcome)]
    );
    ada.recv_type("peer-joined").await;
    bob.recv_type("peer-joined").await;

    // Byte for byte, and in order per sender.
    let (ada_id, bob_id) = (common::id(&ada_welcome), common::id(&bob_welcome));
    for n in 0..100 {
        ada.send_text(&format!(
            r#"{{"type":"signal","to":"{bob_id}","data":{{ "n" : {n}, "x":[1.0e3,"\u00e9"]}}}}"#
        ))
        .await;
    }
    for n in 0..100 {
        assert_eq!(
            bob.recv_text().await,
            format!(
                r#"{{"type":"signal","from":"{ada_id}","data":{{ "n" : {n}, "x":[1.0e3,"\u00e9"]}}}}"#
            )
        );
    }
    bob.send(json!({"type": "signal", "to": ada_id, "data": "back"}))
        .await;
    assert_eq!(ada.recv_type("signal").await["data"], "back");

    // A broadcast reaches every instance's members but the sender.
    cy.send(json!({"type": "signal", "data": "all"})).await;
    assert_eq!(ada.recv_type("signal").await["data"], "all");
    assert_eq!(bob.recv_type("signal").await["data"], "all");

    // Nobody reaches a peer of another room, wherever it is.
    let (_dan, dan_welcome) = join(&c, "garden", "Dan").await;
    ada.send(json!({"type": "signal", "to": common::id(&dan_welcome), "data": 1}))
        .await;
    ada.expect_error("unknown-peer").await;

    // Leaving is seen on the other instances.
    bob.ws.close(None).await.expect("close");
    assert_eq!(ada.recv_type("peer-left").await["id"], bob_id);
    assert_eq!(cy.recv_type("peer-left").await["id"], bob_id);

    let text = metrics.render();
    assert!(
        text.contains(r#"hearth_redis_round_trips_total{op="join"}"#)
            && text.contains(r#"hearth_redis_round_trips_total{op="publish"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn the_room_limit_holds_across_instances_under_concurrent_joins() {
    let redis = Redis::start();
    let limits = Limits {
        max_peers_per_room: 3,
        ..Limits::default()
    };
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(
            Server::with(Config {
                redis: Some(shared(&redis)),
                limits: limits.clone(),
                ..Config::default()
            })
            .await,
        );
    }
    for round in 0..5 {
        let room = format!("last-place-{round}");
        let (_first, _) = join(&instances[0], &room, "First").await;
        let (_second, _) = join(&instances[1], &room, "Second").await;
        // Two people through each instance race for the last place.
        let mut clients = Vec::new();
        for server in instances.iter().chain(instances.iter()) {
            clients.push(server.client().await);
        }
        let replies = futures_util::future::join_all(clients.iter_mut().map(|c| async {
            c.send(json!({"type": "join", "room": room, "name": "Racer"}))
                .await;
            c.recv().await
        }))
        .await;
        let welcomed = replies.iter().filter(|r| r["type"] == "welcome").count();
        let full = replies.iter().filter(|r| r["code"] == "room-full").count();
        assert_eq!((welcomed, full), (1, 5), "round {round}: {replies:?}");
    }
}

/// The `signaling` binary with `--redis-url`, so that it can be killed outright.
struct Process {
    child: Child,
    ws_url: String,
}

impl Process {
    fn start(redis: &Redis) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signaling"))
            .args(["--addr", "127.0.0.1:0", "--redis-url", &redis.url()])
            .current_dir(std::env::temp_dir())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn signaling");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listening line");
        let http = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected {line:?}"))
            .to_owned();
        Process {
            child,
            ws_url: format!("ws://{http}/ws"),
        }
    }

    async fn joined(&self, room: &str, name: &str) -> (Client, Value) {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url.as_str())
            .await
            .expect("connect");
        let mut client = Client { ws };
        client
            .send(json!({"type": "join", "room": room, "name": name}))
            .await;
        let welcome = client.recv_type("welcome").await;
        (client, welcome)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next message within `limit`, which may be longer than the usual patience.
async fn recv_within(client: &mut Client, limit: Duration) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let frame = tokio::time::timeout_at(deadline, client.ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

/// Instances registered in Redis.
async fn instances_in_redis(redis: &Redis) -> usize {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    redis::cmd("SCARD")
        .arg("hearth:instances")
        .query_async(&mut conn)
        .await
        .expect("SCARD")
}

/// People in `room` as Redis holds it.
async fn members_in_redis(redis: &Redis, room: &str) -> usize {
    let client = redis::Client::open(redis.url()).expect("client");
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    redis::cmd("HLEN")
        .arg(format!("hearth:room:{room}"))
        .query_async(&mut conn)
        .await
        .unwrap_or(0)
}

#[tokio::test]
async fn a_killed_instance_leaves_no_ghosts() {
    let redis = Redis::start();
    let survivor = instance(&redis).await;
    // The binary keeps the default heartbeat: dead 10 s after its last one, swept within 2 s.
    let doomed = Process::start(&redis);
    let (mut ada, ada_welcome) = join(&survivor, "kitchen", "Ada").await;
    let (_bob, bob_welcome) = doomed.joined("kitchen", "Bob").await;
    ada.recv_type("peer-joined").await;

    let mut doomed = doomed;
    doomed.child.kill().expect("SIGKILL");
    let _ = doomed.child.wait();

    let left = recv_within(&mut ada, Duration::from_secs(20)).await;
    assert_eq!(left["type"], "peer-left", "{left}");
    assert_eq!(left["id"], common::id(&bob_welcome));
    let (_cy, cy_welcome) = join(&survivor, "kitchen", "Cy").await;
    assert_eq!(ids(&cy_welcome), [common::id(&ada_welcome)]);
}

#[tokio::test]
async fn losing_redis_refuses_joins_keeps_calls_and_recovers() {
    let mut redis = Redis::start();
    let a_metrics = Metrics::new();
    let a = Server::with(Config {
        redis: Some(shared(&redis)),
        metrics: a_metrics.clone(),
        ..Config::default()
    })
    .await;
    let b = instance(&redis).await;
    let (mut ada, ada_welcome) = join(&a, "kitchen", "Ada").await;
    let (mut bob, bob_welcome) = join(&a, "kitchen", "Bob").await;
    let (mut cy, cy_welcome) = join(&b, "kitchen", "Cy").await;
    ada.recv_type("peer-joined").await;
    ada.recv_type("peer-joined").await;
    bob.recv_type("peer-joined").await;
    let (ada_id, bob_id) = (common::id(&ada_welcome), common::id(&bob_welcome));

    assert_eq!(a.health().await["redis"], "ok");
    assert!(a_metrics.render().contains("hearth_redis_up 1"));
    redis.kill();

    // New joins are refused at once, with a reason, and the connection stays usable.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut dan = a.client().await;
        dan.send(json!({"type": "join", "room": "elsewhere", "name": "Dan"}))
            .await;
        let reply = dan.recv().await;
        if reply["code"] == "unavailable" {
            dan.assert_usable().await;
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still admitted: {reply}"
        );
    }
    assert_eq!(a.health().await["redis"], "unavailable");
    assert!(a_metrics.render().contains("hearth_redis_up 0"));
    // People on the same instance keep talking.
    ada.send(json!({"type": "signal", "to": bob_id, "data": "still here"}))
        .await;
    assert_eq!(bob.recv_type("signal").await["data"], "still here");
    // A signal for another instance is refused, not lost in silence.
    ada.send(json!({"type": "signal", "to": common::id(&cy_welcome), "data": 1}))
        .await;
    ada.expect_error("unavailable").await;

    redis.restart();

    // The instances register their people again by themselves...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while members_in_redis(&redis, "kitchen").await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instances did not register their people again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ...and take joins again, which see everyone still there.
    let mut eve = b.client().await;
    let eve_welcome = loop {
        eve.send(json!({"type": "join", "room": "kitchen", "name": "Eve"}))
            .await;
        let reply = eve.recv().await;
        if reply["type"] == "welcome" {
            break reply;
        }
        assert_eq!(reply["code"], "unavailable", "{reply}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "joins are still refused"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(a_metrics.render().contains("hearth_redis_up 1"));
    let mut listed = ids(&eve_welcome);
    listed.sort();
    let mut want = vec![ada_id.clone(), bob_id.clone(), common::id(&cy_welcome)];
    want.sort();
    assert_eq!(listed, want);
    // Relay across instances again; and nobody was told anyone left or came back.
    cy.send(json!({"type": "signal", "to": ada_id, "data": "across"}))
        .await;
    let next = ada.recv().await;
    assert_eq!(next["type"], "peer-joined", "Eve first: {next}");
    assert_eq!(next["peer"]["name"], "Eve");
    assert_eq!(ada.recv_type("signal").await["data"], "across");
}

#[tokio::test]
async fn an_instance_that_stops_sends_its_people_to_the_others() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let (mut ada, _) = join(&a, "kitchen", "Ada").await;
    let (mut bob, bob_welcome) = join(&b, "kitchen", "Bob").await;
    ada.recv_type("peer-joined").await;

    assert_eq!(instances_in_redis(&redis).await, 2);
    b.stop().await;
    // It has removed itself: nobody waits for its heartbeat to expire.
    assert_eq!(instances_in_redis(&redis).await, 1);
    let close = bob.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    assert_eq!(
        ada.recv_type("peer-left").await["id"],
        common::id(&bob_welcome)
    );
    // Bob's client reconnects (through the balancer) to the instance still running.
    let (_bob, again) = join(&a, "kitchen", "Bob").await;
    assert_eq!(again["peers"][0]["name"], "Ada");
    assert_eq!(ada.recv_type("peer-joined").await["peer"]["name"], "Bob");
}

#[tokio::test]
async fn a_leave_redis_did_not_answer_is_told_when_it_does() {
    let redis = Redis::start();
    let a = instance(&redis).await;
    let b_metrics = Metrics::new();
    let b = Server::with(Config {
        redis: Some(shared(&redis)),
        metrics: b_metrics.clone(),
        ..Config::default()
    })
    .await;
    let (mut ada, _) = join(&a, "kitchen", "Ada").await;
    let (bob, bob_welcome) = join(&b, "kitchen", "Bob").await;
    ada.recv_type("peer-joined").await;

    // Redis stops answering (its keys stay) while Bob leaves: his instance's leave times out.
    redis.signal("-STOP");
    drop(bob);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !b_metrics
        .render()
        .contains(r#"hearth_redis_errors_total{op="leave"} 1"#)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob's leave never tried Redis"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.signal("-CONT");

    // Once Redis answers, Bob's instance tells the others, and Ada hears it once.
    let left = recv_within(&mut ada, Duration::from_secs(10)).await;
    assert_eq!(left["type"], "peer-left", "{left}");
    assert_eq!(left["id"], common::id(&bob_welcome));
    // And removes him from Redis.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while members_in_redis(&redis, "kitchen").await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob is still in Redis"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ada.assert_usable().await;
}

/// An instance whose rooms hold two people.
async fn instance_of_two(redis: &Redis) -> Server {
    let mut config = Config {
        redis: Some(shared(redis)),
        ..Config::default()
    };
    config.limits.max_peers_per_room = 2;
    Server::with(config).await
}

#[tokio::test]
async fn a_ghost_on_another_instance_is_replaced_by_its_token() {
    let redis = Redis::start();
    let (a, b, c) = (
        instance_of_two(&redis).await,
        instance_of_two(&redis).await,
        instance_of_two(&redis).await,
    );
    let (mut ada, _) = join(&a, "kitchen", "Ada").await;
    // Bob, on b, goes silent: b keeps his place until its peer timeout.
    let (mut ghost, bob_welcome) = join(&b, "kitchen", "Bob").await;
    ada.recv_type("peer-joined").await;
    let bob_id = common::id(&bob_welcome);

    // His client comes back through the balancer to c: without the token the room is full...
    let mut stranger = c.client().await;
    stranger
        .send(json!({"type": "join", "room": "kitchen", "name": "Bob"}))
        .await;
    stranger.expect_error("room-full").await;
    // ...with it he is back in his place, under his id.
    let (mut bob, welcome) = c
        .resumed("kitchen", "Bob", &common::resume(&bob_welcome))
        .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(common::id(&welcome), bob_id);
    assert_eq!(welcome["peers"], bob_welcome["peers"]);

    // b closes the ghost, and nobody hears of any of it.
    let close = ghost.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4009);
    ada.assert_usable().await;
    // Ada's signals to Bob's id now go to c, and his come back.
    ada.send(json!({"type": "signal", "to": bob_id, "data": "moved?"}))
        .await;
    assert_eq!(bob.recv_type("signal").await["data"], "moved?");
    bob.send(json!({"type": "signal", "to": null, "data": "yes"}))
        .await;
    assert_eq!(ada.recv_type("signal").await["from"], bob_id);
    assert_eq!(members_in_redis(&redis, "kitchen").await, 2);

    // The token served once; the ghost's end left Bob in; his leave is announced as ever.
    let (_thief, answer) = a
        .resumed("kitchen", "Bob", &common::resume(&bob_welcome))
        .await;
    assert_eq!(answer["code"], "room-full", "{answer}");
    ada.assert_usable().await;
    drop(bob);
    assert_eq!(ada.recv_type("peer-left").await["id"], bob_id);
}

#[tokio::test]
async fn a_ghost_on_the_same_instance_is_replaced_and_its_end_leaves_the_place_alone() {
    let redis = Redis::start();
    let (a, b) = (instance_of_two(&redis).await, instance_of_two(&redis).await);
    let (mut ada, _) = join(&a, "kitchen", "Ada").await;
    let (mut ghost, bob_welcome) = join(&b, "kitchen", "Bob").await;
    ada.recv_type("peer-joined").await;
    let bob_id = common::id(&bob_welcome);

    let (mut bob, welcome) = b
        .resumed("kitchen", "Bob", &common::resume(&bob_welcome))
        .await;
    assert_eq!(common::id(&welcome), bob_id, "{welcome}");
    let close = ghost.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4009);
    ada.assert_usable().await;
    ada.send(json!({"type": "signal", "to": bob_id, "data": "same place?"}))
        .await;
    assert_eq!(bob.recv_type("signal").await["data"], "same place?");
    assert_eq!(members_in_redis(&redis, "kitchen").await, 2);

    // A token that matches nobody is an ordinary join: the room of two is full.
    let (_dan, answer) = a
        .resumed("kitchen", "Dan", "0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(answer["code"], "room-full", "{answer}");
}
