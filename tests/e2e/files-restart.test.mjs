//! Files in real Chromium through the real server: a transfer going on while the signaling server
//! restarts completes with the right hash. (A file of tests of its own: each has its own time
//! limit, and a transfer takes a while on two cores.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setUp, Person, freshRoom, connectCall, waitFor, startServer } from './harness.mjs';

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

test('a file on its way while the signaling server restarts arrives whole', async () => {
  let server = await startServer();
  after(() => server.stop());
  const { ada, bob } = await pair(server);
  const { file, sha256 } = makeFile('restart.bin', 80);
  await sendFile(ada, file);
  await bob.page.getByRole('button', { name: /^Chat, 1 unread/ }).click();
  const downloading = bob.page.waitForEvent('download', { timeout: 170_000 });
  await transfer(bob, 'restart.bin').getByRole('button', { name: 'Save restart.bin' }).click({ timeout: 30_000 });
  await transfer(bob, 'restart.bin').getByText(/Receiving · [1-9]/).waitFor({ timeout: 30_000 });
  const port = server.port;
  await server.stop();
  await ada.page.getByText('Reconnecting to the server').waitFor({ timeout: 5000 });
  server = await startServer({ port });
  await waitFor(async () => !(await ada.page.getByText('Reconnecting to the server').isVisible()), 30_000, 'Ada back on the server');
  await transfer(bob, 'restart.bin').getByText('Saved · verified').waitFor({ timeout: 170_000 });
  assert.equal(await sha256Of(await (await downloading).path()), sha256);
});
