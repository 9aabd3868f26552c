//! The signaling server down for 20 s and for 60 s during a call across the simulated network
//! (call.mjs): media is peer to peer, so both pictures keep advancing, the call stays connected,
//! the pages say they are reconnecting to the server and that the call goes on, and everything is
//! as before once it is back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inACall, watch, checks, sleep, secs, RECOVERY_MS } from './call.mjs';

/**
 * The server killed for `ms` mid-call, then started again on its port; asserts what should happen
 * and prints what did.
 * @param {import('node:test').TestContext} t @param {number} ms
 */
async function serverOutageTest(t, ms) {
  const shot = `outage-server-${ms / 1000}s`;
  const { server, ada, bob } = await inACall(t);
  const w = watch(t, { ada, bob });
  await server.kill();
  await sleep(10_000);
  await Promise.all([ada.screenshot(`${shot}-during-ada.png`), bob.screenshot(`${shot}-during-bob.png`)]);
  await sleep(ms - w.now());
  const restartedAt = w.now();
  await server.restart();
  // Both pages find the server again.
  await Promise.allSettled([ada, bob].map((p) => p.page.locator('#connection').waitFor({ state: 'hidden', timeout: 15_000 })));
  await Promise.allSettled([ada.tileAdvances('Bob', 10, RECOVERY_MS), bob.tileAdvances('Ada', 10, RECOVERY_MS)]);
  await sleep(1000);
  await Promise.all([ada.screenshot(`${shot}-after-ada.png`), bob.screenshot(`${shot}-after-bob.png`)]);
  await w.stop();
  const rejoined = (/** @type {ReturnType<typeof import('./scene.mjs').record>} */ r) => {
    const c = r.changes.find((c) => c.t > restartedAt && c.connection === '');
    return c ? secs(c.t - restartedAt) : 'never';
  };
  t.diagnostic(`restarted at ${secs(restartedAt)}; "Reconnecting to the server…" went away on Ada's page ${rejoined(w.rec.ada)} after it, on Bob's ${rejoined(w.rec.bob)} after it`);
  t.diagnostic(w.rec.ada.timeline());
  t.diagnostic(w.rec.bob.timeline());

  const { check, assertNone } = checks();
  for (const [who, r, other] of /** @type {const} */ ([['Ada', w.rec.ada, 'Bob'], ['Bob', w.rec.bob, 'Ada']])) {
    const states = [...r.states];
    check(!states.includes('ended') && !states.includes('idle'), `${who}'s call never ended (states seen: ${states.join(', ')})`);
    // Media is peer to peer: the picture goes on through the outage, in every 5 s of it.
    for (let from = 0; from < restartedAt - 1000; from += 5000) {
      const to = Math.min(from + 5000, restartedAt);
      check(r.advancedBetween(from, to), `${who}'s picture of ${other} advanced between ${from / 1000} s and ${secs(to)} of the outage`);
    }
    check(r.changes.some((c) => c.t < restartedAt && /Reconnecting to the server… Your call goes on\./.test(c.connection)), `${who}'s page said it was reconnecting to the server and the call goes on`);
    check(r.advancedAfter(restartedAt) !== null, `${who}'s picture of ${other} advances after the restart`);
  }
  assertNone();
  ada.assertNoErrors({ serverOutage: true });
  bob.assertNoErrors({ serverOutage: true });

  await t.test('the call state stays connected through the server outage', () => {
    for (const [who, r] of /** @type {const} */ ([['Ada', w.rec.ada], ['Bob', w.rec.bob]])) {
      const notConnected = r.changes.filter((c) => c.state !== 'connected');
      assert.deepEqual(notConnected.map((c) => `${secs(c.t)}: ${c.state} "${c.callState}"`), [], `${who}'s call state left connected`);
    }
  });
  // Signaling works again between them: a hang-up reaches the other side.
  await bob.button('Hang Up').click();
  await ada.waitForCallState('Call ended', 10_000);
}

test('the signaling server down for 20 s: the pictures keep advancing and the call never ends', async (t) => {
  await serverOutageTest(t, 20_000);
});

test('the signaling server down for 60 s: the pictures keep advancing and the call never ends', async (t) => {
  await serverOutageTest(t, 60_000);
});
