//! Controls in a call, in real Chromium: mute silences, video stops and starts, a device switch
//! keeps the picture flowing, and the stats panel shows live figures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom, connectCall, waitFor } from './harness.mjs';

const scene = setUp();

async function inCall() {
  const room = freshRoom();
  const ada = await Person.open(scene.browser, scene.server.url, 'Ada');
  const bob = await Person.open(scene.browser, scene.server.url, 'Bob');
  scene.people.push(ada, bob);
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await connectCall(ada, bob);
  return { ada, bob };
}

/** The value the stats panel shows for a row. */
async function statsValue(person, label) {
  return person.page.locator('#statsList dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').textContent();
}

test('mute silences the microphone for the other person, and unmute brings it back', async () => {
  const { ada, bob } = await inCall();
  assert.ok(await bob.remoteAudioPeak() > 0.01, 'Bob hears Ada before mute');
  await ada.button('Mute').click();
  assert.equal(await ada.button('Unmute').getAttribute('aria-pressed'), 'true');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(await bob.remoteAudioPeak() < 0.001, 'Bob hears silence');
  // Ada's own outbound level in the stats panel drops to zero as well.
  await ada.button('Stats').click();
  await waitFor(async () => (await statsValue(ada, 'Mic level')) === '0.000', 5000, 'the outbound mic level to read 0');
  await ada.screenshot('stats.png');
  await ada.button('Unmute').click();
  await waitFor(async () => (await bob.remoteAudioPeak(800)) > 0.01, 8000, 'Bob to hear Ada again');
});

test('stats show round trip, bit rates, resolution and frame rate', async () => {
  const { bob } = await inCall();
  await bob.button('Stats').click();
  await waitFor(async () => /\d+ kbit\/s/.test(await statsValue(bob, 'Receiving') ?? ''), 8000, 'a receive rate');
  assert.match(await statsValue(bob, 'Round trip'), /^\d+ ms$/);
  assert.match(await statsValue(bob, 'Resolution'), /^\d+×\d+$/);
  await waitFor(async () => /^\d+ fps$/.test(await statsValue(bob, 'Frame rate') ?? ''), 8000, 'a frame rate');
  assert.match(await statsValue(bob, 'Packet loss'), /^\d+\.\d %$/);
});

test('stopping video releases the camera and starting it again resumes the picture', async () => {
  const { ada, bob } = await inCall();
  await ada.button('Stop Video').click();
  await ada.button('Start Video').waitFor();
  const cameraLive = () => ada.page.evaluate(() => {
    const s = /** @type {MediaStream} */ (/** @type {HTMLVideoElement} */ (document.getElementById('localVideo')).srcObject);
    return s.getVideoTracks().some((t) => t.readyState === 'live');
  });
  assert.equal(await cameraLive(), false, 'the camera is released');
  const before = await bob.frames();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok((await bob.frames()) - before < 15, 'Bob no longer receives Ada\'s picture');
  await ada.button('Start Video').click();
  await ada.button('Stop Video').waitFor();
  assert.equal(await cameraLive(), true);
  await bob.framesAdvance(20);
  assert.ok(await ada.remoteAudioPeak() > 0.01, 'sound kept flowing');
});

test('switching camera mid-call keeps the picture flowing', async () => {
  const { ada, bob } = await inCall();
  await ada.button('Devices').click();
  const camera = ada.page.getByLabel('Camera', { exact: true });
  // Chromium's fake_device_1 is a depth camera (16-bit grey) that encoders refuse; fake_device_2
  // is an ordinary one.
  const options = await camera.locator('option').evaluateAll((os) => os.map((o) => [/** @type {HTMLOptionElement} */ (o).value, o.textContent]));
  assert.ok(options.length >= 3, `three fake cameras: ${options}`);
  const current = await camera.inputValue();
  const [other] = options.find(([id, label]) => id !== current && label === 'fake_device_2') ?? [];
  assert.ok(other, 'another camera to switch to');
  await camera.selectOption(other);
  await waitFor(() => ada.page.evaluate((id) => {
    const s = /** @type {MediaStream} */ (/** @type {HTMLVideoElement} */ (document.getElementById('localVideo')).srcObject);
    return s.getVideoTracks()[0]?.getSettings().deviceId === id;
  }, other), 5000, 'the preview to use the other camera');
  await bob.framesAdvance(30);
  await ada.screenshot('devices.png');
  // The microphone too.
  const mic = ada.page.getByLabel('Microphone', { exact: true });
  const mics = await mic.locator('option').evaluateAll((os) => os.map((o) => /** @type {HTMLOptionElement} */ (o).value));
  if (mics.length > 1) {
    await mic.selectOption(mics.find((m) => m !== 'default' && m !== 'communications') ?? mics[1]);
    await waitFor(async () => (await bob.remoteAudioPeak(800)) > 0.01, 8000, 'Bob to hear the new microphone');
  }
});
