//! Chat in real Chromium through the real server: messages both ways in a call of two and to
//! everyone in a call of three, over the data channel made with the connection; text with markup
//! in it arrives as text, links as links; an unread count while the panel is closed; a message
//! over 4 KiB refused with a reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom, connectCall } from './harness.mjs';

const scene = setUp({ fps: 15 });

/** People in a fresh room, each having seen the ones before. */
async function inRoom(...names) {
  const room = freshRoom('chat');
  const joined = [];
  for (const name of names) {
    const person = await Person.open(scene.browser, scene.server.url, name, { small: true });
    scene.people.push(person);
    await person.joinAndWait(room);
    joined.push(person);
  }
  return joined;
}

/** Opens the chat panel (unless open) and sends `text` with Enter. */
async function say(person, text) {
  const box = person.page.getByRole('textbox', { name: 'Message' });
  if (!(await box.isVisible())) await person.page.getByRole('button', { name: /^Chat/ }).click();
  await box.fill(text);
  await box.press('Enter');
}

/** The chat log of `person`, open or not (a closed panel is out of the accessibility tree). */
const log = (person) => person.page.locator('#chatLog');

test('two people chat both ways; markup arrives as text and links as links; unread is counted', async () => {
  const [ada, bob] = await inRoom('Ada', 'Bob');
  await connectCall(ada, bob);
  await say(ada, 'Hello <b>Bob</b>, see https://example.org/notes?id=1.');

  // Bob's panel is closed: his Chat button counts the message.
  await bob.page.getByRole('button', { name: 'Chat, 1 unread' }).waitFor({ timeout: 10_000 });
  await bob.page.getByRole('button', { name: 'Chat, 1 unread' }).click();
  const received = log(bob).getByRole('listitem').last();
  await received.getByText('Hello <b>Bob</b>, see', { exact: false }).waitFor();
  assert.equal(await log(bob).locator('b').count(), 0, 'no markup was made from the message');
  assert.equal(await received.getByRole('link').getAttribute('href'), 'https://example.org/notes?id=1');
  assert.match(await received.innerText(), /^Ada · \d\d:\d\d/);
  await bob.page.getByRole('button', { name: 'Chat', exact: true }).waitFor();

  await say(bob, 'Hi Ada');
  await ada.page.getByRole('log', { name: 'Messages' }).getByText('Hi Ada').waitFor({ timeout: 10_000 });
  assert.equal(await bob.page.getByRole('log', { name: 'Messages' }).getByRole('listitem').count(), 2, 'the log lists the messages');
  assert.deepEqual(await log(ada).getByRole('listitem').allInnerTexts().then((items) => items.map((t) => t.split('\n').at(-1))),
    ['Hello <b>Bob</b>, see https://example.org/notes?id=1.', 'Hi Ada']);
  await bob.screenshot('chat-two.png');
  await bob.audit('the chat panel with messages');
});

test('in a call of three a message reaches both others', async () => {
  const [ada, bob, cleo] = await inRoom('Ada', 'Bob', 'Cleo');
  await ada.button('Call').click();
  for (const callee of [bob, cleo]) {
    await callee.page.getByRole('alertdialog').filter({ hasText: 'Ada is calling' }).waitFor();
    await callee.button('Accept').click();
  }
  await bob.tileAdvances('Cleo', 5);
  await cleo.tileAdvances('Bob', 5);
  await say(cleo, 'Can everyone read this?');
  for (const person of [ada, bob]) {
    await person.page.getByRole('button', { name: 'Chat, 1 unread' }).waitFor({ timeout: 10_000 });
    await log(person).getByText('Can everyone read this?').waitFor({ state: 'attached' });
  }
});

test('a message over 4 KiB is refused with a reason and not sent', async () => {
  const [ada, bob] = await inRoom('Ada', 'Bob');
  await connectCall(ada, bob);
  await say(ada, 'é'.repeat(2100));
  await ada.page.getByRole('alert').filter({ hasText: /too long \(4200 bytes\); a message can be up to 4096 bytes/ }).waitFor();
  assert.equal(await ada.page.getByRole('textbox', { name: 'Message' }).inputValue(), 'é'.repeat(2100), 'the text is kept to shorten');
  await say(ada, 'short one');
  await log(bob).getByText('short one').waitFor({ state: 'attached', timeout: 10_000 });
  assert.equal(await log(bob).locator('li').count(), 1, 'only the short message arrived');
});
