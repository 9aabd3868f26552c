//! The sentence a person reads when a connection could not be made names the likely cause.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { whyNotConnected } from '../../ui/js/diagnosis.js';

const TURN = { urls: ['turn:10.77.1.2:3478'], username: 'u', credential: 'p' };
const STUN = { urls: 'stun:10.77.1.2:3478' };

test('with no STUN or TURN server, it says a direct connection was all that could be tried', () => {
  const why = whyNotConnected({ iceServers: [], gathered: ['host'], errors: [] });
  assert.match(why, /No STUN or TURN server is set up/);
  assert.match(why, /TURN_URLS/);
});

test('a TURN server that refuses the credentials is named as the cause', () => {
  const why = whyNotConnected({
    iceServers: [TURN], gathered: ['host', 'srflx'],
    errors: [{ url: 'turn:10.77.1.2:3478?transport=udp', errorCode: 401, errorText: 'Unauthorized' }],
  });
  assert.match(why, /refused its credentials/);
});

test('a TURN server that does not answer is named as unreachable', () => {
  const why = whyNotConnected({
    iceServers: [TURN], gathered: ['host'],
    errors: [{ url: 'turn:10.77.1.2:3478?transport=udp', errorCode: 701, errorText: 'TURN allocate request timed out.' }],
  });
  assert.match(why, /could not be reached/);
  assert.match(why, /turn:10\.77\.1\.2:3478/);
});

test('a working STUN server and no TURN: a NAT or firewall blocks the direct way', () => {
  assert.match(whyNotConnected({ iceServers: [STUN], gathered: ['host', 'srflx'], errors: [] }), /NAT or firewall between you/);
  assert.match(whyNotConnected({ iceServers: [STUN], gathered: ['host'], errors: [] }), /STUN server .* did not answer/);
});

test('a relay that was reached but carried nothing says so', () => {
  assert.match(whyNotConnected({ iceServers: [TURN], gathered: ['host', 'relay'], errors: [] }), /even through the relay/);
});
