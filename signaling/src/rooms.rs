//! The room registry: who is in which room, and delivery of frames to them.
//!
//! Delivery never waits: each peer has an outbox bounded in frames and bytes, drained by its own
//! writer task, and a peer whose outbox is full is told to disconnect (its `kick` token), so one
//! slow reader cannot hold memory or hold up the sender or anyone else in the room.

use crate::protocol::{PeerId, PeerInfo, ServerMessage};
use axum::extract::ws::{Message, Utf8Bytes};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where frames for one peer go: a queue bounded in frames and in bytes.
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Message>,
    /// Shared with the peer's writer ([`Queued`]).
    backlog: Arc<Backlog>,
    max_bytes: usize,
    /// Cancelled when the outbox overflows: the peer's session ends and the room is told.
    pub kick: CancellationToken,
}

/// What waits in one outbox, as the writer reports it.
struct Backlog {
    /// Bytes queued and not yet written; the writer takes off what it has flushed.
    bytes: AtomicUsize,
    /// When the queue last went from empty to not empty and has not emptied since, in
    /// milliseconds after `start` plus one; 0 while it is empty.
    busy_since: AtomicU64,
    start: Instant,
}

/// The writer's end of an [`Outbox`].
pub(crate) struct Queued {
    rx: mpsc::Receiver<Message>,
    backlog: Arc<Backlog>,
}

impl Outbox {
    /// An outbox holding at most `frames` frames and `max_bytes` bytes of payload.
    pub fn new(frames: usize, max_bytes: usize) -> (Outbox, Queued) {
        let (tx, rx) = mpsc::channel(frames.max(1));
        let backlog = Arc::new(Backlog {
            bytes: AtomicUsize::new(0),
            busy_since: AtomicU64::new(0),
            start: Instant::now(),
        });
        let outbox = Outbox {
            tx,
            backlog: Arc::clone(&backlog),
            max_bytes,
            kick: CancellationToken::new(),
        };
        (outbox, Queued { rx, backlog })
    }

    /// Queues a frame without waiting. Returns false when the frame was not queued; when that is
    /// because the queue is full (in frames or bytes), the peer is kicked.
    pub fn deliver(&self, msg: Message) -> bool {
        let size = frame_len(&msg);
        let bytes = &self.backlog.bytes;
        let before = bytes.fetch_add(size, Ordering::AcqRel);
        if before.saturating_add(size) > self.max_bytes {
            bytes.fetch_sub(size, Ordering::AcqRel);
            self.kick.cancel();
            return false;
        }
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(e) => {
                bytes.fetch_sub(size, Ordering::AcqRel);
                if let mpsc::error::TrySendError::Full(_) = e {
                    self.kick.cancel();
                }
                false
            }
        }
    }

    /// How long frames have been waiting without the queue emptying once, if any are.
    pub fn undrained_for(&self) -> Option<Duration> {
        match self.backlog.busy_since.load(Ordering::Acquire) {
            0 => None,
            since => {
                let since = self.backlog.start + Duration::from_millis(since - 1);
                Some(since.elapsed())
            }
        }
    }
}

impl Queued {
    /// The next frame, waiting for one; None once every [`Outbox`] is gone.
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv().await
    }

    /// The next frame if one is already queued.
    pub fn try_recv(&mut self) -> Option<Message> {
        self.rx.try_recv().ok()
    }

    /// Frames of this many bytes (as [`frame_len`] counts them) left the queue for the socket.
    pub fn written(&self, bytes: usize) {
        self.backlog.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// The writer took a frame from an empty queue: the time to drain starts.
    pub fn busy(&self) {
        let ms = u64::try_from(self.backlog.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.backlog.busy_since.store(ms + 1, Ordering::Release);
    }

    /// Everything queued has been written.
    pub fn drained(&self) {
        self.backlog.busy_since.store(0, Ordering::Release);
    }
}

/// The bytes a frame counts for in the queue's byte bound: its payload.
pub(crate) fn frame_len(msg: &Message) -> usize {
    match msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(c) => 2 + c.as_ref().map_or(0, |c| c.reason.len()),
    }
}

struct Member {
    id: PeerId,
    name: String,
    outbox: Outbox,
}

/// Why a join was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JoinError {
    Full,
}

/// Why a signal was not relayed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RelayError {
    UnknownPeer,
}

/// All rooms of one server.
#[derive(Default)]
pub(crate) struct Rooms {
    // A std Mutex: every critical section is a map look-up and a few non-blocking sends, never
    // an `.await`. Rooms hold a handful of peers, so a Vec keeps join order cheaply.
    rooms: Mutex<HashMap<String, Vec<Member>>>,
}

impl Rooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Member>>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that matters
        // more than refusing all further service, so carry on with the data.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a peer, tells the others, and returns the peers already there.
    pub fn join(
        &self,
        room: &str,
        id: &PeerId,
        name: &str,
        outbox: Outbox,
        max_peers: usize,
        welcome: impl FnOnce(Vec<PeerInfo>) -> Utf8Bytes,
    ) -> Result<(), JoinError> {
        let joined: Utf8Bytes = ServerMessage::PeerJoined {
            peer: PeerInfo {
                id: id.clone(),
                name: name.to_owned(),
            },
        }
        .to_json()
        .into();
        let mut rooms = self.lock();
        let members = rooms.entry(room.to_owned()).or_default();
        if members.len() >= max_peers {
            if members.is_empty() {
                rooms.remove(room);
            }
            return Err(JoinError::Full);
        }
        let others = members
            .iter()
            .map(|m| PeerInfo {
                id: m.id.clone(),
                name: m.name.clone(),
            })
            .collect();
        // The welcome is queued under the lock, before anyone else can see the new member, so it
        // is the first thing the joiner hears: never a `peer-joined` ahead of it.
        outbox.deliver(Message::Text(welcome(others)));
        for m in members.iter() {
            m.outbox.deliver(Message::Text(joined.clone()));
        }
        members.push(Member {
            id: id.clone(),
            name: name.to_owned(),
            outbox,
        });
        Ok(())
    }

    /// Removes a peer and tells the others. Removing a peer that is not there does nothing.
    pub fn leave(&self, room: &str, id: &PeerId) {
        let left: Utf8Bytes = ServerMessage::PeerLeft { id }.to_json().into();
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        let before = members.len();
        members.retain(|m| &m.id != id);
        if members.len() == before {
            return;
        }
        if members.is_empty() {
            rooms.remove(room);
            return;
        }
        for m in members.iter() {
            m.outbox.deliver(Message::Text(left.clone()));
        }
    }

    /// Sends a frame to one peer of the room, or to every peer but the sender when `to` is None.
    pub fn relay(
        &self,
        room: &str,
        from: &PeerId,
        to: Option<&PeerId>,
        frame: Utf8Bytes,
    ) -> Result<(), RelayError> {
        let rooms = self.lock();
        let members = rooms.get(room).map(Vec::as_slice).unwrap_or_default();
        match to {
            Some(to) => {
                let target = members
                    .iter()
                    .find(|m| &m.id == to && &m.id != from)
                    .ok_or(RelayError::UnknownPeer)?;
                target.outbox.deliver(Message::Text(frame));
            }
            None => {
                for m in members.iter().filter(|m| &m.id != from) {
                    m.outbox.deliver(Message::Text(frame.clone()));
                }
            }
        }
        Ok(())
    }

    /// Number of rooms with at least one peer.
    pub fn room_count(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(capacity: usize) -> (Outbox, Queued) {
        Outbox::new(capacity, usize::MAX)
    }

    fn text(msg: Option<Message>) -> String {
        match msg {
            Some(Message::Text(t)) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Stands in for the session's welcome: the peers it lists, as JSON.
    fn welcome(peers: Vec<PeerInfo>) -> Utf8Bytes {
        serde_json::to_string(&peers)
            .expect("peers serialise")
            .into()
    }

    #[test]
    fn join_welcomes_first_then_tells_the_others() {
        let rooms = Rooms::default();
        let (a, mut a_rx) = outbox(8);
        let (b, mut b_rx) = outbox(8);
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        rooms.join("r", &ida, "Ada", a, 2, welcome).expect("join");
        assert_eq!(text(a_rx.try_recv()), "[]");
        rooms.join("r", &idb, "Bob", b, 2, welcome).expect("join");
        assert_eq!(text(b_rx.try_recv()), r#"[{"id":"a","name":"Ada"}]"#);
        assert_eq!(
            text(a_rx.try_recv()),
            r#"{"type":"peer-joined","peer":{"id":"b","name":"Bob"}}"#
        );
        let (c, _c_rx) = outbox(8);
        assert_eq!(
            rooms.join("r", &PeerId::from("c"), "Cy", c, 2, welcome),
            Err(JoinError::Full)
        );
        rooms.leave("r", &idb);
        assert_eq!(text(a_rx.try_recv()), r#"{"type":"peer-left","id":"b"}"#);
        rooms.leave("r", &ida);
        assert_eq!(rooms.room_count(), 0);
    }

    #[test]
    fn a_full_outbox_kicks_its_owner_and_spares_the_sender() {
        let rooms = Rooms::default();
        let (a, _a_rx) = outbox(8);
        // Room for the welcome and one more.
        let (b, _b_rx) = outbox(2);
        let kick_b = b.kick.clone();
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        rooms.join("r", &ida, "Ada", a, 2, welcome).expect("join");
        rooms.join("r", &idb, "Bob", b, 2, welcome).expect("join");
        rooms
            .relay("r", &ida, Some(&idb), "1".into())
            .expect("relay");
        assert!(!kick_b.is_cancelled());
        rooms
            .relay("r", &ida, Some(&idb), "2".into())
            .expect("relay");
        assert!(kick_b.is_cancelled());
    }

    #[test]
    fn an_outbox_over_its_bytes_kicks_and_written_frames_free_room() {
        let (outbox, queued) = Outbox::new(100, 10);
        assert_eq!(outbox.undrained_for(), None);
        queued.busy();
        assert!(outbox.undrained_for().is_some());
        queued.drained();
        assert_eq!(outbox.undrained_for(), None);
        assert!(outbox.deliver(Message::Text("12345678".into())));
        assert!(!outbox.kick.is_cancelled());
        queued.written(8);
        assert!(outbox.deliver(Message::Text("12345678".into())));
        assert!(!outbox.deliver(Message::Text("123".into())));
        assert!(outbox.kick.is_cancelled());
    }

    #[test]
    fn nobody_can_signal_themselves_or_other_rooms() {
        let rooms = Rooms::default();
        let (a, _a_rx) = outbox(8);
        let (b, _b_rx) = outbox(8);
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        rooms.join("r1", &ida, "Ada", a, 2, welcome).expect("join");
        rooms.join("r2", &idb, "Bob", b, 2, welcome).expect("join");
        assert_eq!(
            rooms.relay("r1", &ida, Some(&idb), "x".into()),
            Err(RelayError::UnknownPeer)
        );
        assert_eq!(
            rooms.relay("r1", &ida, Some(&ida), "x".into()),
            Err(RelayError::UnknownPeer)
        );
    }
}
