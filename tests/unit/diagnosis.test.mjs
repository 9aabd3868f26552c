//! The sentence a person reads when a connection could not be made names the likely cause, and
//! Test connection's result says what each kind of server gave.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { whyNotConnected, describeProbe } from '../../ui/js/diagnosis.js';

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

test('Test connection: a working relay means calls connect from anywhere', () => {
  const d = describeProbe({
    iceServers: [TURN], errors: [], complete: true,
    candidates: [{ type: 'host', address: '10.77.2.2', url: '' }, { type: 'srflx', address: '10.77.1.1', url: '' }, { type: 'relay', address: '10.77.1.2', url: '' }],
  });
  assert.deepEqual(Object.fromEntries(d.rows), {
    'This device': 'Found: 10.77.2.2', 'Public address (STUN)': 'Found: 10.77.1.1', 'Relay (TURN)': 'Works: 10.77.1.2',
  });
  assert.match(d.verdict, /from any network/);
  assert.equal(d.stun, 'found');
  assert.equal(d.turn, 'works');
});

test('Test connection: refused TURN credentials and an unreachable TURN server are told apart', () => {
  const refused = describeProbe({
    iceServers: [TURN], complete: true, candidates: [{ type: 'host', address: '10.0.0.2', url: '' }],
    errors: [{ url: 'turn:10.77.1.2:3478?transport=udp', errorCode: 401, errorText: 'Unauthorized' }],
  });
  assert.equal(Object.fromEntries(refused.rows)['Relay (TURN)'], 'turn:10.77.1.2:3478 refused the credentials');
  assert.match(refused.verdict, /refused its credentials/);
  const silent = describeProbe({ iceServers: [TURN], complete: false, candidates: [{ type: 'host', address: '10.0.0.2', url: '' }], errors: [] });
  assert.equal(Object.fromEntries(silent.rows)['Relay (TURN)'], 'No answer from turn:10.77.1.2:3478');
  assert.equal(Object.fromEntries(silent.rows)['Public address (STUN)'], 'No answer from turn:10.77.1.2:3478');
  assert.match(silent.verdict, /The relay \(TURN\) did not answer/);
});

test('Test connection: no servers set up says so, and what works without them', () => {
  const d = describeProbe({ iceServers: [], complete: true, errors: [], candidates: [{ type: 'host', address: 'f00.local', url: '' }] });
  assert.deepEqual(Object.fromEntries(d.rows), {
    'This device': 'Found (hidden behind a private name until a call starts)',
    'Public address (STUN)': 'No STUN server is set up',
    'Relay (TURN)': 'No TURN server is set up',
  });
  assert.match(d.verdict, /only where both sides can reach each other/);
  assert.match(d.verdict, /this server has none/);
});

test('Test connection: a STUN server that sees this device\'s own address means no NAT, not no answer', () => {
  const d = describeProbe({ iceServers: [STUN], complete: true, errors: [], candidates: [{ type: 'host', address: '10.77.1.2', url: '' }] });
  assert.equal(Object.fromEntries(d.rows)['Public address (STUN)'], "The same as this device's: no NAT in between");
  const silent = describeProbe({
    iceServers: [STUN], complete: true, candidates: [{ type: 'host', address: '10.77.1.2', url: '' }],
    errors: [{ url: 'stun:10.77.1.2:3478', errorCode: 701, errorText: 'STUN binding request timed out.' }],
  });
  assert.equal(Object.fromEntries(silent.rows)['Public address (STUN)'], 'No answer from stun:10.77.1.2:3478');
});
