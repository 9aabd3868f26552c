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
