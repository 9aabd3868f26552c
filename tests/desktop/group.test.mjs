//! The desktop app (native engine, one connection for now) in a room of three: it calls one
//! browser, the second browser joins the call and is connected to the first, and is told plainly
//! that the app can be in a call with one person at a time; the app's own call goes on.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DesktopApp } from './webdriver.mjs';
import { startServer, launchBrowser, Person, waitFor, freshRoom } from '../e2e/harness.mjs';

let server;
let browser;
/** @type {DesktopApp} */
let app;
/** @type {Person[]} */
const guests = [];
before(async () => {
  server = await startServer();
  browser = await launchBrowser({ fps: 15 });
  app = await DesktopApp.launch();
});
after(async () => {
  for (const guest of guests) await guest.close().catch(() => {});
  await app?.quit();
  await browser?.close();
  await server?.stop();
});

const paintedRemote = () => app.script('return globalThis.hearthNative?.remote.painted ?? -1');

test('a browser joining the app\'s call is connected to the others and told the app takes one person', async () => {
  const room = freshRoom('native-group');
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  const ada = await Person.open(browser, `${server.url}/?room=${room}`, 'Ada', { small: true });
  guests.push(ada);
  await ada.joinAndWait(room);
  await app.waitForText('presence', /Ada is here/);
  await app.clickButton('Call');
  await ada.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' }).waitFor();
  await ada.button('Accept').click();
  await app.waitForText('callState', /In a call with Ada/, 30_000);
  await ada.tileAdvances('Nell', 15);

  const bob = await Person.open(browser, `${server.url}/?room=${room}`, 'Bob', { small: true });
  guests.push(bob);
  await bob.joinAndWait(room);
  await bob.page.getByText(/^Call with (Nell and Ada|Ada and Nell)$/).waitFor({ timeout: 15_000 });
  await bob.button('Join call').click();
  await bob.waitForNotice(/Nell's app can be in a call with one person at a time/);
  await bob.tileAdvances('Ada', 15);
  await ada.tileAdvances('Bob', 15);
  // The app's call with Ada goes on, untouched.
  const start = await paintedRemote();
  await waitFor(async () => (await paintedRemote()) >= start + 15, 20_000, 'the app to keep painting Ada');
  assert.match((await app.text('callState')) ?? '', /In a call with Ada/);
  await app.screenshot('desktop-group-one-peer.png');
  for (const guest of guests) guest.assertNoErrors();
});
