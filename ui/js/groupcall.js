// @ts-check
//! The call as a whole, free of the DOM and the network: who is in it, ringing everyone in the
//! room, accepting, joining a call already going on, leaving it, and one `CallSession` per other
//! person (a full mesh). It reads call payloads and sends them through the function it is given,
//! so it can be driven by a fake signaling client in the unit tests.

import * as payload from './payload.js';
import { CallSession, isPolite, REAL_CLOCK, RING_TIMEOUT_MS } from './session.js';

/**
 * @typedef {import('./callstate.js').CallState} CallState
 * @typedef {import('./session.js').Clock} Clock
 * @typedef {import('./session.js').EndReason} EndReason
 * @typedef {{id: string, name: string}} PeerInfo
 * @typedef {{call: string, from: string, name: string, caps: payload.Capability[]}} Incoming
 * @typedef {{name: string, caps: payload.Capability[]}} Member
 */

/** What to say when a session ends, by why. @type {Record<EndReason, (name: string, others: boolean) => string>} */
const ENDED = {
  declined: (n) => `${n} declined the call.`,
  busy: (n) => `${n} is in another call.`,
  'no-answer': (n) => `${n} did not answer.`,
  'hung-up': (n, others) => (others ? `${n} left the call.` : `${n} hung up.`),
  left: (n) => `${n} left.`,
  failed: (n) => `Could not connect to ${n}.`,
  lost: (n) => `The connection to ${n} could not be restored for two minutes, so the call with them ended.`,
  full: (n) => `${n}'s app can be in a call with one person at a time.`,
};

/**
 * Events: `change` (anything shown changed), `notice` ({text}), `ended` (we are no longer in a
 * call: the last other person left, or we hung up), `chat` (a message: {id, text, at, from, name}),
 * `files` ({from, name, data}: a message on someone's files channel), `files-open` ({from}),
 * `rebound` ({was, now}: someone came back to the server under a new id; their session goes on).
 */
export class GroupCall extends EventTarget {
  /**
   * @param {{
   *   send: (to: string, data: payload.Payload) => boolean,
   *   caps?: payload.Capability[],
   *   clock?: Clock,
   *   newCallId?: () => string,
   * }} options caps: what this client can or cannot do (the native engine: `no-rollback`,
   *   `one-peer`)
   */
  constructor({ send, caps = [], clock = REAL_CLOCK, newCallId = payload.newCallId }) {
    super();
    this.sendTo = send;
    this.caps = caps;
    this.clock = clock;
    this.newCallId = newCallId;
    this.selfId = '';
    /** Our id before our last reconnection, so the others can find our sessions again. */
    this.formerId = '';
    this.selfName = '';
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** The people in the room. @type {Map<string, string>} */
    this.peers = new Map();
    /** The call we are in, or ''. */
    this.callId = '';
    /** @type {Map<string, CallSession>} one per other person in our call, by their current id */
    this.sessions = new Map();
    /** @type {Incoming | null} a call ringing us */
    this.incoming = null;
    this.incomingTimer = undefined;
    /** Calls going on in the room that we know of: call id → (member id → who). @type {Map<string, Map<string, Member>>} */
    this.known = new Map();
    /** Whether our connection to the server is down (the call goes on without it). */
    this.serverAway = false;
    /** Whether the last call just ended (the page says "Call ended" until the next one). */
    this.justEnded = false;
    /** @type {() => MediaStream | null} the local media as it is now */
    this.localStream = () => null;
    /** What we send. @type {() => payload.Sending} */
    this.sending = () => ({ audio: false, video: false });
  }

  get member() {
    return this.callId !== '';
  }

  #changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }

  /** @param {string} text */
  #notice(text) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { text } }));
  }

  /** @param {string} to @param {payload.Payload} data */
  #send(to, data) {
    return this.sendTo(to, data);
  }

  // ----- what the page shows -----

  /** The call's state as one of the `callstate` states, from its sessions. @returns {CallState} */
  get state() {
    if (!this.member) return this.incoming ? 'incoming' : this.justEnded ? 'ended' : 'idle';
    const states = [...this.sessions.values()].map((s) => s.state);
    for (const state of /** @type {CallState[]} */ (['connected', 'reconnecting', 'connecting', 'outgoing'])) {
      if (states.includes(state)) return state;
    }
    return 'connecting';
  }

  /**
   * The names of the others in our call, in the order they came: those still being rung only
   * while nobody has answered (then the call is "Ringing Bob and Cleo…", and after Bob answers,
   * "In a call with Bob").
   */
  names() {
    const sessions = [...this.sessions.values()];
    const answered = sessions.filter((s) => s.state !== 'outgoing');
    return (answered.length ? answered : sessions).map((s) => s.name);
  }

  /**
   * Sends a chat message to everyone in the call whose chat channel is open.
   * @param {import('./chat.js').ChatWire} message
   * @returns {number} how many it went to
   */
  sendChat(message) {
    let sent = 0;
    for (const session of this.sessions.values()) if (session.sendChat(message)) sent += 1;
    return sent;
  }

  /** The open files channel to `id`, if there is one. @param {string} id */
  filesChannel(id) {
    return this.sessions.get(id)?.filesChannel() ?? null;
  }

  /** Everyone in the call whose files channel is open. */
  fileRecipients() {
    return [...this.sessions.values()].filter((s) => s.filesChannel()).map((s) => ({ id: s.remoteId, name: s.name }));
  }

  /** People in the room who are not in our call (whom Call would ring). */
  notInCall() {
    return [...this.peers].filter(([id]) => !this.#sessionOf(id)).map(([id, name]) => ({ id, name }));
  }

  /** A call in the room we could join: its id and who is in it. */
  joinable() {
    if (this.member || this.incoming) return null;
    for (const [call, members] of this.known) {
      const present = [...members].filter(([id]) => this.peers.has(id)).map(([, m]) => m.name);
      if (present.length) return { call, names: present };
    }
    return null;
  }

  // ----- the room -----

  /** @param {string} selfId @param {string} name @param {PeerInfo[]} peers @param {RTCIceServer[]} iceServers */
  welcomed(selfId, name, peers, iceServers) {
    const rejoin = this.selfId !== '' && this.selfId !== selfId;
    if (rejoin) this.formerId = this.selfId;
    this.selfId = selfId;
    this.selfName = name;
    this.iceServers = iceServers;
    this.peers = new Map(peers.map((p) => [p.id, p.name]));
    if (this.serverAway) {
      this.serverAway = false;
      for (const session of this.sessions.values()) session.serverBack(this.peers.has(session.remoteId));
    }
    if (this.member) {
      for (const peer of peers) this.#send(peer.id, payload.resume(this.callId, this.formerId || undefined));
    }
    this.#changed();
  }

  /**
   * Our connection to the server dropped: we no longer know who is in the room, but the call goes
   * on peer to peer; the sessions learn who is still there when we are welcomed back.
   */
  lostServer() {
    this.serverAway = true;
    this.peers.clear();
    for (const session of this.sessions.values()) session.serverLost();
    this.#changed();
  }

  /** @param {PeerInfo} peer */
  peerJoined(peer) {
    this.peers.set(peer.id, peer.name);
    if (this.member) this.#send(peer.id, payload.inCall(this.callId, this.selfName, this.caps, this.formerId));
    this.#changed();
  }

  /** @param {string} id */
  peerLeft(id) {
    this.peers.delete(id);
    for (const members of this.known.values()) members.delete(id);
    this.#sessionOf(id)?.away();
    if (this.incoming?.from === id) this.#missed();
    this.#changed();
  }

  // ----- what the person does -----

  /** Rings everyone in the room who is not in our call (starting a call if we are in none). */
  ring() {
    const others = [...this.peers].filter(([id]) => !this.#sessionOf(id));
    if (!others.length) return;
    if (!this.member) this.#begin(this.newCallId());
    for (const [id, name] of others) {
      const session = this.#session({ id, name }, []);
      session.ringing();
      this.#send(id, payload.ring(this.selfName, this.callId, this.caps));
    }
    this.#changed();
  }

  /** Takes the call ringing us, and connects to everyone in it. */
  accept() {
    const incoming = this.incoming;
    if (!incoming) return;
    this.#clearIncoming();
    this.#begin(incoming.call);
    this.#send(incoming.from, payload.accept(incoming.call, this.selfName, this.caps));
    this.#link({ id: incoming.from, name: incoming.name }, incoming.caps);
    this.#joinOthers(incoming.call, incoming.from);
    this.#changed();
  }

  /** Joins a call going on in the room without ringing anyone. */
  join() {
    const call = this.joinable();
    if (!call) return;
    this.#begin(call.call);
    this.#joinOthers(call.call, '');
    this.#changed();
  }

  /** Turns the incoming call down. */
  decline() {
    if (!this.incoming) return;
    this.#send(this.incoming.from, payload.decline(this.incoming.call));
    this.#clearIncoming();
    this.#changed();
  }

  /** Leaves our call: the others carry on without us. Everyone in the room is told. */
  hangup() {
    if (!this.member) return;
    this.#finish(null);
  }

  /** Sends our tracks of a kind to everyone in the call. @param {'audio'|'video'} kind @param {MediaStreamTrack | null} track */
  async setTrack(kind, track) {
    await Promise.all([...this.sessions.values()].map((s) => s.setTrack(kind, track)));
  }

  /** Tells everyone in the call what we send. */
  announce() {
    const sending = this.sending();
    for (const s of this.sessions.values()) s.announce(sending);
  }

  /** Reads every connection's stats. */
  async tick() {
    await Promise.all([...this.sessions.values()].map((s) => s.tick()));
  }

  // ----- what the others say -----

  /** @param {string} from @param {payload.Payload} data */
  receive(from, data) {
    switch (data.kind) {
      case 'ring': return this.#onRing(from, data);
      case 'accept': return this.#onAccept(from, data);
      case 'join': return this.#onJoin(from, data);
      case 'in-call': return this.#onInCall(from, data);
      case 'decline': return this.#onDecline(from, data);
      case 'hangup': return this.#onHangup(from, data);
      case 'resume':
      case 'resumed':
        return this.#onResume(from, data);
      case 'description':
      case 'candidate':
      case 'media':
        this.#sessionOf(from)?.handle(data);
        return undefined;
    }
  }

  /** @param {string} from @param {payload.RingPayload} ring */
  #onRing(from, ring) {
    // A ring alone does not make a call one can join: only someone connected in it does (they
    // say so with in-call), so a call that was declined by everyone never shows as going on.
    if (this.member && ring.call === this.callId) {
      // Someone else in our call rang us too: we are connected to them already, or now.
      this.#link({ id: from, name: ring.name }, ring.caps ?? []);
      return;
    }
    if (this.member) {
      const onlyRinging = [...this.sessions.values()].every((s) => s.state === 'outgoing');
      // Both rang each other at once: the call rung by the smaller id wins, and the other side
      // drops its own ringing to take it.
      if (onlyRinging && this.sessions.has(from) && from < this.selfId) {
        this.#abandon();
        this.incoming = { call: ring.call, from, name: ring.name.slice(0, 64), caps: ring.caps ?? [] };
        this.accept();
        return;
      }
      if (!(onlyRinging && this.sessions.has(from))) this.#send(from, payload.decline(ring.call, 'busy'));
      return;
    }
    if (this.incoming) {
      if (this.incoming.call !== ring.call) this.#send(from, payload.decline(ring.call, 'busy'));
      return;
    }
    this.justEnded = false;
    this.incoming = { call: ring.call, from, name: ring.name.slice(0, 64), caps: ring.caps ?? [] };
    this.incomingTimer = this.clock.setTimeout(() => this.#missed(), RING_TIMEOUT_MS);
    this.#changed();
  }

  /** @param {string} from @param {payload.AcceptPayload} accept */
  #onAccept(from, accept) {
    if (!this.member || (accept.call && accept.call !== this.callId)) return;
    const session = this.#sessionOf(from);
    this.#know(this.callId, from, accept.name || this.peers.get(from) || 'Someone', accept.caps);
    if (session) {
      if (!this.#connect(session, accept.caps ?? [])) return;
    } else {
      this.#link({ id: from, name: accept.name || this.peers.get(from) || 'Someone' }, accept.caps ?? []);
    }
    this.#changed();
  }

  /** @param {string} from @param {payload.JoinPayload} join */
  #onJoin(from, join) {
    this.#know(join.call, from, join.name, join.caps);
    if (this.member && join.call === this.callId) this.#link({ id: from, name: join.name }, join.caps ?? []);
    this.#changed();
  }

  /** @param {string} from @param {payload.InCallPayload} note */
  #onInCall(from, note) {
    this.#know(note.call, from, note.name, note.caps);
    const former = note.was ? this.#sessionOf(note.was) : undefined;
    if (this.member && note.call === this.callId && former) {
      // Someone of our call, back under a new id (their resume may still be on its way).
      this.#rebind(former, from);
    } else if (this.member && note.call === this.callId && !this.#sessionOf(from)) {
      // They joined without knowing we are in: connect, and tell them so they connect too.
      if (this.#link({ id: from, name: note.name }, note.caps ?? [])) this.#send(from, payload.join(this.callId, this.selfName, this.caps));
    }
    this.#changed();
  }

  /** @param {string} from @param {payload.DeclinePayload} decline */
  #onDecline(from, decline) {
    const session = this.#sessionOf(from);
    if (!session || (decline.call && decline.call !== this.callId)) return;
    const reason = decline.reason === 'busy' ? 'busy' : decline.reason === 'full' ? 'full' : 'declined';
    session.end(reason);
  }

  /** @param {string} from @param {payload.HangupPayload} hangup */
  #onHangup(from, hangup) {
    if (hangup.call) this.known.get(hangup.call)?.delete(from);
    if (this.incoming?.from === from && (!hangup.call || hangup.call === this.incoming.call)) {
      this.#missed();
      return;
    }
    const session = this.#sessionOf(from);
    if (session && (!hangup.call || hangup.call === this.callId)) session.end('hung-up');
    this.#changed();
  }

  /** @param {string} from @param {payload.ResumePayload | payload.ResumedPayload} data */
  #onResume(from, data) {
    if (!this.member || data.call !== this.callId) {
      if (data.kind === 'resume') this.#send(from, payload.hangup(data.call));
      return;
    }
    const session = this.#sessionOf(from) ?? (data.was ? this.sessions.get(data.was) : undefined)
      ?? [...this.sessions.values()].find((s) => !s.present && this.sessions.size === 1);
    if (!session) return;
    this.#rebind(session, from);
    if (data.kind === 'resume') this.#send(from, payload.resumed(this.callId, this.formerId || undefined));
  }

  /** A session's person is back under `id`. @param {CallSession} session @param {string} id */
  #rebind(session, id) {
    if (session.remoteId !== id) {
      const was = session.remoteId;
      this.sessions.delete(was);
      this.sessions.set(id, session);
      this.dispatchEvent(new CustomEvent('rebound', { detail: { was, now: id } }));
    }
    session.back(id);
    session.announce(this.sending());
    this.#changed();
  }

  // ----- sessions -----

  /** @param {string} id */
  #sessionOf(id) {
    return this.sessions.get(id);
  }

  /** @param {string} call @param {string} id @param {string} name @param {payload.Capability[]} [caps] */
  #know(call, id, name, caps = []) {
    if (!this.known.has(call)) this.known.set(call, new Map());
    this.known.get(call)?.set(id, { name: name.slice(0, 64), caps });
  }

  /** @param {string} call */
  #begin(call) {
    this.callId = call;
    this.justEnded = false;
    this.#know(call, this.selfId, this.selfName, this.caps);
  }

  /** Whether a client limited to one connection (ours) can take this session. @param {CallSession} session */
  #roomFor(session) {
    if (!this.caps.includes('one-peer')) return true;
    const linked = [...this.sessions.values()].filter((s) => s !== session && s.call);
    if (!linked.length) return true;
    this.#send(session.remoteId, payload.decline(this.callId, 'full'));
    session.close();
    this.sessions.delete(session.remoteId);
    return false;
  }

  /**
   * A session with this person, made if there is none (not yet connected).
   * @param {PeerInfo} peer @param {payload.Capability[]} caps
   */
  #session(peer, caps) {
    const existing = this.#sessionOf(peer.id);
    if (existing) return existing;
    const session = new CallSession({
      peer,
      callId: this.callId,
      polite: isPolite({ selfId: this.selfId, selfCaps: this.caps, otherId: peer.id, otherCaps: caps }),
      iceServers: this.iceServers,
      send: (to, data) => this.#send(to, data),
      local: { stream: () => this.localStream(), sending: () => this.sending() },
      clock: this.clock,
    });
    this.sessions.set(peer.id, session);
    session.addEventListener('change', () => this.#changed());
    session.addEventListener('ended', (e) => this.#onSessionEnded(session, /** @type {CustomEvent} */ (e).detail.reason));
    session.addEventListener('files', (e) => {
      this.dispatchEvent(new CustomEvent('files', { detail: { from: session.remoteId, name: session.name, data: /** @type {CustomEvent} */ (e).detail.data } }));
    });
    session.addEventListener('files-open', () => this.dispatchEvent(new CustomEvent('files-open', { detail: { from: session.remoteId } })));
    session.addEventListener('chat', (e) => {
      const message = /** @type {CustomEvent<import('./chat.js').ChatWire>} */ (e).detail;
      this.dispatchEvent(new CustomEvent('chat', { detail: { ...message, from: session.remoteId, name: session.name } }));
    });
    return session;
  }

  /**
   * Connects to this person in our call (once). Returns false if this client cannot take another
   * connection (it tells them so).
   * @param {PeerInfo} peer @param {payload.Capability[]} caps
   */
  #link(peer, caps) {
    const session = this.#session(peer, caps);
    if (session.call) return true;
    return this.#connect(session, caps);
  }

  /**
   * Links a session whose person is in our call, with the roles both sides work out from their
   * capabilities; false if this client cannot take another connection (it tells them so).
   * @param {CallSession} session @param {payload.Capability[]} caps theirs
   */
  #connect(session, caps) {
    if (!this.#roomFor(session)) return false;
    session.polite = isPolite({ selfId: this.selfId, selfCaps: this.caps, otherId: session.remoteId, otherCaps: caps });
    session.data = this.caps.includes('data') && caps.includes('data');
    session.link(this.localStream());
    session.announce(this.sending());
    this.#tellNonMembers();
    return true;
  }

  /** After joining `call`: tells every member we know of (but `except`) to connect to us. @param {string} call @param {string} except */
  #joinOthers(call, except) {
    for (const [id, member] of this.known.get(call) ?? []) {
      if (id === this.selfId || id === except || !this.peers.has(id)) continue;
      this.#send(id, payload.join(call, this.selfName, this.caps));
      this.#link({ id, name: member.name }, member.caps);
    }
    this.#tellNonMembers();
  }

  /** Tells everyone in the room who is not in our call that we are in it, so they can join. */
  #tellNonMembers() {
    for (const id of this.peers.keys()) {
      if (!this.sessions.get(id)?.call) this.#send(id, payload.inCall(this.callId, this.selfName, this.caps, this.formerId));
    }
  }

  /** @param {CallSession} session @param {EndReason} reason */
  #onSessionEnded(session, reason) {
    if (this.sessions.get(session.remoteId) !== session) return;
    this.sessions.delete(session.remoteId);
    this.known.get(this.callId)?.delete(session.remoteId);
    const others = this.sessions.size > 0;
    // A connection that could never be made says why, as far as this side can tell.
    const why = reason === 'failed' && session.failure ? ` ${session.failure}` : '';
    if (!others) {
      this.#finish(ENDED[reason](session.name, false) + why);
    } else {
      this.#notice(ENDED[reason](session.name, true) + why);
      this.#changed();
    }
  }

  /** Drops our own ringing call, quietly, to take the one ringing us. */
  #abandon() {
    for (const id of this.sessions.keys()) this.#send(id, payload.hangup(this.callId));
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    this.known.delete(this.callId);
    this.callId = '';
  }

  /** We are out of the call. @param {string | null} message */
  #finish(message) {
    // Everyone in the room hears we are out: the others in the call end their session with us,
    // and the rest stop offering to join us.
    for (const id of new Set([...this.peers.keys(), ...this.sessions.keys()])) this.#send(id, payload.hangup(this.callId));
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) s.close();
    this.known.get(this.callId)?.delete(this.selfId);
    this.callId = '';
    this.justEnded = true;
    this.dispatchEvent(new CustomEvent('ended'));
    if (message) this.#notice(message);
    this.#changed();
  }

  #missed() {
    const who = this.incoming?.name ?? '';
    this.#clearIncoming();
    this.justEnded = true;
    this.#notice(`Missed call from ${who}.`);
    this.#changed();
  }

  #clearIncoming() {
    this.clock.clearTimeout(this.incomingTimer);
    this.incoming = null;
  }

  /** The page closes: tell everyone, end every link. */
  close() {
    if (this.member) this.hangup();
    if (this.incoming) this.decline();
    this.#clearIncoming();
  }
}
