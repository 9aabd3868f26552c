//! Devices: a camera or microphone chosen before that is not connected any more is said, not
//! silently replaced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substitutes } from '../../ui/js/media.js';

/** A stream whose tracks come from these devices. */
const stream = (camera, microphone) => ({
  getVideoTracks: () => (camera ? [{ label: camera.label, getSettings: () => ({ deviceId: camera.id }) }] : []),
  getAudioTracks: () => (microphone ? [{ label: microphone.label, getSettings: () => ({ deviceId: microphone.id }) }] : []),
});

test('the devices chosen before are the ones opened: nothing to say', () => {
  const s = stream({ id: 'cam1', label: 'Desk camera' }, { id: 'mic1', label: 'Headset' });
  assert.equal(substitutes(/** @type {any} */ (s), { camera: 'cam1', microphone: 'mic1' }), null);
  assert.equal(substitutes(/** @type {any} */ (s), {}), null, 'nothing chosen, nothing replaced');
});

test('a camera chosen before that is gone is named with the one used instead', () => {
  const s = stream({ id: 'cam2', label: 'Laptop camera' }, { id: 'mic1', label: 'Headset' });
  assert.equal(substitutes(/** @type {any} */ (s), { camera: 'cam1', microphone: 'mic1' }),
    'The camera (using Laptop camera) you chose before is not connected.');
});

test('both gone are both said', () => {
  const s = stream({ id: 'cam2', label: 'Laptop camera' }, { id: 'mic2', label: 'Built-in' });
  assert.match(substitutes(/** @type {any} */ (s), { camera: 'cam1', microphone: 'mic1' }) ?? '', /camera \(using Laptop camera\) and the microphone \(using Built-in\)/);
});
