//! Trouble, in real Chromium: the signaling server restarting mid-call, an unreachable server, a
//! denied camera, and a page that stays free of uncaught errors through it all.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, Person, freshRoom, connectCall, waitFor } from './harness.mjs';

/** @type {(() => Promise<void>)[]} */
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

test('the signaling server is away for 17 s mid-call: the call goes on and says so, both rejoin, media never stops, hang-up still works', async () => {
  let server = await startServer();
  const browser = await launchBrowser();
  cleanups.push(() => browser.close(), () => server.stop());
  const room = freshRoom();
  const ada = await Person.open(browser, server.url, 'Ada');
  const bob = await Person.open(browser, server.url, 'Bob');
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await connectCall(ada, bob);

  // Sample the remote videos all through the outage: they must never stall for long.
  let sampling = true;
  const stalls = [];
  const sampler = (async () => {
    let last = [await ada.frames(), await bob.frames()];
    while (sampling) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = [await ada.frames(), await bob.frames()];
      if (now[0] <= last[0] || now[1] <= last[1]) stalls.push({ last, now });
      last = now;
    }
  })();

  // Longer than the 15 s a person away from the server is waited for: losing one's own server is
  // not the other person leaving, and a call whose media flows goes on.
  const port = server.port;
  await server.stop();
  await ada.page.getByText('Reconnecting to the server… Your call goes on.').waitFor({ timeout: 5000 });
  const shown = new Set();
  for (let waited = 0; waited < 17_000; waited += 500) {
    for (const person of [ada, bob]) shown.add(`${person.name}: ${await person.page.locator('#callState').textContent()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual([...shown].sort(), ['Ada: In a call with Bob', 'Bob: In a call with Ada'], 'the call went on, and said so');
  server = await startServer({ port });
  cleanups.push(() => server.stop());
  await ada.page.getByText('Bob is here', { exact: true }).waitFor({ timeout: 20_000 });
  await bob.page.getByText('Ada is here', { exact: true }).waitFor({ timeout: 20_000 });
  await ada.waitForCallState('In a call with Bob', 10_000);
  await bob.waitForCallState('In a call with Ada', 10_000);
  await Promise.all([ada.framesAdvance(30), bob.framesAdvance(30)]);
  sampling = false;
  await sampler;
  assert.deepEqual(stalls, [], 'remote video kept advancing every second');

  await bob.button('Hang Up').click();
  await ada.waitForCallState('Call ended', 3000);
  await bob.waitForCallState('Call ended', 3000);
  ada.assertNoErrors({ serverOutage: true });
  bob.assertNoErrors({ serverOutage: true });
});

test('an unreachable server is explained on the page', async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  const ada = await Person.open(browser, server.url, 'Ada');
  await server.stop();
  await ada.join(freshRoom());
  await ada.waitForNotice(/Could not reach the Hearth server/);
  assert.ok(await ada.button('Join').isEnabled(), 'Ada can try again');
  await ada.screenshot('unreachable.png');
  ada.assertNoErrors({ serverOutage: true });
});

test('a denied camera is explained, and the call still works to see and hear the other person', async () => {
  const server = await startServer();
  cleanups.push(() => server.stop());
  const denied = await launchBrowser({ deny: true });
  const granted = await launchBrowser();
  cleanups.push(() => denied.close(), () => granted.close());
  const room = freshRoom();
  const ada = await Person.open(denied, server.url, 'Ada');
  const bob = await Person.open(granted, server.url, 'Bob');
  await ada.joinAndWait(room);
  await ada.waitForNotice(/denied/);
  await ada.screenshot('camera-denied.png');
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await ada.button('Call').click();
  await bob.button('Accept').click();
  await ada.waitForCallState('In a call with Bob');
  await ada.framesAdvance(20);
  assert.ok(await ada.remoteAudioPeak() > 0.01, 'Ada hears Bob');
  // Bob is told why there is nothing from Ada, rather than shown a black picture.
  await bob.page.getByText('Ada has no camera').waitFor({ timeout: 5000 });
  await bob.page.getByText('Ada has no microphone').waitFor({ timeout: 5000 });
  await bob.screenshot('other-side-denied.png');
  await ada.button('Hang Up').click();
  await bob.waitForCallState('Call ended', 3000);
  bob.assertNoErrors();
  ada.assertNoErrors();
});

test('without a camera the call goes on with sound, and the other picture still arrives', async () => {
  const server = await startServer();
  cleanups.push(() => server.stop());
  const noCamera = await launchBrowser({ cameras: 0 });
  const normal = await launchBrowser();
  cleanups.push(() => noCamera.close(), () => normal.close());
  const room = freshRoom();
  const ada = await Person.open(noCamera, server.url, 'Ada');
  const bob = await Person.open(normal, server.url, 'Bob');
  await ada.joinAndWait(room);
  await ada.waitForNotice(/No camera was found\. The call will be sound only/);
  await bob.joinAndWait(room);
  await connectCallOneWay(bob, ada);
  // Sound can start a moment after the call connects: listen until it comes (or time out).
  await waitFor(async () => (await bob.remoteAudioPeak(800)) > 0.01, 10_000, 'Bob to hear Ada');
  await waitFor(async () => (await ada.remoteAudioPeak(800)) > 0.01, 10_000, 'Ada to hear Bob');
  await ada.framesAdvance(20);
  await bob.page.getByText('Ada has no camera').waitFor({ timeout: 5000 });
  assert.equal(await bob.page.getByText('Ada has no microphone').count(), 0, 'Ada\'s microphone works');
  ada.assertNoErrors();
  bob.assertNoErrors();
});

/** Like connectCall, without expecting pictures both ways. */
async function connectCallOneWay(caller, callee) {
  await caller.button('Call').click();
  await callee.button('Accept').click();
  await caller.waitForCallState(`In a call with ${callee.name}`);
  await callee.waitForCallState(`In a call with ${caller.name}`);
}
