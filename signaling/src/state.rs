//! The state every handler and session shares: configuration, rooms, and shutdown.

use crate::config::Config;
use crate::store::Store;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) struct AppState {
    pub config: Config,
    pub rooms: Store,
    /// Cancelled when the server shuts down; every session watches it and closes its socket.
    pub shutdown: CancellationToken,
    /// Sessions still running, so `serve` returns only after each has said goodbye.
    pub sessions: TaskTracker,
    /// Cancelled when shutdown has waited `Limits::shutdown_timeout`: whatever is still open closes
    /// at once.
    pub hard_stop: CancellationToken,
    connections: AtomicUsize,
}

impl AppState {
    pub fn new(config: Config, rooms: Store) -> Arc<Self> {
        Arc::new(AppState {
            config,
            rooms,
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
            hard_stop: CancellationToken::new(),
            connections: AtomicUsize::new(0),
        })
    }

    /// Reserves a connection slot, or None when the server is at its connection cap.
    pub fn admit(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let max = self.config.limits.max_connections;
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnectionSlot(Arc::clone(self)))
    }
}

/// One admitted connection; frees its slot when dropped.
pub(crate) struct ConnectionSlot(Arc<AppState>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}
