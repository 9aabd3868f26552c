//! Server addresses as people type them become the right WebSocket URL; the client comes back
//! after a lost connection with its `resume` token, and keeps trying a room its old session may
//! still fill.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient, websocketUrl } from '../../ui/js/signaling.js';

test('page origins and typed addresses map to /ws', () => {
  assert.equal(websocketUrl('http://127.0.0.1:7878'), 'ws://127.0.0.1:7878/ws');
  assert.equal(websocketUrl('https://hearth.example'), 'wss://hearth.example/ws');
  assert.equal(websocketUrl('https://hearth.example/some/page?x=1#y'), 'wss://hearth.example/ws');
  assert.equal(websocketUrl('ws://192.168.1.5:7878'), 'ws://192.168.1.5:7878/ws');
  assert.equal(websocketUrl('wss://hearth.example:8443/'), 'wss://hearth.example:8443/ws');
});

/** A WebSocket the test drives: it opens, receives and drops when told to, and keeps what was sent. */
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** @type {FakeSocket[]} */
  static made = [];

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    /** @type {any[]} */
    this.sent = [];
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onclose = null;
    FakeSocket.made.push(this);
  }

  /** @param {string} text */
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = FakeSocket.CLOSED; }
  open() { this.readyState = FakeSocket.OPEN; this.onopen?.(); }
  /** @param {object} msg */
  receive(msg) { this.onmessage?.({ data: JSON.stringify(msg) }); }
  /** @param {number} code */
  drop(code = 1006) { this.readyState = FakeSocket.CLOSED; this.onclose?.({ code }); }
}
globalThis.WebSocket = /** @type {any} */ (FakeSocket);

/**
 * The socket the client made after the first `before`, waiting for its backoff, opened.
 * @param {number} before
 */
async function socketAfter(before) {
  for (let waited = 0; FakeSocket.made.length === before; waited += 10) {
    assert.ok(waited < 5000, 'the client never reconnected');
    await new Promise((r) => setTimeout(r, 10));
  }
  const socket = FakeSocket.made[FakeSocket.made.length - 1];
  socket.open();
  return socket;
}

/**
 * Drops `socket` as a lost network does; returns the client's next socket, opened.
 * @param {FakeSocket} socket
 */
async function lost(socket) {
  const made = FakeSocket.made.length;
  socket.drop();
  return socketAfter(made);
}

/** Waits until `socket` has sent `n` messages. @param {FakeSocket} socket @param {number} n */
async function sentCount(socket, n) {
  for (let waited = 0; socket.sent.length < n; waited += 10) {
    assert.ok(waited < 5000, `only ${socket.sent.length} message(s) sent`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** @param {string} id @param {string} resume */
const welcome = (id, resume) => ({ type: 'welcome', id, room: 'kitchen', peers: [], iceServers: [], resume });

/** A client in room kitchen, welcomed once with resume token `r1`, and its first socket. */
async function joinedClient() {
  const made = FakeSocket.made.length;
  const client = new SignalingClient('ws://hearth.test/ws', { token: null });
  /** @type {any[]} */
  const errors = [];
  client.addEventListener('server-error', (e) => errors.push(/** @type {CustomEvent} */ (e).detail));
  client.join('kitchen', 'Ada');
  const first = await socketAfter(made);
  assert.deepEqual(first.sent, [{ type: 'join', room: 'kitchen', name: 'Ada' }]);
  first.receive(welcome('a1', 'r1'));
  return { client, errors, first };
}

test('an automatic reconnection offers the last resume token; a join the person asks for does not', async () => {
  const { client, first } = await joinedClient();
  /** @type {any[]} */
  const welcomes = [];
  client.addEventListener('welcome', (e) => welcomes.push(/** @type {CustomEvent} */ (e).detail));
  const second = await lost(first);
  assert.deepEqual(second.sent, [{ type: 'join', room: 'kitchen', name: 'Ada', resume: 'r1' }]);
  second.receive(welcome('a1', 'r2'));
  assert.equal(welcomes[0].rejoin, true);
  assert.equal(client.selfId, 'a1');
  // Each welcome's token replaces the last.
  const third = await lost(second);
  assert.equal(third.sent[0].resume, 'r2');
  third.receive(welcome('a1', 'r3'));
  // Gone and back because the person asked: a new arrival.
  client.close();
  const made = FakeSocket.made.length;
  client.join('kitchen', 'Ada');
  const fresh = await socketAfter(made);
  assert.deepEqual(fresh.sent, [{ type: 'join', room: 'kitchen', name: 'Ada' }]);
  client.close();
});

test('room-full on an automatic reconnection is asked again, and said to be', async () => {
  const { client, errors, first } = await joinedClient();
  const second = await lost(first);
  second.receive({ type: 'error', code: 'room-full', message: 'full' });
  assert.equal(errors[0].retrying, true);
  assert.equal(client.state, 'reconnecting');
  await sentCount(second, 2);
  assert.deepEqual(second.sent[1], { type: 'join', room: 'kitchen', name: 'Ada', resume: 'r1' });
  second.receive(welcome('a2', 'r2'));
  assert.equal(client.state, 'joined');
  client.close();
});

test('room-full on a join the person asked for is final', async () => {
  const client = new SignalingClient('ws://hearth.test/ws', { token: null });
  /** @type {any[]} */
  const errors = [];
  client.addEventListener('server-error', (e) => errors.push(/** @type {CustomEvent} */ (e).detail));
  const made = FakeSocket.made.length;
  client.join('kitchen', 'Ada');
  const socket = await socketAfter(made);
  socket.receive({ type: 'error', code: 'room-full', message: 'full' });
  assert.equal(errors[0].retrying, undefined);
  assert.equal(client.wanted, null);
  client.close();
});

test('a connection replaced by a newer one of ours does not come back', async () => {
  const { client, first } = await joinedClient();
  const made = FakeSocket.made.length;
  first.drop(4009);
  assert.equal(client.state, 'closed');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(FakeSocket.made.length, made);
});
