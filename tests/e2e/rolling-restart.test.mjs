//! A rolling restart in real Chromium: two signaling servers sharing rooms through Redis behind
//! a load balancer, a call between two pages, and each server in turn stopped (SIGTERM) and
//! started again. The people on the stopped server are closed with 1001, reconnect through the
//! balancer to the other one and rejoin; the call's media never stops.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startRedis, startBalancer, freePort, metric, launchBrowser, Person, freshRoom, connectCall, waitFor } from './harness.mjs';

/** @type {(() => Promise<void>)[]} */
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** One of the servers: its public and metrics ports stay the same across restarts. */
async function instance(redisUrl) {
  const metricsPort = await freePort();
  const env = { REDIS_URL: redisUrl, METRICS_ADDR: `127.0.0.1:${metricsPort}` };
  const first = await startServer({ env });
  const node = {
    server: first,
    port: first.port,
    metrics: `http://127.0.0.1:${metricsPort}/metrics`,
    async restart() {
      node.server = await startServer({ port: node.port, env });
    },
  };
  cleanups.push(() => node.server.stop());
  return node;
}

test('each server in turn restarts mid-call: its people rejoin on the other, media never stops', async () => {
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const one = await instance(redis.url);
  const two = await instance(redis.url);
  const balancer = await startBalancer([one.port, two.port]);
  cleanups.push(() => balancer.stop());
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());

  // Ada on the first server, Bob on the second: the call is set up through Redis.
  const room = freshRoom('rolling');
  balancer.pin(0);
  const ada = await Person.open(browser, balancer.url, 'Ada');
  await ada.joinAndWait(room);
  balancer.pin(1);
  const bob = await Person.open(browser, balancer.url, 'Bob');
  await bob.joinAndWait(room);
  balancer.pin(null);
  assert.equal(await metric(one.metrics, 'hearth_people'), 1, 'Ada on the first server');
  assert.equal(await metric(two.metrics, 'hearth_people'), 1, 'Bob on the second server');
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await connectCall(ada, bob);

  // Sample the remote videos all through the restarts: they must never stall for long.
  let sampling = true;
  const stalls = [];
  const sampler = (async () => {
    let last = [await ada.frames(), await bob.frames()];
    while (sampling) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = [await ada.frames(), await bob.frames()];
      if (now[0] <= last[0] || now[1] <= last[1]) stalls.push({ last, now });
      last = now;
    }
  })();

  for (const [stopping, staying] of [[one, two], [two, one]]) {
    await stopping.server.stop();
    // Everyone is on the server still running, in the room again.
    await waitFor(async () => (await metric(staying.metrics, 'hearth_people')) === 2, 20_000, 'both people on the other server');
    await stopping.restart();
    await ada.waitForCallState('In a call with Bob', 10_000);
    await bob.waitForCallState('In a call with Ada', 10_000);
    await Promise.all([ada.framesAdvance(20), bob.framesAdvance(20)]);
  }
  sampling = false;
  await sampler;
  assert.deepEqual(stalls, [], 'remote video kept advancing every second');

  // The call still works as a call after all that.
  await bob.button('Hang Up').click();
  await ada.waitForCallState('Call ended', 5000);
  await bob.waitForCallState('Call ended', 5000);
  ada.assertNoErrors({ serverOutage: true });
  bob.assertNoErrors({ serverOutage: true });
  await ada.close();
  await bob.close();
});
