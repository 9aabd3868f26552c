//! Hearth's signaling server: rooms of peers that relay WebRTC negotiation to each other.
//!
//! One library, two homes: the standalone `signaling` binary and the desktop app's host mode both
//! call [`serve`] with a listener, a [`Config`] and a shutdown future.
//!
//! # Layout
//! - [`protocol`]: the wire messages, as serde types (catalogue in `docs/PROTOCOL.md`).
//! - [`ice`]: STUN/TURN configuration from the environment, TURN REST credentials.
//! - [`config`]: limits and policy handed to [`serve`].
//! - `http`: routes, origin check, connection cap, the embedded UI.
//! - `session`: one task per connection, enforcing the limits.
//! - `rooms`: the room registry and non-blocking delivery.

pub mod config;
mod http;
pub mod ice;
pub mod protocol;
mod rate;
mod rooms;
mod session;
mod state;

pub use config::{Config, Limits};
pub use http::DESKTOP_ORIGINS;
pub use ice::{IceConfig, IceConfigError, IceServer};

use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Why [`serve`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the listener failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves HTTP and WebSocket clients on `listener` until `shutdown` completes, then closes every
/// WebSocket with 1001 (going away) and returns once all sessions have ended.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = state::AppState::new(config);
    let app = http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let token = state.shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            token.cancel();
        })
        .await?;
    state.sessions.close();
    state.sessions.wait().await;
    Ok(())
}
