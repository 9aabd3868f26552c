//! What an operator watches: Prometheus metrics of one server, in a registry the server owns (no
//! process-wide recorder, so several servers in one process, as in the tests, keep their own
//! counts), and [`serve_metrics`], the listener that serves them apart from the public one.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A server's metrics; cheap to clone, every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    connections: IntGauge,
    rooms: IntGauge,
    people: IntGauge,
    relayed: IntCounter,
    resumes: IntCounter,
    refusals: IntCounterVec,
    disconnects: IntCounterVec,
    relay_latency: Histogram,
    redis: IntCounterVec,
    redis_errors: IntCounterVec,
    redis_up: IntGauge,
    redis_up_registered: std::sync::OnceLock<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        // Registering fixed, distinct names in a fresh registry cannot fail; `register` below says
        // so once instead of at each metric.
        let connections = IntGauge::new(
            "hearth_connections",
            "Open WebSocket connections on this instance.",
        );
        let rooms = IntGauge::new(
            "hearth_rooms",
            "Rooms with at least one person connected to this instance.",
        );
        let people = IntGauge::new("hearth_people", "People in rooms on this instance.");
        let relayed = IntCounter::new(
            "hearth_messages_relayed_total",
            "Signals accepted for relay (one per signal sent, however many receive it).",
        );
        let resumes = IntCounter::new(
            "hearth_resumes_total",
            "Joins that took back their person's place with a resume token (same id, the old \
             connection closed).",
        );
        let refusals = IntCounterVec::new(
            Opts::new(
                "hearth_refusals_total",
                "Error replies sent to clients, by error code (a rate-limited reply counts every message it refused).",
            ),
            &["code"],
        );
        let disconnects = IntCounterVec::new(
            Opts::new(
                "hearth_disconnects_total",
                "WebSocket connections ended, by reason.",
            ),
            &["reason"],
        );
        let relay_latency = Histogram::with_opts(
            HistogramOpts::new(
                "hearth_relay_latency_seconds",
                "Time from reading a signal to queueing it for its receivers on this instance, or \
                 to Redis accepting it for receivers on other instances.",
            )
            .buckets(vec![
                0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
                0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
        );
        let redis = IntCounterVec::new(
            Opts::new(
                "hearth_redis_round_trips_total",
                "Commands and scripts sent to Redis, by operation.",
            ),
            &["op"],
        );
        let redis_errors = IntCounterVec::new(
            Opts::new(
                "hearth_redis_errors_total",
                "Redis round trips that failed, by operation.",
            ),
            &["op"],
        );
        let redis_up = IntGauge::new(
            "hearth_redis_up",
            "1 while this instance shares rooms through Redis and can admit joins, 0 while it \
             cannot reach Redis; absent without Redis.",
        );
        let inner = (|| -> prometheus::Result<Inner> {
            let inner = Inner {
                registry,
                connections: connections?,
                rooms: rooms?,
                people: people?,
                relayed: relayed?,
                resumes: resumes?,
                refusals: refusals?,
                disconnects: disconnects?,
                relay_latency: relay_latency?,
                redis: redis?,
                redis_errors: redis_errors?,
                redis_up: redis_up?,
                redis_up_registered: std::sync::OnceLock::new(),
            };
            let r = &inner.registry;
            r.register(Box::new(inner.connections.clone()))?;
            r.register(Box::new(inner.rooms.clone()))?;
            r.register(Box::new(inner.people.clone()))?;
            r.register(Box::new(inner.relayed.clone()))?;
            r.register(Box::new(inner.resumes.clone()))?;
            r.register(Box::new(inner.refusals.clone()))?;
            r.register(Box::new(inner.disconnects.clone()))?;
            r.register(Box::new(inner.relay_latency.clone()))?;
            r.register(Box::new(inner.redis.clone()))?;
            r.register(Box::new(inner.redis_errors.clone()))?;
            Ok(inner)
        })();
        #[allow(clippy::expect_used)]
        Metrics(Arc::new(inner.expect(
            "fixed, distinct metric names register in a fresh registry",
        )))
    }

    /// Every metric in Prometheus's text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let encoded = TextEncoder::new().encode(&self.0.registry.gather(), &mut out);
        if let Err(e) = encoded {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    pub(crate) fn connected(&self) -> ConnectionGauge {
        self.0.connections.inc();
        ConnectionGauge(self.clone())
    }

    pub(crate) fn set_rooms(&self, rooms: usize, people: usize) {
        self.0.rooms.set(i64::try_from(rooms).unwrap_or(i64::MAX));
        self.0.people.set(i64::try_from(people).unwrap_or(i64::MAX));
    }

    pub(crate) fn relayed(&self, latency: std::time::Duration) {
        self.0.relayed.inc();
        self.0.relay_latency.observe(latency.as_secs_f64());
    }

    pub(crate) fn resumed(&self) {
        self.0.resumes.inc();
    }

    pub(crate) fn refused(&self, code: &str, n: u64) {
        self.0.refusals.with_label_values(&[code]).inc_by(n);
    }

    pub(crate) fn disconnected(&self, reason: &str) {
        self.0.disconnects.with_label_values(&[reason]).inc();
    }

    /// Whether the shared store can admit joins; registers `hearth_redis_up` the first time, so
    /// that a server without Redis does not report it.
    pub(crate) fn redis_up(&self, up: bool) {
        let gauge = &self.0.redis_up;
        if self.0.redis_up_registered.set(()).is_ok() {
            if let Err(e) = self.0.registry.register(Box::new(gauge.clone())) {
                tracing::error!(error = %e, "could not register hearth_redis_up");
            }
        }
        gauge.set(i64::from(up));
    }

    pub(crate) fn redis_round_trip(&self, op: &str, ok: bool) {
        self.0.redis.with_label_values(&[op]).inc();
        if !ok {
            self.0.redis_errors.with_label_values(&[op]).inc();
        }
    }
}

/// One open connection in `hearth_connections`; leaves it when dropped.
pub(crate) struct ConnectionGauge(Metrics);

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0 .0.connections.dec();
    }
}

/// Serves `GET /metrics` (Prometheus text) on `listener` until `shutdown` completes. Meant for a
/// loopback or private address: it has no authentication and says how busy the server is.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(metrics): State<Metrics>) -> Response {
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
