//! The call state machine: each path a call can take, and events that mean nothing where they land.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { next, settle, ACTIVE, LABELS } from '../../ui/js/callstate.js';

/** Runs events from a state; a null step keeps the state, as the controller does. */
function run(state, ...events) {
  for (const e of events) state = next(state, e) ?? state;
  return state;
}

test('a call from ring to hang-up', () => {
  assert.equal(run('idle', 'ring-sent'), 'outgoing');
  assert.equal(run('idle', 'ring-sent', 'accepted'), 'connecting');
  assert.equal(run('idle', 'ring-sent', 'accepted', 'media-connected'), 'connected');
  assert.equal(run('idle', 'ring-received', 'accepted', 'media-connected', 'hangup'), 'ended');
});

test('declines, timeouts and a vanished peer end ringing calls', () => {
  for (const start of ['ring-sent', 'ring-received']) {
    for (const end of ['declined', 'hangup', 'timeout', 'peer-away']) {
      assert.equal(run('idle', start, end), 'ended', `${start} then ${end}`);
    }
  }
});

test('trouble mid-call goes through reconnecting; failure ends it', () => {
  assert.equal(run('connected', 'media-interrupted'), 'reconnecting');
  assert.equal(run('connected', 'peer-away'), 'reconnecting');
  assert.equal(run('connected', 'media-failed'), 'ended');
  assert.equal(run('reconnecting', 'media-failed'), 'ended');
  assert.equal(run('reconnecting', 'timeout'), 'ended');
  assert.equal(run('connecting', 'media-failed'), 'ended');
});

test('a call is connected while its media flows, whether or not the other person is on the server', () => {
  assert.equal(settle({ mediaUp: true }), 'connected');
  assert.equal(settle({ mediaUp: false }), 'reconnecting');
});

test('events that mean nothing are ignored', () => {
  assert.equal(next('idle', 'accepted'), null);
  assert.equal(next('idle', 'hangup'), null);
  assert.equal(next('ended', 'media-connected'), null);
  assert.equal(next('connected', 'ring-received'), null);
});

test('a new call can start after one ended', () => {
  assert.equal(run('ended', 'ring-sent'), 'outgoing');
  assert.equal(run('ended', 'ring-received'), 'incoming');
});

test('every state has words, and active states are the ones with a call', () => {
  for (const state of ['idle', 'outgoing', 'incoming', 'connecting', 'connected', 'reconnecting', 'ended']) {
    assert.ok(LABELS[state]);
  }
  assert.deepEqual([...ACTIVE].sort(), ['connected', 'connecting', 'incoming', 'outgoing', 'reconnecting']);
});
