//! Joining from the desktop app: typed addresses in every form, failures explained, recent servers
//! remembered in the settings file, and a damaged settings file survived with a warning.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DesktopApp } from './webdriver.mjs';
import { startServer, launchBrowser, Person, waitFor } from '../e2e/harness.mjs';

let server;
let browser;
/** @type {DesktopApp} */
let app;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  app = await DesktopApp.launch({ settingsFile: '{"displayName": "Dora", "recentServers": [' });
});
after(async () => {
  await app?.quit();
  await browser?.close();
  await server?.stop();
});

test('a damaged settings file gives a visible warning and is kept aside', async () => {
  await app.waitForText('noticeText', /settings file was damaged.*kept as/);
  const dir = path.join(app.configHome, 'org.hearth.Hearth');
  const aside = readdirSync(dir).filter((f) => f.startsWith('settings.json.corrupt-'));
  assert.equal(aside.length, 1);
  assert.equal(readFileSync(path.join(dir, aside[0]), 'utf8'), '{"displayName": "Dora", "recentServers": [');
  await app.screenshot('desktop-settings-warning.png');
});

test('an address where nothing listens is explained as refused', async () => {
  const closed = net.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const { port } = /** @type {net.AddressInfo} */ (closed.address());
  await new Promise((r) => closed.close(r));
  await app.fill('Name', 'Dora');
  await app.fill('Server', `127.0.0.1:${port}`);
  await app.fill('Room', 'kitchen');
  await app.clickButton('Join');
  await app.waitForText('noticeText', /refused the connection/);
  await app.fill('Server', 'ftp://example');
  await app.clickButton('Join');
  await app.waitForText('noticeText', /should start with http, https, ws or wss/);
});

test('the app joins a remote server from a bare host:port and meets a browser there', async () => {
  const address = server.url.replace('http://', '');
  await app.fill('Server', address);
  await app.fill('Room', 'kitchen');
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  const guest = await Person.open(browser, `${server.url}/?room=kitchen`, 'Gus');
  await guest.joinAndWait('kitchen');
  await app.waitForText('presence', /Gus is here/);
  await guest.page.getByText('Dora is here', { exact: true }).waitFor();
  guest.assertNoErrors();
  await guest.close();
  // The server is remembered in the settings file, which is now valid JSON again.
  const file = path.join(app.configHome, 'org.hearth.Hearth', 'settings.json');
  await waitFor(() => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).recentServers?.[0] === address, 5000, 'the server to be remembered');
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).displayName, 'Dora');
  await app.clickButton('Leave');
});

test('a full room is explained', async () => {
  // A server whose rooms hold two, so two browsers fill one.
  const small = await startServer({ env: { MAX_PEERS_PER_ROOM: '2' } });
  const a = await Person.open(browser, `${small.url}/?room=busy`, 'A');
  const b = await Person.open(browser, `${small.url}/?room=busy`, 'B');
  try {
    await a.joinAndWait('busy');
    await b.joinAndWait('busy');
    await app.fill('Room', 'busy');
    await app.fill('Server', `ws://${small.url.replace('http://', '')}/ws`);
    await app.clickButton('Join');
    await app.waitForText('noticeText', /"busy" is full/);
  } finally {
    await a.close();
    await b.close();
    await small.stop();
  }
});
