//! The desktop app (native engine: its pre-negotiated data channels and its screen) with Chromium
//! through the real server: chat both ways, a 50 MB file each way with its SHA-256 checked (the
//! app's written into its Downloads folder), and the app sharing its screen (Xvfb's, through
//! ximagesrc), which Chromium receives at the screen's size until the camera comes back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DesktopApp } from './webdriver.mjs';
import { startServer, launchBrowser, Person, waitFor, freshRoom } from '../e2e/harness.mjs';
import { makeFile, sha256Of } from '../e2e/transfers.mjs';

let server;
let browser;
/** @type {DesktopApp} */
let app;
/** @type {Person} */
let gus;
const home = mkdtempSync(path.join(tmpdir(), 'hearth-app-home-'));
before(async () => {
  server = await startServer();
  browser = await launchBrowser({ fps: 15 });
  // A home of its own, so the received file lands in a Downloads folder the test can read; fake
  // camera and microphone, but the real (Xvfb's) screen to share.
  app = await DesktopApp.launch({ env: { HOME: home, HEARTH_FAKE_SCREEN: '0' } });
});
after(async () => {
  await gus?.close().catch(() => {});
  await app?.quit();
  await browser?.close();
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** The app's list of transfers, as text. */
const appTransfers = () => app.script("return document.getElementById('transferList').innerText");
/** What the app's chat log shows. */
const appLog = () => app.script("return document.getElementById('chatList').textContent");

test('the app and a browser chat both ways over the engine\'s data channel', async () => {
  const room = freshRoom('native-data');
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  gus = await Person.open(browser, `${server.url}/?room=${room}`, 'Gus', { small: true });
  await gus.joinAndWait(room);
  await app.waitForText('presence', /Gus is here/);
  await app.clickButton('Call');
  await gus.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' }).waitFor();
  await gus.button('Accept').click();
  await app.waitForText('callState', /In a call with Gus/, 30_000);

  await app.clickButton('Chat');
  await app.fill('Message', 'Hello from the app <i>Gus</i>');
  await app.clickButton('Send');
  await gus.page.getByRole('button', { name: 'Chat, 1 unread' }).waitFor({ timeout: 15_000 });
  await gus.page.getByRole('button', { name: 'Chat, 1 unread' }).click();
  await gus.page.getByRole('log', { name: 'Messages' }).getByText('Hello from the app <i>Gus</i>').waitFor();
  const box = gus.page.getByRole('textbox', { name: 'Message' });
  await box.fill('Hi Nell, see https://example.org');
  await box.press('Enter');
  await waitFor(async () => (await appLog()).includes('Hi Nell, see https://example.org'), 15_000, 'the app to show Gus\'s message');
  assert.equal(await app.script("return document.querySelector('#chatList a')?.getAttribute('href')"), 'https://example.org');
});

test('a 50 MB file each way between the app and a browser, verified; the app\'s in Downloads', async () => {
  const toApp = makeFile(home, 'from-gus.bin', 50);
  await gus.page.locator('#fileInput').setInputFiles(toApp.file);
  await waitFor(async () => /Wants to send you this file/.test(await appTransfers()), 60_000, 'the app to be offered Gus\'s file');
  await app.clickButton('Save');
  await waitFor(async () => /Saved to .*from-gus\.bin · verified/.test(await appTransfers()), 150_000, 'the app to save Gus\'s file');
  const saved = path.join(home, 'Downloads', 'from-gus.bin');
  assert.ok(existsSync(saved), `${saved} exists`);
  assert.equal(await sha256Of(saved), toApp.sha256);
  await gus.page.getByText('Nell has it · verified').waitFor({ timeout: 10_000 });

  const toGus = makeFile(home, 'from-nell.bin', 50);
  const downloading = gus.page.waitForEvent('download', { timeout: 150_000 });
  await app.chooseFile('#fileInput', toGus.file);
  await gus.page.getByRole('button', { name: 'Save from-nell.bin' }).click({ timeout: 60_000 });
  await gus.page.getByText('Saved · verified').waitFor({ timeout: 150_000 });
  assert.equal(await sha256Of(await (await downloading).path()), toGus.sha256);
  await waitFor(async () => /Gus has it · verified/.test(await appTransfers()), 10_000, 'the app to hear Gus has it');
  await app.screenshot('desktop-files.png');
});

test('the app shares its screen: the browser gets the screen\'s size, then the camera again', async () => {
  const picture = () => gus.page.evaluate(() => {
    const v = /** @type {HTMLVideoElement} */ (document.getElementById('remoteVideo'));
    return { width: v.videoWidth, label: v.getAttribute('aria-label') };
  });
  const camera = (await picture()).width;
  // The X screen's size as the app's window sees it; a screen wider than 1920 is sent scaled down.
  const screen = await app.script('return { width: screen.width, height: screen.height }');
  const expected = Math.min(screen.width, Math.round(screen.width * Math.min(1, 1920 / screen.width, 1080 / screen.height)));
  await app.clickButton('Share Screen');
  await waitFor(async () => (await picture()).width === expected, 20_000, `the browser to get the app's ${screen.width}x${screen.height} screen`);
  assert.equal((await picture()).label, "Nell's screen");
  await gus.framesAdvance(10);
  await app.clickButton('Stop Sharing');
  await waitFor(async () => (await picture()).width === camera, 20_000, 'the browser to get the app\'s camera again');
  assert.equal((await picture()).label, 'Video of Nell');
  gus.assertNoErrors();
});
