// @ts-check
//! Turns two successive `getStats()` reports into the few figures people care about.

/**
 * @typedef {{
 *   rttMs: number | null,
 *   sendKbps: number | null,
 *   receiveKbps: number | null,
 *   width: number | null,
 *   height: number | null,
 *   fps: number | null,
 *   framesDecoded: number | null,
 *   lossPercent: number | null,
 *   outboundAudioLevel: number | null,
 *   inboundAudioLevel: number | null,
 * }} CallStats
 */

/** @param {Iterable<any>} report @param {(s: any) => boolean} test */
function find(report, test) {
  for (const s of report) if (test(s)) return s;
  return undefined;
}

/** @param {Iterable<any>} report @param {(s: any) => boolean} test */
function sum(report, test, /** @type {string} */ field) {
  let total = 0;
  let seen = false;
  for (const s of report) {
    if (test(s) && typeof s[field] === 'number') {
      total += s[field];
      seen = true;
    }
  }
  return seen ? total : null;
}

/**
 * @param {Map<string, any> | null} previous the report of the last tick (for rates)
 * @param {Map<string, any>} current
 * @returns {CallStats}
 */
export function summarize(previous, current) {
  const stats = [...current.values()];
  const pair = find(stats, (s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')
    ?? find(stats, (s) => s.type === 'candidate-pair' && s.selected);
  const video = find(stats, (s) => s.type === 'inbound-rtp' && s.kind === 'video');
  const isOut = (/** @type {any} */ s) => s.type === 'outbound-rtp';
  const isIn = (/** @type {any} */ s) => s.type === 'inbound-rtp';
  const source = find(stats, (s) => s.type === 'media-source' && s.kind === 'audio');
  const inboundAudio = find(stats, (s) => s.type === 'inbound-rtp' && s.kind === 'audio');
  // The round trip from RTCP, where there is no candidate pair's (webrtcbin has it per report).
  const remoteInbound = find(stats, (s) => s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number');

  const rate = (/** @type {(s:any)=>boolean} */ test) => {
    const prev = previous ? [...previous.values()] : null;
    const bytesNow = sum(stats, test, 'bytesSent') ?? sum(stats, test, 'bytesReceived');
    const bytesBefore = prev ? (sum(prev, test, 'bytesSent') ?? sum(prev, test, 'bytesReceived')) : null;
    const tNow = find(stats, test)?.timestamp;
    const tBefore = prev ? find(prev, test)?.timestamp : undefined;
    if (bytesNow === null || bytesBefore === null || !tNow || !tBefore || tNow <= tBefore) return null;
    return Math.max(0, ((bytesNow - bytesBefore) * 8) / (tNow - tBefore));
  };

  const lost = sum(stats, isIn, 'packetsLost');
  const received = sum(stats, isIn, 'packetsReceived');
  return {
    rttMs: typeof pair?.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000
      : typeof remoteInbound?.roundTripTime === 'number' ? remoteInbound.roundTripTime * 1000 : null,
    sendKbps: rate(isOut),
    receiveKbps: rate(isIn),
    width: video?.frameWidth ?? null,
    height: video?.frameHeight ?? null,
    fps: video?.framesPerSecond ?? null,
    framesDecoded: typeof video?.framesDecoded === 'number' ? video.framesDecoded : null,
    lossPercent: lost !== null && received !== null && lost + received > 0 ? (100 * lost) / (lost + received) : null,
    outboundAudioLevel: typeof source?.audioLevel === 'number' ? source.audioLevel : null,
    inboundAudioLevel: typeof inboundAudio?.audioLevel === 'number' ? inboundAudio.audioLevel : null,
  };
}

/** @param {number | null} v @param {(v: number) => string} fmt */
const show = (v, fmt) => (v === null || Number.isNaN(v) ? '–' : fmt(v));

/** The figures as label/value rows for the stats panel. @param {CallStats} s */
export function rows(s) {
  return [
    ['Round trip', show(s.rttMs, (v) => `${Math.round(v)} ms`)],
    ['Sending', show(s.sendKbps, (v) => `${Math.round(v)} kbit/s`)],
    ['Receiving', show(s.receiveKbps, (v) => `${Math.round(v)} kbit/s`)],
    ['Resolution', s.width && s.height ? `${s.width}×${s.height}` : '–'],
    ['Frame rate', show(s.fps, (v) => `${Math.round(v)} fps`)],
    ['Packet loss', show(s.lossPercent, (v) => `${v.toFixed(1)} %`)],
    ['Mic level', show(s.outboundAudioLevel, (v) => v.toFixed(3))],
  ];
}
