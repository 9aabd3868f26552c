//! Files in real Chromium through the real server, what a person can do besides receiving:
//! Decline, and Cancel from either side, said on both, leaving nothing behind. (The big file is
//! files.test.mjs, a server restart mid-transfer files-restart.test.mjs: each file of tests has
//! its own time limit.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setUp, Person, freshRoom, connectCall, waitFor } from './harness.mjs';

const scene = setUp({ fps: 15 });
const folder = mkdtempSync(path.join(tmpdir(), 'hearth-files-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** A file of `megabytes` of random bytes; its path and SHA-256. */
function makeFile(name, megabytes) {
  const file = path.join(folder, name);
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < megabytes; i++) {
    randomFillSync(block);
    hash.update(block);
    writeSync(fd, block);
  }
  closeSync(fd);
  return { file, sha256: hash.digest('hex') };
}

/** The SHA-256 of a file on disk. */
async function sha256Of(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** Two people in a call. */
async function pair(server = scene.server, browser = scene.browser) {
  const room = freshRoom('files');
  const ada = await Person.open(browser, server.url, 'Ada', { small: true });
  const bob = await Person.open(browser, server.url, 'Bob', { small: true });
  scene.people.push(ada, bob);
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await connectCall(ada, bob);
  return { ada, bob };
}

/** `person` opens the chat and files panel and sends `file`. */
async function sendFile(person, file) {
  if (await person.page.locator('#chatPanel').isHidden()) await person.page.getByRole('button', { name: /^Chat/ }).click();
  await person.page.locator('#fileInput').setInputFiles(file);
}

/** The transfer of `name` as `person` lists it. */
const transfer = (person, name) => person.page.getByRole('list', { name: 'Files' }).getByRole('listitem').filter({ hasText: name });

/** The JS heap the page uses, in MiB (Chromium's own figure through the DevTools protocol). */
async function heapMiB(person) {
  const session = await person.page.context().newCDPSession(person.page);
  const { metrics } = await session.send('Performance.getMetrics').catch(async () => {
    await session.send('Performance.enable');
    return session.send('Performance.getMetrics');
  });
  await session.detach();
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1024 / 1024;
}

test('Decline and Cancel from either side are said on both, and nothing is kept', async () => {
  const { ada, bob } = await pair();
  const { file } = makeFile('declined.bin', 1);
  await sendFile(ada, file);
  await bob.page.getByRole('button', { name: /^Chat, 1 unread/ }).click();
  await transfer(bob, 'declined.bin').getByRole('button', { name: 'Decline declined.bin' }).click();
  await transfer(ada, 'declined.bin').getByText('Bob declined it.').waitFor({ timeout: 10_000 });

  // Cancelled by the receiver mid-way, then by the sender mid-way.
  for (const [canceller, other, label] of [[bob, ada, 'Bob cancelled it.'], [ada, bob, 'Ada cancelled it.']]) {
    const { file: big } = makeFile(`cancel-${canceller.name}.bin`, 100);
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
