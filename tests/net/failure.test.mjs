//! A call that cannot connect says why: the guest behind a NAT and both pages made to use only
//! the relay (as a network that allows nothing else would), with a TURN server that refuses the
//! credentials the server hands out, and with one that does not answer. Each tile names the
//! cause while the call keeps trying.

import { test } from 'node:test';
import { freshRoom, waitFor } from '../e2e/harness.mjs';
import { Network } from './netns.mjs';
import { browserIn, openPerson } from './scene.mjs';
import { NO_ICE } from './call.mjs';

/**
 * Ada (guest, behind NAT) calls Bob (host) with every connection relay-only and the server
 * handing out `env`'s TURN; resolves once each page's tile of the other says why it cannot connect.
 * @param {import('node:test').TestContext} t @param {(net: Network) => Promise<Record<string, string>>} turnEnv
 * @param {RegExp} cause @param {string} shot
 */
async function cannotConnect(t, turnEnv, cause, shot) {
  const net = new Network({ nat: true });
  /** @type {import('playwright-core').Browser[]} */
  const browsers = [];
  t.after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await net.close();
  });
  const server = await net.startServer({ env: { ...NO_ICE, ...(await turnEnv(net)) } });
  browsers.push(await browserIn(net.ns.host, server.url), await browserIn(net.ns.guest, server.url));
  // The UI has no ICE transport policy setting: the test makes every connection relay-only.
  const bob = await openPerson(browsers[0], server.url, 'Bob', { forceRelay: true });
  const ada = await openPerson(browsers[1], server.url, 'Ada', { forceRelay: true });
  const room = freshRoom('net-fail');
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await ada.button('Call').click();
  await bob.button('Accept').click();
  for (const [person, other] of [[ada, 'Bob'], [bob, 'Ada']]) {
    const placeholder = person.page.locator('#placeholderText');
    await waitFor(async () => cause.test((await placeholder.textContent()) ?? ''), 30_000,
      () => `${person.name}'s tile to name the cause (${cause})`);
    const text = (await placeholder.textContent()) ?? '';
    t.diagnostic(`${person.name} sees: ${text}`);
    if (!text.startsWith(`Could not connect to ${other} yet.`) || !text.endsWith('Still trying…')) {
      throw new Error(`${person.name}'s tile says "${text}"`);
    }
  }
  await ada.screenshot(`${shot}-ada.png`);
  await ada.button('Hang Up').click();
  await bob.waitForCallState('Call ended', 10_000);
}

test('a TURN server that refuses the credentials is named when the call cannot connect', async (t) => {
  await cannotConnect(t, async (net) => ({ ...(await net.startTurn({ where: 'host' })).env, TURN_CREDENTIAL: 'not-the-password' }),
    /The relay server \(TURN\) refused its credentials/, 'net-fail-credentials');
});

test('a TURN server that does not answer is named when the call cannot connect', async (t) => {
  // Nothing listens on that port of the host.
  await cannotConnect(t, async () => ({ TURN_URLS: 'turn:10.77.1.2:3999', TURN_USERNAME: 'u', TURN_CREDENTIAL: 'p' }),
    /The relay server \(TURN, turn:10\.77\.1\.2:3999\) could not be reached/, 'net-fail-unreachable');
});
