//! The desktop app's native engine and the network: Test connection gathers through the engine
//! with the room's STUN and TURN servers (a real coturn), and in a call the stats panel and the
//! tile say how the media travels.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DesktopApp } from './webdriver.mjs';
import { startServer, launchBrowser, Person, waitFor, freshRoom } from '../e2e/harness.mjs';
import { startTurn, turnEnv } from '../e2e/turn.mjs';

let turn;
let server;
let browser;
/** @type {DesktopApp} */
let app;
before(async () => {
  turn = await startTurn();
  server = await startServer({ env: turnEnv(turn.url) });
  browser = await launchBrowser();
  app = await DesktopApp.launch();
});
after(async () => {
  await app?.quit();
  await browser?.close();
  await server?.stop();
  await turn?.stop();
});

/** The rows of a definition list under `selector`, as label → value. */
const rowsOf = (selector) => app.script(`
  return Object.fromEntries([...document.querySelectorAll(${JSON.stringify(`${selector} dt`)})].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent ?? '']));`);

test('Test connection in the app gathers through its engine and finds the relay', async () => {
  const room = freshRoom('native-net');
  await app.joinRoom({ name: 'Nell', server: server.url.replace('http://', ''), room });
  await app.clickButton('Stats');
  await app.clickButton('Test connection');
  await app.waitForText('connectionTest', /Calls should connect from any network/, 20_000);
  const rows = await rowsOf('#connectionTest');
  // libnice leaves loopback out of the device's own addresses; the relay is on loopback.
  assert.match(rows['This device'], /^Found: /);
  assert.equal(rows['Relay (TURN)'], 'Works: 127.0.0.1');
  await app.screenshot('desktop-connection-test.png');

  // In a call with a browser, the engine's stats say how the media travels.
  const guest = await Person.open(browser, `${server.url}/?room=${room}`, 'Gus');
  await guest.joinAndWait(room);
  await app.waitForText('presence', /Gus is here/);
  await app.callWith(guest, 'Nell');
  await waitFor(async () => /^Direct/.test((await rowsOf('#statsList')).Connection ?? ''), 15_000, 'the app\'s stats to say how the media travels');
  await waitFor(async () => /^(LAN|Direct)$/.test((await app.text('remotePath')) ?? ''), 5000, 'the tile\'s badge');
  await guest.page.locator('#statsBtn').click();
  await guest.page.locator('#statsList dd', { hasText: /^Direct/ }).first().waitFor({ timeout: 10_000 });
  await app.clickButton('Hang Up');
  await app.waitForText('callState', /Call ended/, 10_000);
  guest.assertNoErrors();
  await guest.close();
});

test('the server away for 20 s mid-call: the app\'s call goes on, says so, and is whole again after', async () => {
  const room = freshRoom('native-outage');
  const guest = await Person.open(browser, `${server.url}/?room=${room}`, 'Gus');
  await app.clickButton('Leave');
  await app.fill('Room', room);
  await app.clickButton('Join');
  await guest.joinAndWait(room);
  await app.waitForText('presence', /Gus is here/);
  await app.callWith(guest, 'Nell');
  await guest.framesAdvance(20, 'remoteVideo', 30_000);

  const port = server.port;
  await server.stop();
  await app.waitForText('connection', /Reconnecting to the server… Your call goes on\./, 10_000);
  const painted = () => app.script('return globalThis.hearthNative.painted().remote');
  const shown = new Set();
  const before = await painted();
  for (let waited = 0; waited < 20_000; waited += 1000) {
    shown.add(`app: ${await app.text('callState')}`);
    shown.add(`guest: ${await guest.page.locator('#callState').textContent()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.deepEqual([...shown].sort(), ['app: In a call with Gus', 'guest: In a call with Nell'], 'the call went on, and said so');
  assert.ok((await painted()) > before + 20, 'the app kept painting Gus through the outage');
  await guest.framesAdvance(20, 'remoteVideo', 10_000);

  server = await startServer({ port, env: turnEnv(turn.url) });
  await app.waitForText('presence', /Gus is here/, 30_000);
  await guest.page.getByText('Nell is here', { exact: true }).waitFor({ timeout: 30_000 });
  await app.waitForText('connection', /^$/, 10_000);
  await guest.framesAdvance(20, 'remoteVideo', 10_000);
  // Signaling works again between them: a hang-up reaches the other side.
  await guest.button('Hang Up').click();
  await app.waitForText('callState', /Call ended/, 10_000);
  guest.assertNoErrors({ serverOutage: true });
  await guest.close();
});
