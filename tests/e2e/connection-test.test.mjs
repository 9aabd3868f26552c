//! Test connection, in real Chromium against a real coturn: it says what the STUN and TURN
//! servers the room hands out give this device, and names the cause when the relay refuses the
//! credentials or does not answer.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, Person, freshRoom, freePort } from './harness.mjs';
import { startTurn, turnEnv } from './turn.mjs';

/** @type {(() => Promise<void>)[]} */
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

let browser;
let turn;

/** Opens a room on a server with these ICE settings, runs Test connection, and returns its rows and verdict. */
async function testConnection(env) {
  const server = await startServer({ env });
  cleanups.push(() => server.stop());
  if (!browser) {
    browser = await launchBrowser();
    cleanups.push(() => browser.close());
  }
  const ada = await Person.open(browser, server.url, 'Ada');
  await ada.joinAndWait(freshRoom('probe'));
  await ada.button('Stats').click();
  await ada.button('Test connection').click();
  const result = ada.page.locator('#connectionTest');
  await result.locator('.verdict').waitFor({ timeout: 20_000 });
  const rows = Object.fromEntries(await result.locator('dt').evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
  const verdict = await result.locator('.verdict').textContent();
  assert.ok(await ada.button('Test again').isEnabled(), 'the test can be run again');
  ada.assertNoErrors();
  return { ada, rows, verdict };
}

test('with a working TURN server, the relay works and calls can connect from any network', async () => {
  turn = await startTurn();
  cleanups.push(() => turn.stop());
  const { ada, rows, verdict } = await testConnection(turnEnv(turn.url));
  assert.match(rows['This device'], /^Found: .*127\.0\.0\.1/);
  assert.equal(rows['Relay (TURN)'], 'Works: 127.0.0.1');
  // On loopback the STUN server sees the device's own address: no NAT in between.
  assert.equal(rows['Public address (STUN)'], "The same as this device's: no NAT in between");
  assert.match(verdict, /from any network/);
  await ada.screenshot('connection-test.png');
  await ada.close();
});

test('wrong TURN credentials are named as the cause', async () => {
  const { rows, verdict } = await testConnection(turnEnv(turn.url, 'wrong-password'));
  assert.equal(rows['Relay (TURN)'], `${turn.url} refused the credentials`);
  assert.match(verdict, /refused its credentials.*TURN_USERNAME and TURN_CREDENTIAL/);
});

test('a TURN server that does not answer is named as unreachable', async () => {
  const nobody = `turn:127.0.0.1:${await freePort()}`;
  const { rows, verdict } = await testConnection(turnEnv(nobody));
  assert.equal(rows['Relay (TURN)'], `No answer from ${nobody}`);
  assert.match(verdict, /The relay \(TURN\) did not answer/);
});
