//! What the file-transfer tests share: files of random bytes made in a folder of the test's own
//! (removed after it), the SHA-256 of a file on disk, two people in a call, sending a file through
//! the panel, a transfer as a person's list shows it, and a page's JavaScript heap.

import { after } from 'node:test';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Person, freshRoom, connectCall } from './harness.mjs';

/** A folder for the test file's files, removed after it. */
export function testFolder(prefix = 'hearth-files-') {
  const folder = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** A file of `megabytes` of random bytes in `folder`: its path and SHA-256. */
export function makeFile(folder, name, megabytes) {
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
export async function sha256Of(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** Ada and Bob in a call through `server`, put in `scene.people` to be checked and closed. */
export async function pair(scene, server = scene.server, browser = scene.browser) {
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
export async function sendFile(person, file) {
  if (await person.page.locator('#chatPanel').isHidden()) await person.page.getByRole('button', { name: /^Chat/ }).click();
  await person.page.locator('#fileInput').setInputFiles(file);
}

/** The transfer of `name` as `person` lists it. */
export const transfer = (person, name) => person.page.getByRole('list', { name: 'Files' }).getByRole('listitem').filter({ hasText: name });

/** The JS heap the page uses, in MiB (Chromium's own figure through the DevTools protocol). */
export async function heapMiB(person) {
  const session = await person.page.context().newCDPSession(person.page);
  const { metrics } = await session.send('Performance.getMetrics').catch(async () => {
    await session.send('Performance.enable');
    return session.send('Performance.getMetrics');
  });
  await session.detach();
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1024 / 1024;
}
