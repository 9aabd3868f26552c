//! The room store shared by several server instances through Redis (`REDIS_URL`): membership
//! and the room-size limit held atomically in Redis by Lua scripts, frames for peers on other
//! instances carried by Redis pub/sub, dead instances cleaned up by the survivors, and what
//! happens while Redis is away.
//!
//! # Data in Redis
//! - `hearth:room:{room}`: a hash, peer id → `instance \t join number \t name`.
//! - `hearth:resume:{room}`: a hash, peer id → the `resume` token of its last welcome. Apart from
//!   the room's hash so that an instance of an earlier version, during a rolling upgrade, reads
//!   the room as before.
//! - `hearth:members:{instance}`: a set of `room \t peer` for each peer on that instance, so that
//!   a survivor can remove a dead instance's peers.
//! - `hearth:alive:{instance}`: set every [`RedisConfig::heartbeat`], expiring after
//!   [`RedisConfig::expiry`]; `hearth:instances` lists the instances to check.
//! - `hearth:seq`: the join counter that orders each room's `peers`.
//! - Channel `hearth:to:{instance}`: everything for that instance's peers. One channel per
//!   instance, subscribed once, so re-subscribing after a reconnection is one command.
//!
//! Messages on a channel are tab-separated (rooms and ids never contain a tab; names cannot):
//! `J room peer instance name` (joined), `L room peer` (left), `M room peer instance` (moved: a
//! newer connection of the peer, on `instance`, took its place with its `resume` token; its old
//! instance closes the old connection, nobody announces anything), `S room to frame` (a signal;
//! `to` empty for everyone; `frame` is the finished frame, relayed byte for byte). One instance's
//! publications go out on one connection in the order its sessions make them, and each session
//! waits for each of its own, so signals from one sender arrive in order.
//!
//! # Who is where
//! Peers connected here are in [`Rooms`], which delivers to them. For each room with someone
//! here, the instance keeps the members on other instances ([`RemoteRoom`]), learnt from the join
//! script's answer and kept up to date by `J` and `L`, to address signals and to answer
//! `unknown-peer` without a round trip.
//!
//! # Losing Redis
//! While Redis cannot be reached (the subscription is down, or the last command failed or took
//! longer than [`RedisConfig::timeout`]), joins are refused `unavailable` at once; peers already
//! in rooms keep relaying to peers on their own instance; signals for other instances are refused
//! `unavailable`; leaves are remembered. When Redis answers again the subscription is renewed, and
//! the next heartbeat registers every peer here again (Redis may have restarted empty), tells
//! every instance about the leaves it missed, and removes what no longer holds.

use crate::metrics::Metrics;
use crate::protocol::{PeerId, PeerInfo, ResumeToken, ServerMessage};
use crate::rooms::{Admitted, JoinError, Outbox, RelayError, Rooms};
use crate::store::{JoinRequest, RoomStore};
use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where the shared store is and how the instance keeps in touch with it.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://[:password@]host[:port][/db]`: plain TCP (this build has no TLS for Redis), so
    /// keep Redis on loopback or a private network. Redis 6.2 or newer (`SET ... GET`).
    pub url: String,
    /// How often the instance says it is alive and looks for dead instances.
    pub heartbeat: Duration,
    /// How long after its last heartbeat an instance counts as dead and its peers are removed:
    /// they are gone from their rooms at most `expiry + heartbeat` after it died.
    pub expiry: Duration,
    /// Longest wait for any one Redis command; past it Redis counts as unavailable.
    pub timeout: Duration,
}

impl RedisConfig {
    /// The defaults for `url`: a heartbeat every 2 s, dead after 10 s, commands within 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            heartbeat: Duration::from_secs(2),
            expiry: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
        }
    }
}

impl std::fmt::Debug for RedisConfig {
    // By hand: the URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &"<hidden>")
            .field("heartbeat", &self.heartbeat)
            .field("expiry", &self.expiry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a Redis round trip did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

const INSTANCES: &str = "hearth:instances";
const SEQ: &str = "hearth:seq";

fn room_key(room: &str) -> String {
    format!("hearth:room:{room}")
}
fn resume_key(room: &str) -> String {
    format!("hearth:resume:{room}")
}
fn members_key(instance: &str) -> String {
    format!("hearth:members:{instance}")
}
fn alive_key(instance: &str) -> String {
    format!("hearth:alive:{instance}")
}
fn channel(instance: &str) -> String {
    format!("hearth:to:{instance}")
}

/// Joins a peer unless the room is full; idempotent for a peer already in (re-registration).
/// Tells every other instance with someone in the room. Answers the room's members before the
/// join (a flat list of id, value), or nil when the room is full.
const JOIN: &str = r"
local all = redis.call('HGETALL', KEYS[1])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  if #all / 2 >= tonumber(ARGV[4]) then return false end
  local seq = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\t' .. seq .. '\t' .. ARGV[3])
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[6])
  redis.call('SADD', KEYS[2], ARGV[5] .. '\t' .. ARGV[1])
  local msg = 'J\t' .. ARGV[5] .. '\t' .. ARGV[1] .. '\t' .. ARGV[2] .. '\t' .. ARGV[3]
  local told = {[ARGV[2]] = true}
  for i = 2, #all, 2 do
    local inst = string.match(all[i], '^[^\t]*')
    if not told[inst] then
      told[inst] = true
      redis.call('PUBLISH', 'hearth:to:' .. inst, msg)
    end
  end
end
return all
";

/// Removes a peer of instance ARGV[3] and tells the other instances in its room; with a token
/// (ARGV[4]), only while the peer holds that token, so the leave of a connection whose place a
/// newer one took on the same instance leaves the newer one in.
const LEAVE: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
local held = redis.call('HGET', KEYS[3], ARGV[1])
if ARGV[4] ~= '' and held and held ~= ARGV[4] then return 0 end
redis.call('SREM', KEYS[2], ARGV[2] .. '\t' .. ARGV[1])
if not v or string.match(v, '^[^\t]*') ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local msg = 'L\t' .. ARGV[2] .. '\t' .. ARGV[1]
local told = {[ARGV[3]] = true}
for _, val in ipairs(redis.call('HVALS', KEYS[1])) do
  local inst = string.match(val, '^[^\t]*')
  if not told[inst] then
    told[inst] = true
    redis.call('PUBLISH', 'hearth:to:' .. inst, msg)
  end
end
return 1
";

/// If instance ARGV[1] has missed its heartbeats, removes its peers, tells the instances in
/// their rooms, and forgets it. Answers -1 for a live instance, else the peers removed. Atomic, so
/// two survivors sweeping at once tell each room once.
const SWEEP: &str = r"
if redis.call('EXISTS', 'hearth:alive:' .. ARGV[1]) == 1 then return -1 end
local set = 'hearth:members:' .. ARGV[1]
local n = 0
for _, e in ipairs(redis.call('SMEMBERS', set)) do
  local room, peer = string.match(e, '^([^\t]*)\t(.*)$')
  if room then
    local hash = 'hearth:room:' .. room
    local v = redis.call('HGET', hash, peer)
    if v and string.match(v, '^[^\t]*') == ARGV[1] then
      redis.call('HDEL', hash, peer)
      redis.call('HDEL', 'hearth:resume:' .. room, peer)
      n = n + 1
      local msg = 'L\t' .. room .. '\t' .. peer
      local told = {[ARGV[1]] = true}
      for _, val in ipairs(redis.call('HVALS', hash)) do
        local inst = string.match(val, '^[^\t]*')
        if not told[inst] then
          told[inst] = true
          redis.call('PUBLISH', 'hearth:to:' .. inst, msg)
        end
      end
    end
  end
end
redis.call('DEL', set)
redis.call('SREM', 'hearth:instances', ARGV[1])
return n
";

/// Gives the place of peer ARGV[1] in room ARGV[5], if it still holds token ARGV[2], to a newer
/// connection on instance ARGV[3] under name ARGV[4] and the fresh token ARGV[6]: same id, same
/// join number. Tells every other instance in the room, and the peer's old instance, `M`.
/// Answers the old instance then the room's members (id, value), or nil when the token is no
/// longer the peer's.
const RESUME: &str = r"
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return false end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local old, seq = string.match(v, '^([^\t]*)\t([^\t]*)')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '\t' .. seq .. '\t' .. ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
redis.call('SREM', 'hearth:members:' .. old, ARGV[5] .. '\t' .. ARGV[1])
redis.call('SADD', KEYS[3], ARGV[5] .. '\t' .. ARGV[1])
local msg = 'M\t' .. ARGV[5] .. '\t' .. ARGV[1] .. '\t' .. ARGV[3]
local told = {[ARGV[3]] = true}
local out = {old}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  out[#out + 1] = all[i]
  out[#out + 1] = all[i + 1]
  local inst = string.match(all[i + 1], '^[^\t]*')
  if not told[inst] then
    told[inst] = true
    redis.call('PUBLISH', 'hearth:to:' .. inst, msg)
  end
end
if not told[old] then redis.call('PUBLISH', 'hearth:to:' .. old, msg) end
return out
";

/// Renews this instance's heartbeat; answers 0 when the key had gone (first beat, Redis
/// restarted empty, or the instance was cut off past its expiry), so it must register again.
const HEARTBEAT: &str = r"
local was = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'GET')
redis.call('SADD', 'hearth:instances', ARGV[2])
if was then return 1 end
return 0
";

/// Leaves remembered while Redis was away, at most; past it the oldest are forgotten (their rooms
/// are then corrected only when their members leave).
const MAX_MISSED_LEAVES: usize = 10_000;
/// Ids of peers that left a room, kept per room so that a `L` processed before the join answer
/// that still lists the peer does not leave a ghost; past it the record starts again.
const MAX_GONE: usize = 256;

/// The members on other instances of a room with someone here (or joining here).
#[derive(Default)]
struct RemoteRoom {
    /// Id → the instance it is connected to.
    members: HashMap<PeerId, String>,
    gone: HashSet<PeerId>,
    /// Joins here in progress: the record stays while one is.
    joining: usize,
}

/// The room store shared through Redis. Cheap to share: the background tasks hold the same
/// [`Shared`].
pub(crate) struct RedisRooms(Arc<Shared>);

struct Shared {
    instance: String,
    config: RedisConfig,
    conn: ConnectionManager,
    client: redis::Client,
    local: Rooms,
    remote: Mutex<HashMap<String, RemoteRoom>>,
    metrics: Metrics,
    /// The subscription to this instance's channel is up.
    subscribed: AtomicBool,
    /// The last command succeeded.
    answering: AtomicBool,
    /// Something went unsaid while Redis was away: register again at the next heartbeat.
    unsynced: AtomicBool,
    missed_leaves: Mutex<Vec<(String, PeerId)>>,
    scripts: Scripts,
    stop: CancellationToken,
}

struct Scripts {
    join: redis::Script,
    resume: redis::Script,
    leave: redis::Script,
    sweep: redis::Script,
    heartbeat: redis::Script,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section is a few map operations: a panic cannot leave one half done.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RedisRooms {
    /// Connects, registers this instance and subscribes to its channel, then keeps both up in
    /// the background until [`RedisRooms::close`].
    pub async fn connect(config: RedisConfig, metrics: Metrics) -> Result<RedisRooms, StoreError> {
        let client = redis::Client::open(config.url.as_str())?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(config.timeout)
            .set_response_timeout(config.timeout)
            .set_number_of_retries(2)
            .set_max_delay(1000);
        let conn = bounded(
            config.timeout,
            ConnectionManager::new_with_config(client.clone(), manager),
        )
        .await?;
        let bits: u64 = rand::random();
        let shared = Arc::new(Shared {
            instance: format!("{bits:016x}"),
            config,
            conn,
            client,
            local: Rooms::default(),
            remote: Mutex::default(),
            metrics,
            subscribed: AtomicBool::new(false),
            answering: AtomicBool::new(true),
            unsynced: AtomicBool::new(false),
            missed_leaves: Mutex::default(),
            scripts: Scripts {
                join: redis::Script::new(JOIN),
                resume: redis::Script::new(RESUME),
                leave: redis::Script::new(LEAVE),
                sweep: redis::Script::new(SWEEP),
                heartbeat: redis::Script::new(HEARTBEAT),
            },
            stop: CancellationToken::new(),
        });
        // Subscribed and registered before the first client can join.
        let pubsub = shared.subscribe().await?;
        shared.beat().await?;
        tracing::info!(instance = %shared.instance, "sharing rooms through Redis");
        tokio::spawn(Arc::clone(&shared).listen(Some(pubsub)));
        tokio::spawn(Arc::clone(&shared).keep_alive());
        Ok(RedisRooms(shared))
    }

    /// Whether joins can be admitted: subscribed, and the last command answered.
    pub fn healthy(&self) -> bool {
        self.0.healthy()
    }

    /// Stops the background tasks and removes this instance from Redis at once, rather than
    /// leaving the others to find it dead: its heartbeat goes, then the sweep any survivor would
    /// run removes whatever of its peers Redis still lists (leaves it could not make) and tells
    /// their rooms. Its peers have left by now.
    pub async fn close(&self) {
        let s = &self.0;
        s.stop.cancel();
        let mut conn = s.conn.clone();
        let mut sweep = s.scripts.sweep.prepare_invoke();
        sweep.arg(&s.instance);
        let forget = async {
            redis::cmd("DEL")
                .arg(alive_key(&s.instance))
                .query_async::<()>(&mut conn)
                .await?;
            sweep.invoke_async::<i64>(&mut conn).await
        };
        if let Err(e) = s.call("close", forget).await {
            tracing::warn!(error = %e, "could not remove this instance from Redis; the others will");
        }
    }
}

impl RoomStore for RedisRooms {
    async fn join(&self, r: JoinRequest<'_>) -> Result<Admitted, JoinError> {
        let s = &self.0;
        if !s.healthy() {
            return Err(JoinError::Unavailable);
        }
        lock(&s.remote)
            .entry(r.room.to_owned())
            .or_default()
            .joining += 1;
        let answer = match r.offered {
            Some(offered) => match s.run_resume(r.room, offered, r.name, r.resume).await {
                Ok(Some(admission)) => Ok(Some(admission)),
                Ok(None) => {
                    s.run_join(r.room, r.id, r.name, r.resume, r.max_peers)
                        .await
                }
                Err(e) => Err(e),
            },
            None => {
                s.run_join(r.room, r.id, r.name, r.resume, r.max_peers)
                    .await
            }
        };
        let mut remote = lock(&s.remote);
        let record = remote.entry(r.room.to_owned()).or_default();
        record.joining -= 1;
        let (id, moved_from, members) = match answer {
            Ok(Some(answer)) => answer,
            refused => {
                if record.joining == 0 && !s.local.has_room(r.room) {
                    remote.remove(r.room);
                }
                return Err(match refused {
                    Ok(_) => JoinError::Full,
                    Err(_) => JoinError::Unavailable,
                });
            }
        };
        let mut others = Vec::new();
        for (seq, listed, instance, name) in members {
            if listed == id {
                continue;
            }
            if instance == s.instance {
                // A peer here that has left, whose leave Redis has not seen yet, is not listed.
                if s.local.contains(r.room, &listed) {
                    others.push((seq, PeerInfo { id: listed, name }));
                }
            } else if !record.gone.contains(&listed) {
                record.members.insert(listed.clone(), instance);
                others.push((seq, PeerInfo { id: listed, name }));
            }
        }
        others.sort_by_key(|(seq, _)| *seq);
        let others = others.into_iter().map(|(_, peer)| peer).collect();
        let resumed = moved_from.is_some();
        // The people here knew the peer already: on another instance (it moved here), or here
        // (its new connection takes its place), unless its old connection here has just left
        // and told them so, with a leave Redis refused since it no longer held the token.
        let known = match &moved_from {
            Some(old) if *old == s.instance => s.local.contains(r.room, &id),
            Some(_) => true,
            None => false,
        };
        record.members.remove(&id);
        // Under the remote lock, so no `J`, `L` or `M` for this room is applied in between.
        s.local.join_listed(
            r.room, &id, r.name, r.outbox, r.resume, others, known, r.welcome,
        );
        Ok(Admitted { id, resumed })
    }

    async fn leave(&self, room: &str, id: &PeerId, outbox: &Outbox) {
        let s = &self.0;
        let Some(resume) = s.local.leave(room, id, outbox) else {
            return;
        };
        {
            let mut remote = lock(&s.remote);
            if !s.local.has_room(room) && remote.get(room).is_some_and(|r| r.joining == 0) {
                remote.remove(room);
            }
        }
        if s.run_leave(room, id, &s.instance, Some(&resume))
            .await
            .is_err()
        {
            let mut missed = lock(&s.missed_leaves);
            if missed.len() >= MAX_MISSED_LEAVES {
                missed.remove(0);
            }
            missed.push((room.to_owned(), id.clone()));
            s.unsynced.store(true, Ordering::Release);
        }
    }

    async fn relay(
        &self,
        room: &str,
        from: &PeerId,
        to: Option<&PeerId>,
        frame: Utf8Bytes,
    ) -> Result<(), RelayError> {
        let s = &self.0;
        let instances: Vec<String> = match to {
            Some(to) => {
                if to != from && s.local.deliver(room, to, frame.clone()) {
                    return Ok(());
                }
                let remote = lock(&s.remote);
                let target = remote
                    .get(room)
                    .and_then(|r| r.members.get(to))
                    .filter(|_| to != from)
                    .ok_or(RelayError::UnknownPeer)?;
                vec![target.clone()]
            }
            None => {
                s.local.broadcast(room, Some(from), &frame);
                let remote = lock(&s.remote);
                let mut instances: Vec<String> = remote
                    .get(room)
                    .map(|r| r.members.values().cloned().collect())
                    .unwrap_or_default();
                instances.sort_unstable();
                instances.dedup();
                instances
            }
        };
        if instances.is_empty() {
            return Ok(());
        }
        let message = format!(
            "S\t{room}\t{}\t{}",
            to.map(PeerId::as_str).unwrap_or_default(),
            frame.as_str()
        );
        let mut pipe = redis::pipe();
        for instance in &instances {
            pipe.publish(channel(instance), &message).ignore();
        }
        let mut conn = s.conn.clone();
        s.call("publish", pipe.query_async::<()>(&mut conn))
            .await
            .map_err(|_| RelayError::Unavailable)
    }

    fn counts(&self) -> (usize, usize) {
        self.0.local.counts()
    }
}

/// A member as the join script lists it: join number, id, instance, name.
type Listed = (u64, PeerId, String, String);

/// An admission: the peer's id, the instance it moved from when it resumed, and the room's
/// members.
type Admission = (PeerId, Option<String>, Vec<Listed>);

impl Shared {
    fn healthy(&self) -> bool {
        self.subscribed.load(Ordering::Acquire) && self.answering.load(Ordering::Acquire)
    }

    /// One round trip, bounded by the timeout, counted, and noted in the health.
    async fn call<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let result = bounded(self.config.timeout, fut).await;
        self.metrics.redis_round_trip(op, result.is_ok());
        match &result {
            Ok(_) => self.answering.store(true, Ordering::Release),
            Err(e) => {
                if self.answering.swap(false, Ordering::AcqRel) {
                    tracing::warn!(error = %e, op, "Redis is unavailable");
                }
            }
        }
        self.metrics.redis_up(self.healthy());
        result
    }

    /// The join script; None when the room is full.
    async fn run_join(
        &self,
        room: &str,
        id: &PeerId,
        name: &str,
        resume: &ResumeToken,
        max_peers: usize,
    ) -> Result<Option<Admission>, StoreError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.scripts.join.prepare_invoke();
        invocation
            .key(room_key(room))
            .key(members_key(&self.instance))
            .key(SEQ)
            .key(resume_key(room))
            .arg(id.as_str())
            .arg(&self.instance)
            .arg(name)
            .arg(max_peers)
            .arg(room)
            .arg(resume.as_str());
        let flat: Option<Vec<String>> = self
            .call("join", invocation.invoke_async(&mut conn))
            .await?;
        Ok(flat.map(|flat| (id.clone(), None, parse_members(&flat))))
    }

    /// Takes back the place in `room` of the peer whose `resume` token is `offered`, for a
    /// connection here; None when no peer of the room holds it (any more).
    async fn run_resume(
        &self,
        room: &str,
        offered: &str,
        name: &str,
        resume: &ResumeToken,
    ) -> Result<Option<Admission>, StoreError> {
        let mut conn = self.conn.clone();
        let held: Vec<(String, String)> = self
            .call(
                "resume-tokens",
                redis::cmd("HGETALL")
                    .arg(resume_key(room))
                    .query_async(&mut conn),
            )
            .await?;
        // Compared here, in constant time, rather than looked up by value in Redis; the script
        // checks again that the peer still holds it.
        let Some(id) = held
            .into_iter()
            .find(|(_, token)| ResumeToken::from(token.as_str()).matches(offered))
            .map(|(id, _)| PeerId::from(id.as_str()))
        else {
            return Ok(None);
        };
        let mut invocation = self.scripts.resume.prepare_invoke();
        invocation
            .key(room_key(room))
            .key(resume_key(room))
            .key(members_key(&self.instance))
            .arg(id.as_str())
            .arg(offered)
            .arg(&self.instance)
            .arg(name)
            .arg(room)
            .arg(resume.as_str());
        let flat: Option<Vec<String>> = self
            .call("resume", invocation.invoke_async(&mut conn))
            .await?;
        Ok(flat.and_then(|flat| {
            let (old, members) = flat.split_first()?;
            Some((id, Some(old.clone()), parse_members(members)))
        }))
    }

    /// Removes `id` of `instance` from `room`; with `resume`, only while the peer holds it.
    async fn run_leave(
        &self,
        room: &str,
        id: &PeerId,
        instance: &str,
        resume: Option<&ResumeToken>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.scripts.leave.prepare_invoke();
        invocation
            .key(room_key(room))
            .key(members_key(instance))
            .key(resume_key(room))
            .arg(id.as_str())
            .arg(room)
            .arg(instance)
            .arg(resume.map(ResumeToken::as_str).unwrap_or_default());
        self.call("leave", invocation.invoke_async::<i64>(&mut conn))
            .await
            .map(drop)
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, StoreError> {
        let mut pubsub = bounded(self.config.timeout, self.client.get_async_pubsub()).await?;
        bounded(
            self.config.timeout,
            pubsub.subscribe(channel(&self.instance)),
        )
        .await?;
        self.metrics.redis_round_trip("subscribe", true);
        self.subscribed.store(true, Ordering::Release);
        self.metrics.redis_up(self.healthy());
        Ok(pubsub)
    }

    /// Reads this instance's channel until [`RedisRooms::close`], subscribing again whenever the
    /// connection drops (with a growing pause, up to 2 s, while Redis is away).
    async fn listen(self: Arc<Self>, mut pubsub: Option<redis::aio::PubSub>) {
        let mut pause = Duration::from_millis(100);
        loop {
            if let Some(mut connection) = pubsub.take() {
                pause = Duration::from_millis(100);
                let mut messages = connection.on_message();
                loop {
                    tokio::select! {
                        () = self.stop.cancelled() => return,
                        message = messages.next() => match message {
                            Some(message) => self.received(message.get_payload_bytes()),
                            None => break,
                        },
                    }
                }
                self.subscribed.store(false, Ordering::Release);
                self.metrics.redis_up(false);
                self.unsynced.store(true, Ordering::Release);
                tracing::warn!("lost the Redis subscription; joins are refused until it is back");
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(2));
            match self.subscribe().await {
                Ok(connection) => {
                    tracing::info!("subscribed to Redis again");
                    pubsub = Some(connection);
                }
                Err(e) => {
                    self.metrics.redis_round_trip("subscribe", false);
                    tracing::debug!(error = %e, "could not subscribe to Redis");
                }
            }
        }
    }

    /// Acts on one message from another instance.
    fn received(&self, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        let mut parts = text.splitn(4, '\t');
        let (Some(kind), Some(room), Some(third)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let rest = parts.next();
        match kind {
            "S" => {
                let Some(frame) = rest else { return };
                let frame = Utf8Bytes::from(frame);
                if third.is_empty() {
                    self.local.broadcast(room, None, &frame);
                } else {
                    self.local.deliver(room, &PeerId::from(third), frame);
                }
            }
            "J" => {
                let Some((instance, name)) = rest.and_then(|r| r.split_once('\t')) else {
                    return;
                };
                let id = PeerId::from(third);
                let mut remote = lock(&self.remote);
                let Some(record) = remote.get_mut(room) else {
                    return;
                };
                record.gone.remove(&id);
                let new = record
                    .members
                    .insert(id.clone(), instance.to_owned())
                    .is_none();
                // A peer registered again after Redis came back is not news.
                if new {
                    let joined = ServerMessage::PeerJoined {
                        peer: PeerInfo {
                            id,
                            name: name.to_owned(),
                        },
                    }
                    .to_json();
                    self.local.broadcast(room, None, &joined.into());
                }
            }
            "M" => {
                let Some(instance) = rest else { return };
                self.moved(room, &PeerId::from(third), instance);
            }
            "L" => {
                let id = PeerId::from(third);
                let mut remote = lock(&self.remote);
                let Some(record) = remote.get_mut(room) else {
                    return;
                };
                if record.gone.len() >= MAX_GONE {
                    record.gone.clear();
                }
                record.gone.insert(id.clone());
                if record.members.remove(&id).is_some() {
                    let left = ServerMessage::PeerLeft { id: &id }.to_json();
                    self.local.broadcast(room, None, &left.into());
                }
            }
            _ => {}
        }
    }

    /// `id` of `room` took its place back on `instance` (a resume): its old connection, if it
    /// is here, closes without a word to anyone, and signals for it go to `instance` from now on.
    fn moved(&self, room: &str, id: &PeerId, instance: &str) {
        let here = self.local.hand_over(room, id);
        let mut remote = lock(&self.remote);
        if here && !self.local.has_room(room) {
            if remote.get(room).is_some_and(|r| r.joining == 0) {
                remote.remove(room);
            }
            return;
        }
        let Some(record) = remote.get_mut(room) else {
            return;
        };
        if !record.gone.contains(id) {
            record.members.insert(id.clone(), instance.to_owned());
        }
    }

    /// Heartbeats, re-registration after an outage, and the sweep of dead instances, every
    /// [`RedisConfig::heartbeat`] until [`RedisRooms::close`].
    async fn keep_alive(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(self.config.heartbeat) => {}
            }
            if let Err(e) = self.beat().await {
                tracing::debug!(error = %e, "heartbeat failed");
            }
        }
    }

    /// One heartbeat: renew the key, register again if needed, sweep the dead.
    async fn beat(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.scripts.heartbeat.prepare_invoke();
        invocation
            .key(alive_key(&self.instance))
            .arg(u64::try_from(self.config.expiry.as_millis()).unwrap_or(u64::MAX))
            .arg(&self.instance);
        let was_alive: i64 = self
            .call("heartbeat", invocation.invoke_async(&mut conn))
            .await?;
        if was_alive == 0 || self.unsynced.load(Ordering::Acquire) {
            // Cleared first: a failure during the resync sets it again.
            self.unsynced.store(false, Ordering::Release);
            // With its heartbeat still there, Redis kept everyone's entries: what this instance
            // missed while it was not subscribed can be read back. After a Redis restart the
            // other instances are still registering again, and their `J`s will say who is back.
            if let Err(e) = self.resync(was_alive == 1).await {
                self.unsynced.store(true, Ordering::Release);
                return Err(e);
            }
        }
        let instances: Vec<String> = self
            .call(
                "instances",
                redis::cmd("SMEMBERS").arg(INSTANCES).query_async(&mut conn),
            )
            .await?;
        for instance in instances.iter().filter(|i| **i != self.instance) {
            let mut invocation = self.scripts.sweep.prepare_invoke();
            invocation.arg(instance);
            let removed: i64 = self
                .call("sweep", invocation.invoke_async(&mut conn))
                .await?;
            if removed >= 0 {
                tracing::info!(%instance, peers = removed, "removed a dead instance's peers");
            }
        }
        Ok(())
    }

    /// After an outage: every peer here registered again (telling the others only of those they
    /// had been told were gone), the leaves Redis missed told to every instance, and entries for
    /// peers no longer here removed.
    async fn resync(&self, refresh: bool) -> Result<(), StoreError> {
        let here = self.local.members();
        for (room, id, name) in &here {
            let Some(resume) = self.local.resume_of(room, id) else {
                continue;
            };
            let answer = self.run_join(room, id, name, &resume, usize::MAX).await?;
            // The peer came back on another instance with its token while this one was not
            // listening (the `M` was missed): the connection here is its ghost.
            let moved = answer.and_then(|(_, _, members)| {
                members
                    .into_iter()
                    .find(|(_, listed, instance, _)| listed == id && *instance != self.instance)
                    .map(|(_, _, instance, _)| instance)
            });
            if let Some(instance) = moved {
                self.moved(room, id, &instance);
            }
        }
        let missed = std::mem::take(&mut *lock(&self.missed_leaves));
        if !missed.is_empty() {
            let mut conn = self.conn.clone();
            let instances: Vec<String> = self
                .call(
                    "instances",
                    redis::cmd("SMEMBERS").arg(INSTANCES).query_async(&mut conn),
                )
                .await?;
            let mut pipe = redis::pipe();
            for (room, id) in &missed {
                for instance in instances.iter().filter(|i| **i != self.instance) {
                    pipe.publish(channel(instance), format!("L\t{room}\t{id}"))
                        .ignore();
                }
            }
            self.call("publish", pipe.query_async::<()>(&mut conn))
                .await?;
        }
        let mut conn = self.conn.clone();
        let registered: Vec<String> = self
            .call(
                "members",
                redis::cmd("SMEMBERS")
                    .arg(members_key(&self.instance))
                    .query_async(&mut conn),
            )
            .await?;
        let here: HashSet<(String, PeerId)> = here.into_iter().map(|(r, id, _)| (r, id)).collect();
        for entry in registered {
            let Some((room, id)) = entry.split_once('\t') else {
                continue;
            };
            let key = (room.to_owned(), PeerId::from(id));
            if !here.contains(&key) {
                self.run_leave(room, &key.1, &self.instance, None).await?;
            }
        }
        if refresh {
            let rooms: HashSet<String> = here.iter().map(|(room, _)| room.clone()).collect();
            self.refresh(rooms.into_iter().collect()).await?;
        }
        tracing::info!(
            peers = here.len(),
            "registered this instance's peers in Redis again"
        );
        Ok(())
    }

    /// Reads the members of `rooms` back from Redis and tells the people here of those who
    /// came or went while this instance was not listening.
    async fn refresh(&self, rooms: Vec<String>) -> Result<(), StoreError> {
        if rooms.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for room in &rooms {
            pipe.hgetall(room_key(room));
        }
        let mut conn = self.conn.clone();
        let answers: Vec<HashMap<String, String>> =
            self.call("refresh", pipe.query_async(&mut conn)).await?;
        let mut remote = lock(&self.remote);
        for (room, fields) in rooms.iter().zip(answers) {
            let Some(record) = remote.get_mut(room) else {
                continue;
            };
            let mut now = HashMap::new();
            for (id, value) in fields {
                let mut parts = value.splitn(3, '\t');
                let (Some(instance), _, Some(name)) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if instance != self.instance {
                    now.insert(
                        PeerId::from(id.as_str()),
                        (instance.to_owned(), name.to_owned()),
                    );
                }
            }
            let gone: Vec<PeerId> = record
                .members
                .keys()
                .filter(|id| !now.contains_key(*id))
                .cloned()
                .collect();
            for id in gone {
                record.members.remove(&id);
                let left = ServerMessage::PeerLeft { id: &id }.to_json();
                self.local.broadcast(room, None, &left.into());
                record.gone.insert(id);
            }
            for (id, (instance, name)) in now {
                if record.members.contains_key(&id) || record.gone.contains(&id) {
                    continue;
                }
                record.members.insert(id.clone(), instance);
                let joined = ServerMessage::PeerJoined {
                    peer: PeerInfo { id, name },
                }
                .to_json();
                self.local.broadcast(room, None, &joined.into());
            }
        }
        Ok(())
    }
}

/// Members as the join and resume scripts answer them: id, then `instance \t seq \t name`.
fn parse_members(flat: &[String]) -> Vec<Listed> {
    flat.chunks_exact(2)
        .filter_map(|pair| {
            let mut parts = pair[1].splitn(3, '\t');
            let instance = parts.next()?.to_owned();
            let seq = parts.next()?.parse().ok()?;
            let name = parts.next()?.to_owned();
            Some((seq, PeerId::from(pair[0].as_str()), instance, name))
        })
        .collect()
}

/// `fut`, or [`StoreError::Timeout`] after `limit`.
async fn bounded<T>(
    limit: Duration,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Timeout(limit)),
    }
}
