//! The room registry of this process: who is in which room, and delivery of frames to them. On
//! its own it is the default room store; under the Redis store it holds the members connected to
//! this instance.
//!
//! Delivery never waits: each peer has an outbox bounded in frames and bytes, drained by its own
//! writer task, and a peer whose outbox is full is told to disconnect (its `kick` token), so one
//! slow reader cannot hold memory or hold up the sender or anyone else in the room.
//!
//! A join carrying the `resume` token of a member still here takes that member's place: same id,
//! same place in the join order, the new connection's outbox, and the old connection is told to
//! close (its `replaced` token); nobody else hears of it.

use crate::protocol::{PeerId, PeerInfo, ResumeToken, ServerMessage};
use crate::store::JoinRequest;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A frame waiting in an outbox. As small as the text it carries (32 bytes, against 40 for a
/// WebSocket `Message`): an outbox's first block of 32 slots is allocated with the connection, so
/// its size is memory every idle connection holds. The close frame, sent once at the end, waits
/// beside the queue instead ([`Outbox::close_with`]).
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(Utf8Bytes),
    Ping,
}

/// A close frame the server sends.
#[derive(Debug)]
pub(crate) struct Closing {
    pub code: u16,
    pub reason: &'static str,
}

impl Outgoing {
    /// The bytes this frame counts for in the queue's byte bound: its payload.
    pub fn len(&self) -> usize {
        match self {
            Outgoing::Text(t) => t.len(),
            Outgoing::Ping => 0,
        }
    }

    pub fn into_message(self) -> Message {
        match self {
            Outgoing::Text(t) => Message::Text(t),
            Outgoing::Ping => Message::Ping(Default::default()),
        }
    }
}

impl Closing {
    pub fn to_message(&'static self) -> Message {
        Message::Close(Some(CloseFrame {
            code: self.code,
            reason: Utf8Bytes::from_static(self.reason),
        }))
    }
}

/// Where frames for one peer go: a queue bounded in frames and in bytes.
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Outgoing>,
    /// Shared with the peer's writer ([`Queued`]).
    backlog: Arc<Backlog>,
    max_bytes: usize,
    /// Cancelled when the outbox overflows: the peer's session ends and the room is told.
    pub kick: CancellationToken,
    /// Cancelled when a newer connection of the same person took this one's place in its room
    /// (a join with its `resume` token): the session ends without leaving, since the place is
    /// no longer its own.
    pub replaced: CancellationToken,
}

/// What waits in one outbox, as the writer reports it.
struct Backlog {
    /// Bytes queued and not yet written; the writer takes off what it has flushed.
    bytes: AtomicUsize,
    /// When the queue last went from empty to not empty and has not emptied since, in
    /// milliseconds after `start` plus one; 0 while it is empty.
    busy_since: AtomicU64,
    start: Instant,
    /// The close frame to send once everything queued is written.
    closing: OnceLock<&'static Closing>,
}

/// The writer's end of an [`Outbox`].
pub(crate) struct Queued {
    rx: mpsc::Receiver<Outgoing>,
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
            closing: OnceLock::new(),
        });
        let outbox = Outbox {
            tx,
            backlog: Arc::clone(&backlog),
            max_bytes,
            kick: CancellationToken::new(),
            replaced: CancellationToken::new(),
        };
        (outbox, Queued { rx, backlog })
    }

    /// Queues a frame without waiting. Returns false when the frame was not queued; when that is
    /// because the queue is full (in frames or bytes), the peer is kicked.
    pub fn deliver(&self, msg: Outgoing) -> bool {
        let size = msg.len();
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

    /// Sends `closing` after everything queued, once every `Outbox` of this peer is gone.
    pub fn close_with(&self, closing: &'static Closing) {
        let _ = self.backlog.closing.set(closing);
    }

    /// Whether `other` feeds the same connection as this outbox.
    pub fn same(&self, other: &Outbox) -> bool {
        Arc::ptr_eq(&self.backlog, &other.backlog)
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
    pub async fn recv(&mut self) -> Option<Outgoing> {
        self.rx.recv().await
    }

    /// The next frame if one is already queued.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        self.rx.try_recv().ok()
    }

    /// Frames of this many bytes (as [`Outgoing::len`] counts them) left the queue for the socket.
    pub fn written(&self, bytes: usize) {
        self.backlog.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// The writer took a frame from an empty queue: the time to drain starts.
    pub fn busy(&self) {
        let ms = u64::try_from(self.backlog.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.backlog.busy_since.store(ms + 1, Ordering::Release);
    }

    /// The close frame to end with, if the session chose one.
    pub fn closing(&self) -> Option<&'static Closing> {
        self.backlog.closing.get().copied()
    }

    /// Everything queued has been written.
    pub fn drained(&self) {
        self.backlog.busy_since.store(0, Ordering::Release);
    }
}

struct Member {
    id: PeerId,
    name: String,
    outbox: Outbox,
    /// The token the member's last welcome handed out; a join offering it takes this place.
    resume: ResumeToken,
}

/// Who a join admitted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// The new member's id, or, when it resumed, the id of the member whose place it took.
    pub id: PeerId,
    /// It took the place of a member whose `resume` token it offered.
    pub resumed: bool,
}

/// Why a join was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// The room holds its maximum.
    Full,
    /// The shared store cannot be reached, so the room's members cannot be known.
    Unavailable,
}

/// Why a signal was not relayed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RelayError {
    /// No such peer in the sender's room.
    UnknownPeer,
    /// The receiver is on another instance and the shared store did not take the message.
    Unavailable,
}

/// The members as a welcome lists them, in join order, without `except`.
fn listed(members: &[Member], except: Option<&PeerId>) -> Vec<PeerInfo> {
    members
        .iter()
        .filter(|m| Some(&m.id) != except)
        .map(|m| PeerInfo {
            id: m.id.clone(),
            name: m.name.clone(),
        })
        .collect()
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

    /// Adds a peer, tells the others, and welcomes it with the peers already there; or, when it
    /// offers the `resume` token of a member here, gives it that member's place without telling
    /// anyone, and tells the member's old connection to close.
    pub fn join(&self, r: JoinRequest<'_>) -> Result<Admitted, JoinError> {
        let mut rooms = self.lock();
        let members = rooms.entry(r.room.to_owned()).or_default();
        if let Some(at) = r
            .offered
            .and_then(|offered| members.iter().position(|m| m.resume.matches(offered)))
        {
            let id = members[at].id.clone();
            let others = listed(members, Some(&id));
            Self::take_place(
                &mut members[at],
                r.name,
                r.outbox,
                r.resume,
                others,
                r.welcome,
            );
            return Ok(Admitted { id, resumed: true });
        }
        if members.len() >= r.max_peers {
            if members.is_empty() {
                rooms.remove(r.room);
            }
            return Err(JoinError::Full);
        }
        let others = listed(members, None);
        Self::push(members, r.id, r.name, r.outbox, r.resume, others, r.welcome);
        Ok(Admitted {
            id: r.id.clone(),
            resumed: false,
        })
    }

    /// Adds a peer admitted elsewhere (by the shared store, which also counted the room's
    /// places), tells the others here, and welcomes it with `others`, everyone in the room on
    /// every instance. When the people here know the peer already (`known`: the store moved it
    /// here from another instance, a resume) they are not told; when it is here already (it
    /// resumed on the instance it was on), the new connection takes its place as [`join`]
    /// does.
    ///
    /// [`join`]: Rooms::join
    #[allow(clippy::too_many_arguments)]
    pub fn join_listed(
        &self,
        room: &str,
        id: &PeerId,
        name: &str,
        outbox: Outbox,
        resume: &ResumeToken,
        others: Vec<PeerInfo>,
        known: bool,
        welcome: impl FnOnce(&PeerId, Vec<PeerInfo>) -> Utf8Bytes,
    ) {
        let mut rooms = self.lock();
        let members = rooms.entry(room.to_owned()).or_default();
        if let Some(member) = members.iter_mut().find(|m| &m.id == id) {
            Self::take_place(member, name, outbox, resume, others, welcome);
            return;
        }
        if known {
            outbox.deliver(Outgoing::Text(welcome(id, others)));
            members.push(Member {
                id: id.clone(),
                name: name.to_owned(),
                outbox,
                resume: resume.clone(),
            });
        } else {
            Self::push(members, id, name, outbox, resume, others, welcome);
        }
    }

    /// Welcomes a newcomer and tells the members already there.
    fn push(
        members: &mut Vec<Member>,
        id: &PeerId,
        name: &str,
        outbox: Outbox,
        resume: &ResumeToken,
        others: Vec<PeerInfo>,
        welcome: impl FnOnce(&PeerId, Vec<PeerInfo>) -> Utf8Bytes,
    ) {
        let joined: Utf8Bytes = ServerMessage::PeerJoined {
            peer: PeerInfo {
                id: id.clone(),
                name: name.to_owned(),
            },
        }
        .to_json()
        .into();
        // The welcome is queued under the lock, before anyone else can see the new member, so it
        // is the first thing the joiner hears: never a `peer-joined` ahead of it.
        outbox.deliver(Outgoing::Text(welcome(id, others)));
        for m in members.iter() {
            m.outbox.deliver(Outgoing::Text(joined.clone()));
        }
        members.push(Member {
            id: id.clone(),
            name: name.to_owned(),
            outbox,
            resume: resume.clone(),
        });
    }

    /// Gives `member`'s place to a new connection: welcomed first, then everything for the
    /// member's id goes to it, and the old connection is told to close.
    fn take_place(
        member: &mut Member,
        name: &str,
        outbox: Outbox,
        resume: &ResumeToken,
        others: Vec<PeerInfo>,
        welcome: impl FnOnce(&PeerId, Vec<PeerInfo>) -> Utf8Bytes,
    ) {
        outbox.deliver(Outgoing::Text(welcome(&member.id, others)));
        let old = std::mem::replace(&mut member.outbox, outbox);
        member.name = name.to_owned();
        member.resume = resume.clone();
        old.replaced.cancel();
    }

    /// Removes the peer `id` that the connection of `outbox` made, and tells the others.
    /// Returns the `resume` token it held, or None when it was not there: a peer that is not, or
    /// whose place a newer connection has taken, is left alone.
    pub fn leave(&self, room: &str, id: &PeerId, outbox: &Outbox) -> Option<ResumeToken> {
        let left: Utf8Bytes = ServerMessage::PeerLeft { id }.to_json().into();
        let mut rooms = self.lock();
        let members = rooms.get_mut(room)?;
        let at = members
            .iter()
            .position(|m| &m.id == id && m.outbox.same(outbox))?;
        let gone = members.remove(at);
        if members.is_empty() {
            rooms.remove(room);
        } else {
            for m in members.iter() {
                m.outbox.deliver(Outgoing::Text(left.clone()));
            }
        }
        Some(gone.resume)
    }

    /// Takes `id` out of `room` here without telling anyone, and tells its connection to close:
    /// a newer connection of the same person took its place on another instance.
    pub fn hand_over(&self, room: &str, id: &PeerId) -> bool {
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return false;
        };
        let Some(at) = members.iter().position(|m| &m.id == id) else {
            return false;
        };
        let member = members.remove(at);
        member.outbox.replaced.cancel();
        if members.is_empty() {
            rooms.remove(room);
        }
        true
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
                target.outbox.deliver(Outgoing::Text(frame));
            }
            None => {
                for m in members.iter().filter(|m| &m.id != from) {
                    m.outbox.deliver(Outgoing::Text(frame.clone()));
                }
            }
        }
        Ok(())
    }

    /// Whether `id` is in `room` here.
    pub fn contains(&self, room: &str, id: &PeerId) -> bool {
        self.lock()
            .get(room)
            .is_some_and(|members| members.iter().any(|m| &m.id == id))
    }

    /// Whether anyone is in `room` here.
    pub fn has_room(&self, room: &str) -> bool {
        self.lock().contains_key(room)
    }

    /// Queues `frame` for `to` in `room`; false when `to` is not in it here.
    pub fn deliver(&self, room: &str, to: &PeerId, frame: Utf8Bytes) -> bool {
        let rooms = self.lock();
        let Some(target) = rooms
            .get(room)
            .and_then(|members| members.iter().find(|m| &m.id == to))
        else {
            return false;
        };
        target.outbox.deliver(Outgoing::Text(frame));
        true
    }

    /// Queues `frame` for everyone in `room` here but `except`.
    pub fn broadcast(&self, room: &str, except: Option<&PeerId>, frame: &Utf8Bytes) {
        let rooms = self.lock();
        for m in rooms
            .get(room)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|m| Some(&m.id) != except)
        {
            m.outbox.deliver(Outgoing::Text(frame.clone()));
        }
    }

    /// Everyone here: room, id and name.
    pub fn members(&self) -> Vec<(String, PeerId, String)> {
        self.lock()
            .iter()
            .flat_map(|(room, members)| {
                members
                    .iter()
                    .map(|m| (room.clone(), m.id.clone(), m.name.clone()))
            })
            .collect()
    }

    /// The `resume` token of `id` in `room` here.
    pub fn resume_of(&self, room: &str, id: &PeerId) -> Option<ResumeToken> {
        self.lock()
            .get(room)
            .and_then(|members| members.iter().find(|m| &m.id == id))
            .map(|m| m.resume.clone())
    }

    /// Rooms with at least one peer, and peers in them.
    pub fn counts(&self) -> (usize, usize) {
        let rooms = self.lock();
        (rooms.len(), rooms.values().map(Vec::len).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(capacity: usize) -> (Outbox, Queued) {
        Outbox::new(capacity, usize::MAX)
    }

    fn text(msg: Option<Outgoing>) -> String {
        match msg {
            Some(Outgoing::Text(t)) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Stands in for the session's welcome: the peers it lists, as JSON.
    fn welcome(_: &PeerId, peers: Vec<PeerInfo>) -> Utf8Bytes {
        serde_json::to_string(&peers)
            .expect("peers serialise")
            .into()
    }

    /// A join into a room of two, handing out `resume`, offering `offered`; its welcome says
    /// the id it got and the peers listed, as `id [peers]`.
    fn join_with(
        rooms: &Rooms,
        room: &str,
        id: &PeerId,
        name: &str,
        outbox: Outbox,
        resume: &ResumeToken,
        offered: Option<&str>,
    ) -> Result<Admitted, JoinError> {
        rooms.join(JoinRequest {
            room,
            id,
            name,
            offered,
            resume,
            outbox,
            max_peers: 2,
            welcome: Box::new(|id: &PeerId, peers| {
                let peers = serde_json::to_string(&peers).expect("peers serialise");
                format!("{id} {peers}").into()
            }),
        })
    }

    /// A plain join; its welcome lists the peers, as JSON.
    fn join(
        rooms: &Rooms,
        room: &str,
        id: &PeerId,
        name: &str,
        outbox: Outbox,
        max: usize,
    ) -> Result<Admitted, JoinError> {
        rooms.join(JoinRequest {
            room,
            id,
            name,
            offered: None,
            resume: &ResumeToken::random(),
            outbox,
            max_peers: max,
            welcome: Box::new(welcome),
        })
    }

    #[test]
    fn join_welcomes_first_then_tells_the_others() {
        let rooms = Rooms::default();
        let (a, mut a_rx) = outbox(8);
        let (b, mut b_rx) = outbox(8);
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        join(&rooms, "r", &ida, "Ada", a.clone(), 2).expect("join");
        assert_eq!(text(a_rx.try_recv()), "[]");
        join(&rooms, "r", &idb, "Bob", b.clone(), 2).expect("join");
        assert_eq!(text(b_rx.try_recv()), r#"[{"id":"a","name":"Ada"}]"#);
        assert_eq!(
            text(a_rx.try_recv()),
            r#"{"type":"peer-joined","peer":{"id":"b","name":"Bob"}}"#
        );
        let (c, _c_rx) = outbox(8);
        assert_eq!(
            join(&rooms, "r", &PeerId::from("c"), "Cy", c, 2),
            Err(JoinError::Full)
        );
        // Only the connection that made a member can take it out.
        assert_eq!(rooms.leave("r", &idb, &a), None);
        assert!(rooms.leave("r", &idb, &b).is_some());
        assert_eq!(text(a_rx.try_recv()), r#"{"type":"peer-left","id":"b"}"#);
        assert!(rooms.leave("r", &ida, &a).is_some());
        assert_eq!(rooms.counts(), (0, 0));
    }

    #[test]
    fn a_peer_admitted_elsewhere_is_welcomed_with_the_list_given() {
        let rooms = Rooms::default();
        let (a, mut a_rx) = outbox(8);
        let (b, mut b_rx) = outbox(8);
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        join(&rooms, "r", &ida, "Ada", a, 2).expect("join");
        a_rx.try_recv();
        // Bob is admitted by the shared store, which also knows of Cy on another instance; the
        // room's limit here does not apply.
        let listed = vec![
            PeerInfo {
                id: PeerId::from("c"),
                name: "Cy".into(),
            },
            PeerInfo {
                id: ida.clone(),
                name: "Ada".into(),
            },
        ];
        rooms.join_listed(
            "r",
            &idb,
            "Bob",
            b,
            &ResumeToken::random(),
            listed,
            false,
            welcome,
        );
        assert_eq!(
            text(b_rx.try_recv()),
            r#"[{"id":"c","name":"Cy"},{"id":"a","name":"Ada"}]"#
        );
        assert_eq!(
            text(a_rx.try_recv()),
            r#"{"type":"peer-joined","peer":{"id":"b","name":"Bob"}}"#
        );
        assert!(rooms.contains("r", &idb) && !rooms.contains("r", &PeerId::from("c")));
        assert!(rooms.deliver("r", &idb, "to bob".into()));
        assert!(!rooms.deliver("r", &PeerId::from("c"), "to cy".into()));
        assert_eq!(text(b_rx.try_recv()), "to bob");
        rooms.broadcast("r", Some(&ida), &"all but ada".into());
        assert_eq!(text(b_rx.try_recv()), "all but ada");
        assert!(a_rx.try_recv().is_none());
        let mut members = rooms.members();
        members.sort_by(|x, y| x.1.as_str().cmp(y.1.as_str()));
        assert_eq!(
            members,
            vec![
                ("r".to_owned(), ida, "Ada".to_owned()),
                ("r".to_owned(), idb, "Bob".to_owned()),
            ]
        );
    }

    #[test]
    fn a_join_with_a_members_token_takes_its_place_and_nobody_hears_of_it() {
        let rooms = Rooms::default();
        let (a, mut a_rx) = outbox(8);
        let (ghost, _ghost_rx) = outbox(8);
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        let (ta, tb) = (ResumeToken::random(), ResumeToken::random());
        join_with(&rooms, "r", &ida, "Ada", a, &ta, None).expect("join");
        join_with(&rooms, "r", &idb, "Bob", ghost.clone(), &tb, None).expect("join");
        a_rx.try_recv();
        a_rx.try_recv();

        // The room is full, yet Bob's token takes his own place back, under his id and order.
        let (back, mut back_rx) = outbox(8);
        let fresh = ResumeToken::random();
        let id = PeerId::from("new");
        let admitted = join_with(
            &rooms,
            "r",
            &id,
            "Bobby",
            back.clone(),
            &fresh,
            Some(tb.as_str()),
        );
        assert_eq!(
            admitted,
            Ok(Admitted {
                id: idb.clone(),
                resumed: true
            })
        );
        assert_eq!(text(back_rx.try_recv()), r#"b [{"id":"a","name":"Ada"}]"#);
        assert!(ghost.replaced.is_cancelled() && !back.replaced.is_cancelled());
        assert!(a_rx.try_recv().is_none());
        rooms
            .relay("r", &ida, Some(&idb), "to bob".into())
            .expect("relay");
        assert_eq!(text(back_rx.try_recv()), "to bob");
        // The ghost's leave, late, leaves the new connection in.
        assert_eq!(rooms.leave("r", &idb, &ghost), None);
        assert!(rooms.contains("r", &idb));
        assert!(a_rx.try_recv().is_none());

        // The token served once; offered again it is nobody's, and the room is full.
        let (again, _again_rx) = outbox(8);
        let refused = join_with(
            &rooms,
            "r",
            &id,
            "Bob",
            again,
            &ResumeToken::random(),
            Some(tb.as_str()),
        );
        assert_eq!(refused, Err(JoinError::Full));
        assert_eq!(rooms.resume_of("r", &idb), Some(fresh));
    }

    #[test]
    fn a_full_outbox_kicks_its_owner_and_spares_the_sender() {
        let rooms = Rooms::default();
        let (a, _a_rx) = outbox(8);
        // Room for the welcome and one more.
        let (b, _b_rx) = outbox(2);
        let kick_b = b.kick.clone();
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        join(&rooms, "r", &ida, "Ada", a, 2).expect("join");
        join(&rooms, "r", &idb, "Bob", b, 2).expect("join");
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
    fn a_queued_frame_is_no_larger_than_a_pointer_to_text() {
        assert!(std::mem::size_of::<Outgoing>() <= std::mem::size_of::<Utf8Bytes>());
    }

    #[test]
    fn an_outbox_over_its_bytes_kicks_and_written_frames_free_room() {
        let (outbox, queued) = Outbox::new(100, 10);
        assert_eq!(outbox.undrained_for(), None);
        queued.busy();
        assert!(outbox.undrained_for().is_some());
        queued.drained();
        assert_eq!(outbox.undrained_for(), None);
        assert!(outbox.deliver(Outgoing::Text("12345678".into())));
        assert!(!outbox.kick.is_cancelled());
        queued.written(8);
        assert!(outbox.deliver(Outgoing::Text("12345678".into())));
        assert!(!outbox.deliver(Outgoing::Text("123".into())));
        assert!(outbox.kick.is_cancelled());
    }

    #[test]
    fn nobody_can_signal_themselves_or_other_rooms() {
        let rooms = Rooms::default();
        let (a, _a_rx) = outbox(8);
        let (b, _b_rx) = outbox(8);
        let (ida, idb) = (PeerId::from("a"), PeerId::from("b"));
        join(&rooms, "r1", &ida, "Ada", a, 2).expect("join");
        join(&rooms, "r2", &idb, "Bob", b, 2).expect("join");
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
