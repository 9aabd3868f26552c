//! The group call's logic with fakes at its edges: a fake room that carries payloads between
//! clients (as JSON, in order, like the server), a fake peer connection that negotiates and
//! "connects" once both descriptions are set, and a clock the test advances.

import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { setPeerConnectionFactory } from '../../ui/js/call.js';
import { GroupCall } from '../../ui/js/groupcall.js';
import { isPolite, RING_TIMEOUT_MS, LOST_LIMIT_MS, CONNECT_LIMIT_MS } from '../../ui/js/session.js';
import * as payload from '../../ui/js/payload.js';

// The little of MediaStream the call module touches.
globalThis.MediaStream ??= class {
  constructor(tracks = []) { this.tracks = [...tracks]; }
  getTracks() { return this.tracks; }
  addTrack(t) { this.tracks.push(t); }
  removeTrack(t) { this.tracks = this.tracks.filter((x) => x !== t); }
};

/** Every fake peer connection made, to look at. */
let connections = [];
/**
 * The path between everyone: while it is down, no connection connects; `restartable: false`
 * makes connections that cannot restart ICE (as GStreamer 1.22's webrtcbin).
 */
const network = { down: false, restartable: true };

/** A peer connection that negotiates with strings and connects when both descriptions are set. */
class FakePeerConnection {
  constructor() {
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.transceivers = [];
    this.remoteApplied = [];
    this.offers = 0;
    if (!network.restartable) this.canRestartIce = false;
    connections.push(this);
  }
  addTransceiver(kind, init) {
    const t = { direction: init.direction, receiver: { track: { kind } }, sender: { track: null, replaceTrack: async (track) => { t.sender.track = track; }, setStreams() {} }, currentDirection: null };
    this.transceivers.push(t);
    queueMicrotask(() => this.onnegotiationneeded?.());
    return t;
  }
  getTransceivers() { return this.transceivers; }
  async setLocalDescription() {
    const type = this.signalingState === 'have-remote-offer' ? 'answer' : 'offer';
    if (type === 'offer') this.offers += 1;
    this.localDescription = { type, sdp: `${type}-${this.offers}` };
    this.signalingState = type === 'offer' ? 'have-local-offer' : 'stable';
    if (type === 'offer' && this.transceivers.length === 0) {
      for (const kind of ['audio', 'video']) this.transceivers.push({ direction: 'recvonly', receiver: { track: { kind } }, sender: { track: null, replaceTrack: async () => {}, setStreams() {} } });
    }
    this.#maybeConnect();
  }
  async setRemoteDescription(d) {
    this.remoteApplied.push(d);
    this.remoteDescription = d;
    if (d.type === 'offer' && this.transceivers.length === 0) {
      for (const kind of ['audio', 'video']) this.transceivers.push({ direction: 'recvonly', receiver: { track: { kind } }, sender: { track: null, replaceTrack: async () => {}, setStreams() {} } });
    }
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
    this.#maybeConnect();
  }
  #maybeConnect() {
    if (!network.down && this.localDescription && this.remoteDescription && this.signalingState === 'stable' && this.connectionState !== 'connected') {
      this.connectionState = 'connected';
      queueMicrotask(() => this.onconnectionstatechange?.());
    }
  }
  async addIceCandidate() {}
  restartIce() {
    this.restarts = (this.restarts ?? 0) + 1;
    queueMicrotask(() => this.onnegotiationneeded?.());
  }
  /** ICE gives up: the path is gone. */
  fail() {
    this.connectionState = 'failed';
    this.onconnectionstatechange?.();
  }
  /** RTP packets received so far, as its stats say. */
  packets = 0;
  async getStats() { return new Map([['in', { type: 'inbound-rtp', kind: 'audio', packetsReceived: this.packets }]]); }
  close() { this.connectionState = 'closed'; }
}

/** A clock the test moves by hand. */
class FakeClock {
  constructor() { this.t = 0; this.timers = new Map(); this.next = 1; }
  setTimeout(f, ms) { const id = this.next++; this.timers.set(id, { at: this.t + ms, f }); return id; }
  clearTimeout(id) { this.timers.delete(id); }
  now() { return this.t; }
  advance(ms) {
    this.t += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at <= this.t) { this.timers.delete(id); timer.f(); }
    }
  }
}

/** The server, as far as calls care: ids, names, and signals delivered in order, as JSON. */
class FakeRoom {
  constructor() { this.clients = new Map(); this.queue = Promise.resolve(); this.sent = []; }
  /** @param {string} id @param {string} name @param {{caps?: payload.Capability[]}} [options] */
  add(id, name, { caps = [] } = {}) {
    const notices = [];
    const client = { id, name, notices, call: /** @type {GroupCall} */ (/** @type {unknown} */ (null)) };
    client.call = new GroupCall({ send: (to, data) => this.#deliver(client.id, to, data), caps, clock: this.clock });
    client.call.addEventListener('notice', (e) => notices.push(e.detail.text));
    this.#enter(client);
    return client;
  }
  #enter(client) {
    for (const other of this.clients.values()) other.call.peerJoined({ id: client.id, name: client.name });
    this.clients.set(client.id, client);
    const others = [...this.clients.values()].filter((c) => c !== client).map((c) => ({ id: c.id, name: c.name }));
    client.call.welcomed(client.id, client.name, others, []);
  }
  /** Clients whose server connection is down: what they send and what is sent to them is lost. */
  offline = new Set();
  /**
   * The client's server connection drops without the server noticing yet (a ghost); `noticed`:
   * whether the client has noticed (until then, what it sends seems to go out and is lost).
   */
  lose(client, { noticed = true } = {}) {
    this.offline.add(client.id);
    if (noticed) client.call.lostServer();
  }
  /** The client's server connection is back, its place resumed under the same id. */
  resume(client) {
    this.offline.delete(client.id);
    const others = [...this.clients.values()].filter((c) => c !== client).map((c) => ({ id: c.id, name: c.name }));
    client.call.welcomed(client.id, client.name, others, []);
  }
  /** The client's connection drops: the others hear it left, and it is back under `newId`. */
  reconnect(client, newId) {
    client.call.lostServer();
    this.clients.delete(client.id);
    for (const other of this.clients.values()) other.call.peerLeft(client.id);
    client.id = newId;
    this.#enter(client);
  }
  #deliver(from, to, data) {
    if (this.offline.has(from) || this.offline.has(to)) return this.clients.has(to);
    this.sent.push({ from, to, data });
    const json = JSON.stringify(data);
    this.queue = this.queue.then(() => {
      const target = this.clients.get(to);
      const parsed = payload.parse(JSON.parse(json));
      assert.ok(parsed, `a payload we sent parses back: ${json}`);
      target?.call.receive(from, parsed);
    });
    return this.clients.has(to);
  }
  /** Lets every message in flight (and the ones they cause) arrive. */
  async settle() {
    for (let i = 0; i < 20; i += 1) {
      await this.queue;
      await new Promise((r) => setImmediate(r));
    }
  }
}

let room;
beforeEach(() => {
  connections = [];
  network.down = false;
  network.restartable = true;
  setPeerConnectionFactory(() => /** @type {any} */ (new FakePeerConnection()));
  room = new FakeRoom();
  room.clock = new FakeClock();
});

const states = (client) => [...client.call.sessions.values()].map((s) => `${s.name}:${s.state}`).sort();

/** `caller` rings the room and each of `callees` accepts, one after the other. */
async function call(caller, ...callees) {
  caller.call.ring();
  await room.settle();
  for (const callee of callees) {
    callee.call.accept();
    await room.settle();
  }
}

test('a call of three: everyone rung accepts and everyone is connected to everyone', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  const cleo = room.add('c', 'Cleo');
  ada.call.ring();
  await room.settle();
  assert.equal(bob.call.state, 'incoming');
  assert.equal(cleo.call.incoming?.name, 'Ada');
  bob.call.accept();
  await room.settle();
  cleo.call.accept();
  await room.settle();
  assert.deepEqual(states(ada), ['Bob:connected', 'Cleo:connected']);
  assert.deepEqual(states(bob), ['Ada:connected', 'Cleo:connected']);
  assert.deepEqual(states(cleo), ['Ada:connected', 'Bob:connected']);
  assert.equal(connections.length, 6, 'one peer connection per pair, on each side');
  assert.equal(ada.call.state, 'connected');
});

test('someone entering during a call sees it and joins without ringing anyone', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  const dan = room.add('d', 'Dan');
  await room.settle();
  assert.deepEqual(dan.call.joinable()?.names.sort(), ['Ada', 'Bob']);
  dan.call.join();
  await room.settle();
  assert.deepEqual(states(dan), ['Ada:connected', 'Bob:connected']);
  assert.deepEqual(states(ada), ['Bob:connected', 'Dan:connected']);
  assert.ok(!room.sent.some((m) => m.from === 'd' && m.data.kind === 'ring'), 'joining rings nobody');
});

test('hanging up leaves the call; the others carry on until one is left', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  const cleo = room.add('c', 'Cleo');
  await call(ada, bob, cleo);
  cleo.call.hangup();
  await room.settle();
  assert.equal(cleo.call.state, 'ended');
  assert.deepEqual(states(ada), ['Bob:connected']);
  assert.deepEqual(ada.notices, ['Cleo left the call.']);
  let ended = false;
  ada.call.addEventListener('ended', () => { ended = true; });
  bob.call.hangup();
  await room.settle();
  assert.ok(ended, 'the call ends when one person is left');
  assert.equal(ada.call.state, 'ended');
  assert.equal(ada.notices.at(-1), 'Bob hung up.');
});

test('an unanswered ring stops after the timeout, and the callee sees a missed call', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  ada.call.ring();
  await room.settle();
  room.clock.advance(RING_TIMEOUT_MS);
  await room.settle();
  assert.equal(ada.call.state, 'ended');
  assert.equal(ada.notices.at(-1), 'Bob did not answer.');
  assert.equal(bob.call.state, 'ended');
  assert.equal(bob.notices.at(-1), 'Missed call from Ada.');
});

test('a side that cannot roll back is the impolite one, whatever the ids say; between equals the smaller id is', () => {
  const native = ['no-rollback', 'one-peer'];
  assert.equal(isPolite({ selfId: 'a', selfCaps: [], otherId: 'z', otherCaps: native }), true);
  assert.equal(isPolite({ selfId: 'z', selfCaps: native, otherId: 'a', otherCaps: [] }), false);
  assert.equal(isPolite({ selfId: 'a', selfCaps: [], otherId: 'b', otherCaps: [] }), false);
  assert.equal(isPolite({ selfId: 'b', selfCaps: [], otherId: 'a', otherCaps: [] }), true);
});

test('glare between a browser and a native app: both press Call at once, one call results, the native side impolite', async () => {
  const browser = room.add('a', 'Ada');
  const app = room.add('b', 'Nell', { caps: ['no-rollback', 'one-peer'] });
  browser.call.ring();
  app.call.ring();
  await room.settle();
  assert.deepEqual(states(browser), ['Nell:connected']);
  assert.deepEqual(states(app), ['Ada:connected']);
  assert.equal(browser.call.callId, app.call.callId, 'both are in the same call');
  assert.equal(app.call.sessions.get('a')?.polite, false, 'the native side is impolite');
  assert.equal(browser.call.sessions.get('b')?.polite, true);
});

test('a late negotiation message from an earlier call never acts on the next one', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  const oldCall = ada.call.callId;
  ada.call.hangup();
  await room.settle();
  await call(ada, bob);
  const session = bob.call.sessions.get('a');
  const pc = /** @type {FakePeerConnection} */ (/** @type {any} */ (session?.call?.pc));
  const applied = pc.remoteApplied.length;
  bob.call.receive('a', { kind: 'description', call: oldCall, description: { type: 'offer', sdp: 'stale' } });
  await room.settle();
  assert.equal(pc.remoteApplied.length, applied, 'the stale offer was not applied');
  assert.equal(session?.state, 'connected');
});

test('an app that holds one connection refuses a second, and says so', async () => {
  const ada = room.add('a', 'Ada');
  const nell = room.add('n', 'Nell', { caps: ['no-rollback', 'one-peer'] });
  await call(ada, nell);
  const cleo = room.add('c', 'Cleo');
  await room.settle();
  cleo.call.join();
  await room.settle();
  assert.deepEqual(states(cleo), ['Ada:connected']);
  assert.match(cleo.notices.join(' '), /Nell's app can be in a call with one person at a time/);
  assert.deepEqual(states(nell), ['Ada:connected']);
});

test('someone who loses the server comes back under a new id and the call goes on', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  // Bob's connection to the server drops and comes back: he is b2 now.
  room.reconnect(bob, 'b2');
  assert.equal(ada.call.sessions.get('b')?.state, 'connected', 'the media still flows');
  await room.settle();
  assert.ok(ada.call.sessions.has('b2'), 'Ada knows Bob by his new id');
  assert.equal(ada.call.sessions.get('b2')?.state, 'connected');
  assert.equal(bob.call.sessions.get('a')?.state, 'connected');
});

test('in a call, ringing whoever in the room is not in it adds them to everyone; names follow who answered', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  const cleo = room.add('c', 'Cleo');
  ada.call.ring();
  await room.settle();
  assert.deepEqual(ada.call.names(), ['Bob', 'Cleo'], 'nobody answered yet: ringing both');
  bob.call.accept();
  await room.settle();
  assert.deepEqual(ada.call.names(), ['Bob'], 'Bob answered: in a call with Bob');
  cleo.call.decline();
  await room.settle();
  const dan = room.add('d', 'Dan');
  await room.settle();
  assert.deepEqual(ada.call.notInCall().map((p) => p.name).sort(), ['Cleo', 'Dan']);
  bob.call.ring();
  await room.settle();
  assert.equal(dan.call.incoming?.name, 'Bob');
  dan.call.accept();
  await room.settle();
  assert.deepEqual(states(dan), ['Ada:connected', 'Bob:connected']);
  assert.deepEqual(states(ada), ['Bob:connected', 'Dan:connected']);
});

test('losing our own server, however long, never ends a call whose media flows', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  room.lose(bob);
  assert.equal(bob.call.serverAway, true);
  room.clock.advance(10 * 60_000);
  await room.settle();
  assert.deepEqual(states(bob), ['Ada:connected']);
  assert.deepEqual(states(ada), ['Bob:connected']);
  room.resume(bob);
  await room.settle();
  assert.equal(bob.call.serverAway, false);
  assert.deepEqual(states(bob), ['Ada:connected']);
  assert.deepEqual(bob.notices, []);
});

test('when the path fails, the impolite side restarts ICE with backoff until it heals, and the call goes on', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  const adaSide = ada.call.sessions.get('b');
  const impolite = adaSide?.polite ? bob : ada;
  const pc = /** @type {any} */ (connections.find((c) => c === [...impolite.call.sessions.values()][0].call?.pc));
  network.down = true;
  for (const c of connections) c.fail();
  await room.settle();
  assert.deepEqual(states(ada), ['Bob:reconnecting']);
  for (const [ms, restarts] of [[2000, 1], [5000, 2], [10_000, 3], [15_000, 4], [15_000, 5]]) {
    room.clock.advance(ms);
    await room.settle();
    assert.equal(pc.restarts ?? 0, restarts, `restarts after ${ms} ms more`);
  }
  network.down = false;
  room.clock.advance(15_000);
  await room.settle();
  assert.deepEqual(states(ada), ['Bob:connected']);
  assert.deepEqual(states(bob), ['Ada:connected']);
  // Once back, a later outage starts the backoff from the beginning and the limit anew.
  room.clock.advance(LOST_LIMIT_MS);
  assert.deepEqual(states(ada), ['Bob:connected']);
});

test('a path that stays down ends the call after the limit, and says why', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  network.down = true;
  for (const c of connections) c.fail();
  await room.settle();
  room.clock.advance(LOST_LIMIT_MS - 1000);
  await room.settle();
  assert.deepEqual(states(ada), ['Bob:reconnecting'], 'still trying just before the limit');
  room.clock.advance(1000);
  await room.settle();
  assert.equal(ada.call.member, false);
  assert.match(ada.notices.join(' '), /connection to Bob could not be restored for two minutes/);
});

test('a call that never connects ends after its limit with the likely cause', async () => {
  network.down = true;
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  for (const c of connections) c.fail();
  await room.settle();
  room.clock.advance(CONNECT_LIMIT_MS);
  await room.settle();
  assert.equal(ada.call.member, false);
  assert.match(ada.notices.join(' '), /Could not connect to Bob\. No STUN or TURN server is set up/);
});

test('an ICE restart offer lost while the server was away is sent again when it is back', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  const impolite = ada.call.sessions.get('b')?.polite ? bob : ada;
  const polite = impolite === ada ? bob : ada;
  network.down = true;
  room.lose(impolite, { noticed: false });
  for (const c of connections) c.fail();
  room.clock.advance(2000);
  await room.settle();
  const pc = /** @type {any} */ ([...impolite.call.sessions.values()][0].call?.pc);
  assert.equal(pc.signalingState, 'have-local-offer', 'the restart offer went nowhere');
  impolite.call.lostServer();
  network.down = false;
  room.resume(impolite);
  await room.settle();
  assert.equal(pc.signalingState, 'stable', 'the offer was sent again and answered');
  assert.deepEqual(states(impolite), [`${polite.name}:connected`]);
});

test('packets that stop take the media for down even when ICE says nothing (as webrtcbin 1.22 says nothing), and ICE is restarted', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  for (const person of [ada, bob]) person.call.sending = () => ({ audio: true, video: true });
  await call(ada, bob);
  const session = /** @type {any} */ ([...ada.call.sessions.values()][0]);
  const impolite = session.polite ? bob : ada;
  const pc = /** @type {any} */ ([...impolite.call.sessions.values()][0].call?.pc);
  const mine = /** @type {any} */ (session.call.pc);
  const tick = async (ms) => {
    room.clock.advance(ms);
    await ada.call.tick();
    await bob.call.tick();
    await room.settle();
  };
  for (let i = 0; i < 3; i += 1) {
    for (const c of connections) c.packets += 50;
    await tick(1000);
  }
  assert.equal(session.unstable, false);
  // The path goes dark: no packets, and ICE reports nothing.
  await tick(1000);
  await tick(1000);
  assert.equal(session.unstable, true, 'unstable after 1.5 s without a packet');
  assert.deepEqual(states(ada), ['Bob:connected']);
  await tick(1000);
  await tick(1000);
  assert.deepEqual(states(ada), ['Bob:reconnecting'], 'down after 4 s without a packet');
  await tick(2000);
  assert.equal(pc.restarts, 1, 'the impolite side restarted ICE');
  // Packets again: the call is whole.
  mine.packets += 50;
  await tick(1000);
  assert.deepEqual(states(ada), ['Bob:connected']);
  assert.equal(session.unstable, false);
});

test('someone sending nothing (microphone and camera off) is not taken for a link gone quiet', async () => {
  const ada = room.add('a', 'Ada');
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  const session = /** @type {any} */ ([...ada.call.sessions.values()][0]);
  session.handle(payload.media(session.callId, { audio: false, video: false }));
  for (let i = 0; i < 10; i += 1) {
    room.clock.advance(1000);
    await ada.call.tick();
  }
  assert.equal(session.unstable, false);
  assert.deepEqual(states(ada), ['Bob:connected']);
});

test('where ICE cannot be restarted, the side that offers makes a new connection and the other side follows', async () => {
  network.restartable = false;
  const ada = room.add('a', 'Ada', { caps: ['no-rollback'] });
  const bob = room.add('b', 'Bob');
  await call(ada, bob);
  const adaSide = /** @type {any} */ (ada.call.sessions.get('b'));
  const bobSide = /** @type {any} */ (bob.call.sessions.get('a'));
  assert.equal(adaSide.polite, false, 'the side that cannot roll back offers');
  const [firstAda, firstBob] = [adaSide.call.pc, bobSide.call.pc];
  room.clock.advance(60_000);
  network.down = true;
  for (const c of connections) c.fail();
  room.clock.advance(2000);
  await room.settle();
  assert.equal(adaSide.generation, 1, 'Ada made a new connection');
  assert.equal(firstAda.connectionState, 'closed', 'and closed the old one');
  assert.equal(firstAda.restarts ?? 0, 0, 'rather than restart ICE');
  assert.equal(bobSide.generation, 1, 'Bob followed');
  assert.equal(firstBob.connectionState, 'closed');
  // Still dark: the new connection is negotiated but does not connect. It is given time (its
  // offer may be late) before the next replaces it; that one connects.
  assert.deepEqual(states(ada), ['Bob:reconnecting']);
  network.down = false;
  room.clock.advance(5000);
  await room.settle();
  assert.equal(adaSide.generation, 1, 'not replaced again at once');
  room.clock.advance(10_000);
  await room.settle();
  assert.equal(adaSide.generation, 2);
  assert.deepEqual(states(ada), ['Bob:connected']);
  assert.deepEqual(states(bob), ['Ada:connected']);
  assert.equal(adaSide.generation, bobSide.generation);
  // A late message of the old connection is not taken for the new one's.
  const live = bobSide.call.pc;
  bobSide.handle(payload.description({ type: 'offer', sdp: 'offer-old' }, bobSide.callId));
  await room.settle();
  assert.equal(live.remoteApplied.some((d) => d.sdp === 'offer-old'), false);
});
