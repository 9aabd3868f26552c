//! Outages during a call across the simulated network (netns.mjs): Ada in the guest namespace,
//! Bob and the server in the host namespace. A 5 s and a 30 s blackout of the path (the router
//! forwards nothing, no link goes down), then healed: both pictures come back within 10 s and the
//! call never ends; meanwhile each tile says "Connection unstable…" within about 3 s and the call
//! state becomes reconnecting. The signaling server killed for 20 s: media is peer to peer, so
//! both pictures keep advancing, the call stays connected, and the pages say they are reconnecting
//! to the server. What each page showed is polled every 200 ms and printed with the test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshRoom, connectCall } from '../e2e/harness.mjs';
import { Network, HOST_IP } from './netns.mjs';
import { browserIn, openPerson, record } from './scene.mjs';

const NO_ICE = { RUST_LOG: 'error', STUN_SERVER_ID: '', TURN_URLS: '', TURN_USERNAME: '', TURN_CREDENTIAL: '', TURN_SECRET: '' };

/** How long the pictures have to come back after a heal. */
const RECOVERY_MS = 10_000;
/** How soon a tile has to say the connection is unstable once the path is dark. */
const UNSTABLE_WITHIN_MS = 3500;

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The network (guest routed, no NAT), the server, a Chromium in each namespace, and Ada and Bob
 * in a call with both pictures advancing.
 * @param {import('node:test').TestContext} t
 */
async function inACall(t) {
  const net = new Network();
  /** @type {import('playwright-core').Browser[]} */
  const browsers = [];
  t.after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await net.close();
  });
  const server = await net.startServer({ env: NO_ICE });
  const bobBrowser = await browserIn(net.ns.host, server.url);
  browsers.push(bobBrowser);
  const adaBrowser = await browserIn(net.ns.guest, server.url);
  browsers.push(adaBrowser);
  const ada = await openPerson(adaBrowser, server.url, 'Ada');
  const bob = await openPerson(bobBrowser, server.url, 'Bob');
  const room = freshRoom('outage');
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await bob.page.getByText('Ada is here', { exact: true }).waitFor();
  await connectCall(ada, bob);
  await Promise.all([ada.tileAdvances('Bob'), bob.tileAdvances('Ada')]);
  return { net, server, ada, bob };
}

/**
 * Starts recording both pages; `report()` prints what each showed, and the page errors.
 * @param {import('node:test').TestContext} t
 * @param {{ada: import('../e2e/harness.mjs').Person, bob: import('../e2e/harness.mjs').Person}} people
 */
function watch(t, { ada, bob }) {
  const t0 = Date.now();
  const rec = { ada: record(ada, 'Bob', t0), bob: record(bob, 'Ada', t0) };
  return {
    t0,
    rec,
    now: () => Date.now() - t0,
    async stop() {
      await rec.ada.stop();
      await rec.bob.stop();
      t.diagnostic('what the pages showed (seconds since the outage began):');
      for (const line of [...rec.ada.lines(), ...rec.bob.lines()]) t.diagnostic(line);
      for (const p of [ada, bob]) if (p.errors.length) t.diagnostic(`${p.name}'s page logged: ${p.errors.join(' | ')}`);
    },
  };
}

/**
 * Checks that each say what went wrong, gathered so that a failing test names every one.
 * @returns {{check(ok: unknown, what: string): void, assertNone(): void}}
 */
function checks() {
  /** @type {string[]} */
  const failed = [];
  return {
    check(ok, what) { if (!ok) failed.push(what); },
    assertNone() { assert.deepEqual(failed, [], 'what should have happened and did not'); },
  };
}

/** @param {number} ms */
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

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

test('the signaling server down for 20 s: the pictures keep advancing and the call never ends', async (t) => {
  const { server, ada, bob } = await inACall(t);
  const w = watch(t, { ada, bob });
  await server.kill();
  await sleep(10_000);
  await Promise.all([ada.screenshot('outage-server-during-ada.png'), bob.screenshot('outage-server-during-bob.png')]);
  await sleep(20_000 - w.now());
  const restartedAt = w.now();
  await server.restart();
  // Both pages find the server again.
  await Promise.allSettled([ada, bob].map((p) => p.page.locator('#connection').waitFor({ state: 'hidden', timeout: 15_000 })));
  await Promise.allSettled([ada.tileAdvances('Bob', 10, RECOVERY_MS), bob.tileAdvances('Ada', 10, RECOVERY_MS)]);
  await sleep(1000);
  await Promise.all([ada.screenshot('outage-server-after-ada.png'), bob.screenshot('outage-server-after-bob.png')]);
  await w.stop();
  const rejoined = (/** @type {ReturnType<typeof record>} */ r) => {
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
    check(r.changes.some((c) => c.t < restartedAt && /Reconnecting to the server/.test(c.connection)), `${who}'s page said it was reconnecting to the server during the outage`);
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
});
