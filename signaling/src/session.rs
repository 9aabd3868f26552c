//! One client connection: reads frames, enforces the limits, joins rooms and relays signals.
//!
//! Each connection is one task reading and deciding, plus a writer task fed by a bounded queue
//! (the peer's [`Outbox`]). Generic over `Stream`/`Sink` so it does not care what carries frames.

use crate::protocol::{
    validate_name, ClientMessage, ErrorCode, PeerId, ResumeToken, ServerMessage,
};
use crate::rate::RateLimit;
use crate::rooms::{JoinError, Outbox, Outgoing, Queued, RelayError};
use crate::server::Activity;
use crate::state::AppState;
use crate::store::{JoinRequest, RoomStore};
use axum::extract::ws::Message;
use axum::extract::ws::Utf8Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::time::sleep_until;

/// Close frames this server sends (codes from RFC 6455 section 7.4.1, and 4000 to 4999, which it
/// leaves to applications).
mod close {
    use crate::rooms::Closing;

    pub static SHUTDOWN: Closing = Closing {
        code: 1001,
        reason: "The server is shutting down.",
    };
    pub static INVALID_UTF8: Closing = Closing {
        code: 1007,
        reason: "A text frame was not UTF-8.",
    };
    pub static JOIN_TIMEOUT: Closing = Closing {
        code: 1008,
        reason: "No join arrived in time.",
    };
    pub static UNRESPONSIVE: Closing = Closing {
        code: 1008,
        reason: "Nothing heard from this client in time.",
    };
    pub static UNFINISHED: Closing = Closing {
        code: 1008,
        reason: "A message stayed unfinished too long.",
    };
    pub static TOO_BIG: Closing = Closing {
        code: 1009,
        reason: "The message is too large.",
    };
    pub static UNAUTHORIZED: Closing = Closing {
        code: 1008,
        reason: "Too many joins were refused for want of a valid token.",
    };
    pub static REPLACED: Closing = Closing {
        code: 4009,
        reason: "Replaced by a newer connection of the same person.",
    };
}

/// Joins refused `unauthorized` on one connection before it is closed: enough for a client to
/// retry once with a fresh token, too few to try tokens at any useful speed.
pub(crate) const MAX_UNAUTHORIZED: u8 = 3;

/// The room a session is in, and who it is there.
struct Membership {
    room: String,
    id: PeerId,
}

/// Why a session ended; logged, and decides the close frame.
#[derive(Debug)]
enum End {
    ClientClosed,
    ServerShutdown,
    JoinTimeout,
    Unresponsive,
    UnfinishedMessage,
    SlowReader,
    FrameTooLarge,
    InvalidUtf8,
    ReadError,
    Unauthorized,
    /// A join with this session's `resume` token took its place in its room.
    Replaced,
}

impl End {
    /// The reason as `hearth_disconnects_total` labels it.
    fn label(&self) -> &'static str {
        match self {
            End::ClientClosed => "client-closed",
            End::ServerShutdown => "server-shutdown",
            End::JoinTimeout => "join-timeout",
            End::Unresponsive => "unresponsive",
            End::UnfinishedMessage => "unfinished-message",
            End::SlowReader => "slow-reader",
            End::FrameTooLarge => "frame-too-large",
            End::InvalidUtf8 => "invalid-utf8",
            End::ReadError => "read-error",
            End::Unauthorized => "unauthorized",
            End::Replaced => "replaced",
        }
    }
}

/// What the session loop does after a text message.
enum Handled {
    /// Carry on.
    Done,
    /// The session left a room or was refused one: restart the join timer.
    OutOfRoom,
    /// End the connection.
    Close(End),
}

/// Runs one connection until the client leaves, misbehaves, or the server shuts down.
pub(crate) async fn run<S, E>(
    socket: S,
    state: Arc<AppState>,
    client: String,
    activity: Option<Arc<Activity>>,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: Into<axum::Error>,
    <S as Sink<Message>>::Error: std::fmt::Display,
{
    let (sink, mut stream) = socket.split();
    let limits = &state.config.limits;
    let metrics = &state.config.metrics;
    let _counted = metrics.connected();
    let (outbox, queued) = Outbox::new(limits.send_queue, limits.send_queue_bytes);
    let writer = tokio::spawn(write_frames(sink, queued));

    let mut session = Session {
        state: &state,
        outbox: outbox.clone(),
        membership: None,
        client: &client,
        unauthorized: 0,
    };
    let mut rate = RateLimit::new(limits.rate_per_sec, limits.rate_burst);
    let mut last_heard = Instant::now();
    let mut join_deadline = tokio::time::Instant::now() + limits.join_timeout;
    // Periodic checks (peer timeout, heartbeat, drain, unfinished messages) come often enough for
    // the shortest of the timeouts they watch.
    let every = limits
        .heartbeat_interval
        .min(limits.drain_timeout)
        .min(limits.message_timeout)
        .div_f64(2.0)
        .max(std::time::Duration::from_millis(10));
    let mut next_check = tokio::time::Instant::now() + every;
    let mut next_ping = Instant::now() + limits.heartbeat_interval;
    let mut arrivals = activity.map(Arrivals::new);
    // One timer for the session, set to whichever of its deadlines comes first: a connection costs
    // one timer entry however many things it waits for.
    let timer = sleep_until(next_check);
    tokio::pin!(timer);
    tracing::debug!(%client, "connected");

    let end = loop {
        let mut wake = next_check;
        if session.membership.is_none() {
            wake = wake.min(join_deadline);
        }
        if let Some(report) = rate.report_at() {
            wake = wake.min(report);
        }
        if timer.deadline() != wake {
            timer.as_mut().reset(wake);
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => break End::ServerShutdown,
            _ = outbox.kick.cancelled() => break End::SlowReader,
            _ = outbox.replaced.cancelled() => break End::Replaced,
            () = &mut timer => {
                let now = tokio::time::Instant::now();
                if session.membership.is_none() && now >= join_deadline {
                    session.error(ErrorCode::JoinTimeout, "No join arrived in time; closing the connection.");
                    break End::JoinTimeout;
                }
                if rate.report_at().is_some_and(|at| now >= at) {
                    session.report_refused(rate.take_refused(), limits);
                }
                if now < next_check {
                    continue;
                }
                next_check = now + every;
                if last_heard.elapsed() >= limits.peer_timeout {
                    break End::Unresponsive;
                }
                if outbox.undrained_for().is_some_and(|t| t >= limits.drain_timeout) {
                    break End::SlowReader;
                }
                if arrivals.as_mut().is_some_and(|a| a.stalled(limits.message_timeout)) {
                    break End::UnfinishedMessage;
                }
                if Instant::now() >= next_ping {
                    next_ping = Instant::now() + limits.heartbeat_interval;
                    outbox.deliver(Outgoing::Ping);
                }
            }
            frame = stream.next() => {
                let frame = match frame {
                    None => break End::ClientClosed,
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => break read_error(e.into()),
                };
                last_heard = Instant::now();
                if let Some(arrivals) = &mut arrivals {
                    arrivals.frame(&frame);
                }
                if matches!(frame, Message::Text(_) | Message::Binary(_) | Message::Ping(_)) {
                    if !rate.admit() {
                        continue;
                    }
                    session.report_refused(rate.take_refused(), limits);
                }
                match frame {
                    Message::Text(text) => {
                        if text.len() > limits.max_message_bytes {
                            let msg = format!("The message has {} bytes; the limit is {}. It was not processed.", text.len(), limits.max_message_bytes);
                            session.error(ErrorCode::TooLarge, &msg);
                        } else {
                            match session.handle(text.as_str(), last_heard).await {
                                Handled::Done => {}
                                Handled::OutOfRoom => {
                                    join_deadline = tokio::time::Instant::now() + limits.join_timeout;
                                }
                                Handled::Close(end) => break end,
                            }
                        }
                    }
                    Message::Binary(_) => {
                        session.error(ErrorCode::BadMessage, "Binary frames are not part of the protocol; send JSON text.");
                    }
                    Message::Close(_) => break End::ClientClosed,
                    // WebSocket pings are answered by the WebSocket layer itself.
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        }
    };

    if let End::Replaced = end {
        session.replaced();
    } else {
        session.leave_room().await;
    }
    metrics.disconnected(end.label());
    tracing::debug!(%client, reason = ?end, "disconnected");
    let close = match end {
        End::ServerShutdown => Some(&close::SHUTDOWN),
        End::JoinTimeout => Some(&close::JOIN_TIMEOUT),
        End::Unresponsive => Some(&close::UNRESPONSIVE),
        End::UnfinishedMessage => Some(&close::UNFINISHED),
        End::FrameTooLarge => Some(&close::TOO_BIG),
        End::InvalidUtf8 => Some(&close::INVALID_UTF8),
        End::Unauthorized => Some(&close::UNAUTHORIZED),
        End::Replaced => Some(&close::REPLACED),
        End::ClientClosed => None,
        // The socket is broken or its reader stopped: nothing more can usefully be written.
        End::SlowReader | End::ReadError => {
            writer.abort();
            return;
        }
    };
    if let Some(closing) = close {
        outbox.close_with(closing);
    }
    // With every sender gone the writer finishes what is queued and closes the socket; give a
    // client that no longer reads a moment, not forever.
    drop(session);
    drop(outbox);
    let abort = writer.abort_handle();
    tokio::select! {
        _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer) => {}
        () = state.hard_stop.cancelled() => {}
    }
    abort.abort();
}

/// Drains the outbox into the socket, batching whatever is already queued into one flush, and
/// tells the outbox when its queue is busy and when it has drained. Once every sender is gone and
/// the queue is empty, sends the session's close frame, if any, and closes the socket.
async fn write_frames<K>(mut sink: K, mut queued: Queued)
where
    K: Sink<Message> + Unpin,
    K::Error: std::fmt::Display,
{
    while let Some(first) = queued.recv().await {
        queued.busy();
        let mut next = first;
        loop {
            let bytes = match write_batch(&mut sink, &mut queued, next).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::debug!(error = %e, "write failed");
                    return;
                }
            };
            queued.written(bytes);
            match queued.try_recv() {
                Some(more) => next = more,
                None => break,
            }
        }
        queued.drained();
    }
    if let Some(closing) = queued.closing() {
        let _ = sink.feed(closing.to_message()).await;
    }
    // Sends our close frame, or answers the client's, and shuts the stream down.
    let _ = sink.close().await;
}

/// Feeds `first` and every frame already queued behind it, then flushes once. Returns the bytes
/// written.
async fn write_batch<K>(
    sink: &mut K,
    queued: &mut Queued,
    first: Outgoing,
) -> Result<usize, K::Error>
where
    K: Sink<Message> + Unpin,
{
    let mut bytes = first.len();
    sink.feed(first.into_message()).await?;
    while let Some(next) = queued.try_recv() {
        bytes += next.len();
        sink.feed(next.into_message()).await?;
    }
    sink.flush().await?;
    Ok(bytes)
}

/// Notices a message that takes too long to arrive: bytes read from the socket that have not
/// become a frame the session has seen. The WebSocket layer holds such bytes (a fragmented message,
/// a frame still arriving) where the session cannot see them, so they are counted from the
/// socket's side.
///
/// While a message is unfinished no other data message can complete (RFC 6455 section 5.4), only
/// control frames, whose size on the wire is exact. So each completed data message accounts for
/// everything read so far (at most one read chunk of the next frame comes with it), and from then
/// on only control frames account for bytes.
struct Arrivals {
    activity: Arc<Activity>,
    /// Bytes of the socket's stream that the frames seen so far account for.
    accounted: u64,
    /// Since when bytes have been waiting to become a frame.
    waiting_since: Option<Instant>,
}

impl Arrivals {
    fn new(activity: Arc<Activity>) -> Self {
        Arrivals {
            accounted: activity.bytes_read(),
            activity,
            waiting_since: None,
        }
    }

    /// A whole frame arrived.
    fn frame(&mut self, frame: &Message) {
        match frame {
            Message::Text(_) | Message::Binary(_) => {
                self.accounted = self.activity.bytes_read();
                self.waiting_since = None;
            }
            // Control frames: 2 header bytes, a 4-byte mask, and at most 125 bytes of payload.
            Message::Ping(p) | Message::Pong(p) => self.accounted += 6 + p.len() as u64,
            Message::Close(c) => {
                self.accounted += 6 + c.as_ref().map_or(0, |c| 2 + c.reason.len() as u64)
            }
        }
    }

    /// Whether bytes have waited `timeout` or longer to become a frame.
    fn stalled(&mut self, timeout: std::time::Duration) -> bool {
        let read = self.activity.bytes_read();
        // Frames that came with a data message's last read chunk were accounted for already.
        self.accounted = self.accounted.min(read);
        if read == self.accounted {
            self.waiting_since = None;
            return false;
        }
        self.waiting_since
            .get_or_insert_with(Instant::now)
            .elapsed()
            >= timeout
    }
}

fn read_error(e: axum::Error) -> End {
    let inner = e.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => End::FrameTooLarge,
        Some(tungstenite::Error::Utf8(_)) => End::InvalidUtf8,
        _ => {
            tracing::debug!(error = %inner, "read failed");
            End::ReadError
        }
    }
}

/// What one connection knows between frames.
struct Session<'a> {
    state: &'a AppState,
    outbox: Outbox,
    membership: Option<Membership>,
    client: &'a str,
    /// Joins refused `unauthorized` so far; [`MAX_UNAUTHORIZED`] closes the connection.
    unauthorized: u8,
}

impl Session<'_> {
    fn send(&self, msg: &ServerMessage<'_>) {
        self.outbox.deliver(Outgoing::Text(msg.to_json().into()));
    }

    fn error(&self, code: ErrorCode, message: &str) {
        self.state.config.metrics.refused(code.as_str(), 1);
        self.send(&ServerMessage::Error {
            code,
            message,
            refused: None,
        });
    }

    /// One `rate-limited` reply for every message refused since the last one.
    fn report_refused(&self, refused: Option<u64>, limits: &crate::Limits) {
        let Some(n) = refused else { return };
        self.state
            .config
            .metrics
            .refused(ErrorCode::RateLimited.as_str(), n);
        let message = format!(
            "{n} message(s) were not processed: this connection may send {} a second, in bursts of {}. Slow down.",
            limits.rate_per_sec, limits.rate_burst
        );
        self.send(&ServerMessage::Error {
            code: ErrorCode::RateLimited,
            message: &message,
            refused: Some(n),
        });
    }

    /// Acts on one text frame, read at `arrived`.
    async fn handle(&mut self, text: &str, arrived: Instant) -> Handled {
        let msg = match ClientMessage::parse(text) {
            Ok(msg) => msg,
            Err(e) => {
                self.error(e.code(), &e.to_string());
                return Handled::Done;
            }
        };
        match msg {
            ClientMessage::Ping => {
                self.send(&ServerMessage::Pong);
                Handled::Done
            }
            ClientMessage::Join {
                room,
                name,
                token,
                resume,
            } => self.join(room, name, token, resume).await,
            ClientMessage::Leave => {
                if self.membership.is_none() {
                    self.error(ErrorCode::NotJoined, "You are not in a room.");
                    return Handled::Done;
                }
                self.leave_room().await;
                Handled::OutOfRoom
            }
            ClientMessage::Signal { to, data } => {
                let Some(m) = &self.membership else {
                    self.error(ErrorCode::NotJoined, "Join a room before sending signals.");
                    return Handled::Done;
                };
                let frame = ServerMessage::Signal { from: &m.id, data }.to_json();
                let relayed = self
                    .state
                    .rooms
                    .relay(&m.room, &m.id, to.as_ref(), frame.into())
                    .await;
                match relayed {
                    Ok(()) => self.state.config.metrics.relayed(arrived.elapsed()),
                    Err(RelayError::UnknownPeer) => self.error(
                        ErrorCode::UnknownPeer,
                        "No peer with that id is in your room.",
                    ),
                    Err(RelayError::Unavailable) => self.error(
                        ErrorCode::Unavailable,
                        "The message could not be passed on: the servers cannot reach each other \
                         just now. Try again shortly.",
                    ),
                }
                Handled::Done
            }
        }
    }

    async fn join(
        &mut self,
        room: String,
        name: String,
        token: Option<String>,
        offered: Option<ResumeToken>,
    ) -> Handled {
        if let Some(m) = &self.membership {
            let msg = format!("You are already in room {:?}; leave it first.", m.room);
            self.error(ErrorCode::AlreadyJoined, &msg);
            return Handled::Done;
        }
        let mut name = name;
        if let Some(auth) = &self.state.config.auth {
            match auth.verify(token.as_deref(), Some(&room)) {
                Ok(claims) => {
                    // The token's name was checked when it was made, by whoever holds the
                    // secret; check it again all the same, as any name shown to others is.
                    if let Some(named) = claims.name.as_deref().map(validate_name) {
                        match named {
                            Ok(named) => name = named,
                            Err(e) => {
                                self.error(ErrorCode::BadName, &e.to_string());
                                return Handled::OutOfRoom;
                            }
                        }
                    }
                }
                Err(e) => {
                    self.error(ErrorCode::Unauthorized, &e.to_string());
                    self.unauthorized += 1;
                    tracing::debug!(client = %self.client, %room, reason = %e, "refused a join");
                    if self.unauthorized >= MAX_UNAUTHORIZED {
                        return Handled::Close(End::Unauthorized);
                    }
                    return Handled::OutOfRoom;
                }
            }
        }
        if let Some(only) = &self.state.config.only_rooms {
            if !only.iter().any(|r| r == &room) {
                let msg = format!("There is no room {room:?} on this server. Check the room code.");
                self.error(ErrorCode::UnknownRoom, &msg);
                return Handled::OutOfRoom;
            }
        }
        let id = PeerId::random();
        // Handed out in the welcome and kept by the store; never logged.
        let resume = ResumeToken::random();
        let max = self.state.config.limits.max_peers_per_room;
        let ice = &self.state.config.ice;
        // TURN credentials name the peer: made here, out of the store's lock, for the new id, and
        // made again in the welcome only when the peer resumes under its old one.
        let ice_servers = ice.ice_servers(SystemTime::now(), id.as_str());
        let welcome = |got: &PeerId, peers| -> Utf8Bytes {
            let resumed;
            let ice_servers = if *got == id {
                &ice_servers
            } else {
                resumed = ice.ice_servers(SystemTime::now(), got.as_str());
                &resumed
            };
            ServerMessage::Welcome {
                id: got,
                room: &room,
                peers,
                ice_servers,
                resume: &resume,
            }
            .to_json()
            .into()
        };
        let request = JoinRequest {
            room: &room,
            id: &id,
            name: &name,
            offered: offered.as_ref().map(ResumeToken::as_str),
            resume: &resume,
            outbox: self.outbox.clone(),
            max_peers: max,
            welcome: Box::new(welcome),
        };
        match self.state.rooms.join(request).await {
            Ok(admitted) => {
                let id = admitted.id;
                if admitted.resumed {
                    self.state.config.metrics.resumed();
                    tracing::info!(client = %self.client, %room, peer = %id, "resumed");
                } else {
                    tracing::info!(client = %self.client, %room, peer = %id, "joined");
                }
                self.membership = Some(Membership { room, id });
                self.count_rooms();
                Handled::Done
            }
            Err(JoinError::Full) => {
                let msg =
                    format!("Room {room:?} is full ({max} people at most). Try another room.");
                self.error(ErrorCode::RoomFull, &msg);
                Handled::OutOfRoom
            }
            Err(JoinError::Unavailable) => {
                self.error(
                    ErrorCode::Unavailable,
                    "The server cannot admit anyone just now: it has lost touch with the store it \
                     shares with the other servers. Try again in a few seconds.",
                );
                Handled::OutOfRoom
            }
        }
    }

    /// Brings `hearth_rooms` and `hearth_people` up to date after a join or a leave.
    fn count_rooms(&self) {
        let (rooms, people) = self.state.rooms.counts();
        self.state.config.metrics.set_rooms(rooms, people);
    }

    /// A newer connection of the same person has this session's place: it is no longer in the
    /// room, and leaves nothing behind.
    fn replaced(&mut self) {
        if let Some(m) = self.membership.take() {
            self.count_rooms();
            tracing::info!(client = %self.client, room = %m.room, peer = %m.id, "replaced");
        }
    }

    async fn leave_room(&mut self) {
        if let Some(m) = self.membership.take() {
            self.state.rooms.leave(&m.room, &m.id, &self.outbox).await;
            self.count_rooms();
            tracing::info!(client = %self.client, room = %m.room, peer = %m.id, "left");
        }
    }
}
