//! Smoke test: the benchmarks measure something real against an in-process server. Tiny numbers,
//! and no wall-clock limits: only counts and the absence of errors are asserted.

use hearth_bench::client::Connector;
use hearth_bench::relay::{Pace, Relay, RelayConfig};
use hearth_bench::server::{BenchLimits, Server, ServerKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_and_storm_measure_what_they_claim() {
    let server = Server::start(
        &ServerKind::InProcess { backlog: 128 },
        &BenchLimits::default(),
    )
    .expect("server");
    let connector = Arc::new(Connector::new(server.addr, 2));

    for pace in [Pace::Max { window: 4 }, Pace::Rate { per_sec: 200.0 }] {
        let cfg = RelayConfig {
            rooms: 2,
            pace,
            description_every: 3,
        };
        let relay = Relay::start(&connector, &cfg, Instant::now(), "smoke")
            .await
            .expect("rooms set up");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let end = relay.now();
        let samples = relay.finish().await;
        let window = samples.window(0, end);
        assert!(window.received > 0, "{pace:?}: nothing was relayed");
        assert!(samples.received <= samples.sent, "{pace:?}: {samples:?}");
        assert_eq!(window.latency.count as u64, window.received);
        assert_eq!((samples.errors, samples.dropped), (0, 0), "{pace:?}");
    }

    let storm = hearth_bench::storm::run(connector, server.kind, 20)
        .await
        .expect("storm");
    assert_eq!((storm.welcomed, storm.errors), (20, 0), "{storm:?}");
    server.stop();
}
