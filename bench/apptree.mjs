//! The desktop app's processes as the benchmarks measure them: the app and its WebKit
//! processes, their memory, and the cores they (and Chromium on the other end) use.

import { readFileSync } from 'node:fs';
import { processes } from '../tests/desktop/processes.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const TICKS = 100; // USER_HZ on Linux

/** The app's process and its descendants (the WebKit web and network processes). */
export function appTree() {
  const all = processes();
  const root = [...all.entries()].filter(([, p]) => p.comm === 'hearth').sort((a, b) => b[1].startTicks - a[1].startTicks)[0];
  if (!root) throw new Error('no hearth process');
  const tree = [root[0]];
  for (let i = 0; i < tree.length; i++) for (const [pid, p] of all) if (p.ppid === tree[i]) tree.push(pid);
  return { root: root[0], pids: tree, all };
}

/** Resident and proportional memory (KiB) of these processes, summed. */
export function memory(pids) {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return { rssMiB: rss / 1024, pssMiB: pss / 1024 };
}

/** Cores the app's processes use over `ms`: in all, and per process name. */
export async function cpu(ms) {
  const before = appTree();
  await sleep(ms);
  const after = appTree();
  const byProcess = {};
  let total = 0;
  for (const pid of after.pids) {
    const p = after.all.get(pid);
    const cores = (p.cpuTicks - (before.all.get(pid)?.cpuTicks ?? 0)) / TICKS / (ms / 1000);
    byProcess[p.comm] = Math.round(((byProcess[p.comm] ?? 0) + cores) * 1000) / 1000;
    total += cores;
  }
  // Headless Chromium on the other end of a call shares the two cores.
  let chromium = 0;
  for (const [pid, p] of after.all) {
    if (p.comm === 'chromium') chromium += (p.cpuTicks - (before.all.get(pid)?.cpuTicks ?? 0)) / TICKS / (ms / 1000);
  }
  return { total: Math.round(total * 1000) / 1000, byProcess, chromium: Math.round(chromium * 1000) / 1000 };
}

export function percentile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

