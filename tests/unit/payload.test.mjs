//! The call payloads: what we send has the documented shape, and what we accept is checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as payload from '../../ui/js/payload.js';

test('built payloads match docs/PROTOCOL.md', () => {
  assert.deepEqual(payload.ring('Ada', 'c1'), { kind: 'ring', name: 'Ada', call: 'c1', v: 2, caps: [] });
  assert.deepEqual(payload.ring('Nell', 'c1', ['no-rollback']).caps, ['no-rollback']);
  assert.deepEqual(payload.accept('c1', 'Bob'), { kind: 'accept', call: 'c1', name: 'Bob', v: 2, caps: [] });
  assert.deepEqual(payload.join('c1', 'Dan'), { kind: 'join', call: 'c1', name: 'Dan', v: 2, caps: [] });
  assert.deepEqual(payload.inCall('c1', 'Ada'), { kind: 'in-call', call: 'c1', name: 'Ada', v: 2, caps: [] });
  assert.deepEqual(payload.description({ type: 'answer', sdp: 'x' }, 'c1').call, 'c1');
  assert.deepEqual(payload.candidate({ candidate: 'x', sdpMid: '0', sdpMLineIndex: 0 }, 'c1').call, 'c1');
  assert.deepEqual(payload.resume('c1', 'old'), { kind: 'resume', call: 'c1', was: 'old' });
  assert.deepEqual(payload.decline('c1'), { kind: 'decline', call: 'c1', reason: 'declined' });
  assert.deepEqual(payload.decline('c1', 'busy').reason, 'busy');
  assert.deepEqual(payload.hangup('c1'), { kind: 'hangup', call: 'c1' });
  assert.deepEqual(payload.description({ type: 'offer', sdp: 'v=0' }), { kind: 'description', description: { type: 'offer', sdp: 'v=0' } });
  assert.deepEqual(
    payload.candidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 }),
    { kind: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
  );
  assert.deepEqual(payload.resume('c1'), { kind: 'resume', call: 'c1' });
  assert.deepEqual(payload.resumed('c1'), { kind: 'resumed', call: 'c1' });
  assert.deepEqual(payload.media('c1', { audio: true, video: false }), { kind: 'media', call: 'c1', audio: true, video: false, screen: false });
  assert.deepEqual(payload.media('c1', { audio: true, video: true, screen: true }), { kind: 'media', call: 'c1', audio: true, video: true, screen: true });
  const missing = payload.media('c1', { audio: true, video: false, missing: ['camera'] });
  assert.deepEqual(missing, { kind: 'media', call: 'c1', audio: true, video: false, screen: false, missing: ['camera'] });
  assert.deepEqual(payload.parse(JSON.parse(JSON.stringify(missing))), missing, 'a missing device survives the wire');
  const via = payload.media('c1', { audio: true, video: true, via: 'prflx' });
  assert.deepEqual(payload.parse(JSON.parse(JSON.stringify(via))), { kind: 'media', call: 'c1', audio: true, video: true, screen: false, via: 'prflx' });
  assert.equal(payload.parse({ kind: 'media', call: 'c', audio: true, video: true, via: 'carrier-pigeon' }), null);
  const linked = { kind: 'candidate', call: 'c', link: 2, candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
  assert.deepEqual(payload.parse(linked), linked, 'a connection number survives the wire');
  assert.equal(payload.parse({ ...linked, link: -1 }), null);
  assert.equal(payload.parse({ ...linked, link: 'two' }), null);
});

test('call ids are 16 hex digits and differ', () => {
  const ids = new Set(Array.from({ length: 100 }, payload.newCallId));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
});

test('every payload we build parses back', () => {
  for (const p of [
    payload.ring('Ada', 'c'), payload.accept('c'), payload.decline('c'), payload.hangup('c'),
    payload.description({ type: 'answer', sdp: 'x' }), payload.candidate({ candidate: 'c', sdpMid: null, sdpMLineIndex: null }),
    payload.resume('c'), payload.resumed('c'), payload.media('c', { audio: false, video: true }),
    payload.join('c', 'Dan', ['one-peer']), payload.inCall('c', 'Ada'), payload.resume('c', 'x'),
    payload.description({ type: 'offer', sdp: 'x' }, 'c'),
  ]) {
    assert.deepEqual(payload.parse(JSON.parse(JSON.stringify(p))), p);
  }
  // The minimal forms of the convention, without our extra fields, are fine too.
  assert.ok(payload.parse({ kind: 'accept' }));
  assert.ok(payload.parse({ kind: 'hangup' }));
});

test('malformed payloads are refused, not acted on', () => {
  for (const bad of [
    null, 7, 'ring', [], {}, { kind: 'dance' }, { kind: 'ring' }, { kind: 'ring', name: 5, call: 'c' },
    { kind: 'description' }, { kind: 'description', description: { type: 'bogus', sdp: '' } },
    { kind: 'candidate', candidate: { candidate: 5 } }, { kind: 'candidate', candidate: { candidate: 'x', sdpMLineIndex: 'zero' } },
    { kind: 'resume' }, { kind: 'accept', call: 9 },
    { kind: 'media', audio: true, video: true }, { kind: 'media', call: 'c', audio: 'yes', video: true }, { kind: 'media', call: 'c', audio: true, video: true, screen: 'yes' },
    { kind: 'media', call: 'c', audio: true, video: false, missing: ['keyboard'] }, { kind: 'media', call: 'c', audio: true, video: false, missing: 'camera' },
    { kind: 'join', call: 'c' }, { kind: 'in-call', name: 'Ada' }, { kind: 'ring', name: 'A', call: 'c', caps: 'all' },
    { kind: 'ring', name: 'A', call: 'c', v: 'two' }, { kind: 'description', call: 5, description: { type: 'offer', sdp: '' } },
  ]) {
    assert.equal(payload.parse(bad), null, JSON.stringify(bad));
  }
});

test('capabilities a newer client may add are dropped, not refused', () => {
  assert.deepEqual(payload.parse({ kind: 'ring', name: 'A', call: 'c', v: 3, caps: ['no-rollback', 'teleport'] })?.caps, ['no-rollback']);
});
