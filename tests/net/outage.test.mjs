//! Blackouts of the path during a call across the simulated network (call.mjs: Ada in the guest
//! namespace, Bob and the server in the host namespace): 5, 30 and 60 s (the router forwards
//! nothing, no link goes down), then healed. Both pictures come back within 10 s and the call
//! never ends; meanwhile each tile says "Connection unstable…" within about 3 s, and in the
//! longer ones the call state becomes reconnecting (the 60 s one outlasts the server's patience
//! with a silent connection, so Ada comes back to the room as someone new). What each page showed
//! is polled every 200 ms and printed with the test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_IP } from './netns.mjs';
import { inACall, watch, checks, sleep, secs, RECOVERY_MS, UNSTABLE_WITHIN_MS } from './call.mjs';

/**
 * A blackout of `ms`, healed; asserts what should happen and prints what did.
 * @param {import('node:test').TestContext} t @param {number} ms @param {string} shot screenshot prefix
 */
async function blackoutTest(t, ms, shot) {
  const { net, ada, bob } = await inACall(t);
  const w = watch(t, { ada, bob });
  net.blackout();
  assert.equal(await net.ping('guest', HOST_IP), false, 'the blackout drops packets');
  await sleep(Math.min(ms / 2, 4000) - w.now());
  await Promise.all([ada.screenshot(`${shot}-during-ada.png`), bob.screenshot(`${shot}-during-bob.png`)]);
  await sleep(ms - w.now());
  net.heal();
  const healedAt = w.now();
  assert.equal(await net.ping('guest', HOST_IP), true, 'the heal lets them through again');
  // Both pictures advance again, or the time runs out.
  await Promise.allSettled([ada.tileAdvances('Bob', 10, RECOVERY_MS), bob.tileAdvances('Ada', 10, RECOVERY_MS)]);
  await sleep(1000);
  await Promise.all([ada.screenshot(`${shot}-after-ada.png`), bob.screenshot(`${shot}-after-bob.png`)]);
  await w.stop();
  const back = { ada: w.rec.ada.advancedAfter(healedAt), bob: w.rec.bob.advancedAfter(healedAt) };
  const after = (/** @type {number | null} */ t) => (t === null ? 'never' : secs(t - healedAt));
  t.diagnostic(`healed at ${secs(healedAt)}; Ada's picture of Bob advanced again after ${after(back.ada)}, Bob's of Ada after ${after(back.bob)}`);
  t.diagnostic(w.rec.ada.timeline());
  t.diagnostic(w.rec.bob.timeline());

  const { check, assertNone } = checks();
  for (const [who, r] of /** @type {const} */ ([['Ada', w.rec.ada], ['Bob', w.rec.bob]])) {
    const states = [...r.states];
    check(!states.includes('ended') && !states.includes('idle'), `${who}'s call never ended (states seen: ${states.join(', ')})`);
  }
  check(back.ada !== null && back.ada - healedAt <= RECOVERY_MS, `Ada sees Bob again within ${RECOVERY_MS / 1000} s of the heal (${after(back.ada)})`);
  check(back.bob !== null && back.bob - healedAt <= RECOVERY_MS, `Bob sees Ada again within ${RECOVERY_MS / 1000} s of the heal (${after(back.bob)})`);
  assertNone();

  const each = /** @type {const} */ ([['Ada', w.rec.ada], ['Bob', w.rec.bob]]);
  await t.test(`during the blackout each tile says "Connection unstable…" within ${UNSTABLE_WITHIN_MS / 1000} s`, () => {
    const { check, assertNone } = checks();
    for (const [who, r] of each) {
      const unstable = r.changes.find((c) => c.t <= healedAt && c.tiles.some((tile) => /Connection unstable/.test(tile)));
      check(unstable && unstable.t <= UNSTABLE_WITHIN_MS, `${who}'s tile says "Connection unstable…" within ${UNSTABLE_WITHIN_MS / 1000} s (${unstable ? `at ${secs(unstable.t)}` : 'never'})`);
    }
    assertNone();
  });
  // ICE itself says the link is down after about 5 s of silence: a shorter blackout heals first.
  if (ms < 10_000) return;
  await t.test('during the blackout the call state becomes reconnecting', () => {
    const { check, assertNone } = checks();
    for (const [who, r] of each) {
      const reconnecting = r.changes.find((c) => c.state === 'reconnecting');
      check(reconnecting && reconnecting.t <= healedAt, `${who}'s call state became reconnecting before the heal at ${secs(healedAt)} (${reconnecting ? `at ${secs(reconnecting.t)}` : 'never'})`);
    }
    assertNone();
  });
}

test('a 5 s blackout of the path, healed: both pictures come back and the call never ends', async (t) => {
  await blackoutTest(t, 5_000, 'outage-5s');
});

test('a 30 s blackout of the path, healed: both pictures come back and the call never ends', async (t) => {
  await blackoutTest(t, 30_000, 'outage-30s');
});

test('a 60 s blackout of the path, longer than the server keeps a silent connection: the call never ends and comes back', async (t) => {
  await blackoutTest(t, 60_000, 'outage-60s');
});
