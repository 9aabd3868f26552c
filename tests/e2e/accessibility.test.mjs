//! Accessibility, measured: every screen the call goes through passes axe-core's WCAG 2.1 A and AA
//! rules at desktop and phone widths; a whole call is made with the keyboard alone, with visible
//! focus at each step; and what a screen reader hears (the live regions) says what happens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom, connectCall } from './harness.mjs';

const scene = setUp({ fps: 15 });

for (const viewport of [{ width: 1280, height: 800 }, { width: 360, height: 740 }]) {
  test(`every screen of a call passes the audit at ${viewport.width} px`, async () => {
    const room = freshRoom('a11y');
    const ada = await Person.open(scene.browser, scene.server.url, 'Ada', { viewport });
    const bob = await Person.open(scene.browser, scene.server.url, 'Bob', { viewport });
    scene.people.push(ada, bob);
    await ada.audit('the join screen');
    await ada.button('Join').click();
    await ada.waitForNotice(/Enter a name/);
    await ada.audit('the join screen with an error');

    await ada.joinAndWait(room);
    await ada.audit('the room, waiting for someone');
    await bob.joinAndWait(room);
    await ada.button('Call').click();
    await bob.page.getByRole('alertdialog').waitFor();
    await ada.audit('ringing');
    await bob.audit('an incoming call');
    await bob.button('Accept').click();
    await Promise.all([ada.framesAdvance(10), bob.framesAdvance(10)]);
    await ada.audit('a call');
    // The red Hang Up keeps its contrast when pointed at and when focused.
    await ada.button('Hang Up').hover();
    await ada.audit('a call, the pointer on Hang Up');
    await ada.button('Hang Up').focus();
    await ada.audit('a call, Hang Up focused');
    await ada.button('Stats').click();
    await ada.audit('a call with the stats panel open');
    await ada.button('Stats').click();
    await ada.button('Devices').click();
    await ada.audit('a call with the devices panel open');
    await ada.button('Devices').click();
    await bob.button('Stop Video').click();
    await bob.button('Mute').click();
    await ada.page.getByText('Bob is muted', { exact: true }).waitFor();
    await ada.audit('a call with the other person\'s camera off and muted');
    await ada.button('Hang Up').click();
    await ada.waitForCallState('Call ended');
    await ada.audit('a call that ended');
  });
}

/** The focused element: its id, and whether the browser draws its focus ring. */
const focused = (person) => person.page.evaluate(() => {
  const el = document.activeElement;
  return { id: el?.id ?? '', visible: !!el && el !== document.body && el.matches(':focus-visible') };
});

/** Presses Tab until the element with `id` has focus (at most 30 times), and checks it shows. */
async function tabTo(person, id) {
  for (let i = 0; i < 30; i += 1) {
    const now = await focused(person);
    if (now.id === id) {
      assert.ok(now.visible, `#${id} has focus but no visible focus ring`);
      return;
    }
    await person.page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached #${id} on ${person.name}'s page`);
}

test('a whole call is made with the keyboard alone, focus visible at every step', async () => {
  const room = freshRoom('keys');
  const ada = await Person.open(scene.browser, scene.server.url, 'Ada');
  const bob = await Person.open(scene.browser, scene.server.url, 'Bob');
  scene.people.push(ada, bob);
  for (const [person, name] of [[bob, 'Bob'], [ada, 'Ada']]) {
    await tabTo(person, 'nameInput');
    await person.page.keyboard.type(name);
    await tabTo(person, 'roomInput');
    await person.page.keyboard.type(room);
    await person.page.keyboard.press('Enter');
    await person.page.getByRole('button', { name: 'Leave' }).waitFor();
  }
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await tabTo(ada, 'callBtn');
  await ada.page.keyboard.press('Enter');

  // The incoming call takes focus on Accept: Escape declines, and focus returns to the page.
  await bob.page.getByRole('alertdialog').waitFor();
  assert.equal((await focused(bob)).id, 'acceptBtn');
  await bob.page.keyboard.press('Escape');
  await ada.waitForNotice(/Bob declined the call/);
  assert.equal((await focused(bob)).id, 'callBtn', 'focus after declining');
  assert.equal((await focused(ada)).id, 'callBtn', 'focus after the call was declined');

  await ada.page.keyboard.press('Enter');
  await bob.page.getByRole('alertdialog').waitFor();
  assert.equal((await focused(bob)).id, 'acceptBtn');
  await bob.page.keyboard.press('Space');
  await Promise.all([ada.framesAdvance(10), bob.framesAdvance(10)]);
  assert.equal((await focused(bob)).id, 'hangupBtn', 'focus once the call is up');

  await tabTo(bob, 'muteBtn');
  await bob.page.keyboard.press('Space');
  await ada.page.getByText('Bob is muted', { exact: true }).waitFor();
  await tabTo(bob, 'statsBtn');
  await bob.page.keyboard.press('Enter');
  await bob.page.locator('#statsPanel').waitFor();
  await bob.page.keyboard.press('Escape');
  await bob.page.locator('#statsPanel').waitFor({ state: 'hidden' });
  assert.equal((await focused(bob)).id, 'statsBtn', 'focus after closing the stats');
  await tabTo(bob, 'hangupBtn');
  await bob.page.keyboard.press('Enter');
  await ada.waitForNotice(/Bob hung up/);
  assert.equal((await focused(bob)).id, 'callBtn', 'focus after hanging up');
});

/** Everything the page's live regions have said, in order, from now on. */
async function recordAnnouncements(person) {
  await person.page.evaluate(() => {
    const heard = /** @type {string[]} */ ([]);
    /** @type {any} */ (globalThis).heard = heard;
    const regions = [...document.querySelectorAll('[aria-live], [role=status], [role=alert]')];
    const observer = new MutationObserver(() => {
      for (const r of regions) {
        const text = (r.textContent ?? '').trim();
        if (text && !r.closest('[hidden]') && heard.at(-1) !== text && !heard.includes(text)) heard.push(text);
      }
    });
    for (const r of regions) observer.observe(r, { childList: true, subtree: true, characterData: true });
  });
  return () => person.page.evaluate(() => /** @type {any} */ (globalThis).heard);
}

test('a screen reader hears who comes and goes and each step of the call', async () => {
  const room = freshRoom('live');
  const ada = await Person.open(scene.browser, scene.server.url, 'Ada');
  const bob = await Person.open(scene.browser, scene.server.url, 'Bob');
  scene.people.push(ada, bob);
  await ada.joinAndWait(room);
  const heardByAda = await recordAnnouncements(ada);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await connectCall(ada, bob);
  await bob.button('Hang Up').click();
  await ada.waitForNotice(/Bob hung up/);
  await bob.button('Leave').click();
  await ada.page.getByText('Waiting for someone to join…', { exact: true }).waitFor();
  const heard = await heardByAda();
  for (const expected of ['Bob is here', 'Ringing Bob…', 'In a call with Bob', 'Bob hung up.', 'Waiting for someone to join…']) {
    assert.ok(heard.some((h) => h.includes(expected)), `Ada's screen reader heard "${expected}" (heard: ${JSON.stringify(heard)})`);
  }
});
