//! Calls in which one side's camera and microphone arrive late: a browser that presses Call (or
//! Accept) before its camera is ready, with a slow camera, and one that turns its camera on in the
//! middle of a call. The desktop app's native engine (GStreamer 1.22's webrtcbin, which refuses a
//! transceiver changing direction) must show the browser's picture and play its sound every time.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DesktopApp } from './webdriver.mjs';
import { startServer, launchBrowser, Person, waitFor, freshRoom } from '../e2e/harness.mjs';

/** How many times each racy case runs: a race lost half the time shows in one of these. */
const RUNS = 3;

let server;
let browser;
/** @type {DesktopApp} */
let app;
before(async () => {
  server = await startServer();
  browser = await launchBrowser({ fps: 15 });
  app = await DesktopApp.launch();
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
});
/** @type {Person[]} */
let guests = [];
/** A browser guest in `room`, closed after the test whatever happens. */
async function openGuest(room, name, options = {}) {
  const guest = await Person.open(browser, `${server.url}/?room=${room}`, name, options);
  guests.push(guest);
  return guest;
}
// A failed test leaves the app in its call: end it, so the next test starts in the join screen.
afterEach(async () => {
  await app.script(`
    for (const name of ['Hang Up', 'Leave']) {
      const b = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === name && b.checkVisibility());
      b?.click();
      await new Promise((r) => setTimeout(r, 300));
    }`);
  for (const guest of guests) await guest.close().catch(() => {});
  guests = [];
});
after(async () => {
  await app?.quit();
  await browser?.close();
  await server?.stop();
});

/** Frames the app has painted of the other person's picture. */
const paintedRemote = () => app.script('return globalThis.hearthNative?.painted().remote ?? -1');
/** What the app's engine has received from the one other person: frames and the sound's level (dBFS). */
const progress = async () => (await app.script('return await globalThis.hearthNative.connections()'))[0] ?? {};

/** The app paints the browser's picture and hears its sound. */
async function appSeesAndHears(who) {
  const start = await paintedRemote();
  await waitFor(async () => (await paintedRemote()) >= start + 15, 20_000, `the app to paint ${who}'s picture`);
  await waitFor(async () => ((await progress()).remoteLevelDb ?? -200) > -50, 15_000, `the app to hear ${who}`);
}

/** The app joins a fresh room and waits there. */
async function appJoins() {
  const room = freshRoom('late');
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  return room;
}

async function endCall(guest) {
  await app.clickButton('Hang Up');
  await guest.waitForCallState('Call ended', 10_000);
  await app.clickButton('Leave');
  guest.assertNoErrors();
}

for (const [label, cameraDelayMs] of [['the instant it can', 0], ['with a camera that takes 2 s to start', 2000]]) {
  test(`a browser calling the app ${label} is seen and heard, ${RUNS} times in a row`, async () => {
    for (let run = 1; run <= RUNS; run += 1) {
      const room = await appJoins();
      const guest = await openGuest(room, 'Bob', { cameraDelayMs });
      await guest.join(room);
      await guest.button('Call').click();
      await app.waitForText('incomingTitle', /Bob is calling/);
      await app.clickButton('Accept');
      await app.waitForText('callState', /In a call with Bob/, 30_000);
      await appSeesAndHears(`Bob (run ${run})`);
      await guest.framesAdvance(15, 'remoteVideo', 20_000);
      if (run === 1) await app.screenshot(`desktop-late-media-${cameraDelayMs}.png`);
      await endCall(guest);
    }
  });
}

test(`the app calling a browser that accepts before its camera is ready is seen and heard, ${RUNS} times`, async () => {
  for (let run = 1; run <= RUNS; run += 1) {
    const room = await appJoins();
    const guest = await openGuest(room, 'Cleo', { cameraDelayMs: 2000 });
    await guest.join(room);
    await app.waitForText('presence', /Cleo is here/);
    await app.clickButton('Call');
    await guest.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' }).waitFor();
    await guest.button('Accept').click();
    await app.waitForText('callState', /In a call with Cleo/, 30_000);
    await appSeesAndHears(`Cleo (run ${run})`);
    await guest.framesAdvance(15, 'remoteVideo', 20_000);
    await endCall(guest);
  }
});

test('a browser that joins with its camera off and turns it on mid-call is seen by the app', async () => {
  const room = await appJoins();
  const guest = await openGuest(room, 'Dan');
  await guest.joinAndWait(room);
  await guest.page.locator('#localVideo').evaluate((v) => new Promise((resolve) => {
    if (/** @type {HTMLVideoElement} */ (v).srcObject) resolve(null);
    else v.addEventListener('loadeddata', () => resolve(null), { once: true });
  }));
  await guest.button('Stop Video').click();
  await guest.button('Call').click();
  await app.waitForText('incomingTitle', /Dan is calling/);
  await app.clickButton('Accept');
  await app.waitForText('callState', /In a call with Dan/, 30_000);
  await guest.framesAdvance(15, 'remoteVideo', 20_000);
  // Camera off: nothing is painted, and the app says so on Dan's picture.
  const before = await paintedRemote();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok((await paintedRemote()) <= before + 1, 'a picture was painted while Dan\'s camera was off');
  await app.waitForText('remotePlaceholder', /Dan's camera is off/, 10_000);

  await guest.button('Start Video').click();
  const start = await paintedRemote();
  await waitFor(async () => (await paintedRemote()) >= start + 15, 20_000, 'the app to paint Dan\'s picture after Start Video');
  await endCall(guest);
});

test('the app turning its camera on mid-call, after joining with it off, is seen by the browser', async () => {
  const room = await appJoins();
  await app.clickButton('Stop Video');
  const guest = await openGuest(room, 'Eve');
  await guest.joinAndWait(room);
  await guest.button('Call').click();
  await app.waitForText('incomingTitle', /Eve is calling/);
  await app.clickButton('Accept');
  await guest.waitForCallState('In a call with Nell', 30_000);
  await appSeesAndHears('Eve');
  await guest.page.locator('#placeholderText').filter({ hasText: "Nell's camera is off" }).waitFor({ timeout: 10_000 });

  await app.clickButton('Start Video');
  try {
    await guest.framesAdvance(15, 'remoteVideo', 20_000);
  } catch (e) {
    // What each side saw, for the failure's message.
    const received = await guest.page.evaluate(async () => {
      const stream = /** @type {MediaStream | null} */ (/** @type {HTMLVideoElement} */ (document.getElementById('remoteVideo')).srcObject);
      return stream?.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted ? 'muted' : 'unmuted'}`) ?? [];
    });
    const notice = await app.text('noticeText');
    const button = await app.script("return document.getElementById('videoBtn').textContent");
    throw new Error(`${e.message}; the app's engine: ${JSON.stringify(await progress())}, its notice: ${notice}, its video button: ${button}; Eve's tracks: ${received}`);
  }
  await guest.page.locator('#placeholderText').waitFor({ state: 'hidden', timeout: 5000 });
  await endCall(guest);
});
