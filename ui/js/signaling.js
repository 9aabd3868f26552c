// @ts-check
//! The signaling client: one WebSocket to the server, reconnected with backoff, and the room
//! rejoined after each reconnection, with the `resume` token of the last welcome so that the
//! server gives back the same place and id (and nobody sees us leave) when it still holds our old
//! session. Messages in become events; the protocol is docs/PROTOCOL.md.

import { inviteToken } from './env.js';

/**
 * @typedef {{id: string, name: string}} PeerInfo
 * @typedef {{urls: string|string[], username?: string, credential?: string}} IceServer
 * @typedef {{type:'welcome', id:string, room:string, peers:PeerInfo[], iceServers:IceServer[], resume?:string}} WelcomeMessage
 *   `resume`: the secret that takes this place back after a lost connection (a `join` with it);
 *   a fresh one comes with each welcome
 * @typedef {{type:'peer-joined', peer:PeerInfo}} PeerJoinedMessage
 * @typedef {{type:'peer-left', id:string}} PeerLeftMessage
 * @typedef {{type:'signal', from:string, data:unknown}} SignalMessage
 * @typedef {{type:'pong'}} PongMessage
 * @typedef {'bad-message'|'not-joined'|'already-joined'|'bad-room'|'bad-name'|'room-full'|'unknown-room'|'unknown-peer'|
 *   'too-large'|'rate-limited'|'join-timeout'|'unauthorized'|'unavailable'} ErrorCode
 * @typedef {{type:'error', code:ErrorCode, message:string, refused?:number}} ErrorMessage `refused`: with
 *   `rate-limited`, how many messages of the burst were refused (one reply per burst)
 * @typedef {WelcomeMessage|PeerJoinedMessage|PeerLeftMessage|SignalMessage|PongMessage|ErrorMessage} ServerMessage
 * @typedef {ErrorMessage & {retrying?: boolean}} ServerErrorDetail the `server-error` event's
 *   detail; `retrying`: the client asks again by itself (a `room-full` on an automatic
 *   reconnection, while the server may still hold our old session), so the page can say it is
 *   still trying rather than give up
 *
 * @typedef {{type:'join', room:string, name:string, token?:string, resume?:string}} JoinMessage
 *   `token`: the invite token a server with tokens turned on needs; `resume`: the `resume` of our
 *   last welcome, sent on automatic reconnections only
 * @typedef {{type:'signal', to?:string, data:unknown}} OutgoingSignal
 * @typedef {{type:'leave'}|{type:'ping'}} ControlMessage
 * @typedef {JoinMessage|OutgoingSignal|ControlMessage} ClientMessage
 *
 * @typedef {'idle'|'connecting'|'joined'|'reconnecting'|'closed'} ConnectionState
 */

/** Delays between reconnection attempts, in ms; the last one repeats. */
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
/** How often we check the server is still there, and how long we wait for an answer. */
const KEEPALIVE_MS = 10_000;
/**
 * How long an automatic reconnection keeps asking a room that answers `room-full`: the place may
 * be held by our own old session, which the server drops 30 s after it last heard from it. Past
 * this the room is full for real.
 */
const ROOM_FULL_PATIENCE_MS = 60_000;
/** The close code of a connection whose place a newer connection of ours took (see PROTOCOL.md). */
const REPLACED = 4009;

/**
 * Events: `state` ({state}), `welcome` (WelcomeMessage, also after each rejoin, with `rejoin: true`;
 * a rejoin that resumed has the same `id` as before), `peer-joined`, `peer-left`, `signal`,
 * `server-error` (ServerErrorDetail), `unreachable` ({attempt, url}).
 */
export class SignalingClient extends EventTarget {
  /**
   * @param {string} url ws:// or wss:// address of the server's /ws
   * @param {{token?: string | null}} [options] token: the invite token sent with each join; by
   *   default the one in the page's address (`?token=`), if any
   */
  constructor(url, { token = inviteToken() } = {}) {
    super();
    this.url = url;
    /** @type {string | null} */
    this.token = token;
    /** @type {ConnectionState} */
    this.state = 'idle';
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {{room: string, name: string} | null} what we want to be in; kept across reconnections */
    this.wanted = null;
    /** @type {string | null} our id in the room, once welcomed */
    this.selfId = null;
    this.attempt = 0;
    this.joinedOnce = false;
    /** @type {string | null} the `resume` of our last welcome, offered when we reconnect by ourselves */
    this.resume = null;
    /** @type {number | null} when a reconnection's join was first answered `room-full` */
    this.fullSince = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.keepalive = undefined;
    this.lastHeard = 0;
  }

  /** Connects (if needed) and joins `room` as `name`. @param {string} room @param {string} name */
  join(room, name) {
    this.wanted = { room, name };
    this.joinedOnce = false;
    // A join the person asked for is a new arrival, never a return.
    this.resume = null;
    this.fullSince = null;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.#sendRaw(this.#joinMessage());
    } else if (!this.ws) {
      this.#connect();
    }
  }

  /**
   * Leaves the room and closes the connection; no reconnection follows. Resolves once the socket
   * has closed, so everything sent before (a hang-up) has gone out, or after `limitMs` at most.
   * @returns {Promise<void>}
   */
  leave(limitMs = 1000) {
    const ws = this.ws;
    this.wanted = null;
    if (ws && ws.readyState === WebSocket.OPEN) this.#sendRaw({ type: 'leave' });
    this.close();
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      ws.addEventListener('close', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  /** Closes for good. */
  close() {
    this.wanted = null;
    this.resume = null;
    clearTimeout(this.retryTimer);
    clearInterval(this.keepalive);
    const ws = this.ws;
    this.ws = null;
    this.selfId = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
    this.#setState('closed');
  }

  /**
   * Sends a signal to one peer (or the whole room without `to`). Returns false when we are not
   * connected, so the caller knows the other side did not get it.
   * @param {string | undefined} to
   * @param {unknown} data
   */
  signal(to, data) {
    if (this.state !== 'joined') return false;
    return this.#sendRaw(to ? { type: 'signal', to, data } : { type: 'signal', data });
  }

  /**
   * The join for what we want to be in, with the invite token when there is one, and, when we
   * come back by ourselves after having been in, the `resume` of our last welcome.
   * @returns {JoinMessage}
   */
  #joinMessage() {
    const { room, name } = /** @type {{room: string, name: string}} */ (this.wanted);
    /** @type {JoinMessage} */
    const msg = { type: 'join', room, name };
    if (this.token) msg.token = this.token;
    if (this.joinedOnce && this.resume) msg.resume = this.resume;
    return msg;
  }

  /** @param {ClientMessage} msg */
  #sendRaw(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** @param {ConnectionState} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }

  #connect() {
    this.#setState(this.attempt === 0 && !this.joinedOnce ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.dispatchEvent(new CustomEvent('unreachable', { detail: { attempt: this.attempt, url: this.url, error: String(e) } }));
      this.#scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      if (this.wanted) this.#sendRaw(this.#joinMessage());
      clearInterval(this.keepalive);
      this.keepalive = setInterval(() => this.#checkAlive(), KEEPALIVE_MS);
    };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      this.#receive(event.data);
    };
    ws.onclose = (event) => {
      clearInterval(this.keepalive);
      if (this.ws !== ws) return;
      this.ws = null;
      this.selfId = null;
      if (event.code === REPLACED) {
        // A newer connection of ours has our place: coming back would take it from that one.
        this.wanted = null;
        this.resume = null;
        this.#setState('closed');
        return;
      }
      const wasJoined = this.state === 'joined';
      if (!wasJoined) {
        this.dispatchEvent(new CustomEvent('unreachable', { detail: { attempt: this.attempt, url: this.url, code: event.code } }));
      }
      if (this.wanted) this.#scheduleRetry();
      else this.#setState('closed');
    };
  }

  #checkAlive() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastHeard > 2 * KEEPALIVE_MS) {
      // A half-open connection: the server is gone but no close arrived. Start over.
      this.ws.close();
      this.ws.onclose?.(new CloseEvent('close', { code: 4000 }));
      return;
    }
    this.#sendRaw({ type: 'ping' });
  }

  #scheduleRetry() {
    this.#setState('reconnecting');
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = base / 2 + Math.random() * base / 2;
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.#connect(), delay);
  }

  /** Sends the join again after the next backoff delay, on the connection we have. */
  #retryJoin() {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.wanted && this.state !== 'joined') this.#sendRaw(this.#joinMessage());
    }, base / 2 + Math.random() * base / 2);
  }

  /**
   * Whether a `room-full` may be our own old session holding the place: we are reconnecting by
   * ourselves to a room we were in, and have not been refused for long.
   */
  #stillComingBack() {
    if (!this.wanted || !this.joinedOnce || this.state === 'joined') return false;
    this.fullSince ??= Date.now();
    return Date.now() - this.fullSince < ROOM_FULL_PATIENCE_MS;
  }

  /** @param {unknown} raw */
  #receive(raw) {
    /** @type {ServerMessage} */
    let msg;
    try {
      msg = JSON.parse(String(raw));
    } catch {
      console.warn('hearth: the server sent something that is not JSON', raw);
      return;
    }
    switch (msg.type) {
      case 'welcome': {
        const rejoin = this.joinedOnce;
        this.selfId = msg.id;
        this.resume = msg.resume ?? null;
        this.fullSince = null;
        this.attempt = 0;
        this.joinedOnce = true;
        this.#setState('joined');
        this.dispatchEvent(new CustomEvent('welcome', { detail: { ...msg, rejoin } }));
        break;
      }
      case 'peer-joined':
      case 'peer-left':
      case 'signal':
        this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
        break;
      case 'pong':
        break;
      case 'error': {
        /** @type {ServerErrorDetail} */
        let detail = msg;
        if (msg.code === 'room-full' && this.#stillComingBack()) {
          // Back after losing the connection: the place may be held by our old session, which
          // the server has not yet found dead (it could not be resumed). Ask again a little later.
          this.#retryJoin();
          detail = { ...msg, retrying: true };
        } else if (['room-full', 'unknown-room', 'bad-room', 'bad-name', 'unauthorized'].includes(msg.code)) {
          // Joining cannot succeed by retrying; stop trying.
          this.wanted = null;
        } else if (msg.code === 'unavailable' && this.wanted && this.state !== 'joined') {
          // The server cannot admit anyone for now (it lost its shared store): ask again later.
          this.#retryJoin();
        }
        this.dispatchEvent(new CustomEvent('server-error', { detail }));
        break;
      }
      default:
        console.warn('hearth: unknown message from the server', msg);
    }
  }
}

/**
 * The WebSocket address for a server given as a page origin or a typed address.
 * @param {string} base e.g. `http://127.0.0.1:7878`, `https://hearth.example`, `ws://…`
 */
export function websocketUrl(base) {
  const url = new URL(base);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = '/ws';
  url.search = '';
  url.hash = '';
  return url.toString();
}
