//! Calls in which a camera arrives late, in real Chromium on both sides: a caller whose camera
//! takes two seconds to start and presses Call at once, a callee that accepts before its camera is
//! ready, and a person who turns the camera off and on mid-call, which the other side sees said on
//! their screen ("camera off", "muted") instead of a frozen or black picture.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom } from './harness.mjs';

const scene = setUp({ fps: 15 });

/** Two people in a fresh room; `slow` names whose camera takes 2 s to start. */
async function pair(slow) {
  const room = freshRoom('late');
  const ada = await Person.open(scene.browser, scene.server.url, 'Ada', { cameraDelayMs: slow === 'Ada' ? 2000 : 0 });
  const bob = await Person.open(scene.browser, scene.server.url, 'Bob', { cameraDelayMs: slow === 'Bob' ? 2000 : 0 });
  scene.people.push(ada, bob);
  await bob.joinAndWait(room);
  await ada.join(room);
  return { ada, bob };
}

test('a caller that presses Call before its slow camera starts is seen and heard', async () => {
  const { ada, bob } = await pair('Ada');
  await ada.button('Call').click();
  await bob.page.getByRole('alertdialog').filter({ hasText: 'Ada is calling' }).waitFor();
  await bob.button('Accept').click();
  await Promise.all([bob.framesAdvance(20), ada.framesAdvance(20)]);
  assert.ok((await bob.remoteAudioPeak()) > 0.05, 'Bob hears Ada');
});

test('a callee that accepts before its slow camera starts is seen and heard', async () => {
  const { ada, bob } = await pair('Bob');
  await ada.button('Call').click();
  await bob.page.getByRole('alertdialog').filter({ hasText: 'Ada is calling' }).waitFor();
  await bob.button('Accept').click();
  // Accepting does not wait for the camera: the call starts connecting at once.
  await bob.waitForCallState(/Connecting to Ada|In a call with Ada/, 1500);
  await Promise.all([ada.framesAdvance(20), bob.framesAdvance(20)]);
  assert.ok((await ada.remoteAudioPeak()) > 0.05, 'Ada hears Bob');
});

test('camera off and mute are said on the other side, and the picture comes back', async () => {
  const { ada, bob } = await pair(null);
  await ada.button('Call').click();
  await bob.button('Accept').click();
  await Promise.all([ada.framesAdvance(20), bob.framesAdvance(20)]);

  await ada.button('Stop Video').click();
  await bob.page.locator('#placeholderText').filter({ hasText: "Ada's camera is off" }).waitFor({ timeout: 5000 });
  await ada.button('Mute').click();
  await bob.page.getByText('Ada is muted', { exact: true }).waitFor({ timeout: 5000 });
  await bob.screenshot('late-media-camera-off.png');

  await ada.button('Start Video').click();
  await ada.button('Unmute').click();
  await bob.framesAdvance(20);
  await bob.page.locator('#placeholderText').waitFor({ state: 'hidden', timeout: 5000 });
  await bob.page.getByText('Ada is muted', { exact: true }).waitFor({ state: 'hidden', timeout: 5000 });
});
