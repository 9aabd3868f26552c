//! The other person's picture: live while frames arrive, "off" when they say so, and "missing"
//! only when frames should come and have not for a while.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PictureWatch, MISSING_AFTER_MS } from '../../ui/js/picture.js';

/** Feeds ticks one second apart; each is [frames, announcedVideo, mediaUp]. */
function run(ticks) {
  const watch = new PictureWatch();
  return ticks.map(([frames, announcedVideo, mediaUp], i) => watch.update({ now: i * 1000, frames, announcedVideo, mediaUp }));
}

test('frames arriving make the picture live, whatever was said', () => {
  assert.deepEqual(run([[0, true, true], [10, true, true], [25, null, true]]), ['waiting', 'live', 'live']);
});

test('a camera said to be off is off at once, and back to waiting when it is on again', () => {
  assert.deepEqual(run([[0, true, true], [10, true, true], [10, false, true], [10, true, true], [20, true, true]]),
    ['waiting', 'live', 'off', 'waiting', 'live']);
});

test('a camera said to be on whose frames never come is missing after the grace time', () => {
  const ticks = Array.from({ length: MISSING_AFTER_MS / 1000 + 2 }, () => [null, true, true]);
  const states = run(ticks);
  assert.equal(states[0], 'waiting');
  assert.equal(states[MISSING_AFTER_MS / 1000 - 1], 'waiting');
  assert.equal(states.at(-1), 'missing');
});

test('no frames while the connection is still coming up is waiting, not missing', () => {
  const ticks = Array.from({ length: 10 }, () => [0, true, false]);
  assert.ok(run(ticks).every((s) => s === 'waiting'));
});

test('frames that stop mid-call are missing after the grace time, and live again when they resume', () => {
  const ticks = [[0, true, true], [5, true, true], ...Array.from({ length: 5 }, () => [5, true, true]), [9, true, true]];
  const states = run(ticks);
  assert.equal(states[1], 'live');
  assert.equal(states[2], 'live', 'one quiet second is not missing');
  assert.equal(states[6], 'missing');
  assert.equal(states[7], 'live');
});
