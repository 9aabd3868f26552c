// @ts-check
//! Test connection: gathers ICE candidates with the STUN and TURN servers a call would use, with
//! no one on the other end, and reports what each kind of server gave (the way the well-known ICE
//! test pages do). The words for the result are `diagnosis.js`'s.

import { newPeerConnection } from './call.js';

/** Gathering stops after this long even if the browser has not said it is complete. */
export const PROBE_LIMIT_MS = 10_000;

/**
 * What gathering found.
 * @typedef {{
 *   iceServers: RTCIceServer[],
 *   candidates: {type: string, address: string, url: string}[],
 *   errors: {url: string, errorCode: number, errorText: string}[],
 *   complete: boolean,
 * }} ProbeResult complete: whether gathering finished before the limit
 */

/**
 * Gathers candidates with these servers and resolves with what was found (never rejects: a
 * failure is part of the result).
 * @param {RTCIceServer[]} iceServers
 * @param {number} [limitMs]
 * @returns {Promise<ProbeResult>}
 */
export async function probe(iceServers, limitMs = PROBE_LIMIT_MS) {
  /** @type {ProbeResult} */
  const result = { iceServers, candidates: [], errors: [], complete: false };
  const pc = newPeerConnection({ iceServers });
  try {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) {
          result.complete = true;
          clearTimeout(timer);
          resolve(undefined);
          return;
        }
        if (!candidate.candidate) return;
        // The native engine's candidates are only the SDP line: `candidate:F C PROTO PRIO ADDRESS PORT typ TYPE …`.
        const fields = candidate.candidate.split(' ');
        const type = candidate.type ?? / typ (\w+)/.exec(candidate.candidate)?.[1] ?? 'unknown';
        result.candidates.push({ type, address: candidate.address ?? fields[4] ?? '', url: /** @type {any} */ (candidate).url ?? '' });
      };
      pc.onicecandidateerror = (/** @type {any} */ e) => {
        if (result.errors.length < 20) result.errors.push({ url: String(e.url ?? ''), errorCode: Number(e.errorCode ?? 0), errorText: String(e.errorText ?? '') });
      };
      // A data channel gives the offer something to gather for, without a camera (negotiated:
      // the native engine has only its pre-negotiated ones).
      pc.createDataChannel('probe', { negotiated: true, id: 0 });
      pc.setLocalDescription().catch(() => resolve(undefined));
    });
  } finally {
    pc.onicecandidate = null;
    pc.onicecandidateerror = null;
    pc.close();
  }
  return result;
}
