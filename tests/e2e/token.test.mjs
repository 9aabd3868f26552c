//! Invite tokens through the real page: a server started with AUTH_SECRET, invite links made by
//! `signaling token --url`, and Chromium opening them. The page passes the link's `?token=` on
//! with its join; a page opened without one is told why it cannot get in.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, launchBrowser, Person, freshRoom, SERVER_BIN } from './harness.mjs';

const AUTH_SECRET = 'e2e-secret-e2e-secret-e2e-secret-e2e-secret';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {Person[]} */
let people = [];

before(async () => {
  server = await startServer({ env: { AUTH_SECRET } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});
afterEach(async () => {
  for (const p of people) p.assertNoErrors();
  for (const p of people) await p.close().catch(() => {});
  people = [];
});

/** The invite link `signaling token` prints for `room` (and `name`) on this server. */
async function inviteLink(room, name) {
  const args = ['token', '--room', room, '--ttl', '10m', '--url', server.url];
  if (name) args.push('--name', name);
  const { stdout } = await promisify(execFile)(SERVER_BIN, args, { env: { ...process.env, AUTH_SECRET } });
  const [token, link] = stdout.trim().split('\n');
  assert.ok(link.includes(`token=${token}`), `the link carries the token: ${link}`);
  return link;
}

test('people who open their invite links get into the room and see each other', async () => {
  const room = freshRoom('invited');
  const ada = await Person.open(browser, await inviteLink(room), 'Ada');
  const bob = await Person.open(browser, await inviteLink(room, 'Bob'), 'Bob');
  people.push(ada, bob);
  // The link fills in the room; each types a name and joins.
  assert.equal(await ada.page.getByLabel('Room').inputValue(), room);
  await ada.joinAndWait(room);
  await bob.joinAndWait(room);
  await ada.page.getByText('Bob is here', { exact: true }).waitFor();
  await bob.page.getByText('Ada is here', { exact: true }).waitFor();
});

test('a page opened without a token is told it needs one and does not get in', async () => {
  const room = freshRoom('uninvited');
  const eve = await Person.open(browser, server.url, 'Eve');
  people.push(eve);
  await eve.join(room);
  await eve.page.getByText(/needs an invite token/).first().waitFor({ timeout: 15_000 });
  assert.equal(await eve.page.getByRole('button', { name: 'Leave' }).count(), 0, 'Eve is not in the room');
});
