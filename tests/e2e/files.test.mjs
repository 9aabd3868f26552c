//! Files in real Chromium through the real server: a 200 MB file arrives whole (its SHA-256
//! checked on both sides) while the receiving page's memory stays flat, once the person presses
//! Save. (Decline and Cancel are files-control.test.mjs, a server restart mid-transfer
//! files-restart.test.mjs.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setUp, Person, freshRoom, connectCall } from './harness.mjs';

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

test('a 200 MB file arrives whole and verified, with the receiver\'s memory flat', async () => {
  const { ada, bob } = await pair();
  const { file, sha256 } = makeFile('big.bin', 200);
  await sendFile(ada, file);
  await bob.page.getByRole('button', { name: /^Chat, 1 unread/ }).click();
  await transfer(bob, 'big.bin (210 MB) from Ada').getByText('Wants to send you this file').waitFor({ timeout: 30_000 });
  const heapBefore = await heapMiB(bob);
  const downloading = bob.page.waitForEvent('download', { timeout: 170_000 });
  await transfer(bob, 'big.bin').getByRole('button', { name: 'Save big.bin' }).click();

  // Sample the receiver's heap all through the transfer.
  let peak = heapBefore;
  const sampling = (async () => {
    while (!(await transfer(bob, 'big.bin').getByText(/Saved|Failed/).isVisible())) {
      peak = Math.max(peak, await heapMiB(bob));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  await transfer(bob, 'big.bin').getByText(/Receiving · .* of 210 MB · .*\/s · .* left/).waitFor({ timeout: 30_000 });
  await transfer(bob, 'big.bin').getByText('Saved · verified').waitFor({ timeout: 170_000 });
  await sampling;
  await transfer(ada, 'big.bin').getByText('Bob has it · verified').waitFor({ timeout: 10_000 });
  const saved = await (await downloading).path();
  assert.equal(await sha256Of(saved), sha256, 'the file saved is the file sent');
  assert.ok(peak - heapBefore < 64, `the receiver's heap grew by ${Math.round(peak - heapBefore)} MiB receiving 200 MiB`);
  await bob.screenshot('files-received.png');
  await bob.audit('a received file');
});
