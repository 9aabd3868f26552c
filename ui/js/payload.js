// @ts-check
//! The call payloads carried in a signal's `data` (docs/PROTOCOL.md, "Payload convention"):
//! building them, and reading untrusted ones from the other side.

/**
 * @typedef {{kind:'ring', name:string, call:string}} RingPayload
 * @typedef {{kind:'accept', call?:string}} AcceptPayload
 * @typedef {{kind:'decline', call?:string, reason?:'busy'|'declined'}} DeclinePayload
 * @typedef {{kind:'hangup', call?:string}} HangupPayload
 * @typedef {{kind:'description', description:{type:RTCSdpType, sdp:string}}} DescriptionPayload
 * @typedef {{kind:'candidate', candidate:{candidate:string, sdpMid:string|null, sdpMLineIndex:number|null}}} CandidatePayload
 * @typedef {{kind:'resume', call:string}} ResumePayload
 * @typedef {{kind:'resumed', call:string}} ResumedPayload
 * @typedef {{kind:'media', call:string, audio:boolean, video:boolean}} MediaPayload what the sender
 *   is sending: its microphone (on and unmuted) and its camera (on)
 * @typedef {RingPayload|AcceptPayload|DeclinePayload|HangupPayload|DescriptionPayload|CandidatePayload|ResumePayload|ResumedPayload|MediaPayload} Payload
 */

/** A fresh call identifier: 64 random bits in hex. */
export function newCallId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} name @param {string} call @returns {RingPayload} */
export const ring = (name, call) => ({ kind: 'ring', name, call });
/** @param {string} call @returns {AcceptPayload} */
export const accept = (call) => ({ kind: 'accept', call });
/** @param {string} call @param {'busy'|'declined'} [reason] @returns {DeclinePayload} */
export const decline = (call, reason = 'declined') => ({ kind: 'decline', call, reason });
/** @param {string} call @returns {HangupPayload} */
export const hangup = (call) => ({ kind: 'hangup', call });
/** @param {string} call @returns {ResumePayload} */
export const resume = (call) => ({ kind: 'resume', call });
/** @param {string} call @returns {ResumedPayload} */
export const resumed = (call) => ({ kind: 'resumed', call });

/** @param {string} call @param {{audio: boolean, video: boolean}} sending @returns {MediaPayload} */
export const media = (call, { audio, video }) => ({ kind: 'media', call, audio, video });

/** @param {RTCSessionDescriptionInit} d @returns {DescriptionPayload} */
export function description(d) {
  return { kind: 'description', description: { type: /** @type {RTCSdpType} */ (d.type), sdp: d.sdp ?? '' } };
}

/** @param {RTCIceCandidate | RTCIceCandidateInit} c @returns {CandidatePayload} */
export function candidate(c) {
  const init = 'toJSON' in c && typeof c.toJSON === 'function' ? c.toJSON() : c;
  return {
    kind: 'candidate',
    candidate: {
      candidate: init.candidate ?? '',
      sdpMid: init.sdpMid ?? null,
      sdpMLineIndex: init.sdpMLineIndex ?? null,
    },
  };
}

const isString = (/** @type {unknown} */ v) => typeof v === 'string';
const isOptionalString = (/** @type {unknown} */ v) => v === undefined || typeof v === 'string';

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
      return isString(d.name) && isString(d.call) ? /** @type {RingPayload} */ (d) : null;
    case 'accept':
    case 'hangup':
      return isOptionalString(d.call) ? /** @type {Payload} */ (d) : null;
    case 'decline':
      return isOptionalString(d.call) ? /** @type {DeclinePayload} */ (d) : null;
    case 'resume':
    case 'resumed':
      return isString(d.call) ? /** @type {Payload} */ (d) : null;
    case 'media':
      return isString(d.call) && typeof d.audio === 'boolean' && typeof d.video === 'boolean' ? /** @type {MediaPayload} */ (d) : null;
    case 'description': {
      const desc = d.description;
      const ok = desc && ['offer', 'answer', 'pranswer', 'rollback'].includes(desc.type) && isOptionalString(desc.sdp);
      return ok ? /** @type {DescriptionPayload} */ (d) : null;
    }
    case 'candidate': {
      const c = d.candidate;
      const ok = c && isString(c.candidate)
        && (c.sdpMid === null || c.sdpMid === undefined || isString(c.sdpMid))
        && (c.sdpMLineIndex === null || c.sdpMLineIndex === undefined || Number.isInteger(c.sdpMLineIndex));
      return ok ? /** @type {CandidatePayload} */ (d) : null;
    }
    default:
      return null;
  }
}
