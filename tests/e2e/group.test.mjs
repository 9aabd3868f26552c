//! Group calls in real Chromium through the real server: a call of three that a fourth joins
//! without ringing, everyone seeing and hearing everyone; one leaving while the others carry on; one
//! reloading the page and coming back in; and a seventh person refused because the room is full.
//! The pages send 320x240 at 15 fps so that four of them, each encoding for three others, fit on
//! two cores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom, waitFor } from './harness.mjs';

const scene = setUp({ fps: 15 });

/** People in a fresh room, each having seen the ones before. */
async function inRoom(...names) {
  const room = freshRoom('group');
  const joined = [];
  for (const name of names) {
    const person = await Person.open(scene.browser, scene.server.url, name, { small: true });
    scene.people.push(person);
    await person.joinAndWait(room);
    joined.push(person);
  }
  return { room, people: joined };
}

/** Each person's tiles of everyone else show frames advancing and play sound. */
async function everyoneSeesAndHears(group) {
  for (const person of group) {
    for (const other of group) {
      if (other === person) continue;
      await person.tileAdvances(other.name, 10);
      // Listened to until a beep of the fake microphone is heard: on two loaded cores one window
      // can fall between beeps, or on a glitch.
      await waitFor(async () => (await person.tileAudioPeak(other.name, 1200)) > 0.05, 10_000, `${person.name} to hear ${other.name}`);
    }
  }
}

test('a call of three that a fourth joins: everyone sees and hears everyone; one leaves, the others carry on', async () => {
  const { room, people: [ada, bob, cleo, dan] } = await inRoom('Ada', 'Bob', 'Cleo', 'Dan');
  // Dan steps out of the room, and comes back once the call has started.
  await dan.button('Leave').click();
  await ada.button('Call').click();
  for (const callee of [bob, cleo]) {
    await callee.page.getByRole('alertdialog').filter({ hasText: 'Ada is calling' }).waitFor();
    await callee.button('Accept').click();
  }
  await ada.waitForCallState('In a call with Bob and Cleo', 30_000);
  await everyoneSeesAndHears([ada, bob, cleo]);
  await ada.screenshot('group-three.png');

  await dan.joinAndWait(room);
  await dan.page.getByText(/^Call with \w+, \w+ and \w+$/).waitFor();
  const joinText = await dan.page.locator('#joinCallText').textContent();
  for (const name of ['Ada', 'Bob', 'Cleo']) assert.match(joinText ?? '', new RegExp(name));
  await dan.button('Join call').click();
  await everyoneSeesAndHears([ada, bob, cleo, dan]);
  await dan.screenshot('group-four.png');
  await dan.audit('a call of four');

  await cleo.button('Hang Up').click();
  await ada.waitForNotice(/Cleo left the call/);
  await cleo.waitForCallState('Call ended');
  for (const [person, others] of [[ada, [bob, dan]], [bob, [ada, dan]], [dan, [ada, bob]]]) {
    for (const other of others) await person.tileAdvances(other.name, 10);
    assert.equal(await person.page.locator('video[aria-label="Video of Cleo"]').count(), 0, `${person.name} has no tile of Cleo`);
  }
});

test('someone who reloads the page comes back into the call with Join call', async () => {
  const { room, people: [ada, bob, cleo] } = await inRoom('Ada', 'Bob', 'Cleo');
  await ada.button('Call').click();
  for (const callee of [bob, cleo]) {
    await callee.page.getByRole('alertdialog').waitFor();
    await callee.button('Accept').click();
  }
  await everyoneSeesAndHears([ada, bob, cleo]);
  await bob.page.reload();
  await bob.joinAndWait(room);
  await bob.button('Join call').click();
  await everyoneSeesAndHears([ada, bob, cleo]);
  for (const person of [ada, cleo]) {
    assert.equal(await person.page.locator('video[aria-label="Video of Bob"]').count(), 1, `${person.name} has one tile of Bob`);
  }
});

test('a seventh person is told the room is full', async () => {
  const { room } = await inRoom('P1', 'P2', 'P3', 'P4', 'P5', 'P6');
  const seventh = await Person.open(scene.browser, scene.server.url, 'Seven');
  scene.people.push(seventh);
  await seventh.join(room);
  await seventh.waitForNotice(/full/);
  assert.ok(await seventh.page.getByLabel('Room').isVisible(), 'the seventh is back at the join form');
});
