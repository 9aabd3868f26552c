//! A call across the simulated network (netns.mjs) for the outage tests: Ada in the guest
//! namespace, Bob and the server in the host namespace, both pictures advancing; a recorder of
//! what both pages show; and checks that name every promise broken, not only the first.

import assert from 'node:assert/strict';
import { freshRoom, connectCall } from '../e2e/harness.mjs';
import { Network } from './netns.mjs';
import { browserIn, openPerson, record } from './scene.mjs';

/** No STUN or TURN unless a test gives them, whatever this process's environment or a .env says. */
export const NO_ICE = { RUST_LOG: 'error', STUN_SERVER_ID: '', TURN_URLS: '', TURN_USERNAME: '', TURN_CREDENTIAL: '', TURN_SECRET: '' };

/** How long the pictures have to come back after a heal. */
export const RECOVERY_MS = 10_000;
/** How soon a tile has to say the connection is unstable once the path is dark. */
export const UNSTABLE_WITHIN_MS = 3500;

export const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The network, the server, a Chromium in each namespace, and Ada (guest) and Bob (host) in a call
 * with both pictures advancing.
 * @param {import('node:test').TestContext} t
 * @param {{nat?: boolean, turn?: boolean, stun?: boolean, forceRelay?: boolean}} [options] nat:
 *   the guest behind NAT; turn: coturn as TURN in the host namespace; stun: coturn as STUN only,
 *   there; forceRelay: every connection relay-only (the page has no such setting: the test wraps
 *   RTCPeerConnection)
 */
export async function inACall(t, { nat = false, turn = false, stun = false, forceRelay = false } = {}) {
  const net = new Network({ nat });
  /** @type {import('playwright-core').Browser[]} */
  const browsers = [];
  t.after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await net.close();
  });
  const coturn = turn || stun ? await net.startTurn({ where: 'host', stunOnly: !turn }) : null;
  const server = await net.startServer({ env: { ...NO_ICE, ...coturn?.env } });
  const bobBrowser = await browserIn(net.ns.host, server.url);
  browsers.push(bobBrowser);
  const adaBrowser = await browserIn(net.ns.guest, server.url);
  browsers.push(adaBrowser);
  const ada = await openPerson(adaBrowser, server.url, 'Ada', { forceRelay });
  const bob = await openPerson(bobBrowser, server.url, 'Bob', { forceRelay });
  const room = freshRoom('net');
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
export function watch(t, { ada, bob }) {
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
export function checks() {
  /** @type {string[]} */
  const failed = [];
  return {
    check(ok, what) { if (!ok) failed.push(what); },
    assertNone() { assert.deepEqual(failed, [], 'what should have happened and did not'); },
  };
}

/** @param {number} ms */
export const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
