//! Screen sharing in real Chromium through the real server (Chromium's fake screen, 1920x1080):
//! the shared screen replaces the camera's picture without a renegotiation, the other side gets
//! frames of the screen's size under "Ada's screen", and the camera comes back when sharing stops,
//! from the button or from the browser's own "Stop sharing".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom, connectCall, waitFor } from './harness.mjs';

const scene = setUp({ fps: 15 });

/** The size of the picture `person` shows of the other person, and its label. */
const remotePicture = (person) => person.page.evaluate(() => {
  const v = /** @type {HTMLVideoElement} */ (document.getElementById('remoteVideo'));
  return { width: v.videoWidth, height: v.videoHeight, label: v.getAttribute('aria-label') };
});

test('a shared screen replaces the camera for the other side, and the camera comes back', async () => {
  const room = freshRoom('screen');
  const ada = await Person.open(scene.browser, scene.server.url, 'Ada', { small: true });
  const bob = await Person.open(scene.browser, scene.server.url, 'Bob', { small: true });
  scene.people.push(ada, bob);
  // Counts the descriptions (offers and answers) Ada's page sends: sharing must not renegotiate.
  let descriptions = 0;
  ada.page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => {
    if (typeof payload === 'string' && payload.includes('"kind":"description"')) descriptions += 1;
  }));
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await connectCall(ada, bob);
  const negotiated = descriptions;
  assert.ok(negotiated > 0, 'the call\'s own negotiation was seen');
  assert.equal((await remotePicture(bob)).width, 320, 'the camera first');

  await ada.button('Share Screen').click();
  await ada.button('Stop Sharing').waitFor();
  await waitFor(async () => (await remotePicture(bob)).width === 1920, 20_000, 'Bob to get frames of Ada\'s 1920x1080 screen');
  assert.deepEqual(await remotePicture(bob), { width: 1920, height: 1080, label: "Ada's screen" });
  await bob.framesAdvance(10);
  await bob.screenshot('screen-shared.png');
  await bob.audit('a shared screen');

  await ada.button('Stop Sharing').click();
  await waitFor(async () => (await remotePicture(bob)).width === 320, 20_000, 'Bob to get Ada\'s camera again');
  assert.equal((await remotePicture(bob)).label, 'Video of Ada');

  // The browser's own "Stop sharing" ends the screen's track: the camera comes back too.
  await ada.button('Share Screen').click();
  await waitFor(async () => (await remotePicture(bob)).width === 1920, 20_000, 'the screen again');
  await ada.page.evaluate(() => {
    const preview = /** @type {MediaStream} */ (/** @type {HTMLVideoElement} */ (document.getElementById('localVideo')).srcObject);
    const screen = preview.getVideoTracks()[0];
    screen.stop();
    screen.dispatchEvent(new Event('ended'));
  });
  await ada.button('Share Screen').waitFor();
  await waitFor(async () => (await remotePicture(bob)).width === 320, 20_000, 'Bob to get Ada\'s camera after the browser ended the share');
  assert.equal(descriptions, negotiated, 'sharing renegotiated the call');
});
