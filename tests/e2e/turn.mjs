//! Debian's coturn (`turnserver`) for tests: one long-term-credential user, on a free port of the
//! address given, stopped with the test. The signaling server hands it out through its `.env`
//! keys (`turnEnv`).

import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort, waitFor } from './harness.mjs';

export const TURN_USER = 'hearth';
export const TURN_PASSWORD = 'not-a-secret';

/**
 * Starts coturn listening and relaying on `address`.
 * @param {{address?: string, port?: number}} [options]
 */
export async function startTurn({ address = '127.0.0.1', port } = {}) {
  port ??= await freePort();
  const child = spawn('turnserver', [
    `--listening-ip=${address}`, `--relay-ip=${address}`, `--listening-port=${port}`,
    '--lt-cred-mech', `--user=${TURN_USER}:${TURN_PASSWORD}`, '--realm=hearth.test',
    '--no-cli', '--no-tls', '--no-dtls', '--pidfile=/dev/null', '--log-file=stdout',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // It opens its TCP and UDP listeners together; the TCP one is the one we can wait for.
  const listening = () => new Promise((resolve) => {
    const socket = createConnection({ host: address, port }, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
  await waitFor(async () => child.exitCode === null && (await listening()), 10_000, `turnserver to listen on ${address}:${port}`);
  return {
    url: `turn:${address}:${port}`,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The signaling server's environment for this TURN server (and it as the STUN server too).
 * @param {string} url @param {string} [credential]
 */
export const turnEnv = (url, credential = TURN_PASSWORD) => ({
  TURN_URLS: url,
  TURN_USERNAME: TURN_USER,
  TURN_CREDENTIAL: credential,
  STUN_SERVER_ID: url.replace(/^turn:/, 'stun:'),
});
