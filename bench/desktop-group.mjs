//! Desktop-app group benchmark: the app (native engine, one connection per person) in a call of
//! four with three headless Chromium guests sending 640x360 at 30 fps. Once the call has settled:
//! the cores of the app and its WebKit processes, each of the three remote pictures' painted
//! frame rate in the app, and what the guests see of the app. Run once per way of encoding
//! (`--encoding per-peer`, the default, or `shared`: HEARTH_ENCODING for the app).
//!
//! Usage: xvfb-run -a node bench/desktop-group.mjs [--encoding per-peer|shared] [--seconds 15] [--json]
//! Needs target/release/hearth and target/release/signaling (cargo build --release -p hearth
//! -p signaling), or HEARTH_APP_BIN and HEARTH_SIGNALING_BIN.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.HEARTH_APP_BIN ??= path.join(ROOT, 'target/release/hearth');
process.env.HEARTH_SIGNALING_BIN ??= path.join(ROOT, 'target/release/signaling');
const { DesktopApp } = await import('../tests/desktop/webdriver.mjs');
const { cpu, memory, appTree, percentile } = await import('./apptree.mjs');
const { startServer, launchBrowser, Person, freshRoom, waitFor } = await import('../tests/e2e/harness.mjs');

const { values: opts } = parseArgs({
  options: {
    encoding: { type: 'string', default: 'per-peer' },
    seconds: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
  },
});
if (!['per-peer', 'shared'].includes(opts.encoding)) {
  console.error('--encoding is per-peer or shared');
  process.exit(2);
}
for (const bin of [process.env.HEARTH_APP_BIN, process.env.HEARTH_SIGNALING_BIN]) {
  if (!existsSync(bin)) {
    console.error(`${bin} is missing: run cargo build --release -p hearth -p signaling`);
    process.exit(2);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = Number(opts.seconds);

const server = await startServer();
const browser = await launchBrowser({ fps: 30 });
const app = await DesktopApp.launch({ env: { HEARTH_ENCODING: opts.encoding } });
const guests = [];
const results = { encoding: opts.encoding };
try {
  const room = freshRoom('bench-group');
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  for (const name of ['Ada', 'Bob', 'Cleo']) {
    const guest = await Person.open(browser, `${server.url}/?room=${room}`, name, { camera: { width: 640, height: 360 } });
    await guest.joinAndWait(room);
    guests.push(guest);
  }
  await app.waitForText('presence', /are here/);
  const callAt = Date.now();
  await app.clickButton('Call');
  for (const guest of guests) {
    await guest.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' }).waitFor();
    await guest.button('Accept').click();
  }
  await waitFor(async () => (await app.script('return hearthNative.remotePictures()')).filter((p) => p.painted > 0).length === 3,
    30_000, 'the app to paint all three guests');
  results.allPaintedAfterMs = Date.now() - callAt;
  await sleep(5000);

  const before = await app.script('return hearthNative.remotePictures()');
  const guestsBefore = await Promise.all(guests.map((g) => g.tileFrames('Nell')));
  const cores = await cpu(seconds * 1000);
  // Anything else running on the machine shows here (the benchmark's own processes included).
  results.loadAverage1m = loadavg()[0];
  const after = await app.script('return hearthNative.remotePictures()');
  const guestsAfter = await Promise.all(guests.map((g) => g.tileFrames('Nell')));
  const rate = (a, b) => Math.round(((b - a) / seconds) * 10) / 10;
  results.app = {
    cores: cores.total,
    byProcess: cores.byProcess,
    memory: memory(appTree().pids),
    tiles: after.map((p) => {
      const start = before.find((b) => b.name === p.name);
      return {
        who: p.label,
        size: `${p.size.width}x${p.size.height}`,
        paintedFps: rate(start?.painted ?? 0, p.painted),
        displayLatencyMedianMs: Math.round(percentile(p.latencies, 0.5)),
      };
    }),
  };
  results.chromiumCores = cores.chromium;
  results.guestsSeeTheAppFps = guests.map((g, i) => ({ who: g.name, fps: rate(guestsBefore[i], guestsAfter[i]) }));
  const connections = await app.script('return await hearthNative.connections()');
  results.appSends = connections.map((c) => c.rtp.filter((s) => s.type === 'outbound-rtp' && s.kind === 'video')
    .map((s) => ({ framesEncoded: s.framesEncoded ?? null, bytesSent: s.bytesSent ?? null }))[0] ?? null);
} finally {
  for (const guest of guests) await guest.close().catch(() => {});
  await app.quit();
  await browser.close();
  await server.stop();
}

if (opts.json) console.log(JSON.stringify(results));
else console.log(JSON.stringify(results, null, 2));
