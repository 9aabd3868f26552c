//! The real desktop app under Xvfb, driven through tauri-driver: host mode starts and shows its
//! address and room code, a browser joins through it and calls, the app shows the incoming call,
//! this webview's missing WebRTC is said plainly with "Open in browser", a wrong room code is
//! explained, and closing the window frees the port.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { DesktopApp } from './webdriver.mjs';
import { launchBrowser, Person, waitFor } from '../e2e/harness.mjs';

/** @type {DesktopApp} */
let app;
let browser;
before(async () => {
  // Without the native engine: what people see where GStreamer's WebRTC plugins are missing.
  app = await DesktopApp.launch({ env: { HEARTH_NATIVE: '0' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await app?.quit();
});

/** Whether something listens on this TCP port on every interface (0.0.0.0), from /proc/net/tcp. */
function listensOnAllInterfaces(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').some((line) => {
    const [, local, , state] = line.trim().split(/\s+/);
    return local === `00000000:${hex}` && state === '0A';
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
}

let port = 0;
let room = '';

test('the app says plainly that this webview has no WebRTC, and offers the browser', async () => {
  assert.equal(await app.script('return typeof RTCPeerConnection'), 'undefined', 'Debian\'s WebKitGTK has no WebRTC');
  assert.equal(await app.script('return typeof navigator.mediaDevices?.getUserMedia'), 'function', 'media capture is on');
  await app.waitForText('noticeText', /no WebRTC.*Open in browser/);
  await app.screenshot('desktop-start.png');
  await app.audit('the start screen');
});

test('Host a call starts the embedded server and shows a reachable address and a room code', async () => {
  await app.fill('Name', 'Hana');
  assert.equal(await app.script("return document.getElementById('sizeSelect').value"), '4', 'a call of up to 4 unless the host says');
  await app.script("const s = document.getElementById('sizeSelect'); s.value = '3'; s.dispatchEvent(new Event('change'));");
  await app.clickButton('Host a call');
  await app.waitForText('hostRoom', /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
  await app.waitForText('hostSize', /^Up to 3 people$/);
  room = await app.text('hostRoom');
  const addresses = await app.text('hostAddresses');
  const match = /:(\d+)(\s|$)/.exec(addresses ?? '');
  assert.ok(match, `an address with a port: ${addresses}`);
  port = Number(match[1]);
  assert.ok(listensOnAllInterfaces(port), `port ${port} is open on every interface`);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json());
  assert.equal(health.status, 'ok');
  // The host has joined its own room and waits.
  await app.waitForText('presence', /Waiting for someone/);
  assert.ok(await app.script("return document.getElementById('openBrowserRoomBtn').checkVisibility()"), 'Open in browser is offered');
  await app.screenshot('desktop-hosting.png');
  await app.audit('the hosting panel');
});

test('a wrong room code is explained to the guest', async () => {
  const guest = await Person.open(browser, `http://127.0.0.1:${port}`, 'Gus');
  await guest.join('wrong-code-here');
  await guest.waitForNotice(/Check the room code/);
  await guest.close();
});

test('a guest in a browser joins through the host, calls, and the app shows the call with Accept', async () => {
  const guest = await Person.open(browser, `http://127.0.0.1:${port}/?room=${room}`, 'Gus');
  await guest.joinAndWait(room);
  await guest.page.getByText('Hana is here', { exact: true }).waitFor();
  await app.waitForText('presence', /Gus is here/);
  await guest.button('Call').click();
  await app.waitForText('incomingTitle', /Gus is calling/);
  assert.ok(await app.script("return document.getElementById('acceptBtn').checkVisibility()"), 'Accept is shown');
  await app.screenshot('desktop-incoming.png');
  await app.audit('an incoming call');
  // Without WebRTC, Accept explains what to do instead of failing silently.
  await app.clickButton('Accept');
  await app.waitForText('noticeText', /Open in browser/);
  await app.clickButton('Decline');
  await guest.waitForNotice(/declined/);
  guest.assertNoErrors();
  await guest.close();
});

test('the hosted call holds the number of people the host chose', async () => {
  const guests = [];
  try {
    for (const name of ['Ivy', 'Jo']) {
      const guest = await Person.open(browser, `http://127.0.0.1:${port}/?room=${room}`, name);
      guests.push(guest);
      await guest.joinAndWait(room);
    }
    const fourth = await Person.open(browser, `http://127.0.0.1:${port}/?room=${room}`, 'Kit');
    guests.push(fourth);
    await fourth.join(room);
    await fourth.waitForNotice(/full/);
  } finally {
    for (const guest of guests) await guest.close();
  }
});

test('Stop hosting ends the server and frees the port; hosting again works', async () => {
  await app.clickButton('Stop hosting');
  await waitFor(() => portIsFree(port), 10_000, `port ${port} to be free`);
  await app.clickButton('Host a call');
  await app.waitForText('hostRoom', /^[a-z2-9]{4}-/);
  const again = Number(/:(\d+)(\s|$)/.exec((await app.text('hostAddresses')) ?? '')?.[1]);
  port = again;
  assert.ok(listensOnAllInterfaces(port));
});

test('closing the window stops the embedded server and frees the port', async () => {
  await app.closeWindow();
  await waitFor(() => portIsFree(port), 10_000, `port ${port} to be free after closing`);
});
