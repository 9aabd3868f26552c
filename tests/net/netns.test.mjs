//! The simulated network itself (netns.mjs), without a browser: who reaches whom, routed and
//! behind the NAT; a blackout drops and a heal restores; the rate limit; the server inside the
//! host namespace, handing out coturn from its environment, killed and started again on its port;
//! and nothing left behind after.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Network, HOST_IP, GUEST_IP, ROUTER_HOST_IP } from './netns.mjs';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

/** GET `url` with curl from inside a namespace; the body, or null when it cannot connect. */
function get(/** @type {Network} */ net, /** @type {'host'|'router'|'guest'} */ where, /** @type {string} */ url) {
  try {
    return net.exec(where, ['curl', '-sS', '--max-time', '3', '--http0.9', url]);
  } catch {
    return null;
  }
}

test('routed: each side reaches the other; a blackout drops everything until it heals; the rate limit is a tbf', async () => {
  const net = new Network();
  try {
    assert.equal(await net.ping('guest', HOST_IP), true, 'guest → host');
    assert.equal(await net.ping('host', GUEST_IP), true, 'host → guest');
    assert.equal(net.exec('router', ['sysctl', '-n', 'net.ipv4.ip_forward']).trim(), '1');
    net.blackout();
    assert.equal(await net.ping('guest', HOST_IP), false, 'guest → host in the blackout');
    assert.equal(await net.ping('host', GUEST_IP), false, 'host → guest in the blackout');
    // The links stay up: nothing an endpoint could notice but silence.
    assert.match(net.exec('guest', ['ip', 'link', 'show', 'eth0']), /state UP/);
    net.heal();
    assert.equal(await net.ping('guest', HOST_IP), true, 'guest → host healed');
    net.limit({ rateKbit: 500 });
    assert.match(net.exec('router', ['tc', 'qdisc', 'show', 'dev', 'to-guest']), /tbf .*rate 500Kbit/);
    net.limit({ rateKbit: null });
    assert.doesNotMatch(net.exec('router', ['tc', 'qdisc', 'show', 'dev', 'to-guest']), /tbf/);
  } finally {
    await net.close();
  }
  for (const ns of Object.values(net.ns)) assert.ok(!namespaces().includes(ns), `${ns} removed`);
});

test('behind NAT: the guest reaches the host from the router\'s address; the host cannot open a way in', async () => {
  const net = new Network({ nat: true });
  try {
    assert.equal(await net.ping('guest', HOST_IP), true, 'guest → host');
    assert.equal(await net.ping('host', GUEST_IP), false, 'host → guest');
    // What the host sees of the guest: the NAT's address.
    const echo = spawn('ip', ['netns', 'exec', net.ns.host, process.execPath, '-e',
      `require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(7000, '${HOST_IP}', () => console.log('up'))`]);
    try {
      await once(echo.stdout, 'data');
      assert.equal(get(net, 'guest', `http://${HOST_IP}:7000/`)?.trim(), ROUTER_HOST_IP, 'the host sees the guest at the NAT\'s address');
    } finally {
      echo.kill('SIGKILL');
    }
    const server = await net.startServer({ env: { RUST_LOG: 'error' } });
    assert.ok(get(net, 'guest', `${server.url}/`)?.includes('Hearth'), 'the guest loads the page through the NAT');
  } finally {
    await net.close();
  }
});

test('the server in the host namespace hands out coturn from its environment, and comes back on its port after a kill', async () => {
  const net = new Network();
  try {
    const turn = await net.startTurn();
    const stun = await net.startTurn({ stunOnly: true, port: 3479 });
    const server = await net.startServer({ env: { RUST_LOG: 'error', ...stun.env, ...turn.env } });
    assert.equal(server.url, `http://${HOST_IP}:${server.port}`);
    const ice = JSON.parse(get(net, 'guest', `${server.url}/ice-servers`) ?? 'null');
    const list = Array.isArray(ice) ? ice : ice?.iceServers;
    assert.deepEqual(list, [
      { urls: [`stun:${HOST_IP}:3479`] },
      { urls: [`turn:${HOST_IP}:3478?transport=udp`], username: turn.username, credential: turn.credential },
    ]);
    // A STUN binding from the guest would need a client; that coturn listens is checked by startTurn.
    await server.kill();
    assert.equal(get(net, 'guest', `${server.url}/`), null, 'down after the kill');
    await server.restart({ downMs: 500 });
    assert.ok(get(net, 'guest', `${server.url}/`)?.includes('Hearth'), 'up again on the same port');
  } finally {
    await net.close();
  }
});
