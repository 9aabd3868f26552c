//! Room for client sockets: every open client connection holds one of a fixed number of
//! descriptors (what the open-file limit allows), and at most `Limits::max_http_connections` of
//! them may be plain HTTP (not yet a WebSocket).
//!
//! When no room is left, the oldest HTTP connection that has been open for [`GRACE`] is closed to
//! make room, so silent or slow sockets can delay new clients by no more than their turnover and
//! never shut the server off, while a handshake in progress is not cut short by a crowd of newer
//! ones. A connection that becomes a WebSocket hands its descriptor over to the session
//! ([`Handover`]) and stops counting as HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long an HTTP connection is safe from being closed to make room: longer than a WebSocket
/// handshake takes even in a join storm on a busy machine (5,000 clients at once were all
/// welcomed within 1.2 s on 2 shared cores, but 250 ms cut 90 of them short), and shorter than a
/// silent socket's header timeout.
pub(crate) const GRACE: Duration = Duration::from_secs(2);

/// The descriptors and the HTTP connections holding them.
pub(crate) struct Slots {
    descriptors: Arc<Semaphore>,
    http: Arc<HttpConnections>,
    next: AtomicU64,
}

struct HttpConnections {
    max: usize,
    /// Open HTTP connections, oldest first: when each opened, and how to close it.
    open: Mutex<BTreeMap<u64, (Instant, CancellationToken)>>,
    /// Woken when an HTTP connection closes.
    closed: Notify,
}

/// One open connection's room; gives it back when dropped.
pub(crate) struct Slot {
    id: u64,
    /// Cancelled when this connection is closed to make room for a new one.
    pub evicted: CancellationToken,
    http: Arc<HttpConnections>,
    /// The descriptor, until a WebSocket session takes it.
    pub handover: Handover,
}

/// A connection's descriptor, for the WebSocket session to take over when the connection upgrades
/// (found in the upgrade request's extensions).
#[derive(Clone)]
pub(crate) struct Handover(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl Handover {
    /// The descriptor, once; the caller holds it for as long as the socket lives.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        lock(&self.0).take()
    }
}

impl Slots {
    pub fn new(descriptors: usize, max_http: usize) -> Self {
        Slots {
            descriptors: Arc::new(Semaphore::new(descriptors.max(1))),
            http: Arc::new(HttpConnections {
                max: max_http.max(1),
                open: Mutex::default(),
                closed: Notify::new(),
            }),
            next: AtomicU64::new(0),
        }
    }

    /// Room for the next connection; waits, closing the oldest HTTP connection past its grace,
    /// until there is some.
    pub async fn slot(&self) -> Slot {
        loop {
            let closed = self.http.closed.notified();
            tokio::pin!(closed);
            // Registered before looking, so a close between the look and the wait is not missed.
            closed.as_mut().enable();
            let http_full = lock(&self.http.open).len() >= self.http.max;
            if !http_full {
                if let Ok(permit) = Arc::clone(&self.descriptors).try_acquire_owned() {
                    return self.hold(permit);
                }
            }
            let oldest = lock(&self.http.open)
                .first_key_value()
                .map(|(id, (opened, token))| (*id, *opened, token.clone()));
            match oldest {
                Some((id, opened, token)) if opened + GRACE <= Instant::now() => {
                    lock(&self.http.open).remove(&id);
                    token.cancel();
                    // Its descriptor comes back when its task has closed the socket.
                    closed.await;
                }
                Some((_, opened, _)) => {
                    tokio::select! {
                        () = closed => {}
                        () = tokio::time::sleep_until(opened + GRACE) => {}
                        permit = Arc::clone(&self.descriptors).acquire_owned(), if !http_full => {
                            if let Ok(permit) = permit {
                                return self.hold(permit);
                            }
                        }
                    }
                }
                // Every descriptor is a WebSocket's: wait for one to end.
                None => {
                    if let Ok(permit) = Arc::clone(&self.descriptors).acquire_owned().await {
                        return self.hold(permit);
                    }
                }
            }
        }
    }

    fn hold(&self, permit: OwnedSemaphorePermit) -> Slot {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let evicted = CancellationToken::new();
        lock(&self.http.open).insert(id, (Instant::now(), evicted.clone()));
        Slot {
            id,
            evicted,
            http: Arc::clone(&self.http),
            handover: Handover(Arc::new(Mutex::new(Some(permit)))),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Give the descriptor back unless a session took it, then say an HTTP connection closed.
        drop(self.handover.take());
        lock(&self.http.open).remove(&self.id);
        self.http.closed.notify_waiters();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one map or option operation: a panic cannot leave it half done.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
