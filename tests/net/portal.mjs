//! A TCP port inside a network namespace, reachable from this process's namespace: a forwarder
//! in the namespace listens on a Unix socket (a file, which every namespace shares) and connects
//! each client to the port there, and a listener here on loopback hands each connection to that
//! socket. Used to drive the desktop app's WebDriver (tauri-driver) running in a namespace.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../e2e/harness.mjs';

/** The forwarder run inside the namespace: Unix socket → 127.0.0.1:port there. */
const FORWARDER = `
const net = require('node:net');
const [socketPath, port] = process.argv.slice(1);
net.createServer((client) => {
  const target = net.connect(Number(port), '127.0.0.1');
  client.pipe(target).pipe(client);
  client.on('error', () => target.destroy());
  target.on('error', () => client.destroy());
}).listen(socketPath);
`;

/**
 * Makes `port` in namespace `netns` reachable here; resolves with the loopback port to use.
 * @param {string} netns @param {number} port
 */
export async function portInto(netns, port) {
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-portal-'));
  const socketPath = path.join(dir, 'port.sock');
  const forwarder = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', FORWARDER, socketPath, String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor(async () => existsSync(socketPath) || forwarder.exitCode !== null, 10_000, `the forwarder into ${netns}`);
  if (forwarder.exitCode !== null) throw new Error(`the forwarder into ${netns} exited with ${forwarder.exitCode}`);
  const listener = net.createServer((client) => {
    const target = net.connect(socketPath);
    client.pipe(target).pipe(client);
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', () => resolve(undefined)));
  return {
    port: /** @type {net.AddressInfo} */ (listener.address()).port,
    close() {
      listener.close();
      forwarder.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
