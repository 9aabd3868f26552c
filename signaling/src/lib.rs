//! Hearth's signaling server: rooms of peers that relay WebRTC negotiation to each other.
//!
//! One library, two homes: the standalone `signaling` binary and the desktop app's host mode both
//! call [`serve`] with a listener, a [`Config`] and a shutdown future.
//!
//! # Layout
//! - [`protocol`]: the wire messages, as serde types (catalogue in `docs/PROTOCOL.md`).
//! - [`ice`]: STUN/TURN configuration from the environment, TURN REST credentials.
//! - [`config`]: limits and policy handed to [`serve`].
//! - [`auth`]: invite tokens (HS256 JWTs) for a public server.
//! - [`metrics`]: Prometheus metrics, served on their own listener by [`serve_metrics`].
//! - `server`: the accept loop: HTTP timeouts, the cap on open TCP connections, shutdown with a
//!   deadline, the open-file limit.
//! - `slots`: room for client sockets: descriptors, the HTTP connection cap and its evictions.
//! - `http`: routes, origin check, WebSocket cap, the embedded UI.
//! - `session`: one task per connection, enforcing the limits.
//! - `store`: the room store's interface, with two implementations: `rooms`, in this process, and
//!   `redis_store`, shared by several instances through Redis.
//! - `rooms`: the room registry of this process and non-blocking delivery.
//! - [`redis_store`]: membership, relay between instances, heartbeats and outages with Redis.

pub mod auth;
pub mod config;
mod http;
pub mod ice;
pub mod metrics;
pub mod protocol;
mod rate;
pub mod redis_store;
mod rooms;
mod server;
mod session;
mod slots;
mod state;
mod store;

pub use auth::Auth;
pub use config::{Config, Limits};
pub use http::{DESKTOP_ORIGINS, LOOPBACK_HOSTS};
pub use ice::{IceConfig, IceConfigError, IceServer};
pub use metrics::{serve_metrics, Metrics};
pub use redis_store::RedisConfig;
pub use server::{raise_open_file_limit, RESERVED_DESCRIPTORS};

use std::future::Future;
use tokio::net::TcpListener;

/// Why [`serve`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the listener failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not start sharing rooms through Redis: {0}")]
    Redis(#[from] redis_store::StoreError),
}

/// Serves HTTP and WebSocket clients on `listener` until `shutdown` completes, then closes every
/// WebSocket with 1001 (going away), lets requests in progress finish, and returns once all
/// connections have ended, or after `Limits::shutdown_timeout` at the latest, closing what remains.
///
/// The connection caps are lowered to fit the process's open-file limit (see
/// [`raise_open_file_limit`]).
///
/// With [`Config::redis`] set, rooms are shared with the other instances using that Redis: it
/// is reached and this instance registered before the listener is served, or [`ServeError::Redis`]
/// says why not; when `serve` returns, the instance has removed itself from Redis.
pub async fn serve(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let descriptors = server::fit_to_open_file_limit(&mut config.limits);
    let store = match &config.redis {
        None => store::Store::Memory(rooms::Rooms::default()),
        Some(redis) => store::Store::Redis(
            redis_store::RedisRooms::connect(redis.clone(), config.metrics.clone()).await?,
        ),
    };
    let state = state::AppState::new(config, store);
    let app = http::router(state.clone());
    let served = server::run(listener, app, state.clone(), descriptors, shutdown).await;
    state.rooms.close().await;
    served?;
    Ok(())
}
