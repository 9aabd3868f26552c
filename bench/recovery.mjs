//! Recovery benchmark, across the simulated network of tests/net (a host, a router and a guest
//! namespace): how soon a call's pictures come back after a blackout of the path heals, between
//! two browsers and between the desktop app and a browser, and how soon both pages are whole
//! again (server reachable, the other person listed) after the signaling server restarts.
//! Each case runs `--runs` times in one call; the median, fastest and slowest are printed.
//!
//! Usage (as root, under an X server for the app): xvfb-run -a node bench/recovery.mjs
//!   [--runs 5] [--blackout-seconds 10] [--only browsers|app] [--json]
//! Needs target/release/signaling and target/release/hearth (cargo build --release -p signaling
//! -p hearth), or HEARTH_SIGNALING_BIN and HEARTH_APP_BIN.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.HEARTH_SIGNALING_BIN ??= path.join(ROOT, 'target/release/signaling');
process.env.HEARTH_APP_BIN ??= path.join(ROOT, 'target/release/hearth');
for (const bin of [process.env.HEARTH_SIGNALING_BIN, process.env.HEARTH_APP_BIN]) {
  if (!existsSync(bin)) {
    console.error(`${bin} is missing: run cargo build --release -p signaling -p hearth`);
    process.exit(2);
  }
}
const { freshRoom, connectCall, waitFor } = await import('../tests/e2e/harness.mjs');
const { DesktopApp } = await import('../tests/desktop/webdriver.mjs');
const { Network, HOST_IP } = await import('../tests/net/netns.mjs');
const { browserIn, openPerson } = await import('../tests/net/scene.mjs');
const { NO_ICE, sleep } = await import('../tests/net/call.mjs');

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    'blackout-seconds': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const RUNS = Number(opts.runs);
const BLACKOUT_MS = Number(opts['blackout-seconds']) * 1000;
/** A side not back this long after the heal counts as not recovered. */
const GIVE_UP_MS = 60_000;

/**
 * Milliseconds until `frames()` has advanced by 5, polled every 50 ms; null if never. A count that
 * starts again (a new connection's picture) counts from its lowest.
 */
async function untilAdvanced(frames, start) {
  let low = await frames();
  for (;;) {
    const now = Date.now() - start;
    if (now > GIVE_UP_MS) return null;
    const count = await frames().catch(() => low);
    low = Math.min(low, count);
    if (count >= low + 5) return now;
    await sleep(50);
  }
}

/** A blackout of the path, healed; ms from the heal until each side's picture advanced again. */
async function blackout(net, sides) {
  net.blackout();
  await sleep(BLACKOUT_MS);
  net.heal();
  const start = Date.now();
  return Object.fromEntries(await Promise.all(Object.entries(sides).map(async ([name, frames]) => [name, await untilAdvanced(frames, start)])));
}

/** Median, fastest and slowest of the runs that recovered, and how many did not. */
function summary(values) {
  const done = values.filter((v) => v !== null).sort((a, b) => a - b);
  const median = done.length ? done[Math.floor((done.length - 1) / 2)] : null;
  return { median, min: done[0] ?? null, max: done.at(-1) ?? null, failed: values.length - done.length, runs: values };
}

const results = {};

// Two browsers: Ada in the guest namespace, Bob (and the server) in the host namespace.
if (opts.only !== 'app') {
  const net = new Network();
  const server = await net.startServer({ env: NO_ICE });
  const browsers = [await browserIn(net.ns.guest, server.url), await browserIn(net.ns.host, server.url)];
  try {
    const ada = await openPerson(browsers[0], server.url, 'Ada');
    const bob = await openPerson(browsers[1], server.url, 'Bob');
    const room = freshRoom('bench-recovery');
    await ada.joinAndWait(room);
    await bob.joinAndWait(room);
    await ada.page.getByText('Bob is here', { exact: true }).waitFor();
    await connectCall(ada, bob);
    const runs = { ada: [], bob: [] };
    for (let i = 0; i < RUNS; i += 1) {
      await Promise.all([ada.tileAdvances('Bob', 10, GIVE_UP_MS), bob.tileAdvances('Ada', 10, GIVE_UP_MS)]);
      const back = await blackout(net, { ada: () => ada.tileFrames('Bob'), bob: () => bob.tileFrames('Ada') });
      runs.ada.push(back.ada);
      runs.bob.push(back.bob);
      console.error(`browsers, run ${i + 1}: Ada sees Bob again after ${back.ada} ms, Bob sees Ada after ${back.bob} ms`);
    }
    results.browserBlackout = { ada: summary(runs.ada), bob: summary(runs.bob) };

    // The server killed and started again at once: until both pages are whole (the server line
    // gone, the other person listed).
    const whole = [];
    for (let i = 0; i < RUNS; i += 1) {
      await server.kill();
      const start = Date.now();
      await server.restart();
      await Promise.all([[ada, 'Bob'], [bob, 'Ada']].map(async ([p, other]) => {
        await p.page.getByText(`${other} is here`, { exact: true }).waitFor({ timeout: GIVE_UP_MS });
        await p.page.locator('#connection').waitFor({ state: 'hidden', timeout: GIVE_UP_MS });
      }));
      whole.push(Date.now() - start);
      console.error(`server restart, run ${i + 1}: both pages whole after ${whole.at(-1)} ms`);
      await sleep(2000);
    }
    results.serverRestart = summary(whole);
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    await net.close();
  }
}

// The desktop app (native engine) in the host namespace, Ada in the guest namespace.
if (opts.only !== 'browsers') {
  const net = new Network();
  const server = await net.startServer({ env: NO_ICE });
  const browser = await browserIn(net.ns.guest, server.url);
  const app = await DesktopApp.launch({ netns: net.ns.host });
  try {
    const room = freshRoom('bench-recovery-app');
    await app.joinRoom({ name: 'Nell', server: `${HOST_IP}:${server.port}`, room });
    const ada = await openPerson(browser, server.url, 'Ada');
    await ada.joinAndWait(room);
    await app.waitForText('presence', /Ada is here/, 30_000);
    await app.callWith(ada, 'Nell');
    const painted = () => app.script(`return Number(document.querySelector('canvas[aria-label="Video of Ada"]')?.dataset.frames ?? -1)`);
    const runs = { app: [], ada: [] };
    for (let i = 0; i < RUNS; i += 1) {
      let low = await painted();
      await waitFor(async () => {
        const count = await painted();
        low = Math.min(low, count);
        return count >= low + 10;
      }, GIVE_UP_MS, 'the app to paint Ada');
      await ada.tileAdvances('Nell', 10, GIVE_UP_MS);
      const back = await blackout(net, { app: painted, ada: () => ada.tileFrames('Nell') });
      runs.app.push(back.app);
      runs.ada.push(back.ada);
      console.error(`app, run ${i + 1}: the app paints Ada again after ${back.app} ms, Ada sees Nell after ${back.ada} ms`);
    }
    results.appBlackout = { app: summary(runs.app), ada: summary(runs.ada) };
  } finally {
    await app.quit();
    await browser.close().catch(() => {});
    await net.close();
  }
}

if (opts.json) {
  console.log(JSON.stringify({ blackoutMs: BLACKOUT_MS, runs: RUNS, ...results }, null, 2));
} else {
  const line = (what, s) => console.log(`${what.padEnd(44)} median ${s.median} ms, fastest ${s.min}, slowest ${s.max}${s.failed ? `, ${s.failed} never` : ''}`);
  console.log(`Recovery after a ${BLACKOUT_MS / 1000} s blackout, ${RUNS} runs each:`);
  if (results.browserBlackout) {
    line('browser (Ada) sees Bob again', results.browserBlackout.ada);
    line('browser (Bob) sees Ada again', results.browserBlackout.bob);
    line('server restart: both pages whole', results.serverRestart);
  }
  if (results.appBlackout) {
    line('app paints Ada again', results.appBlackout.app);
    line('browser (Ada) sees the app again', results.appBlackout.ada);
  }
}
