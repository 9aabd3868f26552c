//! Files in real Chromium through the real server, what a person can do besides receiving:
//! Decline, and Cancel from either side, said on both, leaving nothing behind. (The big file is
//! files.test.mjs, a server restart mid-transfer files-restart.test.mjs: each file of tests has
//! its own time limit.)

import { test } from 'node:test';
import { setUp, waitFor } from './harness.mjs';
import { testFolder, makeFile, pair, sendFile, transfer } from './transfers.mjs';

const scene = setUp({ fps: 15 });
const folder = testFolder();

test('Decline and Cancel from either side are said on both, and nothing is kept', async () => {
  const { ada, bob } = await pair(scene);
  const { file } = makeFile(folder, 'declined.bin', 1);
  await sendFile(ada, file);
  await bob.page.getByRole('button', { name: /^Chat, 1 unread/ }).click();
  await transfer(bob, 'declined.bin').getByRole('button', { name: 'Decline declined.bin' }).click();
  await transfer(ada, 'declined.bin').getByText('Bob declined it.').waitFor({ timeout: 10_000 });

  // Cancelled by the receiver mid-way, then by the sender mid-way.
  for (const [canceller, other, label] of [[bob, ada, 'Bob cancelled it.'], [ada, bob, 'Ada cancelled it.']]) {
    const { file: big } = makeFile(folder, `cancel-${canceller.name}.bin`, 100);
    const name = `cancel-${canceller.name}.bin`;
    await sendFile(ada, big);
    await transfer(bob, name).getByRole('button', { name: `Save ${name}` }).click({ timeout: 30_000 });
    await transfer(bob, name).getByText(/Receiving · [1-9][\d.]* [kM]B of/).waitFor({ timeout: 30_000 });
    await transfer(canceller, name).getByRole('button', { name: `Cancel ${name}` }).click();
    await transfer(canceller, name).getByText('Cancelled · You cancelled it.').waitFor({ timeout: 10_000 });
    try {
      await transfer(other, name).getByText(`Cancelled · ${label}`).waitFor({ timeout: 10_000 });
    } catch (e) {
      throw new Error(`${e.message}; ${other.name}'s transfers: ${JSON.stringify(await other.page.locator('#transferList').innerText())}`);
    }
  }
  const kept = () => bob.page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const folder = await root.getDirectoryHandle('incoming', { create: true });
    const names = [];
    for await (const name of /** @type {any} */ (folder).keys()) names.push(name);
    return names;
  });
  try {
    await waitFor(async () => (await kept()).length === 0, 10_000, 'the cancelled files to leave nothing behind');
  } catch (e) {
    throw new Error(`${e.message}: ${(await kept()).join(', ')}; Bob's transfers: ${await bob.page.locator('#transferList').innerText()}`);
  }
});
