// @ts-check
//! Why a connection to someone could not be made, in words a person can act on: from the STUN
//! and TURN servers the call was given, the kinds of candidates this side gathered, and the errors
//! the browser reported while gathering. Free of WebRTC, so each case can be tested on its own.

/**
 * What one side knows after its connection failed.
 * @typedef {{
 *   iceServers: RTCIceServer[],
 *   gathered: Iterable<string>,
 *   errors: {url: string, errorCode: number, errorText: string}[],
 * }} Attempt gathered: candidate types this side found (`host`, `srflx`, `relay`); errors: the
 *   `icecandidateerror` events (`errorCode` 401: the TURN server refused the credentials; 701: no
 *   answer)
 */

/** The URLs of one kind (`stun`, `turn`) among the servers. @param {RTCIceServer[]} servers @param {'stun'|'turn'} kind */
function urlsOf(servers, kind) {
  return servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]))
    .filter((url) => url.startsWith(`${kind}:`) || url.startsWith(`${kind}s:`));
}

/**
 * The likely cause of a failed connection and what to do, as one or two sentences.
 * @param {Attempt} attempt
 */
export function whyNotConnected({ iceServers, gathered, errors }) {
  const types = new Set(gathered);
  const turn = urlsOf(iceServers, 'turn');
  const stun = urlsOf(iceServers, 'stun');
  const turnErrors = errors.filter((e) => /^turns?:/.test(e.url));
  if (turn.length && !types.has('relay')) {
    if (turnErrors.some((e) => e.errorCode === 401 || /unauthori[sz]ed|credential/i.test(e.errorText))) {
      return 'The relay server (TURN) refused its credentials, so the call could not be relayed. '
        + "The server's operator should check TURN_USERNAME and TURN_CREDENTIAL (or TURN_SECRET).";
    }
    return `The relay server (TURN, ${turn[0]}) could not be reached, so the call could not be relayed. `
      + 'A firewall may block it, or it may be down; the server\'s operator should check it.';
  }
  if (types.has('relay')) {
    return 'No connection could be made even through the relay server (TURN). '
      + 'A firewall on either side may block the relay\'s ports.';
  }
  if (!stun.length) {
    return 'No STUN or TURN server is set up, so only a direct connection was tried, and something between you blocks it '
      + '(a NAT or a firewall). On one network this works; across networks, the server\'s operator can set TURN_URLS.';
  }
  if (!types.has('srflx')) {
    return `The STUN server (${stun[0]}) did not answer, and no relay server (TURN) is set up. `
      + 'A firewall may block UDP; the server\'s operator can set TURN_URLS for a relay.';
  }
  return 'A NAT or firewall between you blocks a direct connection, and no relay server (TURN) is set up to carry the call. '
    + 'The server\'s operator can set TURN_URLS.';
}

/**
 * A Test connection result in words: a row per kind of address (this device's own, the public
 * one a STUN server sees, a TURN relay), and what that means for calls.
 * @param {import('./probe.js').ProbeResult} result
 * @returns {{rows: string[][], verdict: string, stun: 'none'|'found'|'same'|'silent', turn: 'none'|'works'|'refused'|'silent'}}
 *   stun: `same` when the server answered with this device's own address (no NAT in between: the
 *   browser then drops the duplicate, so it shows as no public address and no error, and
 *   gathering completes)
 */
export function describeProbe({ iceServers, candidates, errors, complete }) {
  const turnUrls = urlsOf(iceServers, 'turn');
  const stunUrls = urlsOf(iceServers, 'stun');
  const of = (/** @type {string} */ type) => candidates.filter((c) => c.type === type);
  const addresses = (/** @type {{address: string}[]} */ cs) => [...new Set(cs.map((c) => c.address).filter(Boolean))].join(', ');
  const host = of('host');
  const srflx = of('srflx');
  const relay = of('relay');
  const errorsOf = (/** @type {'stun'|'turn'} */ kind) => errors.filter((e) => e.url.startsWith(`${kind}:`) || e.url.startsWith(`${kind}s:`));
  // A TURN server answers STUN requests too, so a public address may come from either.
  const stunFrom = stunUrls[0] ?? turnUrls[0];
  // A server that does not answer is reported late or never (Chromium retries for about 40 s), so
  // gathering left unfinished at the limit counts as no answer; an unanswering TURN server next
  // to a working STUN one is then taken for both, which the TURN row tells apart.
  const silentStun = errorsOf('stun').length > 0 || (!complete && !relay.length) || (!stunUrls.length && !relay.length);
  /** @type {'none'|'found'|'same'|'silent'} */
  const stun = !stunFrom ? 'none' : srflx.length ? 'found' : silentStun ? 'silent' : 'same';
  const refused = errorsOf('turn').some((e) => e.errorCode === 401 || /unauthori[sz]ed|credential/i.test(e.errorText));
  /** @type {'none'|'works'|'refused'|'silent'} */
  const turn = !turnUrls.length ? 'none' : relay.length ? 'works' : refused ? 'refused' : 'silent';

  const hostText = !host.length ? 'None found'
    : host.every((c) => !c.address || c.address.endsWith('.local')) ? 'Found (hidden behind a private name until a call starts)'
      : `Found: ${addresses(host)}`;
  const stunText = {
    none: 'No STUN server is set up',
    found: `Found: ${addresses(srflx) || 'yes'}`,
    same: "The same as this device's: no NAT in between",
    silent: `No answer from ${stunFrom}`,
  }[stun];
  const turnText = {
    none: 'No TURN server is set up',
    works: `Works: ${addresses(relay) || 'yes'}`,
    refused: `${turnUrls[0]} refused the credentials`,
    silent: `No answer from ${turnUrls[0]}`,
  }[turn];
  const rows = [['This device', hostText], ['Public address (STUN)', stunText], ['Relay (TURN)', turnText]];

  if (!host.length && turn !== 'works') return { rows, verdict: 'No network address was found: check that this device is connected to a network.', stun, turn };
  if (turn === 'works') return { rows, verdict: 'Calls should connect from any network: where a direct way is blocked, the relay carries them.', stun, turn };
  const direct = {
    found: 'Calls connect directly on this network and across most home routers.',
    same: 'No NAT is in front of this device: calls connect directly wherever the other side can reach it.',
    silent: 'Calls connect only where both sides can reach each other directly, such as on one network; the STUN server did not answer (a firewall may block it).',
    none: 'Calls connect only where both sides can reach each other directly, such as on one network.',
  }[stun];
  const relayNote = {
    refused: " The relay (TURN) refused its credentials: the server's operator should check TURN_USERNAME and TURN_CREDENTIAL (or TURN_SECRET).",
    silent: ' The relay (TURN) did not answer: a firewall may block it, or it is down.',
    none: ' A strict NAT or firewall on either side would need a relay (TURN), and this server has none.',
  }[turn];
  return { rows, verdict: direct + relayNote, stun, turn };
}
