//! The call flow in real Chromium through the real server: join, call, accept, media both ways,
//! hang up, call back, decline, and the other person closing the window.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, Person, freshRoom, connectCall, waitFor } from './harness.mjs';

const scene = setUp();

async function two(room = freshRoom()) {
  const ada = await Person.open(scene.browser, scene.server.url, 'Ada');
  const bob = await Person.open(scene.browser, scene.server.url, 'Bob');
  scene.people.push(ada, bob);
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await bob.page.getByText('Ada is here', { exact: true }).waitFor();
  return { ada, bob };
}

test('two people join, call, see and hear each other, hang up, and call back the other way', async () => {
  const { ada, bob } = await two();
  await ada.screenshot('room-waiting.png');
  await connectCall(ada, bob);
  assert.ok(await bob.remoteAudioPeak() > 0.01, 'Bob hears Ada');
  assert.ok(await ada.remoteAudioPeak() > 0.01, 'Ada hears Bob');
  await ada.screenshot('in-call.png');

  await ada.button('Hang Up').click();
  await ada.waitForCallState('Call ended', 5000);
  await bob.waitForCallState('Call ended', 2000);
  await bob.waitForNotice('Ada hung up');
  assert.ok(await ada.remoteCleared() && await bob.remoteCleared(), 'both remote videos cleared');
  assert.ok(await ada.localReleased() && await bob.localReleased(), 'both cameras released');

  await connectCall(bob, ada);
  await bob.button('Hang Up').click();
  await ada.waitForCallState('Call ended', 2000);
});

test('declining tells the caller and leaves both ready to call again', async () => {
  const { ada, bob } = await two();
  await ada.button('Call').click();
  await bob.page.getByRole('alertdialog').filter({ hasText: 'Ada is calling' }).waitFor();
  await bob.screenshot('incoming.png');
  await bob.button('Decline').click();
  await ada.waitForNotice('Bob declined the call');
  await ada.waitForCallState('Call ended');
  assert.equal(await bob.page.getByRole('alertdialog').count(), 0);
  assert.ok(await ada.button('Call').isEnabled() && await bob.button('Call').isEnabled());
  await connectCall(ada, bob);
});

test('the other person closing their window ends the call', async () => {
  const { ada, bob } = await two();
  await connectCall(ada, bob);
  bob.assertNoErrors();
  scene.people = [ada];
  await bob.close({ runBeforeUnload: true });
  await ada.waitForCallState('Call ended', 5000);
  assert.ok(await ada.remoteCleared());
  await ada.page.getByText('Waiting for someone to join').waitFor();
});

