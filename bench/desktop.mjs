//! Desktop-app benchmark: the release app under Xvfb (driven by tauri-driver, as in the desktop
//! tests), measured from outside: launch to first paint, idle memory of the app and its webview
//! processes, the extra memory and CPU of hosting, and, through the native engine with headless
//! Chromium on the other end, call setup time, CPU during a call, paint rate and display latency.
//!
//! Usage: xvfb-run -a node bench/desktop.mjs [--calls 5] [--json]
//! Needs target/release/hearth (npm run package:deb builds it) and target/release/signaling.

import path from 'node:path';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.HEARTH_APP_BIN ??= path.join(ROOT, 'target/release/hearth');
process.env.HEARTH_SIGNALING_BIN ??= path.join(ROOT, 'target/release/signaling');
const { DesktopApp } = await import('../tests/desktop/webdriver.mjs');
const { appTree, memory, cpu, percentile, TICKS } = await import('./apptree.mjs');
const { startServer, launchBrowser, Person, freshRoom, waitFor } = await import('../tests/e2e/harness.mjs');

const { values: opts } = parseArgs({
  options: { calls: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
});
for (const bin of [process.env.HEARTH_APP_BIN, process.env.HEARTH_SIGNALING_BIN]) {
  if (!existsSync(bin)) {
    console.error(`${bin} is missing: run npm run package:deb and cargo build --release -p signaling`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const results = {};
const size = (file) => statSync(file).size / 1e6;
results.binaryMB = size(process.env.HEARTH_APP_BIN);
const debDir = path.join(ROOT, 'target/release/bundle/deb');
const deb = existsSync(debDir) ? readdirSync(debDir).find((f) => f.endsWith('.deb')) : undefined;
if (deb) results.debMB = size(path.join(debDir, deb));

// Launch to first paint, three launches: the page's first contentful paint (its clock) against
// the process's start time (the kernel's, in boot ticks, turned into the same epoch clock).
const firstPaints = [];
for (let i = 0; i < 3; i++) {
  const app = await DesktopApp.launch();
  try {
    const { root, all } = appTree();
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const bootEpochMs = Date.now() - uptime * 1000;
    const startedMs = bootEpochMs + (all.get(root).startTicks / TICKS) * 1000;
    const paintMs = await app.script(`
      const fcp = performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
      return fcp ? performance.timeOrigin + fcp.startTime : null;`);
    if (paintMs !== null) firstPaints.push(paintMs - startedMs);
    if (i === 0) {
      await sleep(5000);
      results.idle = { ...memory(appTree().pids), cpu: await cpu(10_000), processes: appTree().pids.length };
      // Hosting joins the host's own room, which starts the camera: this is hosting with its
      // preview (the native engine capturing and the page painting it).
      await app.fill('Name', 'Bench');
      await app.clickButton('Host a call');
      await app.waitForText('hostRoom', /^[a-z2-9]{4}-/);
      await sleep(5000);
      results.hostingWithPreview = { ...memory(appTree().pids), cpu: await cpu(10_000) };
    }
  } finally {
    await app.quit();
  }
}
// Hosting alone: no native engine and no camera (so no preview), idle before and after.
{
  const app = await DesktopApp.launch({ env: { HEARTH_NATIVE: '0', HEARTH_FAKE_MEDIA: '0' } });
  try {
    await sleep(5000);
    const before = { ...memory(appTree().pids), cpu: await cpu(10_000) };
    await app.fill('Name', 'Bench');
    await app.clickButton('Host a call');
    await app.waitForText('hostRoom', /^[a-z2-9]{4}-/);
    await sleep(5000);
    const after = { ...memory(appTree().pids), cpu: await cpu(10_000) };
    results.hostingAlone = {
      before,
      after,
      extraPssMiB: after.pssMiB - before.pssMiB,
      extraRssMiB: after.rssMiB - before.rssMiB,
      extraCores: after.cpu.total - before.cpu.total,
    };
  } finally {
    await app.quit();
  }
}
results.firstPaintMs = { values: firstPaints.map((v) => Math.round(v)), median: percentile(firstPaints, 0.5) };

// Native calls with Chromium: setup time, then CPU, paint rate and display latency during one.
const server = await startServer();
const browser = await launchBrowser({ fps: 30 });
const app = await DesktopApp.launch();
try {
  const room = freshRoom('bench-native');
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  const guest = await Person.open(browser, `${server.url}/?room=${room}`, 'Gus');
  await guest.joinAndWait(room);
  await app.waitForText('presence', /Gus is here/);
  const setups = [];
  for (let i = 0; i < Number(opts.calls) + 1; i++) {
    const base = await app.script('return hearthNative.painted().remote');
    await app.clickButton('Call');
    const dialog = guest.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' });
    await dialog.waitFor();
    const acceptAt = Date.now();
    await guest.button('Accept').click();
    // The app's first painted frame of this call, stamped in the page on the same clock.
    // Both wait 20 s at most, so a call that never shows a picture ends the run with a reason.
    const firstAt = await app.script(`
      const base = arguments[0];
      const deadline = performance.now() + 20000;
      return await new Promise((resolve, reject) => {
        const check = () => hearthNative.painted().remote > base ? resolve(performance.timeOrigin + performance.now())
          : performance.now() > deadline ? reject(new Error('the app painted no picture within 20 s of Accept')) : setTimeout(check, 2);
        check();
      });`, base);
    const guestFirst = await guest.page.evaluate(() => new Promise((resolve, reject) => {
      const v = /** @type {HTMLVideoElement} */ (document.getElementById('remoteVideo'));
      const deadline = performance.now() + 20000;
      const check = () => v.getVideoPlaybackQuality().totalVideoFrames > 0 ? resolve(performance.timeOrigin + performance.now())
        : performance.now() > deadline ? reject(new Error(`Chromium showed no picture within 20 s of Accept (${v.srcObject ? 'with' : 'without'} a stream)`)) : setTimeout(check, 2);
      check();
    }));
    if (i > 0) setups.push({ app: firstAt - acceptAt, browser: guestFirst - acceptAt });
    console.error(`call ${i}: the app's first frame after ${Math.round(firstAt - acceptAt)} ms, the browser's after ${Math.round(guestFirst - acceptAt)} ms`);
    if (i === Number(opts.calls)) break;
    await app.clickButton('Hang Up');
    await guest.waitForCallState('Call ended', 10_000);
    await sleep(500);
  }
  results.nativeSetupMs = {
    appFirstFrame: { median: percentile(setups.map((s) => s.app), 0.5), p95: percentile(setups.map((s) => s.app), 0.95) },
    browserFirstFrame: { median: percentile(setups.map((s) => s.browser), 0.5), p95: percentile(setups.map((s) => s.browser), 0.95) },
    calls: setups.length,
  };
  // The last call stays up: measure it.
  await sleep(3000);
  const painted0 = await app.script('const p = hearthNative.painted(); return [p.remote, p.preview, performance.now()]');
  const cores = await cpu(10_000);
  const painted1 = await app.script('const p = hearthNative.painted(); return [p.remote, p.preview, performance.now()]');
  const seconds = (painted1[2] - painted0[2]) / 1000;
  const [picture] = await app.script('return hearthNative.remotePictures()');
  const latencies = picture.latencies;
  const [connection] = await app.script('return await hearthNative.connections()');
  const inbound = connection.rtp.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  results.nativeCall = {
    cpu: cores,
    memory: memory(appTree().pids),
    remotePaintedFps: (painted1[0] - painted0[0]) / seconds,
    localPaintedFps: (painted1[1] - painted0[1]) / seconds,
    remoteSize: `${picture.size.width}x${picture.size.height}`,
    displayLatencyMs: { median: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), samples: latencies.length },
    remoteFramesDecoded: connection.remoteFrames,
    inboundVideo: inbound ? { packetsReceived: inbound.packetsReceived, packetsLost: inbound.packetsLost } : null,
  };
  await app.clickButton('Hang Up');
  await guest.close();
} finally {
  await app.quit();
  await browser.close();
  await server.stop();
}

if (opts.json) console.log(JSON.stringify(results));
else console.log(JSON.stringify(results, null, 2));
