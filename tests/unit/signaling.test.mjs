//! Server addresses as people type them become the right WebSocket URL.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { websocketUrl } from '../../ui/js/signaling.js';

test('page origins and typed addresses map to /ws', () => {
  assert.equal(websocketUrl('http://127.0.0.1:7878'), 'ws://127.0.0.1:7878/ws');
  assert.equal(websocketUrl('https://hearth.example'), 'wss://hearth.example/ws');
  assert.equal(websocketUrl('https://hearth.example/some/page?x=1#y'), 'wss://hearth.example/ws');
  assert.equal(websocketUrl('ws://192.168.1.5:7878'), 'ws://192.168.1.5:7878/ws');
  assert.equal(websocketUrl('wss://hearth.example:8443/'), 'wss://hearth.example:8443/ws');
});
