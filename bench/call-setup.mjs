//! Call-setup benchmark: two headless Chromium pages on loopback, through the real server and UI,
//! call each other again and again; each call is timed from the click on Accept to the first
//! remote video frame each side shows. Prints median and p95 (and `--json` for one JSON line).
//!
//! Usage: node bench/call-setup.mjs [--calls 20] [--json]
//! Needs target/release/signaling (cargo build --release -p signaling) or HEARTH_SIGNALING_BIN.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The harness reads this when it is imported, so set it first: a release server, as deployed.
process.env.HEARTH_SIGNALING_BIN ??= path.join(ROOT, 'target/release/signaling');
const { startServer, launchBrowser, Person, freshRoom } = await import('../tests/e2e/harness.mjs');

const { values: opts } = parseArgs({
  options: {
    calls: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const CALLS = Number(opts.calls);

if (!existsSync(process.env.HEARTH_SIGNALING_BIN)) {
  console.error(`${process.env.HEARTH_SIGNALING_BIN} is missing: run cargo build --release -p signaling`);
  process.exit(2);
}

/**
 * Arms the page: the time of the next click on Accept, and of the first frame the remote video
 * presents from now on. Times are epoch milliseconds (timeOrigin + now), comparable across pages
 * of one browser on one machine.
 * @param {import('playwright-core').Page} page
 */
function arm(page) {
  return page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__bench = { acceptAt: null, firstFrameAt: null, mediaAt: null, connectedAt: null };
    const stamp = () => performance.timeOrigin + performance.now();
    if (!w.__benchClicks) {
      w.__benchClicks = true;
      // For the breakdown: when the camera is ready and when the peer connection connects.
      // call.js looks RTCPeerConnection up at call time, so wrapping it now is early enough.
      const Original = window.RTCPeerConnection;
      const Wrapped = function (/** @type {any} */ config) {
        const pc = new Original(config);
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'connected' && w.__bench.connectedAt === null) w.__bench.connectedAt = stamp();
        });
        return pc;
      };
      Wrapped.prototype = Original.prototype;
      Object.setPrototypeOf(Wrapped, Original);
      /** @type {any} */ (window).RTCPeerConnection = Wrapped;
      const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (c) => {
        const stream = await getUserMedia(c);
        if (w.__bench.mediaAt === null) w.__bench.mediaAt = stamp();
        return stream;
      };
      // Capture phase: the instant the person's click lands, before the app reacts to it.
      document.addEventListener('click', (e) => {
        const b = /** @type {Element} */ (e.target).closest?.('button');
        if (b && b.textContent?.trim() === 'Accept') w.__bench.acceptAt = stamp();
      }, true);
    }
    const v = /** @type {HTMLVideoElement} */ (document.getElementById('remoteVideo'));
    const seen = () => { if (w.__bench.firstFrameAt === null) w.__bench.firstFrameAt = stamp(); };
    // requestVideoFrameCallback fires when a frame is handed to the compositor; polling each
    // animation frame is the fallback should it not fire in headless mode.
    v.requestVideoFrameCallback?.(seen);
    const poll = () => {
      if (w.__bench.firstFrameAt !== null) return;
      if (v.srcObject && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 0) seen();
      else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  });
}

/** @param {import('playwright-core').Page} page */
function results(page) {
  return page.evaluate(() => /** @type {any} */ (window).__bench);
}

function percentile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const server = await startServer();
const browser = await launchBrowser();
/** @type {Record<string, number>[]} */
const calls = [];
let failure = null;
try {
  const room = freshRoom('bench');
  const ada = await Person.open(browser, server.url, 'Ada');
  const bob = await Person.open(browser, server.url, 'Bob');
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();

  // One unmeasured call first: the first getUserMedia and codec set-up of a fresh browser are
  // a one-off cost, not what each call costs.
  for (let i = 0; i <= CALLS; i++) {
    await arm(ada.page);
    await arm(bob.page);
    await ada.button('Call').click();
    await bob.page.getByRole('alertdialog').filter({ hasText: 'Ada is calling' }).waitFor();
    await bob.button('Accept').click();
    // A function, not a string: the page's CSP forbids eval.
    const framed = () => /** @type {any} */ (window).__bench?.firstFrameAt !== null;
    await Promise.all([
      ada.page.waitForFunction(framed, null, { timeout: 20_000, polling: 50 }),
      bob.page.waitForFunction(framed, null, { timeout: 20_000, polling: 50 }),
    ]);
    const a = await results(ada.page);
    const b = await results(bob.page);
    if (i > 0) {
      const callee = b.firstFrameAt - b.acceptAt;
      const caller = a.firstFrameAt - b.acceptAt;
      calls.push({
        callee,
        caller,
        both: Math.max(callee, caller),
        calleeCamera: b.mediaAt - b.acceptAt,
        calleeConnected: b.connectedAt - b.acceptAt,
        callerConnected: a.connectedAt - b.acceptAt,
      });
      if (!opts.json) console.log(`call ${i}: callee sees caller after ${callee.toFixed(0)} ms, caller sees callee after ${caller.toFixed(0)} ms`);
    }
    await ada.button('Hang Up').click();
    await ada.waitForCallState('Call ended', 5000);
    await bob.waitForCallState('Call ended', 5000);
  }
  ada.assertNoErrors();
  bob.assertNoErrors();
} catch (e) {
  failure = e;
} finally {
  await browser.close();
  await server.stop();
}
if (failure) throw failure;

const summary = {
  calls: calls.length,
  acceptToFirstFrameMs: Object.fromEntries(['callee', 'caller', 'both', 'calleeCamera', 'calleeConnected', 'callerConnected'].map((k) => {
    const v = calls.map((c) => c[k]);
    return [k, { median: percentile(v, 0.5), p95: percentile(v, 0.95), min: Math.min(...v), max: Math.max(...v) }];
  })),
  load: os.loadavg(),
};
if (opts.json) {
  console.log(JSON.stringify(summary));
} else {
  for (const [k, s] of Object.entries(summary.acceptToFirstFrameMs)) {
    const who = {
      callee: 'first remote frame, callee (sees the caller)',
      caller: 'first remote frame, caller (sees the callee)',
      both: 'first remote frame, both sides (the later of the two)',
      calleeCamera: "callee's camera ready (breakdown)",
      calleeConnected: "callee's peer connection connected (breakdown)",
      callerConnected: "caller's peer connection connected (breakdown)",
    }[k];
    console.log(`calls: Accept to ${who}: median ${s.median.toFixed(0)} ms, p95 ${s.p95.toFixed(0)} ms, min ${s.min.toFixed(0)} ms, max ${s.max.toFixed(0)} ms over ${summary.calls} calls`);
  }
  const ok = summary.acceptToFirstFrameMs.both.median < 500;
  console.log(`calls: target median < 500 ms on both sides: ${ok ? 'met' : 'MISSED'}`);
}
