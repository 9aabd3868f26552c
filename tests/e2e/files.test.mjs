//! Files in real Chromium through the real server: a 200 MB file arrives whole (its SHA-256
//! checked on both sides) while the receiving page's memory stays flat, once the person presses
//! Save. (Decline and Cancel are files-control.test.mjs, a server restart mid-transfer
//! files-restart.test.mjs.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUp } from './harness.mjs';
import { testFolder, makeFile, sha256Of, pair, sendFile, transfer, heapMiB } from './transfers.mjs';

const scene = setUp({ fps: 15 });
const folder = testFolder();

test('a 200 MB file arrives whole and verified, with the receiver\'s memory flat', async () => {
  const { ada, bob } = await pair(scene);
  const { file, sha256 } = makeFile(folder, 'big.bin', 200);
  await sendFile(ada, file);
  await bob.page.getByRole('button', { name: /^Chat, 1 unread/ }).click();
  await transfer(bob, 'big.bin (210 MB) from Ada').getByText('Wants to send you this file').waitFor({ timeout: 30_000 });
  const heapBefore = await heapMiB(bob);
  // Each wait ends well inside the file's time limit, so a stuck transfer says where it stuck.
  const downloading = bob.page.waitForEvent('download', { timeout: 120_000 });
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
  await transfer(bob, 'big.bin').getByText('Saved · verified').waitFor({ timeout: 100_000 }).catch(async (e) => {
    const rows = await Promise.all([ada, bob].map(async (p) => `${p.name}: ${await transfer(p, 'big.bin').textContent().catch(() => '(no row)')} | ${await p.page.locator('#callState').textContent()}`));
    throw new Error(`the transfer did not finish: ${rows.join(' / ')}`, { cause: e });
  });
  await sampling;
  await transfer(ada, 'big.bin').getByText('Bob has it · verified').waitFor({ timeout: 10_000 });
  const saved = await (await downloading).path();
  assert.equal(await sha256Of(saved), sha256, 'the file saved is the file sent');
  assert.ok(peak - heapBefore < 64, `the receiver's heap grew by ${Math.round(peak - heapBefore)} MiB receiving 200 MiB`);
  await bob.screenshot('files-received.png');
  await bob.audit('a received file');
});
