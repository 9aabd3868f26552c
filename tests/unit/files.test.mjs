//! Files between two `Files` over a fake channel pair: the offer, nothing received before Save,
//! the bytes and their hash, a damaged file refused, Decline and Cancel said on both sides, a
//! transfer carried on from the bytes received after the person came back under a new id, and the
//! messages a receiver refuses. The incremental SHA-256 against Node's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Files, parseWire, safeName, size } from '../../ui/js/files.js';
import { Sha256 } from '../../ui/js/sha256.js';

/** A data channel to the other side: messages arrive there one by one, in order. */
class FakeChannel extends EventTarget {
  constructor() {
    super();
    /** The text messages sent, for what the test checks. @type {string[]} */
    this.texts = [];
    this.readyState = 'open';
    this.bufferedAmount = 0;
    /** @type {(data: string | ArrayBuffer) => void} */
    this.deliver = () => {};
    /** Changes bytes on the way, to stand for a damaged transfer. */
    this.damage = false;
    this.sent = 0;
    this.breakAfter = Infinity;
  }

  send(data) {
    this.sent += 1;
    // A connection that breaks: what is sent from then on is lost.
    if (this.sent > this.breakAfter) this.readyState = 'closed';
    if (this.readyState !== 'open') return;
    if (typeof data === 'string') this.texts.push(data);
    let copy = typeof data === 'string' ? data : data.slice().buffer;
    if (this.damage && typeof copy !== 'string') new Uint8Array(copy)[20] ^= 0xff;
    setImmediate(() => this.deliver(copy));
  }
}

/** Ada and Bob, each with their `Files`, joined by a channel each way. */
function pair({ slowDisk = false } = {}) {
  const toBob = new FakeChannel();
  const toAda = new FakeChannel();
  const sinks = [];
  const openSink = async () => {
    const parts = [];
    const write = async (b) => {
      // A slow disk: each write takes a while (a timer turn), far slower than chunks arrive.
      if (slowDisk) await new Promise((r) => setTimeout(r, 1));
      parts.push(Buffer.from(b));
    };
    const sink = { parts, aborted: false, write, close: async () => new Blob(parts), abort: async () => { sink.aborted = true; } };
    sinks.push(sink);
    return sink;
  };
  const people = { ada: 'ada', bob: 'bob' };
  const ada = new Files({ channel: (peer) => (peer === people.bob ? toBob : null), openSink });
  const bob = new Files({ channel: (peer) => (peer === people.ada ? toAda : null), openSink });
  toBob.deliver = (data) => bob.receive(people.ada, 'Ada', data);
  toAda.deliver = (data) => ada.receive(people.bob, 'Bob', data);
  return { ada, bob, toBob, toAda, sinks, people };
}

/** Waits until `check` holds (the fake channels deliver on the next turns), 30 s at most. */
async function until(check) {
  const deadline = Date.now() + 30_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.ok(check(), 'never happened');
}

const state = (files, name) => files.list().find((t) => t.name === name)?.state;

test('an offered file is received only after Save, and arrives whole and verified', async () => {
  const { ada, bob, sinks } = pair();
  const bytes = randomBytes(100_000);
  await ada.offer(new File([bytes], 'notes.pdf', { type: 'application/pdf' }), { id: 'bob', name: 'Bob' });
  await until(() => state(bob, 'notes.pdf') === 'offered');
  const offered = bob.list()[0];
  assert.deepEqual([offered.direction, offered.peerName, offered.size], ['in', 'Ada', 100_000]);
  assert.equal(sinks.length, 0, 'nothing received before Save');
  await bob.accept(offered.id);
  await until(() => state(ada, 'notes.pdf') === 'verified');
  assert.equal(state(bob, 'notes.pdf'), 'verified');
  const saved = Buffer.from(await bob.list()[0].saved.arrayBuffer());
  assert.ok(saved.equals(bytes));
});

test('a file damaged on the way is refused, and the sender told', async () => {
  const { ada, bob, toBob, sinks } = pair();
  await ada.offer(new File([randomBytes(50_000)], 'photo.jpg'), { id: 'bob', name: 'Bob' });
  await until(() => state(bob, 'photo.jpg') === 'offered');
  toBob.damage = true;
  await bob.accept(bob.list()[0].id);
  await until(() => state(ada, 'photo.jpg') === 'failed');
  assert.equal(state(bob, 'photo.jpg'), 'failed');
  assert.match(bob.list()[0].reason ?? '', /damaged/);
  assert.match(ada.list()[0].reason ?? '', /Bob received it damaged/);
  assert.equal(sinks[0].aborted, true, 'the damaged bytes are not kept');
});

test('Decline and Cancel are said on both sides', async () => {
  const { ada, bob } = pair();
  await ada.offer(new File(['x'], 'a.txt'), { id: 'bob', name: 'Bob' });
  await until(() => state(bob, 'a.txt') === 'offered');
  bob.decline(bob.list()[0].id);
  await until(() => state(ada, 'a.txt') === 'declined');
  assert.equal(ada.list()[0].reason, 'Bob declined it.');

  await ada.offer(new File(['y'], 'b.txt'), { id: 'bob', name: 'Bob' });
  await until(() => state(bob, 'b.txt') === 'offered');
  ada.cancel(ada.list().find((t) => t.name === 'b.txt').id);
  await until(() => state(bob, 'b.txt') === 'cancelled');
  assert.equal(bob.list().find((t) => t.name === 'b.txt').reason, 'Ada cancelled it.');
});

test('after the sender comes back under a new id, the file carries on from the bytes received', async () => {
  const { ada, bob, toBob, people } = pair();
  const bytes = randomBytes(3_000_000);
  await ada.offer(new File([bytes], 'video.mp4'), { id: 'bob', name: 'Bob' });
  await until(() => state(bob, 'video.mp4') === 'offered');
  // Ada's connection breaks after 40 more messages; she comes back as "ada-2".
  toBob.breakAfter = toBob.sent + 40;
  await bob.accept(bob.list()[0].id);
  await until(() => toBob.readyState === 'closed' && bob.list()[0].done > 0);
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  const received = bob.list()[0].done;
  assert.ok(received > 0 && received < 3_000_000, `${received} bytes before the break`);
  assert.equal(state(bob, 'video.mp4'), 'receiving');
  people.ada = 'ada-2';
  toBob.breakAfter = Infinity;
  toBob.readyState = 'open';
  bob.rebound('ada', 'ada-2');
  await until(() => state(bob, 'video.mp4') === 'verified');
  await until(() => state(ada, 'video.mp4') === 'verified');
  assert.ok(Buffer.from(await bob.list()[0].saved.arrayBuffer()).equals(bytes));
});

test('a receiver whose disk is behind asks the sender to wait, and the file still arrives whole', async () => {
  const { ada, bob, toAda } = pair({ slowDisk: true });
  const bytes = randomBytes(40 * 1024 * 1024);
  await ada.offer(new File([bytes], 'disk.img'), { id: 'bob', name: 'Bob' });
  await until(() => state(bob, 'disk.img') === 'offered');
  await bob.accept(bob.list()[0].id);
  await until(() => state(bob, 'disk.img') === 'verified' || state(bob, 'disk.img') === 'failed');
  assert.equal(state(bob, 'disk.img'), 'verified', bob.list()[0].reason ?? '');
  const asked = toAda.texts.map((t) => JSON.parse(t).kind);
  assert.ok(asked.includes('file-wait'), `Bob asked Ada to wait (${asked.join(', ')})`);
  assert.ok(Buffer.from(await bob.list()[0].saved.arrayBuffer()).equals(bytes));
});

test('a receiver refuses messages it does not understand, and names that are paths', () => {
  for (const bad of ['{', '{"kind":"file-offer","id":"x","n":0,"name":"a","size":-1,"sha256":"00","type":""}',
    '{"kind":"file-accept","id":"x","offset":1.5}', '{"kind":"other","id":"x"}', JSON.stringify({ kind: 'file-cancel', id: 'x'.repeat(65) })]) {
    assert.equal(parseWire(bad), null, bad);
  }
  assert.equal(safeName('../../etc/passwd'), 'passwd');
  assert.equal(safeName('C:\\Users\\a\\report.pdf'), 'report.pdf');
  assert.equal(safeName('..'), 'file');
  assert.equal(size(2_400_000), '2.4 MB');
  assert.equal(size(999), '999 B');
});

test('the incremental SHA-256 matches Node\'s, fed in any pieces', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 100_000]) {
    const data = randomBytes(n);
    const hash = new Sha256();
    for (let i = 0; i < n; i += 37) hash.update(data.subarray(i, i + 37));
    assert.equal(hash.hex(), createHash('sha256').update(data).digest('hex'), `${n} bytes`);
  }
});
