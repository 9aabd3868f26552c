//! The accept loop: HTTP/1 connections with a header read timeout and an idle timeout, a cap on
//! open TCP connections that have not become WebSockets, and shutdown with a deadline.
//!
//! `axum::serve` runs hyper without a timer (so no header timeout applies) and has no connection
//! cap or shutdown deadline, so this module runs hyper's HTTP/1 server itself, one task per TCP
//! connection. Once a connection upgrades to a WebSocket its task ends and the session (counted by
//! `Limits::max_connections`) owns the socket.

use crate::slots::{Slot, Slots};
use crate::state::AppState;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, closes WebSockets
/// with 1001, lets HTTP requests in progress finish, and after `Limits::shutdown_timeout` closes
/// whatever remains.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    state: Arc<AppState>,
    descriptors: usize,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limits = state.config.limits.clone();
    let slots = Slots::new(descriptors, limits.max_http_connections);
    let tasks = TaskTracker::new();
    // Cancelled when shutdown starts: each HTTP connection finishes its request and closes.
    let finish = CancellationToken::new();
    tokio::pin!(shutdown);

    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.slot() => slot,
        };
        let (stream, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors despite the cap (another part of the process holds them):
                    // wait a little for some to close rather than spin.
                    tracing::error!(error = %e, "accept error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let activity = Arc::new(Activity::new());
        let seen = Arc::clone(&activity);
        let handover = slot.handover.clone();
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                let extensions = request.extensions_mut();
                extensions.insert(ConnectInfo(addr));
                extensions.insert(Arc::clone(&seen));
                extensions.insert(handover.clone());
                request
            });
        tasks.spawn(connection(
            stream,
            activity,
            TowerToHyperService::new(service),
            slot,
            HttpTimeouts {
                header: limits.header_timeout,
                idle: limits.idle_timeout,
            },
            finish.clone(),
            state.hard_stop.clone(),
        ));
    }

    drop(listener);
    state.shutdown.cancel();
    finish.cancel();
    tasks.close();
    state.sessions.close();
    let everything = async {
        tasks.wait().await;
        state.sessions.wait().await;
    };
    if tokio::time::timeout(limits.shutdown_timeout, everything)
        .await
        .is_err()
    {
        tracing::warn!(
            http = tasks.len(),
            websockets = state.sessions.len(),
            "closing the connections that did not finish in time"
        );
        state.hard_stop.cancel();
        tasks.wait().await;
        state.sessions.wait().await;
    }
    Ok(())
}

/// `Limits::header_timeout` and `Limits::idle_timeout`, for each connection.
#[derive(Clone, Copy)]
struct HttpTimeouts {
    header: Duration,
    idle: Duration,
}

/// Serves one TCP connection until it closes, upgrades to a WebSocket, is idle too long, is
/// evicted to make room for a newer one, or the server stops.
async fn connection<S>(
    stream: TcpStream,
    activity: Arc<Activity>,
    service: TowerToHyperService<S>,
    slot: Slot,
    timeouts: HttpTimeouts,
    finish: CancellationToken,
    hard_stop: CancellationToken,
) where
    S: tower::Service<
            hyper::Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let io = TokioIo::new(Metered {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header);
    let mut conn = Box::pin(http.serve_connection(io, service).with_upgrades());
    let mut finishing = false;
    loop {
        let idle_at = activity.last() + timeouts.idle;
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "HTTP connection ended");
                }
                break;
            }
            () = finish.cancelled(), if !finishing => {
                conn.as_mut().graceful_shutdown();
                finishing = true;
            }
            () = slot.evicted.cancelled() => {
                tracing::debug!("closed an HTTP connection to make room for a new one");
                break;
            }
            () = hard_stop.cancelled() => break,
            () = tokio::time::sleep_until(idle_at) => {
                if activity.last() + timeouts.idle <= Instant::now() {
                    tracing::debug!("closed an idle HTTP connection");
                    break;
                }
            }
        }
    }
    // The socket closes here, before the slot is given back, so the slot stands for a descriptor.
    drop(conn);
    drop(slot);
}

/// Accept errors that concern one connection only; the listener carries on at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// What a connection's socket has done: when it last moved a byte either way (for the idle
/// timeout) and how many bytes it has read (for the session's bound on unfinished messages). The
/// socket keeps counting after an upgrade; handlers find this in the request's extensions.
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: AtomicU64,
    read: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            read: AtomicU64::new(0),
        }
    }

    /// Bytes read from the socket so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A socket that records its [`Activity`].
struct Metered<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Metered<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if read > 0 {
            self.activity.read.fetch_add(read as u64, Ordering::Relaxed);
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Metered<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 {
                self.activity.touch();
            }
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 {
                self.activity.touch();
            }
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Descriptors kept free for everything but client connections: the listener, standard streams,
/// the runtime's own, log files, and the upgrade of a connection in flight.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// Raises the soft open-file limit to the hard limit (Unix), so the connection caps are not cut
/// short by a low default; returns the limit now in force. Process-wide: the `signaling` binary
/// calls it at start.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Descriptors kept for plain HTTP connections however many WebSockets are open, so `/healthz`
/// and new handshakes always have room.
const HTTP_DESCRIPTORS: usize = 64;

/// Fits `max_connections` and `max_http_connections` under the open-file limit in force, keeping
/// [`RESERVED_DESCRIPTORS`] free (past the limit `accept` fails and nobody is served at all) and
/// some for HTTP; returns the descriptors client sockets may hold in all.
pub(crate) fn fit_to_open_file_limit(limits: &mut crate::Limits) -> usize {
    let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) else {
        return limits
            .max_connections
            .saturating_add(limits.max_http_connections);
    };
    let descriptors = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(2);
    let http = limits.max_http_connections.clamp(1, descriptors);
    let websockets = limits
        .max_connections
        .min(descriptors - HTTP_DESCRIPTORS.min(descriptors / 2));
    if http != limits.max_http_connections || websockets != limits.max_connections {
        tracing::warn!(
            open_file_limit = soft,
            max_connections = websockets,
            max_http_connections = http,
            "lowered the connection caps to fit the open-file limit"
        );
    }
    limits.max_http_connections = http;
    limits.max_connections = websockets;
    descriptors.min(websockets.saturating_add(http))
}
