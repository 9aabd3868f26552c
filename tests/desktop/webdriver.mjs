//! The real desktop app under test: tauri-driver (with Debian's WebKitWebDriver) starts the debug
//! build of Hearth, and a small W3C WebDriver client drives it over HTTP on loopback.
//! Run inside an X server (npm test wraps these tests in xvfb-run).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../e2e/harness.mjs';
import { processes } from './processes.mjs';
import assert from 'node:assert/strict';
import { AXE_SOURCE, AXE_OPTIONS, seriousViolations } from '../accessibility.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const APP_BIN = process.env.HEARTH_APP_BIN ?? path.join(ROOT, 'target/debug/hearth');
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? path.join(process.env.HOME ?? '/root', '.cargo/bin/tauri-driver');
const ARTIFACTS = path.join(ROOT, 'test-results');

/** Names of this group's live processes (zombies waiting to be reaped do not count). */
function liveMembers(pgid) {
  return [...processes().values()]
    .filter((p) => p.pgrp === pgid && p.state !== 'Z' && p.state !== 'X')
    .map((p) => p.comm);
}

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  await new Promise((r) => server.close(r));
  return port;
}

/** A running desktop app with its own config directory, driven through WebDriver. */
export class DesktopApp {
  /**
   * @param {{env?: Record<string,string>, settingsFile?: string, netns?: string}} [options]
   *   settingsFile: the text of settings.json to start with; netns: a network namespace to run
   *   the app in (tests/net), its WebDriver reached through a portal
   */
  static async launch({ env = {}, settingsFile, netns } = {}) {
    const port = await freePort();
    const nativePort = await freePort();
    const configHome = mkdtempSync(path.join(tmpdir(), 'hearth-app-'));
    if (settingsFile !== undefined) {
      mkdirSync(path.join(configHome, 'org.hearth.Hearth'), { recursive: true });
      writeFileSync(path.join(configHome, 'org.hearth.Hearth', 'settings.json'), settingsFile);
    }
    // Its own process group, so quit() can end the driver, WebKitWebDriver, the app and its web
    // processes together; its output through this process, so none of them holds the test
    // runner's pipes (a runner waits for those to close, however long a straggler lives).
    const driverArgs = [TAURI_DRIVER, '--port', String(port), '--native-port', String(nativePort)];
    const [command, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...driverArgs] : driverArgs;
    const driver = spawn(command, args, {
      env: { ...process.env, HEARTH_FAKE_MEDIA: '1', XDG_CONFIG_HOME: configHome, RUST_LOG: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    driver.stdout.pipe(process.stderr, { end: false });
    driver.stderr.pipe(process.stderr, { end: false });
    const portal = netns ? await (await import('../net/portal.mjs')).portInto(netns, port) : null;
    const base = `http://127.0.0.1:${portal?.port ?? port}`;
    await waitFor(async () => fetch(`${base}/status`).then((r) => r.ok, () => false), 20_000, 'tauri-driver to listen');
    const response = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application: APP_BIN } } } }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`could not start the app: ${JSON.stringify(body)}`);
    const app = new DesktopApp(driver, `${base}/session/${body.value.sessionId}`, configHome);
    app.portal = portal;
    await app.waitFor(() => app.script('return document.readyState === "complete" && !!document.getElementById("joinForm")'), 20_000, 'the app window');
    return app;
  }

  /** @param {import('node:child_process').ChildProcess} driver @param {string} session @param {string} configHome */
  constructor(driver, session, configHome) {
    this.driver = driver;
    this.session = session;
    this.configHome = configHome;
    /** The way into the app's namespace, if it runs in one. @type {{close: () => void} | null} */
    this.portal = null;
  }

  async #call(method, route, body) {
    const response = await fetch(`${this.session}${route}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`WebDriver ${method} ${route}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  /** Runs `body` (a function body) in the page; async bodies are awaited. */
  script(body, ...args) {
    return this.#call('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (async (...args) => { ${body} })(...Array.from(arguments).slice(0, -1)))
          .then((v) => done({ ok: v }), (e) => done({ error: String(e && e.stack || e) }));`,
      args,
    }).then((r) => {
      if (r && 'error' in r) throw new Error(r.error);
      return r?.ok;
    });
  }

  /**
   * Clicks the visible button whose text is exactly `name`, waiting up to `timeout` ms for it to
   * appear and be enabled (as a person waits for the screen to settle after the last click).
   */
  async clickButton(name, timeout = 5000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const clicked = await this.script(`
        const b = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === arguments[0] && b.checkVisibility());
        if (!b || b.disabled) return false;
        b.click();
        return true;`, name);
      if (clicked) return;
      if (Date.now() > deadline) throw new Error(`no enabled button "${name}" on screen`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Joins `room` on the server at `server` (host:port) as `name`, as a person fills the join
   * screen, and waits until the room shows.
   * @param {{name: string, server: string, room: string}} where
   */
  async joinRoom({ name, server, room }) {
    await this.fill('Name', name);
    await this.fill('Server', server);
    await this.fill('Room', room);
    await this.clickButton('Join');
    await this.waitForText('presence', /Waiting for someone| is here| are here/, 20_000);
  }

  /**
   * Rings the room with Call; `guest` (a Chromium {@link import('../e2e/harness.mjs').Person})
   * accepts the ring from `caller`, and both are in the call.
   * @param {import('../e2e/harness.mjs').Person} guest @param {string} caller the app's name
   */
  async callWith(guest, caller) {
    await this.clickButton('Call');
    await guest.page.getByRole('alertdialog').filter({ hasText: `${caller} is calling` }).waitFor();
    await guest.button('Accept').click();
    await this.waitForText('callState', new RegExp(`In a call with ${guest.name}`), 30_000);
  }

  /** Types into the input labelled `label`. */
  async fill(label, value) {
    const ok = await this.script(`
      const l = [...document.querySelectorAll('label')].find((l) => l.textContent.trim() === arguments[0]);
      const input = l && document.getElementById(l.htmlFor);
      if (!input) return false;
      input.value = arguments[1];
      input.dispatchEvent(new Event('input', { bubbles: true }));
      return true;`, label, value);
    if (!ok) throw new Error(`no field labelled "${label}"`);
  }

  /** Chooses a file on disk in the `<input type="file">` matched by `selector`, as a person picking it. */
  async chooseFile(selector, file) {
    const element = await this.#call('POST', '/element', { using: 'css selector', value: selector });
    const id = Object.values(element)[0];
    await this.#call('POST', `/element/${id}/value`, { text: file, value: [...file] });
  }

  /** The visible text of the element with this id. */
  text(id) {
    return this.script('const el = document.getElementById(arguments[0]); return el && el.checkVisibility() ? el.textContent : null;', id);
  }

  waitFor(check, timeout, what) {
    return waitFor(check, timeout, what);
  }

  async waitForText(id, pattern, timeout = 15_000) {
    await waitFor(async () => pattern.test((await this.text(id)) ?? ''), timeout, `#${id} to show ${pattern}`);
  }

  async screenshot(file) {
    // Let the webview paint what the last script changed before capturing it.
    await this.script('await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))); await new Promise((r) => setTimeout(r, 150));');
    const png = await this.#call('GET', '/screenshot');
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, file), Buffer.from(png, 'base64'));
  }

  /**
   * Audits what the window shows now with axe-core (WCAG 2.1 A and AA), failing on any serious or
   * critical violation. WebDriver runs the script as automation, outside the page's
   * Content-Security-Policy, which stays as it is.
   * @param {string} screen what is on screen, for the failure message
   */
  async audit(screen) {
    const loaded = await this.script("return 'axe' in globalThis");
    if (!loaded) await this.script(`${AXE_SOURCE}\n;globalThis.axe ??= axe; return true;`);
    const result = await this.script('return await globalThis.axe.run(document, arguments[0]);', AXE_OPTIONS);
    assert.deepEqual(seriousViolations(result), [], `accessibility of ${screen} in the desktop app`);
  }

  /** Closes the window as a person would (the app then cleans up and exits). */
  async closeWindow() {
    await this.#call('DELETE', '/window').catch(() => {});
  }

  /**
   * Ends the session and every process it started, waiting until they are gone (killing them
   * after 10 s, with a note on stderr: a straggler is worth knowing about, not worth a hang).
   */
  async quit() {
    await fetch(this.session, { method: 'DELETE', signal: AbortSignal.timeout(10_000) }).catch(() => {});
    const group = this.driver.pid ?? 0;
    const signal = (name) => { try { process.kill(-group, name); } catch { /* already gone */ } };
    const settle = async (ms) => {
      const deadline = Date.now() + ms;
      while (liveMembers(group).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return liveMembers(group);
    };
    signal('SIGTERM');
    let left = await settle(10_000);
    if (left.length) {
      console.error(`desktop app: ${left.join(', ')} still running 10 s after the session ended; killing them`);
      signal('SIGKILL');
      left = await settle(5_000);
      if (left.length) console.error(`desktop app: ${left.join(', ')} survived SIGKILL`);
    }
    this.portal?.close();
  }
}
