//! The desktop app (native engine: one connection per other person, one shared capture) in a
//! call of three with two Chromium guests: everyone sees and hears the other two, the camera is
//! opened once for both connections, and a call started with the video off never opens it.

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

/** Frames the app has painted in `who`'s tile (-1: no such tile). */
const tileFrames = (who) => app.script(`return Number(document.querySelector('canvas[aria-label="Video of ${who}"]')?.dataset.frames ?? -1)`);
/** The capture's figures: pictures captured, camera openings. */
const capture = () => app.script("return await window.__TAURI__.core.invoke('native_progress')");
/** Each connection's figures (frames received, sound level). */
const connections = () => app.script('return await globalThis.hearthNative.connections()');

async function appPaints(who, count = 15) {
  const start = Math.max(0, await tileFrames(who));
  await waitFor(async () => (await tileFrames(who)) >= start + count, 30_000, `the app to paint ${count} frames of ${who}`);
}

/** The app rings both guests, who accept; everyone is in one call. */
async function callOfThree(ada, bob) {
  await app.clickButton('Call');
  for (const guest of [ada, bob]) {
    await guest.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' }).waitFor();
    await guest.button('Accept').click();
  }
  await app.waitForText('callState', /In a call with (Ada and Bob|Bob and Ada)/, 30_000);
}

test('a call of three with the app: everyone sees and hears the other two, the camera opened once', async () => {
  const room = freshRoom('native-group');
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  const ada = await Person.open(browser, `${server.url}/?room=${room}`, 'Ada', { small: true });
  const bob = await Person.open(browser, `${server.url}/?room=${room}`, 'Bob', { small: true });
  guests.push(ada, bob);
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await app.waitForText('presence', /(Ada, Bob|Bob, Ada) are here/);
  await callOfThree(ada, bob);

  for (const [person, others] of [[ada, ['Nell', 'Bob']], [bob, ['Nell', 'Ada']]]) {
    for (const other of others) await person.tileAdvances(other, 15);
  }
  await appPaints('Ada');
  await appPaints('Bob');
  // Each guest's fake microphone beeps on its own clock, so a connection counts as heard once
  // any reading of it is loud; the two need not be loud in the same reading.
  const loudest = new Map();
  await waitFor(async () => {
    for (const c of await connections()) loudest.set(c.connection, Math.max(loudest.get(c.connection) ?? -200, c.remoteLevelDb ?? -200));
    return loudest.size === 2 && [...loudest.values()].every((db) => db > -50);
  }, 20_000, () => `the app to hear both guests (loudest so far, dBFS: ${JSON.stringify(Object.fromEntries(loudest))})`);
  assert.ok((await ada.tileAudioPeak('Nell')) > 0.05, 'Ada hears the app');
  assert.ok((await bob.tileAudioPeak('Nell')) > 0.05, 'Bob hears the app');
  assert.equal((await capture()).cameraOpens, 1, 'the camera was opened once for both connections');
  await app.screenshot('desktop-group-three.png');
  await app.audit('a native call of three');

  // One guest leaves; the app's call with the other goes on.
  await bob.button('Hang Up').click();
  await app.waitForText('callState', /In a call with Ada/, 15_000);
  await appPaints('Ada');
  await ada.tileAdvances('Nell', 10);
  await app.clickButton('Hang Up');
  await app.waitForText('callState', /Call ended/, 10_000);
  for (const guest of guests) guest.assertNoErrors();
});

test('a call of three started with the app\'s video off never opens its camera', async () => {
  const [ada, bob] = guests;
  // Whatever the last test left, this one starts out of a call.
  const callState = () => app.script("return document.getElementById('callState').dataset.state");
  if (['connecting', 'connected', 'reconnecting'].includes(await callState())) {
    await app.clickButton('Hang Up');
    await waitFor(async () => !['connecting', 'connected', 'reconnecting'].includes(await callState()), 10_000, 'the last call to end');
  }
  // The call's end let the camera go; the preview comes back with Start Camera.
  await app.clickButton('Start Camera');
  await app.waitForText('videoBtn', /Stop Video/, 15_000);
  await app.clickButton('Stop Video');
  await app.waitForText('videoBtn', /Start Video/);
  const before = await capture();
  await callOfThree(ada, bob);
  for (const guest of [ada, bob]) {
    await guest.page.getByText("Nell's camera is off").waitFor({ timeout: 15_000 });
  }
  await appPaints('Ada');
  await appPaints('Bob');
  await bob.tileAdvances('Ada', 10);
  const after = await capture();
  assert.equal(after.cameraOpens, before.cameraOpens, 'the camera was opened for the call');
  assert.ok(after.localFrames <= before.localFrames + 2, `the camera captured ${after.localFrames - before.localFrames} frames`);

  // Start Video mid-call opens it once, for both.
  await app.clickButton('Start Video');
  await ada.tileAdvances('Nell', 15);
  await bob.tileAdvances('Nell', 15);
  assert.equal((await capture()).cameraOpens, before.cameraOpens + 1);
  await app.clickButton('Hang Up');
  await app.waitForText('callState', /Call ended/, 10_000);
  for (const guest of guests) guest.assertNoErrors();
});
