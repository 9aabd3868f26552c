//! The desktop app's native engine through outages across the simulated network: Nell (the app)
//! and the server in the host namespace, Ada (Chromium) in the guest namespace. A 30 s blackout
//! of the path, healed: both pictures come back and the call never ends; then the server down for
//! 20 s: both pictures keep advancing and the call stays connected. Runs under an X server (the
//! app's window); the app's WebDriver is reached through a portal into its namespace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshRoom, waitFor } from '../e2e/harness.mjs';
import { DesktopApp } from '../desktop/webdriver.mjs';
import { Network, HOST_IP } from './netns.mjs';
import { browserIn, openPerson, record } from './scene.mjs';
import { NO_ICE, RECOVERY_MS, sleep, secs, checks } from './call.mjs';

/** What the app shows, as the recorder of a page would read it, and the frames painted of Ada. */
function recordApp(app, t0, everyMs = 250) {
  /** @type {Array<{t: number, state: string, callState: string, connection: string, painted: number}>} */
  const readings = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now() - t0;
      const now = await app.script(`return {
        state: document.getElementById('callState').dataset.state,
        callState: document.getElementById('callState').textContent,
        connection: document.getElementById('connection').hidden ? '' : document.getElementById('connection').textContent,
        painted: Number(document.querySelector('canvas[aria-label="Video of Ada"]')?.dataset.frames ?? -1),
      }`).catch((e) => ({ state: '?', callState: String(e.message).split('\n')[0], connection: '', painted: -1 }));
      readings.push({ t, ...now });
      await sleep(everyMs);
    }
  })();
  return {
    readings,
    async stop() { stopped = true; await loop; },
    states: () => new Set(readings.map((r) => r.state)),
    /** When the app's picture of Ada first advanced by `count` after `fromT`, or null. */
    advancedAfter(fromT, count = 5) {
      const base = readings.filter((r) => r.t <= fromT).at(-1)?.painted ?? 0;
      return readings.find((r) => r.t > fromT && r.painted >= base + count)?.t ?? null;
    },
    advancedBetween(from, to, count = 3) {
      const inside = readings.filter((r) => r.t >= from && r.t <= to);
      return inside.length > 1 && inside.at(-1).painted - inside[0].painted >= count;
    },
    lines() {
      const out = [];
      let last = '';
      for (const r of readings) {
        const key = `${r.state} "${r.callState}" ${r.connection}`;
        if (key !== last) out.push(`  ${(r.t / 1000).toFixed(1).padStart(6)} s  Nell: [${r.state}] "${r.callState}"${r.connection ? ` | connection "${r.connection}"` : ''} (painted ${r.painted})`);
        last = key;
      }
      return out;
    },
  };
}

let net;
let server;
let browser;
/** @type {DesktopApp} */
let app;
let ada;

test.before(async () => {
  net = new Network();
  server = await net.startServer({ env: NO_ICE });
  browser = await browserIn(net.ns.guest, server.url);
  app = await DesktopApp.launch({ netns: net.ns.host });
});
test.after(async () => {
  await app?.quit();
  await browser?.close();
  await net?.close();
});

async function inACallWithTheApp() {
  const room = freshRoom('net-app');
  await app.joinRoom({ name: 'Nell', server: `${HOST_IP}:${server.port}`, room });
  ada = await openPerson(browser, server.url, 'Ada');
  await ada.joinAndWait(room);
  await app.waitForText('presence', /Ada is here/);
  await app.callWith(ada, 'Nell');
  await ada.tileAdvances('Nell', 10, 30_000);
  const painted = () => app.script(`return Number(document.querySelector('canvas[aria-label="Video of Ada"]')?.dataset.frames ?? -1)`);
  await waitFor(async () => (await painted()) >= 20, 20_000, 'the app to paint Ada');
}

test('a 30 s blackout between the app and a browser, healed: both pictures come back and the call never ends', async (t) => {
  await inACallWithTheApp();
  const t0 = Date.now();
  const rec = { nell: recordApp(app, t0), ada: record(ada, 'Nell', t0) };
  net.blackout();
  await sleep(30_000);
  net.heal();
  const healedAt = Date.now() - t0;
  await Promise.allSettled([
    ada.tileAdvances('Nell', 10, RECOVERY_MS),
    waitFor(async () => rec.nell.advancedAfter(healedAt) !== null, RECOVERY_MS, 'the app to paint Ada again'),
  ]);
  await sleep(1000);
  await app.screenshot('net-app-after-blackout.png');
  await rec.nell.stop();
  await rec.ada.stop();
  for (const line of [...rec.nell.lines(), ...rec.ada.lines()]) t.diagnostic(line);
  const back = { nell: rec.nell.advancedAfter(healedAt), ada: rec.ada.advancedAfter(healedAt) };
  const after = (x) => (x === null ? 'never' : secs(x - healedAt));
  t.diagnostic(`healed at ${secs(healedAt)}; the app painted Ada again after ${after(back.nell)}, Ada's picture of Nell advanced after ${after(back.ada)}`);

  const { check, assertNone } = checks();
  check(![...rec.nell.states()].some((s) => s === 'ended' || s === 'idle'), `the app's call never ended (states: ${[...rec.nell.states()].join(', ')})`);
  check(![...rec.ada.states].some((s) => s === 'ended' || s === 'idle'), `Ada's call never ended (states: ${[...rec.ada.states].join(', ')})`);
  check(rec.nell.readings.some((r) => r.t < healedAt && r.state === 'reconnecting'), 'the app said it was reconnecting during the blackout');
  check(back.nell !== null && back.nell - healedAt <= RECOVERY_MS, `the app paints Ada again within ${RECOVERY_MS / 1000} s (${after(back.nell)})`);
  check(back.ada !== null && back.ada - healedAt <= RECOVERY_MS, `Ada sees Nell again within ${RECOVERY_MS / 1000} s (${after(back.ada)})`);
  assertNone();
});

test('the server down for 20 s during a call with the app: both pictures keep advancing, the call stays connected', async (t) => {
  const t0 = Date.now();
  const rec = { nell: recordApp(app, t0), ada: record(ada, 'Nell', t0) };
  await server.kill();
  await sleep(20_000);
  const restartedAt = Date.now() - t0;
  await server.restart();
  await app.waitForText('presence', /Ada is here/, 30_000);
  await sleep(2000);
  await rec.nell.stop();
  await rec.ada.stop();
  for (const line of [...rec.nell.lines(), ...rec.ada.lines()]) t.diagnostic(line);
  const { check, assertNone } = checks();
  for (let from = 0; from < restartedAt - 1000; from += 5000) {
    const to = Math.min(from + 5000, restartedAt);
    check(rec.nell.advancedBetween(from, to), `the app painted Ada between ${from / 1000} s and ${secs(to)}`);
    check(rec.ada.advancedBetween(from, to), `Ada's picture of Nell advanced between ${from / 1000} s and ${secs(to)}`);
  }
  check([...rec.nell.states()].every((s) => s === 'connected'), `the app's call stayed connected (states: ${[...rec.nell.states()].join(', ')})`);
  check(rec.nell.readings.some((r) => /Reconnecting to the server… Your call goes on\./.test(r.connection)), 'the app said the server is away and the call goes on');
  assertNone();
  await ada.button('Hang Up').click();
  await app.waitForText('callState', /Call ended/, 10_000);
  assert.deepEqual(ada.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), [], 'Ada\'s page had no errors');
});
