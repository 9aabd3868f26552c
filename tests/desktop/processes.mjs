//! This machine's processes as the kernel lists them in /proc: what the desktop harness needs to
//! end an app's processes, and what the desktop benchmark needs to measure them.

import { readFileSync, readdirSync } from 'node:fs';

/**
 * Every process: pid → its parent, process group, state letter, name, CPU ticks used and start
 * time in ticks since boot (/proc/PID/stat).
 * @returns {Map<number, {ppid: number, pgrp: number, state: string, comm: string, cpuTicks: number, startTicks: number}>}
 */
export function processes() {
  const all = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The name may hold spaces and parentheses; the fields after its last ')' do not.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(Number(entry), {
        ppid: Number(fields[1]),
        pgrp: Number(fields[2]),
        state: fields[0],
        comm,
        cpuTicks: Number(fields[11]) + Number(fields[12]),
        startTicks: Number(fields[19]),
      });
    } catch { /* gone */ }
  }
  return all;
}
