//! Prometheus metrics: served on their own listener, and moving with what clients do.

mod common;

use common::{Server, PATIENCE};
use serde_json::json;
use signaling::{Config, Metrics};
use std::time::Duration;

/// A server whose metrics are served at the returned URL.
async fn server_with_metrics() -> (Server, String) {
    let metrics = Metrics::new();
    let server = Server::with(Config {
        metrics: metrics.clone(),
        ..Config::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    tokio::spawn(signaling::serve_metrics(
        listener,
        metrics,
        std::future::pending(),
    ));
    (server, url)
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("text")
        .starts_with("text/plain; version=0.0.4"));
    response.text().await.expect("body")
}

/// The value of the sample written exactly `series` (name and labels), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse::<f64>().expect("a number"))
        .next()
        .unwrap_or(0.0)
}

/// Scrapes until `series` has `want`: gauges and disconnects move on the sessions' schedule.
async fn wait_for(url: &str, series: &str, want: f64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = scrape(url).await;
        if sample(&text, series) == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} never became {want}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn counters_and_gauges_follow_what_clients_do() {
    let (server, url) = server_with_metrics().await;
    let before = scrape(&url).await;
    assert_eq!(sample(&before, "hearth_connections"), 0.0);
    assert!(
        !before.contains("hearth_redis_up"),
        "no Redis, no Redis gauge"
    );
    assert_eq!(sample(&before, "hearth_messages_relayed_total"), 0.0);

    let (mut ada, _) = server.joined("kitchen", "Ada").await;
    let (mut bob, bob_welcome) = server.joined("kitchen", "Bob").await;
    let (_cy, _) = server.joined("garden", "Cy").await;
    ada.recv_type("peer-joined").await;
    let bob_id = common::id(&bob_welcome);
    for n in 0..3 {
        ada.send(json!({"type": "signal", "to": bob_id, "data": n}))
            .await;
        bob.recv_type("signal").await;
    }
    ada.send(json!({"type": "signal", "data": "to all"})).await;
    bob.recv_type("signal").await;
    // Two refusals of different kinds.
    ada.send(json!({"type": "signal", "to": "nobody", "data": 1}))
        .await;
    ada.expect_error("unknown-peer").await;
    let mut lost = server.client().await;
    lost.send(json!({"type": "join", "room": "a b", "name": "Eve"}))
        .await;
    lost.expect_error("bad-room").await;

    let text = scrape(&url).await;
    assert_eq!(sample(&text, "hearth_connections"), 4.0);
    assert_eq!(sample(&text, "hearth_rooms"), 2.0);
    assert_eq!(sample(&text, "hearth_people"), 3.0);
    assert_eq!(sample(&text, "hearth_messages_relayed_total"), 4.0);
    assert_eq!(sample(&text, "hearth_relay_latency_seconds_count"), 4.0);
    assert_eq!(
        sample(&text, r#"hearth_refusals_total{code="unknown-peer"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"hearth_refusals_total{code="bad-room"}"#),
        1.0
    );

    bob.ws.close(None).await.expect("close");
    ada.recv_type("peer-left").await;
    wait_for(
        &url,
        r#"hearth_disconnects_total{reason="client-closed"}"#,
        1.0,
    )
    .await;
    let text = scrape(&url).await;
    assert_eq!(sample(&text, "hearth_connections"), 3.0);
    assert_eq!(sample(&text, "hearth_people"), 2.0);

    server.stop().await;
    let text = scrape(&url).await;
    assert_eq!(sample(&text, "hearth_connections"), 0.0);
    assert_eq!(
        sample(
            &text,
            r#"hearth_disconnects_total{reason="server-shutdown"}"#
        ),
        3.0
    );
}

#[tokio::test]
async fn rate_limited_refusals_count_every_refused_message() {
    let metrics = Metrics::new();
    let limited = Server::with(Config {
        metrics: metrics.clone(),
        limits: signaling::Limits {
            rate_per_sec: 1.0,
            rate_burst: 2.0,
            ..signaling::Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut client = limited.client().await;
    for _ in 0..7 {
        client.send(json!({"type": "ping"})).await;
    }
    client.recv_type("pong").await;
    client.recv_type("pong").await;
    let report = client.expect_error("rate-limited").await;
    let refused = report["refused"].as_u64().expect("a count");
    assert_eq!(
        sample(
            &metrics.render(),
            r#"hearth_refusals_total{code="rate-limited"}"#
        ),
        refused as f64
    );
}

#[test]
fn the_binary_serves_metrics_on_their_own_address_only() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // A free port for the metrics listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signaling"))
        .args(["--addr", "127.0.0.1:0", "--metrics-addr"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the listening line");
    let public = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening")
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let text = scrape(&format!("http://127.0.0.1:{port}/metrics")).await;
        assert!(text.contains("# TYPE hearth_connections gauge"), "{text}");
        let on_public = reqwest::get(format!("{public}/metrics"))
            .await
            .expect("GET");
        assert_eq!(on_public.status(), 404, "not on the public listener");
    });
    let _ = child.kill();
    let _ = child.wait();
}
