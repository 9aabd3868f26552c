//! The room store: who is in which room and how frames reach them, behind one interface
//! ([`RoomStore`]) with two implementations: [`Rooms`], in this process, the default (host mode
//! and a single server), and [`RedisRooms`], which shares rooms between instances through Redis.
//! [`Store`] is whichever one a server runs with.

use crate::protocol::{PeerId, PeerInfo, ResumeToken};
use crate::redis_store::RedisRooms;
use crate::rooms::{Admitted, JoinError, Outbox, RelayError, Rooms};
use axum::extract::ws::Utf8Bytes;

/// A peer asking in.
pub(crate) struct JoinRequest<'a> {
    pub room: &'a str,
    /// The id a newcomer gets; one that resumes keeps the id of the place it takes.
    pub id: &'a PeerId,
    pub name: &'a str,
    /// The `resume` token the join offered: if it is that of a member of the room, the peer
    /// takes that member's place instead of a new one.
    pub offered: Option<&'a str>,
    /// The token this admission hands out in its welcome, which the next resume must offer.
    pub resume: &'a ResumeToken,
    /// Where the peer's frames go; its welcome first.
    pub outbox: Outbox,
    pub max_peers: usize,
    /// Makes the welcome from the peer's id and the peers already in the room, in the order they
    /// joined.
    pub welcome: MakeWelcome<'a>,
}

/// Makes a welcome from the id the peer got and the peers already in the room.
pub(crate) type MakeWelcome<'a> = Box<dyn FnOnce(&PeerId, Vec<PeerInfo>) -> Utf8Bytes + Send + 'a>;

/// What a session asks of the rooms. Every method returns without waiting on any client: frames
/// go into bounded outboxes (see `rooms`); a shared store may wait on its own server, for at most
/// its timeout.
pub(crate) trait RoomStore {
    /// Admits a peer, tells the others, and queues its welcome, or says why not. A peer that
    /// resumes takes the place of the member whose token it offered: nobody is told, and that
    /// member's connection is told to close (its outbox's `replaced`).
    async fn join(&self, request: JoinRequest<'_>) -> Result<Admitted, JoinError>;
    /// Removes the peer the connection of `outbox` made and tells the others; removing one that
    /// is not there, or whose place a newer connection took, does nothing.
    async fn leave(&self, room: &str, id: &PeerId, outbox: &Outbox);
    /// Sends a frame to one peer of the room, or to every peer but the sender when `to` is None.
    async fn relay(
        &self,
        room: &str,
        from: &PeerId,
        to: Option<&PeerId>,
        frame: Utf8Bytes,
    ) -> Result<(), RelayError>;
    /// Rooms with someone connected to this process, and the people in them.
    fn counts(&self) -> (usize, usize);
}

impl RoomStore for Rooms {
    async fn join(&self, r: JoinRequest<'_>) -> Result<Admitted, JoinError> {
        Rooms::join(self, r)
    }

    async fn leave(&self, room: &str, id: &PeerId, outbox: &Outbox) {
        Rooms::leave(self, room, id, outbox);
    }

    async fn relay(
        &self,
        room: &str,
        from: &PeerId,
        to: Option<&PeerId>,
        frame: Utf8Bytes,
    ) -> Result<(), RelayError> {
        Rooms::relay(self, room, from, to, frame)
    }

    fn counts(&self) -> (usize, usize) {
        Rooms::counts(self)
    }
}

/// The store a server runs with.
pub(crate) enum Store {
    Memory(Rooms),
    Redis(RedisRooms),
}

impl RoomStore for Store {
    async fn join(&self, request: JoinRequest<'_>) -> Result<Admitted, JoinError> {
        match self {
            Store::Memory(rooms) => RoomStore::join(rooms, request).await,
            Store::Redis(rooms) => rooms.join(request).await,
        }
    }

    async fn leave(&self, room: &str, id: &PeerId, outbox: &Outbox) {
        match self {
            Store::Memory(rooms) => RoomStore::leave(rooms, room, id, outbox).await,
            Store::Redis(rooms) => rooms.leave(room, id, outbox).await,
        }
    }

    async fn relay(
        &self,
        room: &str,
        from: &PeerId,
        to: Option<&PeerId>,
        frame: Utf8Bytes,
    ) -> Result<(), RelayError> {
        match self {
            Store::Memory(rooms) => RoomStore::relay(rooms, room, from, to, frame).await,
            Store::Redis(rooms) => rooms.relay(room, from, to, frame).await,
        }
    }

    fn counts(&self) -> (usize, usize) {
        match self {
            Store::Memory(rooms) => RoomStore::counts(rooms),
            Store::Redis(rooms) => rooms.counts(),
        }
    }
}

impl Store {
    /// Rooms with someone connected to this process.
    pub fn room_count(&self) -> usize {
        self.counts().0
    }

    /// Whether the shared store answers: None without one.
    pub fn shared_ok(&self) -> Option<bool> {
        match self {
            Store::Memory(_) => None,
            Store::Redis(rooms) => Some(rooms.healthy()),
        }
    }

    /// Called once every session has ended: a shared store says this instance is gone.
    pub async fn close(&self) {
        if let Store::Redis(rooms) = self {
            rooms.close().await;
        }
    }
}
