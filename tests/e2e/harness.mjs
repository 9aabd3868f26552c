//! Test harness for the end-to-end tests: the real signaling binary on a loopback port, Debian's
//! Chromium with fake camera and microphone driven by playwright-core, and helpers that look at
//! the page the way a person would (labelled fields, named buttons, what the videos show).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import { before, after, afterEach } from 'node:test';
import { chromium } from 'playwright-core';
import { AXE_SOURCE, AXE_OPTIONS, seriousViolations } from '../accessibility.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_BIN = process.env.HEARTH_SIGNALING_BIN ?? path.join(ROOT, 'target/debug/signaling');
export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-results');

/** Flags for a real WebRTC call on loopback with fake devices and no network beyond it. */
export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Starts the signaling binary. `port` 0 picks a free one. With `netns`, it runs inside that
 * network namespace (`ip netns exec`, as root) on `host`, an address of the namespace, instead
 * of on loopback (tests/net/).
 * @param {{port?: number, env?: Record<string, string>, netns?: string, host?: string}} [options]
 */
export async function startServer({ port = 0, env = {}, netns, host = '127.0.0.1' } = {}) {
  const addr = ['--addr', `${host}:${port}`];
  // `ip netns exec` execs the server in place, so the child is the server itself.
  const [file, args] = netns ? ['ip', ['netns', 'exec', netns, SERVER_BIN, ...addr]] : [SERVER_BIN, addr];
  const child = spawn(file, args, {
    env: { ...process.env, RUST_LOG: 'warn', ...env },
    // stderr through this process, so a server that outlived its test could not hold the test
    // runner's pipe open.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(process.stderr, { end: false });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => { throw new Error(`signaling exited with ${code} before listening`); }),
  ]);
  const match = /^listening on (http:\/\/([\d.]+):(\d+))$/.exec(line);
  assert.ok(match && match[2] === host, `unexpected first line from signaling: ${line}`);
  const exited = once(child, 'exit');
  return {
    url: match[1],
    port: Number(match[3]),
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
    /** Ends it at once (SIGKILL), as a crash or a pulled plug would. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * @param {{deny?: boolean, cameras?: number, fps?: number, netns?: string, args?: string[]}} [options]
 *   deny: camera and microphone prompts are refused; cameras: how many fake cameras (Chromium's
 *   second one is a depth camera, its third an ordinary one); fps: their frame rate (Chromium's own
 *   default is 20); netns: run Chromium inside this network namespace (as root, through a small
 *   wrapper script that `ip netns exec`s it); args: more flags for Chromium
 */
export async function launchBrowser({ deny = false, cameras = 3, fps, netns, args: extra = [] } = {}) {
  const fake = `device-count=${cameras}${fps ? `,fps=${fps}` : ''}`;
  let args = CHROMIUM_ARGS.map((a) => (a === '--use-fake-device-for-media-stream' ? `${a}=${fake}` : a));
  if (deny) args = [...args.filter((a) => a !== '--use-fake-ui-for-media-stream'), '--deny-permission-prompts'];
  args = [...args, ...extra];
  if (!netns) return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
  // Named like tests/net/netns.mjs's own, so that a run that crashed has it removed as stale.
  const dir = mkdtempSync(path.join(tmpdir(), `hearth-${process.pid}-chromium-`));
  const executablePath = path.join(dir, 'chromium');
  // `exec` twice, so that the process playwright started (and kills) is Chromium itself.
  writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec '${netns}' '${CHROMIUM}' "$@"\n`, { mode: 0o755 });
  const browser = await chromium.launch({ executablePath, args, headless: true });
  browser.on('disconnected', () => rmSync(dir, { recursive: true, force: true }));
  return browser;
}

/**
 * One person: a separate browser context with its own page, which must stay free of uncaught errors.
 */
export class Person {
  /** @param {import('playwright-core').Page} page @param {string} name */
  constructor(page, name) {
    this.page = page;
    this.name = name;
    /** @type {string[]} */
    this.errors = [];
    page.on('pageerror', (e) => this.errors.push(`uncaught: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') this.errors.push(`console: ${m.text()}`); });
  }

  /**
   * @param {import('playwright-core').Browser} browser
   * @param {string} url the server
   * @param {string} name
   * @param {{viewport?: {width: number, height: number}, cameraDelayMs?: number, small?: boolean, camera?: {width: number, height: number}, prepare?: (context: import('playwright-core').BrowserContext) => Promise<void>}} [options]
   *   cameraDelayMs: every camera and microphone takes this long to open, as a slow or busy device
   *   does; small: the camera gives 320x240 pictures, so that four pages encoding for three others
   *   each fit on two cores (the test stands in for the device, not for the page); camera: the
   *   camera's picture size, for another size than small; prepare: called with the new context
   *   before the page opens (a test's own init scripts)
   */
  static async open(browser, url, name, options = {}) {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
    await options.prepare?.(context);
    const size = options.small ? { width: 320, height: 240 } : options.camera ?? null;
    if (options.cameraDelayMs || size) {
      await context.addInitScript(([delay, size]) => {
        const devices = navigator.mediaDevices;
        const open = devices.getUserMedia.bind(devices);
        devices.getUserMedia = async (constraints) => {
          if (delay) await new Promise((r) => setTimeout(r, delay));
          if (size && constraints?.video) {
            const video = typeof constraints.video === 'object' ? constraints.video : {};
            constraints = { ...constraints, video: { ...video, width: { exact: size.width }, height: { exact: size.height } } };
          }
          return open(constraints);
        };
      }, /** @type {const} */ ([options.cameraDelayMs ?? 0, size]));
    }
    const page = await context.newPage();
    await page.goto(url);
    return new Person(page, name);
  }

  button(name) {
    return this.page.getByRole('button', { name, exact: true });
  }

  /** Types name and room into the labelled fields and presses Join. */
  async join(room) {
    await this.page.getByLabel('Name').fill(this.name);
    await this.page.getByLabel('Room').fill(room);
    await this.button('Join').click();
  }

  /** Joins and waits until the room view is up. */
  async joinAndWait(room) {
    await this.join(room);
    await this.page.getByRole('button', { name: 'Leave' }).waitFor();
  }

  /** The text of the call state line. */
  callState() {
    return this.page.locator('#callState').textContent();
  }

  async waitForCallState(text, timeout = 15_000) {
    await this.page.locator('#callState').filter({ hasText: text }).waitFor({ timeout });
  }

  async waitForNotice(pattern, timeout = 15_000) {
    await this.page.getByRole('alert').filter({ hasText: pattern }).first().waitFor({ timeout });
  }

  /** Decoded frames of a video element so far. @param {'remoteVideo'|'localVideo'} id */
  frames(id = 'remoteVideo') {
    return this.page.evaluate((id) => {
      const v = /** @type {HTMLVideoElement} */ (document.getElementById(id));
      return v.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
    }, id);
  }

  /** Decoded frames of `who`'s tile (the video labelled "Video of WHO"). @param {string} who */
  tileFrames(who) {
    return this.page.evaluate((label) => {
      const v = /** @type {HTMLVideoElement | null} */ (document.querySelector(`video[aria-label="${label}"]`));
      return v?.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
    }, `Video of ${who}`);
  }

  /** Waits until `who`'s tile has shown `count` more frames than now. */
  async tileAdvances(who, count = 15, timeout = 30_000) {
    const start = await this.tileFrames(who);
    await waitFor(async () => (await this.tileFrames(who)) >= start + count, timeout, `${this.name}'s tile of ${who} to advance ${count} frames from ${start}`);
  }

  /** Peak level (0..1) of the sound `who`'s tile plays, over `ms`. @param {string} who */
  tileAudioPeak(who, ms = 1500) {
    return this.#audioPeak(`video[aria-label="Video of ${who}"]`, ms);
  }

  /** Waits until the video element has shown `count` more frames than now. */
  async framesAdvance(count = 20, id = 'remoteVideo', timeout = 20_000) {
    const start = await this.frames(id);
    await waitFor(async () => (await this.frames(id)) >= start + count, timeout, `${this.name}'s ${id} to advance ${count} frames from ${start}`);
    return this.frames(id);
  }

  /** Peak level (0..1) of the sound the remote video element plays, over `ms`. */
  remoteAudioPeak(ms = 1500) {
    return this.#audioPeak('#remoteVideo', ms);
  }

  /** Peak level (0..1) of the sound the video element matching `selector` plays, over `ms`. */
  #audioPeak(selector, ms) {
    return this.page.evaluate(async ([selector, ms]) => {
      const v = /** @type {HTMLVideoElement | null} */ (document.querySelector(selector));
      const stream = /** @type {MediaStream | null} */ (v?.srcObject ?? null);
      if (!stream || stream.getAudioTracks().length === 0) return -1;
      const ctx = new AudioContext();
      await ctx.resume();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 2048;
      ctx.createMediaStreamSource(stream).connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      let peak = 0;
      const end = performance.now() + Number(ms);
      while (performance.now() < end) {
        analyser.getFloatTimeDomainData(buf);
        for (const x of buf) peak = Math.max(peak, Math.abs(x));
        await new Promise((r) => setTimeout(r, 20));
      }
      await ctx.close();
      return peak;
    }, [selector, ms]);
  }

  /** Whether the camera and microphone are released (no live local track). */
  localReleased() {
    return this.page.evaluate(() => {
      const v = /** @type {HTMLVideoElement} */ (document.getElementById('localVideo'));
      const stream = /** @type {MediaStream | null} */ (v.srcObject);
      return !stream || stream.getTracks().every((t) => t.readyState === 'ended');
    });
  }

  remoteCleared() {
    return this.page.evaluate(() => document.getElementById('remoteVideo')?.srcObject === null);
  }

  async screenshot(file) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await this.page.screenshot({ path: path.join(ARTIFACTS, file) });
  }

  /**
   * Audits what the page shows now with axe-core (WCAG 2.1 A and AA) and fails on any serious or
   * critical violation, naming the rule and the element. axe is evaluated through the browser's
   * debugging protocol, which the page's Content-Security-Policy does not govern; the policy
   * itself is never loosened.
   * @param {string} screen what is on screen, for the failure message
   */
  async audit(screen) {
    if (!(await this.page.evaluate(() => 'axe' in globalThis))) await this.page.evaluate(AXE_SOURCE);
    const result = await this.page.evaluate((options) => /** @type {any} */ (globalThis).axe.run(document, options), AXE_OPTIONS);
    assert.deepEqual(seriousViolations(result), [], `accessibility of ${screen} (${this.name}'s page)`);
  }

  /**
   * The page had no uncaught errors and logged none. Chromium itself logs each refused connection
   * (WebSockets, the favicon); tests that take the server away on purpose pass `serverOutage`.
   */
  assertNoErrors({ serverOutage = false } = {}) {
    const refused = /^console: (WebSocket connection to '.*' failed: .*|Failed to load resource: )net::ERR_CONNECTION_REFUSED/;
    const errors = serverOutage ? this.errors.filter((e) => !refused.test(e)) : this.errors;
    assert.deepEqual(errors, [], `${this.name}'s page had errors`);
  }

  async close({ runBeforeUnload = false } = {}) {
    await this.page.close({ runBeforeUnload });
    await this.page.context().close();
  }
}

/**
 * Polls `check` until it is true, failing with `what` after `timeout` ms; `what` may be a
 * function, to say in the failure what was seen by then.
 */
export async function waitFor(check, timeout, what) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let roomCounter = 0;
/** A room name no other test uses. */
export function freshRoom(prefix = 'room') {
  roomCounter += 1;
  return `${prefix}-${process.pid}-${roomCounter}`;
}

/** Ada calls Bob and Bob accepts; returns once both see the other's video advancing. */
export async function connectCall(caller, callee) {
  await caller.button('Call').click();
  await callee.page.getByRole('alertdialog').filter({ hasText: `${caller.name} is calling` }).waitFor();
  await callee.button('Accept').click();
  await caller.waitForCallState(`In a call with ${callee.name}`);
  await callee.waitForCallState(`In a call with ${caller.name}`);
  await Promise.all([caller.framesAdvance(), callee.framesAdvance()]);
}

/**
 * The usual set-up of an end-to-end test file: the server and a browser for the whole file, and
 * the people a test opens (put them in `people`), checked for page errors and closed after it.
 * @param {Parameters<typeof launchBrowser>[0]} [browserOptions]
 */
export function setUp(browserOptions) {
  const scene = {
    /** @type {Awaited<ReturnType<typeof startServer>>} */ server: /** @type {any} */ (null),
    /** @type {import('playwright-core').Browser} */ browser: /** @type {any} */ (null),
    /** @type {Person[]} */ people: [],
  };
  before(async () => {
    scene.server = await startServer();
    scene.browser = await launchBrowser(browserOptions);
  });
  after(async () => {
    await scene.browser?.close();
    await scene.server?.stop();
  });
  afterEach(async () => {
    for (const p of scene.people) p.assertNoErrors();
    for (const p of scene.people) await p.close().catch(() => {});
    scene.people = [];
  });
  return scene;
}

/** A free loopback port (closed again at once, for a server to take). @returns {Promise<number>} */
export async function freePort() {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (probe.address());
  await new Promise((resolve) => probe.close(resolve));
  return address.port;
}

/**
 * Debian's redis-server on a free loopback port, nothing saved to disk, for servers that share
 * their rooms (`REDIS_URL`).
 */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: child.stdout });
  await Promise.race([
    new Promise((resolve) => lines.on('line', (line) => { if (line.includes('Ready to accept connections')) resolve(undefined); })),
    once(child, 'exit').then(([code]) => { throw new Error(`redis-server exited with ${code} before it was ready`); }),
  ]);
  return {
    url: `redis://127.0.0.1:${port}/`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

/**
 * A TCP load balancer on a free loopback port, as nginx would be in front of several servers:
 * each connection goes to the next backend in turn, or to the one after when that one refuses it.
 * `pin(i)` sends new connections to backend `i` first instead, so a test can choose who lands where.
 * @param {number[]} ports the backends, on 127.0.0.1
 */
export async function startBalancer(ports) {
  const { createServer, connect } = await import('node:net');
  let next = 0;
  /** @type {number | null} */
  let pinned = null;
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  const track = (/** @type {import('node:net').Socket} */ s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); };
  const server = createServer((client) => {
    track(client);
    client.pause();
    const first = pinned ?? next;
    next = (next + 1) % ports.length;
    const attempt = (/** @type {number} */ tried) => {
      if (tried === ports.length) return client.destroy();
      const backend = connect(ports[(first + tried) % ports.length], '127.0.0.1');
      let connected = false;
      backend.on('error', () => {
        if (connected) client.destroy();
        else attempt(tried + 1);
      });
      backend.once('connect', () => {
        connected = true;
        track(backend);
        client.on('error', () => backend.destroy());
        client.pipe(backend);
        backend.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return {
    url: `http://127.0.0.1:${port}`,
    /** @param {number | null} index */
    pin(index) {
      pinned = index;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A sample from a server's Prometheus metrics (served with `METRICS_ADDR`), 0 when absent.
 * @param {string} url the metrics address, e.g. http://127.0.0.1:9090/metrics
 * @param {string} series the name and labels, written exactly as the server writes them
 */
export async function metric(url, series) {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
