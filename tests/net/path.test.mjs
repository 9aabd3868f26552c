//! Calls across a simulated network (netns.mjs): Ada in the guest namespace, Bob and the server in
//! the host namespace, the router between. Plainly routed, the guest behind a NAT with no STUN or
//! TURN, behind the NAT with coturn as STUN, and behind the NAT with coturn as TURN and the pages
//! forced to relay. Each call must show
//! both pictures advancing; the candidate pair ICE chose is read from getStats() and checked; and
//! the stats panel must say in words how the call travels (a row "Connection").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../e2e/harness.mjs';
import { HOST_IP, GUEST_IP, ROUTER_HOST_IP } from './netns.mjs';
import { selectedPair, describePair, statsValue, openStats, localCandidates } from './scene.mjs';
import { inACall } from './call.mjs';

/**
 * Ada and Bob in a call across the network (call.mjs), and the candidate pair each selected.
 * @param {import('node:test').TestContext} t
 * @param {{nat?: boolean, turn?: boolean, stun?: boolean, forceRelay?: boolean}} options
 */
async function callAcross(t, options) {
  const { net, server, ada, bob } = await inACall(t, options);
  assert.equal(server.url, `http://${HOST_IP}:${server.port}`);
  const pairs = { ada: await selectedPair(ada), bob: await selectedPair(bob) };
  t.diagnostic(`Ada (guest) selected ${describePair(pairs.ada)}`);
  t.diagnostic(`Bob (host) selected ${describePair(pairs.bob)}`);
  return { net, server, ada, bob, pairs };
}

/**
 * The stats panel's "Connection" row, on both pages, after screenshots of both with it open.
 * @param {import('node:test').TestContext} t
 * @param {{ada: import('../e2e/harness.mjs').Person, bob: import('../e2e/harness.mjs').Person}} people
 * @param {string} shot file name prefix
 */
async function connectionRows(t, { ada, bob }, shot) {
  await openStats(ada);
  await openStats(bob);
  await ada.screenshot(`${shot}-ada.png`);
  await bob.screenshot(`${shot}-bob.png`);
  const rows = { ada: await statsValue(ada, 'Connection'), bob: await statsValue(bob, 'Connection') };
  t.diagnostic(`stats panel "Connection": Ada ${JSON.stringify(rows.ada)}, Bob ${JSON.stringify(rows.bob)}`);
  return rows;
}

test('routed, no NAT: a direct call between host candidates', async (t) => {
  const { ada, bob, pairs } = await callAcross(t, {});
  assert.ok(pairs.ada && pairs.bob, 'both have a selected candidate pair');
  assert.deepEqual([pairs.ada.local.candidateType, pairs.ada.remote.candidateType], ['host', 'host'], 'Ada: host → host');
  assert.deepEqual([pairs.bob.local.candidateType, pairs.bob.remote.candidateType], ['host', 'host'], 'Bob: host → host');
  assert.equal(pairs.ada.local.address, GUEST_IP);
  assert.equal(pairs.ada.remote.address, HOST_IP);
  assert.equal(pairs.bob.remote.address, GUEST_IP);
  ada.assertNoErrors();
  bob.assertNoErrors();

  // Host candidates in different /24s, routed without NAT: "Direct" (the UI keeps "Direct on this
  // network" for two addresses in one /24, as on a home network).
  await t.test('the stats panel\'s "Connection" row says "Direct", not through NAT nor relayed', async (t) => {
    const rows = await connectionRows(t, { ada, bob }, 'net-direct');
    assert.match(rows.ada ?? '(no Connection row)', /^Direct(?! through NAT)/, 'Ada\'s stats panel');
    assert.match(rows.bob ?? '(no Connection row)', /^Direct(?! through NAT)/, 'Bob\'s stats panel');
  });
});

test('guest behind NAT, no STUN or TURN: ICE still connects through a peer-reflexive candidate', async (t) => {
  const { net, ada, bob, pairs } = await callAcross(t, { nat: true });
  // The NAT works as meant: the guest reaches the host, the host cannot reach the guest.
  assert.equal(await net.ping('guest', HOST_IP), true, 'guest → host passes the NAT');
  assert.equal(await net.ping('host', GUEST_IP), false, 'host → guest is dropped');
  assert.ok(pairs.ada && pairs.bob, 'both have a selected candidate pair');
  // Ada's checks reach Bob from the NAT's address: Ada learns it from Bob's answers (her local
  // candidate is peer-reflexive), Bob learns it from her checks (his remote one is). Chromium
  // hides the address of a remote peer-reflexive candidate in getStats(), but not its port.
  assert.deepEqual([pairs.ada.local.candidateType, pairs.ada.remote.candidateType], ['prflx', 'host'], 'Ada: prflx → host');
  assert.equal(pairs.ada.local.address, ROUTER_HOST_IP, 'Ada is seen at the NAT\'s address');
  assert.equal(pairs.ada.remote.address, HOST_IP);
  assert.deepEqual([pairs.bob.local.candidateType, pairs.bob.remote.candidateType], ['host', 'prflx'], 'Bob: host → prflx');
  assert.ok(['', ROUTER_HOST_IP].includes(pairs.bob.remote.address), `Bob's remote prflx address: ${pairs.bob.remote.address}`);
  assert.equal(pairs.bob.remote.port, pairs.ada.local.port, 'Bob sends to the NAT\'s port for Ada');
  ada.assertNoErrors();
  bob.assertNoErrors();

  await t.test('the stats panel\'s "Connection" row says "Direct through NAT"', async (t) => {
    const rows = await connectionRows(t, { ada, bob }, 'net-nat');
    assert.match(rows.ada ?? '(no Connection row)', /^Direct through NAT/, 'Ada\'s stats panel');
    assert.match(rows.bob ?? '(no Connection row)', /^Direct through NAT/, 'Bob\'s stats panel');
  });
});

test('guest behind NAT with coturn as STUN: the guest learns its server-reflexive address, and the call is direct', async (t) => {
  const { ada, bob, pairs } = await callAcross(t, { nat: true, stun: true });
  // The call can connect (peer-reflexive) before the STUN server's answer is in.
  let gathered = [];
  await waitFor(async () => (gathered = await localCandidates(ada)).includes(`srflx ${ROUTER_HOST_IP}`), 10_000,
    () => `Ada to gather a server-reflexive candidate at the NAT's address (gathered: ${gathered.join(', ')})`);
  t.diagnostic(`Ada gathered: ${gathered.join(', ')}`);
  assert.ok(pairs.ada && pairs.bob, 'both have a selected candidate pair');
  assert.equal(pairs.ada.local.address, ROUTER_HOST_IP, 'Ada is seen at the NAT\'s address');
  assert.ok(['srflx', 'prflx'].includes(pairs.ada.local.candidateType), `Ada's local candidate is reflexive (${pairs.ada.local.candidateType})`);
  assert.equal(pairs.ada.remote.candidateType, 'host');
  assert.equal(pairs.bob.local.candidateType, 'host');
  assert.ok(['srflx', 'prflx'].includes(pairs.bob.remote.candidateType), `Bob sees Ada as reflexive (${pairs.bob.remote.candidateType})`);
  assert.equal(pairs.bob.remote.port, pairs.ada.local.port, 'Bob sends to the NAT\'s port for Ada');
  ada.assertNoErrors();
  bob.assertNoErrors();

  await t.test('the stats panel\'s "Connection" row says "Direct through NAT"', async (t) => {
    const rows = await connectionRows(t, { ada, bob }, 'net-stun');
    assert.match(rows.ada ?? '(no Connection row)', /^Direct through NAT/, 'Ada\'s stats panel');
    assert.match(rows.bob ?? '(no Connection row)', /^Direct through NAT/, 'Bob\'s stats panel');
  });
});

test('guest behind NAT, coturn as TURN, pages forced to relay: the call goes through the relay', async (t) => {
  // Neither the server nor the UI has an ICE transport policy setting: the test wraps
  // RTCPeerConnection to make every connection with iceTransportPolicy 'relay'.
  const { ada, bob, pairs } = await callAcross(t, { nat: true, turn: true, forceRelay: true });
  assert.ok(pairs.ada && pairs.bob, 'both have a selected candidate pair');
  for (const [who, pair] of /** @type {const} */ ([['Ada', pairs.ada], ['Bob', pairs.bob]])) {
    assert.equal(pair.local.candidateType, 'relay', `${who} sends through the relay`);
    assert.equal(pair.local.address, HOST_IP, `${who}'s relay address is coturn's`);
    assert.equal(pair.remote.candidateType, 'relay', `${who} sends to the other's relay`);
  }
  ada.assertNoErrors();
  bob.assertNoErrors();

  await t.test('the stats panel\'s "Connection" row says "Relayed through TURN"', async (t) => {
    const rows = await connectionRows(t, { ada, bob }, 'net-relay');
    assert.match(rows.ada ?? '(no Connection row)', /^Relayed through TURN/, 'Ada\'s stats panel');
    assert.match(rows.bob ?? '(no Connection row)', /^Relayed through TURN/, 'Bob\'s stats panel');
  });
});
