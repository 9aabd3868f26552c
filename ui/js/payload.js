// @ts-check
//! The call payloads carried in a signal's `data` (docs/PROTOCOL.md, "Payload convention",
//! version 2): building them, and reading untrusted ones from the other side.

/** The payload convention's version; sent in `ring`, `accept`, `join` and `in-call`. */
export const VERSION = 2;

/**
 * What a client can or cannot do. `no-rollback`: its peer connection cannot roll back a local
 * offer (the desktop app's engine, GStreamer 1.22), so it must be the impolite side of perfect
 * negotiation. `one-peer`: it can be connected to one person at a time (the desktop app before it
 * held a connection per person; still understood). `data`: its connections carry the chat and
 * files data channels (negotiated, ids 0 and 1); both sides must say so for a pair to make them.
 * @typedef {'no-rollback'|'one-peer'|'data'} Capability
 * @typedef {{v?:number, caps?:Capability[]}} Versioned
 * @typedef {{kind:'ring', name:string, call:string} & Versioned} RingPayload
 * @typedef {{kind:'accept', call?:string, name?:string} & Versioned} AcceptPayload
 * @typedef {{kind:'join', call:string, name:string} & Versioned} JoinPayload "I am in call C and connect to you": sent by
 *   someone who accepts or joins a call to each member other than the one who rang
 * @typedef {{kind:'in-call', call:string, name:string, was?:string} & Versioned} InCallPayload "I am in call C": sent by a
 *   member to each person in the room who is not (as far as it knows), so they can join it; `was`: the sender's id
 *   before it last reconnected, so a member who knew it by that id finds its session again
 * @typedef {{kind:'decline', call?:string, reason?:'busy'|'declined'|'full'}} DeclinePayload
 * @typedef {{kind:'hangup', call?:string}} HangupPayload
 * @typedef {{kind:'description', call?:string, link?:number, description:{type:RTCSdpType, sdp:string}}} DescriptionPayload
 *   link: which connection of the call it is for (0 when absent): one of a later link replaces the
 *   receiver's connection with a new one (the desktop app's engine cannot restart ICE)
 * @typedef {{kind:'candidate', call?:string, link?:number, candidate:{candidate:string, sdpMid:string|null, sdpMLineIndex:number|null}}} CandidatePayload
 * @typedef {{kind:'resume', call:string, was?:string}} ResumePayload was: the sender's id before it reconnected
 * @typedef {{kind:'resumed', call:string, was?:string}} ResumedPayload
 * @typedef {{kind:'media', call:string, audio:boolean, video:boolean, screen?:boolean, missing?:Device[], via?:CandidateType}} MediaPayload what the sender
 *   is sending: its microphone (on and unmuted) and its camera (on); `missing`: the devices it has
 *   none of (denied, absent, or a page that may not use them), so the others can say so; `via`:
 *   the type of the sender's own candidate in the selected pair, once there is one
 * @typedef {'camera'|'microphone'} Device
 * @typedef {'host'|'srflx'|'prflx'|'relay'} CandidateType
 * @typedef {{audio: boolean, video: boolean, screen?: boolean, missing?: Device[], via?: CandidateType}} Sending what this
 *   side sends; `via`: the type of its own candidate in the connection's selected pair
 * @typedef {RingPayload|AcceptPayload|JoinPayload|InCallPayload|DeclinePayload|HangupPayload|DescriptionPayload|CandidatePayload|ResumePayload|ResumedPayload|MediaPayload} Payload
 */

/** A fresh call identifier: 64 random bits in hex. */
export function newCallId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} name @param {string} call @param {Capability[]} [caps] @returns {RingPayload} */
export const ring = (name, call, caps = []) => ({ kind: 'ring', name, call, v: VERSION, caps });
/** @param {string} call @param {string} [name] @param {Capability[]} [caps] @returns {AcceptPayload} */
export const accept = (call, name = '', caps = []) => ({ kind: 'accept', call, name, v: VERSION, caps });
/** @param {string} call @param {string} name @param {Capability[]} [caps] @returns {JoinPayload} */
export const join = (call, name, caps = []) => ({ kind: 'join', call, name, v: VERSION, caps });
/** @param {string} call @param {string} name @param {Capability[]} [caps] @param {string} [was] @returns {InCallPayload} */
export const inCall = (call, name, caps = [], was = '') => (was
  ? { kind: 'in-call', call, name, v: VERSION, caps, was }
  : { kind: 'in-call', call, name, v: VERSION, caps });
/** @param {string} call @param {'busy'|'declined'|'full'} [reason] @returns {DeclinePayload} */
export const decline = (call, reason = 'declined') => ({ kind: 'decline', call, reason });
/** @param {string} call @returns {HangupPayload} */
export const hangup = (call) => ({ kind: 'hangup', call });
/** @param {string} call @param {string} [was] @returns {ResumePayload} */
export const resume = (call, was) => (was ? { kind: 'resume', call, was } : { kind: 'resume', call });
/** @param {string} call @param {string} [was] @returns {ResumedPayload} */
export const resumed = (call, was) => (was ? { kind: 'resumed', call, was } : { kind: 'resumed', call });

/** @param {string} call @param {Sending} sending @returns {MediaPayload} */
export const media = (call, { audio, video, screen = false, missing = [], via }) => ({
  kind: 'media', call, audio, video, screen, ...(missing.length ? { missing } : {}), ...(via ? { via } : {}),
});

/** @param {RTCSessionDescriptionInit} d @param {string} [call] @returns {DescriptionPayload} */
export function description(d, call) {
  const built = { kind: /** @type {const} */ ('description'), description: { type: /** @type {RTCSdpType} */ (d.type), sdp: d.sdp ?? '' } };
  return call ? { ...built, call } : built;
}

/** @param {RTCIceCandidate | RTCIceCandidateInit} c @param {string} [call] @returns {CandidatePayload} */
export function candidate(c, call) {
  const init = 'toJSON' in c && typeof c.toJSON === 'function' ? c.toJSON() : c;
  return {
    kind: 'candidate',
    ...(call ? { call } : {}),
    candidate: {
      candidate: init.candidate ?? '',
      sdpMid: init.sdpMid ?? null,
      sdpMLineIndex: init.sdpMLineIndex ?? null,
    },
  };
}

const isString = (/** @type {unknown} */ v) => typeof v === 'string';
const isOptionalString = (/** @type {unknown} */ v) => v === undefined || typeof v === 'string';
/** A connection's number within a call: absent, or a small whole number. */
const isOptionalLink = (/** @type {unknown} */ v) => v === undefined || (Number.isInteger(v) && /** @type {number} */ (v) >= 0 && /** @type {number} */ (v) < 1_000_000);
const CAPABILITIES = ['no-rollback', 'one-peer', 'data'];
/** Version and capabilities are optional (version 1 had neither); unknown capabilities are dropped. */
const versioned = (/** @type {Record<string, any>} */ d) => (d.v === undefined || Number.isInteger(d.v))
  && (d.caps === undefined || (Array.isArray(d.caps) && d.caps.every(isString)));
/** @template {Versioned} T @param {T} d @returns {T} */
const known = (d) => (d.caps ? { ...d, caps: d.caps.filter((c) => CAPABILITIES.includes(c)) } : d);

/**
 * Checks a payload from the other side. Returns it typed, or null when it is not one we know
 * (the caller reports that rather than acting on it).
 * @param {unknown} data
 * @returns {Payload | null}
 */
export function parse(data) {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const d = /** @type {Record<string, any>} */ (data);
  switch (d.kind) {
    case 'ring':
      return isString(d.name) && isString(d.call) && versioned(d) ? known(/** @type {RingPayload} */ (d)) : null;
    case 'accept':
      return isOptionalString(d.call) && isOptionalString(d.name) && versioned(d) ? known(/** @type {AcceptPayload} */ (d)) : null;
    case 'join':
    case 'in-call':
      return isString(d.call) && isString(d.name) && isOptionalString(d.was) && versioned(d) ? known(/** @type {JoinPayload|InCallPayload} */ (d)) : null;
    case 'hangup':
      return isOptionalString(d.call) ? /** @type {Payload} */ (d) : null;
    case 'decline':
      return isOptionalString(d.call) ? /** @type {DeclinePayload} */ (d) : null;
    case 'resume':
    case 'resumed':
      return isString(d.call) && isOptionalString(d.was) ? /** @type {Payload} */ (d) : null;
    case 'media':
      return isString(d.call) && typeof d.audio === 'boolean' && typeof d.video === 'boolean' && (d.screen === undefined || typeof d.screen === 'boolean')
        && (d.missing === undefined || (Array.isArray(d.missing) && d.missing.length <= 2 && d.missing.every((x) => x === 'camera' || x === 'microphone')))
        && (d.via === undefined || ['host', 'srflx', 'prflx', 'relay'].includes(d.via))
        ? /** @type {MediaPayload} */ (d) : null;
    case 'description': {
      const desc = d.description;
      const ok = desc && ['offer', 'answer', 'pranswer', 'rollback'].includes(desc.type) && isOptionalString(desc.sdp) && isOptionalString(d.call) && isOptionalLink(d.link);
      return ok ? /** @type {DescriptionPayload} */ (d) : null;
    }
    case 'candidate': {
      const c = d.candidate;
      const ok = c && isString(c.candidate) && isOptionalString(d.call) && isOptionalLink(d.link)
        && (c.sdpMid === null || c.sdpMid === undefined || isString(c.sdpMid))
        && (c.sdpMLineIndex === null || c.sdpMLineIndex === undefined || Number.isInteger(c.sdpMLineIndex));
      return ok ? /** @type {CandidatePayload} */ (d) : null;
    }
    default:
      return null;
  }
}
