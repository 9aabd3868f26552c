//! Group-call benchmark: four people, each in their own headless Chromium (so each one's CPU can
//! be read from its own process tree), in one call through the real server and UI. Measures the
//! cores each participant uses once the call has settled, the frame rate of every tile, and how
//! long a fourth person takes from pressing Join call until all three others' pictures show.
//!
//! Usage: node bench/group-call.mjs [--joins 5] [--small] [--json]
//!   --small: cameras at 320x240 (as the tests use); otherwise the page's own 1280x720 request.
//! Needs target/release/signaling (cargo build --release -p signaling) or HEARTH_SIGNALING_BIN.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processes } from '../tests/desktop/processes.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.HEARTH_SIGNALING_BIN ??= path.join(ROOT, 'target/release/signaling');
const { startServer, launchBrowser, Person, freshRoom, waitFor } = await import('../tests/e2e/harness.mjs');

const { values: opts } = parseArgs({
  options: {
    joins: { type: 'string', default: '5' },
    small: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
if (!existsSync(process.env.HEARTH_SIGNALING_BIN)) {
  console.error(`${process.env.HEARTH_SIGNALING_BIN} is missing: run cargo build --release -p signaling`);
  process.exit(2);
}

const TICKS = 100; // USER_HZ on Linux
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU ticks of a process and its descendants. */
function treeTicks(root, all = processes()) {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, p] of all) if (p.ppid === tree[i]) tree.push(pid);
  return tree.reduce((sum, pid) => sum + (all.get(pid)?.cpuTicks ?? 0), 0);
}

/** Frames per second each of `person`'s tiles showed over `ms`. */
async function tileRates(person, names, ms) {
  const before = await Promise.all(names.map((n) => person.tileFrames(n)));
  await sleep(ms);
  const after = await Promise.all(names.map((n) => person.tileFrames(n)));
  return Object.fromEntries(names.map((n, i) => [n, Math.round(((after[i] - before[i]) / (ms / 1000)) * 10) / 10]));
}

const server = await startServer();
const names = ['Ada', 'Bob', 'Cleo', 'Dan'];
const browsers = [];
const people = [];
try {
  const room = freshRoom('bench');
  /** Each participant's Chromium: the process this one started for it. */
  const pids = [];
  for (const name of names) {
    const browser = await launchBrowser({ fps: 30 });
    browsers.push(browser);
    const mine = [...processes()].filter(([pid, p]) => p.ppid === process.pid && p.comm.startsWith('chrom') && !pids.includes(pid)).map(([pid]) => pid);
    if (mine.length !== 1) throw new Error(`expected one new Chromium for ${name}, found ${mine.length}`);
    pids.push(mine[0]);
    const person = await Person.open(browser, server.url, name, { small: opts.small });
    await person.joinAndWait(room);
    people.push(person);
  }
  const [ada, bob, cleo, dan] = people;
  await ada.button('Call').click();
  for (const callee of [bob, cleo, dan]) {
    await callee.page.getByRole('alertdialog').waitFor();
    await callee.button('Accept').click();
  }
  for (const p of people) for (const other of people) if (other !== p) await p.tileAdvances(other.name, 10, 60_000);
  await sleep(5000);

  // CPU per participant over 20 s, and every tile's frame rate meanwhile.
  const before = pids.map((pid) => treeTicks(pid));
  const rates = await Promise.all(people.map((p) => tileRates(p, names.filter((n) => n !== p.name), 20_000)));
  const after = pids.map((pid) => treeTicks(pid));
  const cores = after.map((t, i) => Math.round(((t - before[i]) / TICKS / 20) * 100) / 100);

  // A fourth person joining: Dan hangs up, then presses Join call, until all three pictures show.
  const joins = [];
  for (let i = 0; i < Number(opts.joins); i++) {
    await dan.button('Hang Up').click();
    await dan.page.getByRole('button', { name: 'Join call', exact: true }).waitFor({ timeout: 20_000 });
    const start = Date.now();
    await dan.button('Join call').click();
    await waitFor(async () => (await Promise.all(['Ada', 'Bob', 'Cleo'].map((n) => dan.tileFrames(n)))).every((f) => f > 0), 30_000, 'Dan to see all three');
    joins.push(Date.now() - start);
  }
  joins.sort((a, b) => a - b);
  const result = {
    camera: opts.small ? '320x240' : 'the page\'s 1280x720 request',
    coresPerParticipant: Object.fromEntries(names.map((n, i) => [n, cores[i]])),
    tileFps: Object.fromEntries(names.map((n, i) => [n, rates[i]])),
    joinUntilAllThreeMs: { median: joins[Math.floor(joins.length / 2)], max: joins.at(-1), runs: joins },
  };
  console.log(opts.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
} finally {
  for (const p of people) await p.close().catch(() => {});
  for (const b of browsers) await b.close().catch(() => {});
  await server.stop();
}
