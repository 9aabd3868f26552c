//! Chat messages: what may be sent (up to 4 KiB of UTF-8), what is taken from the channel (chat
//! messages only, checked), the conversation (bounded, unread counted while closed, a message
//! seen twice kept once), and text split into words and links, never markup.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusal, wire, parseWire, Conversation, segments, KEEP_MESSAGES, MAX_MESSAGE_BYTES } from '../../ui/js/chat.js';

test('a message is up to 4 KiB of UTF-8; empty and longer ones are refused with a reason', () => {
  assert.equal(refusal('hello'), null);
  assert.equal(refusal('a'.repeat(MAX_MESSAGE_BYTES)), null);
  assert.match(refusal('   ') ?? '', /Write a message/);
  assert.equal(refusal('é'.repeat(2100)), 'That message is too long (4200 bytes); a message can be up to 4096 bytes.');
});

test('only chat messages are taken from the channel', () => {
  const sent = wire('hi <b>there</b>', 1000, 'm1');
  assert.deepEqual(parseWire(JSON.stringify(sent)), { kind: 'chat', id: 'm1', text: 'hi <b>there</b>', at: 1000 });
  for (const bad of ['not json', '{"kind":"chat"}', '{"kind":"file","id":"x","text":"t","at":1}',
    JSON.stringify({ kind: 'chat', id: 'x', text: 'a'.repeat(5000), at: 1 }),
    JSON.stringify({ kind: 'chat', id: 'x', text: 'ok', at: 'soon' }), new ArrayBuffer(4)]) {
    assert.equal(parseWire(bad), null, String(bad).slice(0, 40));
  }
});

test('the conversation counts unread messages while closed, keeps the newest, and each message once', () => {
  const c = new Conversation();
  const msg = (id, mine = false) => ({ id, from: mine ? '' : 'a', name: 'Ada', text: id, at: 0, mine });
  c.add(msg('1'));
  c.add(msg('1'));
  c.add(msg('2', true));
  assert.equal(c.messages.length, 2);
  assert.equal(c.unread, 1, 'one of theirs; our own are read');
  c.setOpen(true);
  assert.equal(c.unread, 0);
  c.add(msg('3'));
  assert.equal(c.unread, 0, 'read as it comes while open');
  for (let i = 0; i < KEEP_MESSAGES + 10; i++) c.add(msg(`n${i}`));
  assert.equal(c.messages.length, KEEP_MESSAGES);
  assert.equal(c.messages.at(-1)?.id, `n${KEEP_MESSAGES + 9}`);
});

test('links are found in text, without a sentence\'s closing punctuation; nothing else is special', () => {
  assert.deepEqual(segments('see https://example.org/a?b=1. and (http://x.test/Page_(y))!'), [
    { text: 'see ' }, { link: 'https://example.org/a?b=1' }, { text: '. and (' }, { link: 'http://x.test/Page_(y)' }, { text: ')!' },
  ]);
  assert.deepEqual(segments('<a href="javascript:alert(1)">x</a> ftp://nope'), [{ text: '<a href="javascript:alert(1)">x</a> ftp://nope' }]);
});
