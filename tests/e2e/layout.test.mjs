//! What a person sees and how they get around: every screen from 360 px wide to full HD without
//! sideways scrolling, and a whole call made with the keyboard alone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, Person, freshRoom } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Fails when anything sticks out sideways or a named control is cut off. */
async function assertFits(person, what) {
  const overflow = await person.page.evaluate(() => {
    const doc = document.scrollingElement ?? document.documentElement;
    const wide = doc.scrollWidth > window.innerWidth;
    const clipped = [...document.querySelectorAll('button, input, select, video')]
      .filter((el) => el.checkVisibility?.() ?? true)
      .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && (r.left < 0 || r.right > window.innerWidth + 0.5); })
      .map((el) => el.id || el.textContent);
    return { wide, clipped };
  });
  assert.deepEqual(overflow, { wide: false, clipped: [] }, `${what} fits the window`);
}

for (const viewport of [{ width: 360, height: 740 }, { width: 1920, height: 1080 }]) {
  test(`every screen fits at ${viewport.width}×${viewport.height}`, async () => {
    const room = freshRoom();
    const ada = await Person.open(browser, server.url, 'Ada', { viewport });
    const bob = await Person.open(browser, server.url, 'Bob', { viewport });
    await assertFits(ada, 'the join form');
    await ada.screenshot(`join-${viewport.width}.png`);
    await ada.joinAndWait(room);
    await bob.joinAndWait(room);
    await ada.button('Call').click();
    await bob.button('Accept').waitFor();
    await assertFits(bob, 'the incoming call');
    await bob.screenshot(`incoming-${viewport.width}.png`);
    await bob.button('Accept').click();
    await ada.waitForCallState('In a call with Bob');
    await ada.framesAdvance(10);
    await ada.button('Stats').click();
    await assertFits(ada, 'the call with stats open');
    await ada.screenshot(`call-${viewport.width}.png`);
    const sizes = await ada.page.evaluate(() => {
      const box = (id) => document.getElementById(id).getBoundingClientRect();
      return { remote: box('remoteVideo').width * box('remoteVideo').height, local: box('localVideo').width * box('localVideo').height };
    });
    assert.ok(sizes.remote > 3 * sizes.local, 'the other person is large, the self-view small');
    ada.assertNoErrors();
    bob.assertNoErrors();
    await ada.close();
    await bob.close();
  });
}

test('a whole call by keyboard alone', async () => {
  const room = freshRoom();
  const ada = await Person.open(browser, server.url + `/?room=${room}`, 'Ada');
  const bob = await Person.open(browser, server.url + `/?room=${room}&name=Bob`, 'Bob');
  // The address fills the room; Ada types her name, and Enter joins.
  assert.equal(await ada.page.getByLabel('Room').inputValue(), room);
  await ada.page.keyboard.type('Ada');
  await ada.page.keyboard.press('Enter');
  await ada.page.getByRole('button', { name: 'Leave' }).waitFor();
  // Bob's name and room came from the address, and Join has the focus.
  await bob.page.keyboard.press('Enter');
  await bob.page.getByRole('button', { name: 'Leave' }).waitFor();
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();

  // Ada tabs to Call.
  for (let i = 0; i < 15; i++) {
    await ada.page.keyboard.press('Tab');
    if (await ada.page.evaluate(() => document.activeElement?.textContent) === 'Call') break;
  }
  await ada.page.keyboard.press('Enter');
  // Accept takes the focus when the call comes in; Enter accepts.
  await bob.button('Accept').waitFor();
  assert.equal(await bob.page.evaluate(() => document.activeElement?.textContent), 'Accept');
  await bob.page.keyboard.press('Enter');
  await ada.waitForCallState('In a call with Bob');
  // Hang Up takes the focus once the call starts.
  assert.equal(await bob.page.evaluate(() => document.activeElement?.textContent), 'Hang Up');
  await bob.page.keyboard.press('Enter');
  await ada.waitForCallState('Call ended', 3000);
  // The remembered name is there next time.
  await ada.page.reload();
  assert.equal(await ada.page.getByLabel('Name').inputValue(), 'Ada');
  ada.assertNoErrors();
  bob.assertNoErrors();
  await ada.close();
  await bob.close();
});
