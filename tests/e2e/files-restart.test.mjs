//! Files in real Chromium through the real server: a transfer going on while the signaling server
//! restarts completes with the right hash. (A file of tests of its own: each has its own time
//! limit, and a transfer takes a while on two cores.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setUp, waitFor, startServer } from './harness.mjs';
import { testFolder, makeFile, sha256Of, pair, sendFile, transfer } from './transfers.mjs';

const scene = setUp({ fps: 15 });
const folder = testFolder();

test('a file on its way while the signaling server restarts arrives whole', async () => {
  let server = await startServer();
  after(() => server.stop());
  const { ada, bob } = await pair(scene, server);
  const { file, sha256 } = makeFile(folder, 'restart.bin', 80);
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
