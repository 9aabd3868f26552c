//! File transfer benchmark: Ada sends Bob a file of random bytes through the real UI, each in
//! their own headless Chromium (so Bob's memory is his own browser's process tree in /proc).
//! Measures the transfer's rate from Save to "Saved · verified" (hashing on both sides included)
//! and the growth of Bob's browser's memory (PSS) over the transfer, sampled every 500 ms. Bob's
//! browser has a profile on disk, as a person's has: a private (incognito) context keeps the
//! origin's private file system in memory, which would measure that instead.
//!
//! Usage: node bench/files.mjs [--megabytes 1024] [--json]
//! Needs target/release/signaling (cargo build --release -p signaling) or HEARTH_SIGNALING_BIN.

import path from 'node:path';
import { existsSync, mkdtempSync, openSync, writeSync, closeSync, rmSync, readFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processes } from '../tests/desktop/processes.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.HEARTH_SIGNALING_BIN ??= path.join(ROOT, 'target/release/signaling');
const { startServer, launchBrowser, Person, freshRoom, connectCall, CHROMIUM, CHROMIUM_ARGS } = await import('../tests/e2e/harness.mjs');
const { chromium } = await import('playwright-core');

const { values: opts } = parseArgs({
  options: { megabytes: { type: 'string', default: '1024' }, json: { type: 'boolean', default: false } },
});
if (!existsSync(process.env.HEARTH_SIGNALING_BIN)) {
  console.error(`${process.env.HEARTH_SIGNALING_BIN} is missing: run cargo build --release -p signaling`);
  process.exit(2);
}
const megabytes = Number(opts.megabytes);

/** PSS (MiB) of a process and its descendants. */
function treePss(root) {
  const all = processes();
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, p] of all) if (p.ppid === tree[i]) tree.push(pid);
  let kib = 0;
  for (const pid of tree) {
    try {
      kib += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return kib / 1024;
}

/** The newest Chromium the harness started (its browser process). */
function newestChromium() {
  const all = processes();
  return [...all.entries()].filter(([, p]) => p.comm === 'chromium' && all.get(p.ppid)?.comm !== 'chromium')
    .sort((a, b) => b[1].startTicks - a[1].startTicks)[0]?.[0];
}

const folder = mkdtempSync(path.join(tmpdir(), 'hearth-bench-files-'));
const file = path.join(folder, 'big.bin');
{
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < megabytes; i++) writeSync(fd, randomFillSync(block));
  closeSync(fd);
}

const server = await startServer();
const browsers = [];
const results = { megabytes };
try {
  const room = freshRoom('bench-files');
  const people = [];
  const pids = [];
  const ada = await (async () => {
    const browser = await launchBrowser({ fps: 15 });
    browsers.push(browser);
    pids.push(newestChromium());
    return Person.open(browser, server.url, 'Ada', { small: true });
  })();
  const profile = path.join(folder, 'bob-profile');
  const bobContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS.map((a) => (a === '--use-fake-device-for-media-stream' ? `${a}=fps=15` : a)),
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  browsers.push(bobContext);
  pids.push(newestChromium());
  const bobPage = bobContext.pages()[0] ?? await bobContext.newPage();
  await bobPage.goto(server.url);
  const bob = new Person(bobPage, 'Bob');
  for (const person of [ada, bob]) {
    await person.joinAndWait(room);
    people.push(person);
  }
  await connectCall(ada, bob);
  await ada.page.getByRole('button', { name: /^Chat/ }).click();
  await ada.page.locator('#fileInput').setInputFiles(file);
  console.error('offering big.bin');
  const item = bob.page.locator('#transferList li').filter({ hasText: 'big.bin' });
  await item.waitFor({ state: 'attached', timeout: 600_000 });
  console.error('offered', (await item.innerText()).replace(/\n/g, ' '), (await ada.page.locator('#transferList').innerText()).replace(/\n/g, ' '));
  await bob.page.getByRole('button', { name: /^Chat/ }).click();
  const before = treePss(pids[1]);
  let peak = before;
  const saveAt = Date.now();
  await item.getByRole('button', { name: 'Save big.bin' }).click();
  const downloaded = bob.page.waitForEvent('download', { timeout: 1_800_000 });
  const { breakdown } = await import('/tmp/pssbreak.mjs');
  console.error('before', breakdown(pids[1]));
  while (!(await item.getByText(/Saved · verified|Failed/).isVisible())) {
    const now = treePss(pids[1]);
    if (now > peak) console.error('peak', breakdown(pids[1]), (await item.innerText()).replace(/\n/g, ' '));
    peak = Math.max(peak, now);
    await new Promise((r) => setTimeout(r, 500));
  }
  const seconds = (Date.now() - saveAt) / 1000;
  results.verified = await item.getByText('Saved · verified').isVisible();
  results.seconds = seconds;
  results.megabytesPerSecond = Math.round(((megabytes * 1024 * 1024) / 1e6 / seconds) * 10) / 10;
  results.receiverPssMiB = { before: Math.round(before), peak: Math.round(peak), growth: Math.round(peak - before) };
  await (await downloaded).delete();
} finally {
  for (const browser of browsers) await browser.close();
  await server.stop();
  rmSync(folder, { recursive: true, force: true });
}

if (opts.json) console.log(JSON.stringify(results));
else console.log(JSON.stringify(results, null, 2));
