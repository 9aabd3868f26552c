// @ts-check
//! One other person in a call: the peer link to them (a `Call`), their state (changed only through
//! the `callstate` transitions), their timers, what the page shows of them (picture, sound, muted,
//! speaking, a link gone quiet, how the media travels) and their stats. A session dies whole:
//! `close()` ends the link and every timer.
//!
//! Outages never end a call by themselves: while either of us is away from the server the media
//! goes on peer to peer; while the media is down, the impolite side restarts ICE with backoff for
//! as long as both of us are on the server. Only a person (hang-up) or a long limit without media
//! ({@link LOST_LIMIT_MS}) ends it.

import { Call } from './call.js';
import * as payload from './payload.js';
import { next, settle } from './callstate.js';
import { PictureWatch } from './picture.js';
import { summarize, rows } from './stats.js';
import { whyNotConnected } from './diagnosis.js';
import * as chat from './chat.js';

/** Unanswered rings stop after this long. */
export const RING_TIMEOUT_MS = 30_000;
/** How long a call not yet connected waits for the other person to come back to the server. */
export const AWAY_GRACE_MS = 15_000;
/** How long a call that was connected may go without media before it is ended. */
export const LOST_LIMIT_MS = 120_000;
/** How long a call that never connected keeps trying. */
export const CONNECT_LIMIT_MS = 60_000;
/**
 * A call not connected after this long says why it may not (ICE may never say it failed: with no
 * candidate to try it just waits).
 */
export const DIAGNOSE_AFTER_MS = 15_000;
/** Delays between ICE restarts while the media is down; the last one repeats. */
export const RESTART_BACKOFF_MS = [2000, 5000, 10_000, 15_000];
/**
 * A connection made anew is given this long to connect before it is replaced again: its offer
 * may reach the other side only seconds after the path heals (TCP's retransmission backoff).
 */
export const RELINK_PATIENCE_MS = 15_000;
/** No packet from them for this long, on a connection that says it is up: the link is unstable. */
export const UNSTABLE_AFTER_MS = 1500;
/**
 * No packet from them for this long: the media is down, whatever ICE says. (GStreamer 1.22's
 * webrtcbin never reports a connection going down, and the browser's ICE takes about 5 s.)
 */
export const QUIET_LIMIT_MS = 4000;
/** An inbound audio level above this (0..1) counts as speaking. */
const SPEAKING_LEVEL = 0.03;

/**
 * Why a session ended: they declined, were busy in another call, did not answer, hung up, left
 * the server before the call connected, the connection could never be made (`failed`) or could
 * not be restored within {@link LOST_LIMIT_MS} (`lost`), or their app cannot take another
 * connection.
 * @typedef {'declined'|'busy'|'no-answer'|'hung-up'|'left'|'failed'|'lost'|'full'} EndReason
 * @typedef {import('./callstate.js').CallState} CallState
 * @typedef {{audio: boolean, video: boolean, screen: boolean, missing: payload.Device[], via?: payload.CandidateType}} RemoteMedia
 * @typedef {{
 *   setTimeout: (f: () => void, ms: number) => any,
 *   clearTimeout: (t: any) => void,
 *   now: () => number,
 * }} Clock
 */

/** The real clock. @type {Clock} */
export const REAL_CLOCK = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t),
  now: () => performance.now(),
};

/**
 * Events: `change` (anything the page shows changed), `ended` ({reason}), `chat` (a
 * {@link chat.ChatWire} from them), `files` ({data}: a message on the files channel),
 * `files-open` (the files channel opened).
 */
export class CallSession extends EventTarget {
  /**
   * @param {{
   *   peer: {id: string, name: string},
   *   callId: string,
   *   polite: boolean,
   *   iceServers: RTCIceServer[],
   *   send: (to: string, data: payload.Payload) => boolean,
   *   local?: {stream: () => MediaStream | null, sending: () => payload.Sending},
   *   clock?: Clock,
   * }} options polite: this side's role in perfect negotiation with this person (the impolite
   *   side offers first and alone restarts ICE); local: our media as it is now, for a connection
   *   made again mid-call
   */
  constructor({ peer, callId, polite, iceServers, send, local = { stream: () => null, sending: () => ({ audio: false, video: false }) }, clock = REAL_CLOCK }) {
    super();
    this.remoteId = peer.id;
    this.name = peer.name;
    this.callId = callId;
    this.polite = polite;
    this.iceServers = iceServers;
    this.sendTo = send;
    this.local = local;
    this.clock = clock;
    /**
     * Which connection of the call this is: 0 for the first, one more each time it is made anew
     * (where ICE cannot be restarted). Negotiation carries it, so the other side follows.
     */
    this.generation = 0;
    /** Whether the media has flowed at least once in this call. */
    this.everConnected = false;
    /** When the current connection was made (clock ms). */
    this.linkedAt = 0;
    /** @type {CallState} */
    this.state = 'idle';
    /** @type {Call | null} */
    this.call = null;
    this.mediaUp = false;
    /** Whether they are on the server (as far as we know). */
    this.present = true;
    /** Whether we are on the server: offers and restarts need it. */
    this.serverUp = true;
    /** Whether their packets stopped coming on a connection that says it is up. */
    this.unstable = false;
    /** Whether the media was taken for down because their packets stopped ({@link QUIET_LIMIT_MS}). */
    this.quiet = false;
    /** Packets received from them at the last stats tick, and when that count last grew (clock ms). @type {number | null} */
    this.packets = null;
    this.lastPacketAt = 0;
    /** ICE restarts made since the media went down. */
    this.restarts = 0;
    /** Why the connection could not be made, once ICE has failed without ever connecting. @type {string | null} */
    this.failure = null;
    /** How the media travels, and the round trip. @type {import('./stats.js').Path | null} */
    this.path = null;
    /** @type {number | null} */
    this.rttMs = null;
    /** The type of our candidate in the selected pair, as last told to them. @type {payload.CandidateType | undefined} */
    this.via = undefined;
    /** @type {MediaStream | null} */
    this.remoteStream = null;
    /** What they say they send (`screen`: their picture is their screen; `missing`: devices they have none of). @type {RemoteMedia | null} */
    this.remoteMedia = null;
    this.picture = new PictureWatch();
    /** @type {import('./picture.js').PictureState} */
    this.pictureState = 'waiting';
    this.speaking = false;
    /** @type {string[][] | null} */
    this.stats = null;
    /** @type {Map<string, any> | null} */
    this.lastReport = null;
    /** @type {Record<'ring'|'away'|'restart'|'lost'|'diagnose', any>} */
    this.timers = { ring: undefined, away: undefined, restart: undefined, lost: undefined, diagnose: undefined };
    /** Whether the link carries the chat and files channels (both sides can). */
    this.data = false;
    this.closed = false;
  }

  /** @param {payload.Payload} data */
  send(data) {
    return this.sendTo(this.remoteId, data);
  }

  /** @param {import('./callstate.js').CallEvent} event */
  #fire(event) {
    const to = next(this.state, event);
    if (!to) return;
    this.state = to === 'connected' || to === 'reconnecting' ? settle({ mediaUp: this.mediaUp }) : to;
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }

  /** We rang them: wait for their answer, at most {@link RING_TIMEOUT_MS}. */
  ringing() {
    this.#fire('ring-sent');
    this.timers.ring = this.clock.setTimeout(() => {
      if (this.state !== 'outgoing') return;
      this.send(payload.hangup(this.callId));
      this.end('no-answer');
    }, RING_TIMEOUT_MS);
  }

  /**
   * Connects to them, with whatever local media exists now (tracks that come later are attached
   * with {@link setTrack}).
   * @param {MediaStream | null} localStream
   */
  link(localStream) {
    if (this.call || this.closed) return;
    this.clock.clearTimeout(this.timers.ring);
    if (this.state === 'idle') this.#fire('ring-received');
    const generation = this.generation;
    this.linkedAt = this.clock.now();
    const call = new Call({ polite: this.polite, iceServers: this.iceServers, send: (data) => this.send(withCall(data, this.callId, generation)), data: this.data });
    this.call = call;
    call.addEventListener('data', (e) => this.#onData(/** @type {CustomEvent} */ (e).detail));
    call.addEventListener('channel', (e) => {
      const { name, state } = /** @type {CustomEvent} */ (e).detail;
      if (name === 'files' && state === 'open') this.dispatchEvent(new Event('files-open'));
    });
    call.addEventListener('remote-stream', (e) => {
      this.remoteStream = /** @type {CustomEvent} */ (e).detail.stream;
      this.#changed();
    });
    call.addEventListener('media', (e) => this.#onMedia(/** @type {CustomEvent} */ (e).detail.state));
    call.addEventListener('error', (e) => console.warn('hearth:', this.name, /** @type {CustomEvent} */ (e).detail.message));
    call.start(localStream);
    this.#fire('accepted');
    this.#armLostLimit();
    if (!this.everConnected && this.timers.diagnose === undefined) {
      this.timers.diagnose = this.clock.setTimeout(() => {
        if (!this.everConnected) this.#diagnose();
      }, DIAGNOSE_AFTER_MS);
    }
  }

  /** Works out why the connection could not be made, from what this side's ICE found. */
  #diagnose() {
    const call = this.call;
    if (!call) return;
    this.failure = whyNotConnected({ iceServers: this.iceServers, gathered: call.gathered, errors: call.iceErrors });
    this.#changed();
  }

  /** Ends the call if the media is not up within the limit (from now, or from when it went down). */
  #armLostLimit() {
    if (this.timers.lost !== undefined) return;
    const everConnected = this.everConnected;
    this.timers.lost = this.clock.setTimeout(() => {
      this.timers.lost = undefined;
      if (!this.mediaUp) this.end(everConnected ? 'lost' : 'failed');
    }, everConnected ? LOST_LIMIT_MS : CONNECT_LIMIT_MS);
  }

  /**
   * Restarts ICE after the next backoff delay, and again after each, until the media is back.
   * Only the impolite side restarts (two restart offers would collide; a side that cannot roll
   * back, the native engine, is always the impolite one), and only while both of us are on the
   * server: an offer needs it. The polite side still keeps the schedule, in case roles change.
   */
  #scheduleRestart() {
    if (this.timers.restart !== undefined || this.closed) return;
    const delay = RESTART_BACKOFF_MS[Math.min(this.restarts, RESTART_BACKOFF_MS.length - 1)];
    this.timers.restart = this.clock.setTimeout(() => {
      this.timers.restart = undefined;
      if (this.mediaUp || this.closed) return;
      this.restarts += 1;
      this.#restart();
      this.#scheduleRestart();
    }, delay);
  }

  #restart() {
    const call = this.call;
    if (this.polite || !this.present || !this.serverUp || !call) return;
    // An offer still waiting for its answer was lost on the way (with the other side's signaling):
    // the same offer again, rather than another one.
    if (call.resendOffer()) return;
    if (call.canRestartIce) call.restartIce();
    else if (this.clock.now() - this.linkedAt >= RELINK_PATIENCE_MS) this.#relink(this.generation + 1);
  }

  /**
   * Replaces the connection with a new one, numbered `generation`: where ICE cannot be restarted
   * (GStreamer 1.22's webrtcbin) the side that offers makes a new connection, and the other side
   * follows when the first negotiation of the new number reaches it. Our media goes on the new
   * one as it is now; the call's state and limits carry on.
   * @param {number} generation
   */
  #relink(generation) {
    this.call?.close();
    this.call = null;
    this.generation = generation;
    this.mediaUp = false;
    this.quiet = false;
    this.packets = null;
    this.lastReport = null;
    if (this.state === 'connected') this.#fire('media-interrupted');
    this.#armLostLimit();
    this.link(this.local.stream());
    this.announce(this.local.sending());
  }

  /** A message on a data channel. @param {{name: import('./call.js').DataChannelName, data: unknown}} detail */
  #onData({ name, data }) {
    if (name === 'files') {
      this.dispatchEvent(new CustomEvent('files', { detail: { data } }));
      return;
    }
    const message = chat.parseWire(data);
    if (!message) {
      console.warn('hearth: ignored a chat message we do not understand from', this.name);
      return;
    }
    this.dispatchEvent(new CustomEvent('chat', { detail: message }));
  }

  /** The files channel, while it is open. */
  filesChannel() {
    const channel = this.call?.channels?.files;
    return channel?.readyState === 'open' ? channel : null;
  }

  /** Sends a chat message; false if the chat channel is not open (yet). @param {chat.ChatWire} message */
  sendChat(message) {
    const channel = this.call?.channels?.chat;
    if (channel?.readyState !== 'open') return false;
    channel.send(JSON.stringify(message));
    return true;
  }

  /** @param {'up'|'interrupted'|'failed'} state */
  #onMedia(state) {
    if (state === 'up') {
      this.quiet = false;
      this.mediaUp = true;
      this.everConnected = true;
      this.failure = null;
      this.restarts = 0;
      this.unstable = false;
      this.lastPacketAt = this.clock.now();
      this.clock.clearTimeout(this.timers.restart);
      this.clock.clearTimeout(this.timers.lost);
      this.timers.restart = undefined;
      this.timers.lost = undefined;
      this.#fire('media-connected');
      return;
    }
    this.mediaUp = false;
    this.unstable = false;
    if (state === 'failed' && !this.everConnected) this.#diagnose();
    this.#fire('media-interrupted');
    this.#armLostLimit();
    this.#scheduleRestart();
  }

  /**
   * A payload of this call from them: negotiation, or what they send.
   * @param {payload.DescriptionPayload | payload.CandidatePayload | payload.MediaPayload} data
   */
  handle(data) {
    if (this.closed || (data.call && data.call !== this.callId)) return;
    if (data.kind === 'media') {
      this.remoteMedia = { audio: data.audio, video: data.video, screen: data.screen === true, missing: data.missing ?? [], via: data.via };
      this.#changed();
      return;
    }
    const generation = data.link ?? 0;
    // From a connection replaced since: it has nothing to say to this one.
    if (generation < this.generation) return;
    // They made the connection anew: we follow with a new one of ours.
    if (generation > this.generation) this.#relink(generation);
    this.call?.handle(data);
  }

  /** @param {'audio'|'video'} kind @param {MediaStreamTrack | null} track */
  async setTrack(kind, track) {
    await this.call?.setTrack(kind, track);
  }

  /** Tells them what we send, and the type of our end of the connection once it is known. @param {payload.Sending} sending */
  announce(sending) {
    if (this.call) this.send(payload.media(this.callId, this.via ? { ...sending, via: this.via } : sending));
  }

  /**
   * They left the server. A call that was connected goes on (the media needs no server; if it is
   * down too, the lost limit applies); one still ringing ends; one still connecting waits
   * {@link AWAY_GRACE_MS} for them to come back.
   */
  away() {
    this.present = false;
    if (this.state === 'connected' || this.state === 'reconnecting') {
      this.#fire('peer-away');
    } else if (this.state === 'connecting') {
      this.clock.clearTimeout(this.timers.away);
      this.timers.away = this.clock.setTimeout(() => {
        if (!this.present && !this.mediaUp) this.end('left');
      }, AWAY_GRACE_MS);
    } else {
      this.end('left');
    }
  }

  /** They are back, perhaps under a new id. @param {string} id */
  back(id) {
    this.remoteId = id;
    this.present = true;
    this.clock.clearTimeout(this.timers.away);
    this.#fire('peer-back');
    this.#resume();
  }

  /** We lost the server: nothing changes for the call, but nothing can be signalled. */
  serverLost() {
    this.serverUp = false;
    this.#changed();
  }

  /** We are back on the server; `present`: whether they are there too (under the id we know). @param {boolean} present */
  serverBack(present) {
    this.serverUp = true;
    if (present) this.back(this.remoteId);
    else if (this.present) this.away();
    this.#changed();
  }

  /**
   * Signaling works again between us: an offer lost on the way is sent again, and if the media
   * is down the impolite side restarts ICE now rather than at its next backoff step.
   */
  #resume() {
    if (!this.serverUp || !this.present || !this.call) return;
    if (this.call.resendOffer()) return;
    if (!this.mediaUp) this.#restart();
  }

  /** Reads the link's stats: figures for the panel, the picture's state, and who speaks. */
  async tick() {
    if (!this.call) return;
    try {
      const report = /** @type {Map<string, any>} */ (await this.call.getStats());
      const summary = summarize(this.lastReport, report, this.remoteMedia?.via);
      this.lastReport = report;
      this.stats = rows(summary);
      this.path = summary.path;
      // They learn from us whether our end is a host address, a NAT's or a relay's.
      if (summary.localType && summary.localType !== this.via) {
        this.via = summary.localType;
        this.announce(this.local.sending());
      }
      this.rttMs = summary.rttMs;
      const now = this.clock.now();
      const grew = summary.packetsReceived !== null && summary.packetsReceived > (this.packets ?? -1);
      if (grew) {
        this.packets = summary.packetsReceived;
        this.lastPacketAt = now;
      }
      // Someone with microphone and camera both off may send nothing at all.
      const expecting = summary.packetsReceived !== null && (this.remoteMedia?.audio !== false || this.remoteMedia?.video !== false);
      const silentFor = expecting ? now - this.lastPacketAt : 0;
      if (this.quiet && grew) {
        this.quiet = false;
        this.#onMedia('up');
      } else if (this.mediaUp && silentFor >= QUIET_LIMIT_MS) {
        this.quiet = true;
        this.#onMedia('interrupted');
      }
      this.unstable = this.mediaUp && silentFor >= UNSTABLE_AFTER_MS;
      this.pictureState = this.picture.update({
        now,
        frames: summary.framesDecoded,
        announcedVideo: this.remoteMedia?.video ?? null,
        // A link gone quiet carries nothing: its picture is not "missing" (which blames something
        // blocking the video while the rest flows), the tile says the connection is unstable.
        mediaUp: this.mediaUp && !this.unstable,
      });
      this.speaking = this.remoteMedia?.audio !== false && (summary.inboundAudioLevel ?? 0) > SPEAKING_LEVEL;
      this.#changed();
    } catch {
      /* the link closed between ticks */
    }
  }

  /** Ends this session (without telling them: the caller sends what the reason needs). @param {EndReason} reason */
  end(reason) {
    if (this.closed) return;
    this.close();
    this.dispatchEvent(new CustomEvent('ended', { detail: { reason } }));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const timer of Object.values(this.timers)) this.clock.clearTimeout(timer);
    this.call?.close();
    this.call = null;
    this.state = 'ended';
  }
}

/**
 * Stamps the call id and the connection's number on a negotiation payload, so a late one from an
 * earlier call, or an earlier connection of this one, is never taken for the current one's.
 * @param {payload.Payload} data @param {string} callId @param {number} generation
 * @returns {payload.Payload}
 */
function withCall(data, callId, generation) {
  if (data.kind !== 'description' && data.kind !== 'candidate') return data;
  return generation ? { ...data, call: callId, link: generation } : { ...data, call: callId };
}

/**
 * Who is polite between us and them: a side that cannot roll back is the impolite one; between
 * equals, the smaller id is impolite. Both sides compute the same answer.
 * @param {{selfId: string, selfCaps: payload.Capability[], otherId: string, otherCaps: payload.Capability[]}} pair
 */
export function isPolite({ selfId, selfCaps, otherId, otherCaps }) {
  const selfRigid = selfCaps.includes('no-rollback');
  const otherRigid = otherCaps.includes('no-rollback');
  if (selfRigid !== otherRigid) return !selfRigid;
  return selfId > otherId;
}
