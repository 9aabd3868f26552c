//! A simulated network for tests across it, made of Linux network namespaces (needs root): a
//! `host` namespace (the server's side, 10.77.1.2), a `router` between, and a `guest` (10.77.2.2),
//! joined by veth pairs; optionally the guest behind a masquerading NAT in the router. This module
//! owns the namespaces, their links and firewall, and every process it starts inside them (the
//! signaling server, coturn), and always takes them down again: after the test, on failure, and on
//! the process's exit or SIGINT/SIGTERM. Names carry this process's pid and a counter, so a crashed
//! earlier run never collides; stale `hearth-<pid>-…` namespaces of processes gone are removed at
//! the start.
//!
//! Everything stays inside the namespaces made here: addresses are in 10.77.0.0/16 and no
//! namespace has a route to anywhere else.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../e2e/harness.mjs';

export const HOST_IP = '10.77.1.2';
export const ROUTER_HOST_IP = '10.77.1.1';
export const ROUTER_GUEST_IP = '10.77.2.1';
export const GUEST_IP = '10.77.2.2';

/** The router's interfaces, named inside its namespace. */
const TO_HOST = 'to-host';
const TO_GUEST = 'to-guest';

const PREFIX = 'hearth-';

/**
 * Runs a command, failing with its stderr. @param {string} file @param {string[]} args
 * @returns {string} its stdout
 */
function run(file, args) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = /** @type {any} */ (e);
    throw new Error(`${file} ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** Same, ignoring failure. @param {string} file @param {string[]} args */
function tryRun(file, args) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** Whether process `pid` lives (a zombie, killed but not yet reaped, does not). @param {number} pid */
function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Every namespace there is, by name. */
function namespaces() {
  return tryRun('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

/** Kills whatever runs in namespace `ns`, then deletes it (which takes its veths with it). @param {string} ns */
function deleteNamespace(ns) {
  for (const pid of tryRun('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone already */ }
  }
  tryRun('ip', ['netns', 'delete', ns]);
}

/** Whether a `hearth-<pid>-…` name is of a process gone (a run that crashed or was killed). @param {string} name */
function stale(name) {
  const m = /^hearth-(\d+)-/.exec(name);
  return !!m && Number(m[1]) !== process.pid && !alive(Number(m[1]));
}

/** Removes the namespaces (and what runs in them) and temporary folders of runs gone. */
export function removeStale() {
  for (const ns of namespaces()) if (stale(ns)) deleteNamespace(ns);
  for (const entry of readdirSync(tmpdir())) {
    if (stale(entry)) rmSync(path.join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/** @type {Set<Network>} networks not yet torn down, for the exit handlers */
const live = new Set();
let handlersInstalled = false;
function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: teardown is (execFileSync, SIGKILL).
  process.on('exit', () => { for (const n of live) n.destroy(); });
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(signal, () => {
      for (const n of live) n.destroy();
      process.kill(process.pid, signal);
    });
  }
}

let counter = 0;

/**
 * @typedef {{
 *   url: string, port: number, pid: number | undefined,
 *   stop(): Promise<void>, kill(): Promise<void>,
 * }} ServerProcess
 *
 * @typedef {{
 *   url: string, port: number, env: Record<string, string>,
 *   restart(opts?: {downMs?: number}): Promise<void>,
 *   kill(): Promise<void>, stop(): Promise<void>,
 * }} NetServer the signaling server in a namespace; `env` is what it was started with
 *
 * @typedef {{
 *   urls: string[], username?: string, credential?: string,
 *   env: Record<string, string>, stop(): Promise<void>,
 * }} Turn a coturn in a namespace; `env` is what the signaling server needs to hand it out
 */

/** The topology and what runs in it. */
export class Network {
  /**
   * Builds the namespaces. Call {@link destroy} when done (it is also called on exit).
   * @param {{nat?: boolean}} [options] nat: the guest side is behind a masquerading NAT in the
   *   router; new connections from the host side to the guest side are dropped
   */
  constructor({ nat = false } = {}) {
    removeStale();
    installHandlers();
    counter += 1;
    const id = `${PREFIX}${process.pid}-${counter}`;
    this.nat = nat;
    this.ns = { host: `${id}-host`, router: `${id}-router`, guest: `${id}-guest` };
    /** @type {Array<{stop(): Promise<void>, kill?(): void}>} processes to end at teardown */
    this.processes = [];
    /** @type {Array<import('node:child_process').ChildProcess>} */
    this.children = [];
    this.dir = mkdtempSync(path.join(tmpdir(), `${id}-`));
    live.add(this);
    try {
      this.#build();
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  #build() {
    const { host, router, guest } = this.ns;
    for (const ns of [host, router, guest]) {
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Made inside the router, the veths' names need not be unique on the machine.
    run('ip', ['-n', router, 'link', 'add', TO_HOST, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
    run('ip', ['-n', router, 'link', 'add', TO_GUEST, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guest]);
    run('ip', ['-n', router, 'addr', 'add', `${ROUTER_HOST_IP}/24`, 'dev', TO_HOST]);
    run('ip', ['-n', router, 'addr', 'add', `${ROUTER_GUEST_IP}/24`, 'dev', TO_GUEST]);
    run('ip', ['-n', host, 'addr', 'add', `${HOST_IP}/24`, 'dev', 'eth0']);
    run('ip', ['-n', guest, 'addr', 'add', `${GUEST_IP}/24`, 'dev', 'eth0']);
    for (const [ns, dev] of [[router, TO_HOST], [router, TO_GUEST], [host, 'eth0'], [guest, 'eth0']]) {
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    run('ip', ['-n', host, 'route', 'add', 'default', 'via', ROUTER_HOST_IP]);
    run('ip', ['-n', guest, 'route', 'add', 'default', 'via', ROUTER_GUEST_IP]);
    this.exec('router', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    if (this.nat) {
      const rules = path.join(this.dir, 'nat.nft');
      writeFileSync(rules, `table ip hearth {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${TO_HOST}" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${TO_HOST}" oifname "${TO_GUEST}" ct state established,related accept
    iifname "${TO_HOST}" oifname "${TO_GUEST}" drop
  }
}
`);
      this.exec('router', ['nft', '-f', rules]);
    }
  }

  /**
   * Runs a command inside one of the namespaces and returns its stdout.
   * @param {'host'|'router'|'guest'} where @param {string[]} cmd
   */
  exec(where, cmd) {
    return run('ip', ['netns', 'exec', this.ns[where], ...cmd]);
  }

  /**
   * Whether `from` reaches `to` with a ping (one try, 1 s). Asynchronous, so that a test's
   * pollers go on meanwhile.
   * @param {'host'|'router'|'guest'} from @param {string} to @returns {Promise<boolean>}
   */
  ping(from, to) {
    return new Promise((resolve) => {
      execFile('ip', ['netns', 'exec', this.ns[from], 'ping', '-c', '1', '-W', '1', to], (error) => resolve(!error));
    });
  }

  /**
   * The path between host and guest goes dark: the router forwards nothing (ip_forward=0), with
   * no link change that either end could notice.
   */
  blackout() {
    this.exec('router', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
  }

  /** The router forwards again. */
  heal() {
    this.exec('router', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /**
   * Limits the router's sending on both sides to `rateKbit` (tbf), or lifts the limit (null).
   * @param {{rateKbit: number | null}} options
   */
  limit({ rateKbit }) {
    for (const dev of [TO_HOST, TO_GUEST]) {
      if (rateKbit === null) {
        tryRun('ip', ['netns', 'exec', this.ns.router, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
      } else {
        this.exec('router', ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', '32kbit', 'latency', '200ms']);
      }
    }
  }

  /**
   * The signaling server inside the host namespace on 10.77.1.2; `restart` kills it (SIGKILL),
   * waits `downMs`, and starts it again on the same port.
   * @param {{env?: Record<string, string>, port?: number}} [options]
   * @returns {Promise<NetServer>}
   */
  async startServer({ env = {}, port = 0 } = {}) {
    const ns = this.ns.host;
    let current = /** @type {ServerProcess} */ (await startServer({ netns: ns, host: HOST_IP, port, env }));
    const handle = {
      url: current.url,
      port: current.port,
      env,
      async kill() { await current.kill(); },
      async stop() { await current.stop(); },
      /** @param {{downMs?: number}} [opts] */
      async restart({ downMs = 0 } = {}) {
        await current.kill();
        if (downMs) await new Promise((r) => setTimeout(r, downMs));
        // The port may be held a moment by the dead server's sockets; try for a few seconds.
        const deadline = Date.now() + 10_000;
        for (;;) {
          try {
            current = await startServer({ netns: ns, host: HOST_IP, port: handle.port, env });
            return;
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      },
    };
    this.processes.push(handle);
    return handle;
  }

  /**
   * Debian's coturn inside a namespace, on a free port, no TLS or DTLS: a TURN server with one
   * static user (`--lt-cred-mech`), or with `stunOnly` a STUN server. Its `env` is what the
   * signaling server reads to hand it out at /ice-servers (signaling/src/ice.rs).
   * @param {{where?: 'host'|'router', stunOnly?: boolean, port?: number}} [options]
   * @returns {Promise<Turn>}
   */
  async startTurn({ where = 'host', stunOnly = false, port = 3478 } = {}) {
    const ip = where === 'host' ? HOST_IP : ROUTER_HOST_IP;
    const username = 'hearth';
    const credential = 'hearth-test-password';
    const log = path.join(this.dir, `turn-${port}.log`);
    const config = path.join(this.dir, 'turnserver.conf');
    writeFileSync(config, '');
    const args = [
      '-c', config,
      `--listening-ip=${ip}`, `--relay-ip=${ip}`, `--listening-port=${port}`,
      '--min-port=49152', '--max-port=49999',
      '--realm=hearth.test', '--no-cli', '--no-tls', '--no-dtls', '--no-stdout-log',
      `--log-file=${log}`, '--simple-log', '--pidfile=/dev/null',
      ...(stunOnly ? ['--stun-only'] : ['--lt-cred-mech', `--user=${username}:${credential}`]),
    ];
    const child = spawn('ip', ['netns', 'exec', this.ns[where], 'turnserver', ...args], { stdio: 'ignore' });
    this.children.push(child);
    const exited = once(child, 'exit');
    // It opens its TCP and UDP listeners together; wait for the TCP one.
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
      return tryRun('ip', ['netns', 'exec', this.ns[where], 'ss', '-Hltn', `sport = :${port}`]).includes(`${ip}:${port}`);
    }, 10_000, `turnserver listening on ${ip}:${port}`);
    const urls = stunOnly ? [`stun:${ip}:${port}`] : [`turn:${ip}:${port}?transport=udp`];
    const env = stunOnly
      ? { STUN_SERVER_ID: urls[0] }
      : { TURN_URLS: urls[0], TURN_USERNAME: username, TURN_CREDENTIAL: credential };
    const handle = {
      urls,
      ...(stunOnly ? {} : { username, credential }),
      env,
      log,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await exited;
      },
    };
    this.processes.push(handle);
    return handle;
  }

  /** Ends everything started here, then removes the namespaces (async: lets processes exit). */
  async close() {
    for (const p of this.processes.reverse()) await p.stop().catch(() => {});
    this.destroy();
  }

  /** Synchronous teardown, safe to call twice and from an exit handler. */
  destroy() {
    if (!live.has(this)) return;
    live.delete(this);
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of Object.values(this.ns)) deleteNamespace(ns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
