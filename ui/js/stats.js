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
 *   packetsReceived: number | null,
 *   path: Path | null,
 *   localType: import('./payload.js').CandidateType | null,
 * }} CallStats path: as far as this side's stats tell (see {@link pathOf} for the other side's
 *   word); localType: the type of our candidate in the selected pair
 *
 * How the media travels: `lan`, both ends' own addresses on one network; `direct`, their own
 * addresses across a router with no address translation seen; `nat`, directly, with an address a
 * NAT made (server or peer reflexive) on either end; `relay`, through a TURN server.
 * @typedef {'lan'|'direct'|'nat'|'relay'} Path
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
 * @param {string} [theirs] the other side's word for the type of its candidate in the pair
 * @returns {CallStats}
 */
export function summarize(previous, current, theirs) {
  const stats = [...current.values()];
  const transport = find(stats, (s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = (transport && current.get(transport.selectedCandidatePairId))
    ?? find(stats, (s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')
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
    packetsReceived: received,
    path: pair ? pathOf(current.get(pair.localCandidateId), current.get(pair.remoteCandidateId), theirs) : null,
    localType: (pair && current.get(pair.localCandidateId)?.candidateType) ?? null,
  };
}

/**
 * The path of a selected candidate pair, from its two candidates' stats and, when the other side
 * has said it, the type of its own candidate (`theirs`). A remote peer-reflexive candidate alone
 * proves no NAT: it is also what a remote address looks like when the other side's checks come
 * before its candidates; the other side knows whether its own is a host address.
 * @param {any} local @param {any} remote @param {string} [theirs]
 * @returns {Path | null}
 */
export function pathOf(local, remote, theirs) {
  if (!local?.candidateType || !remote?.candidateType) return null;
  const types = [local.candidateType, remote.candidateType, theirs];
  if (types.includes('relay')) return 'relay';
  const translated = (/** @type {string | undefined} */ t) => t === 'srflx' || t === 'prflx';
  if (translated(local.candidateType) || remote.candidateType === 'srflx' || translated(theirs)) return 'nat';
  if (remote.candidateType === 'prflx' && theirs !== 'host') return 'nat';
  return sameNetwork(local.address ?? local.ip, remote.address ?? remote.ip) ? 'lan' : 'direct';
}

/**
 * Whether two addresses are on one network as home and office networks are laid out: the same
 * IPv4 /24 or the same IPv6 /64. An address hidden behind an mDNS name cannot be compared.
 * @param {string | undefined} a @param {string | undefined} b
 */
function sameNetwork(a, b) {
  if (!a || !b) return false;
  if (a.includes('.') && !a.endsWith('.local') && b.includes('.') && !b.endsWith('.local')) {
    return a.split('.').slice(0, 3).join('.') === b.split('.').slice(0, 3).join('.');
  }
  if (a.includes(':') && b.includes(':')) {
    const prefix = (/** @type {string} */ x) => x.split(':').slice(0, 4).join(':');
    return prefix(a) === prefix(b);
  }
  return false;
}

/** How the media travels, in words. @type {Record<Path, string>} */
export const PATH_WORDS = {
  lan: 'Direct on this network',
  direct: 'Direct',
  nat: 'Direct through NAT',
  relay: 'Relayed through TURN',
};

/** A tile's badge for the path: short words, the full sentence is its title. @type {Record<Path, string>} */
export const PATH_BADGES = { lan: 'LAN', direct: 'Direct', nat: 'NAT', relay: 'Relayed' };

/** @param {number | null} v @param {(v: number) => string} fmt */
const show = (v, fmt) => (v === null || Number.isNaN(v) ? '–' : fmt(v));

/** The figures as label/value rows for the stats panel. @param {CallStats} s */
export function rows(s) {
  return [
    ['Connection', s.path ? PATH_WORDS[s.path] : '–'],
    ['Round trip', show(s.rttMs, (v) => `${Math.round(v)} ms`)],
    ['Sending', show(s.sendKbps, (v) => `${Math.round(v)} kbit/s`)],
    ['Receiving', show(s.receiveKbps, (v) => `${Math.round(v)} kbit/s`)],
    ['Resolution', s.width && s.height ? `${s.width}×${s.height}` : '–'],
    ['Frame rate', show(s.fps, (v) => `${Math.round(v)} fps`)],
    ['Packet loss', show(s.lossPercent, (v) => `${v.toFixed(1)} %`)],
    ['Mic level', show(s.outboundAudioLevel, (v) => v.toFixed(3))],
  ];
}
