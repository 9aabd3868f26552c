//! The desktop app calling through its native engine (this webview has no WebRTC), fake media,
//! with headless Chromium through the signaling server: pictures and sound both ways, mute, video
//! off, the stats panel, and hang-up from either side ending both.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DesktopApp } from './webdriver.mjs';
import { startServer, launchBrowser, Person, waitFor, freshRoom } from '../e2e/harness.mjs';

let server;
let browser;
/** @type {DesktopApp} */
let app;
/** @type {Person} */
let guest;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  app = await DesktopApp.launch();
});
after(async () => {
  await app?.quit();
  await browser?.close();
  await server?.stop();
});

/** Frames the app has painted of `source` ('preview', or 'remote': every other person's). */
const painted = (source) => app.script(`return globalThis.hearthNative?.painted().${source} ?? -1`);
/** What the app's engine has received from the one other person: frames and the sound's level (dBFS). */
const progress = async () => (await app.script('return await globalThis.hearthNative.connections()'))[0] ?? {};

async function paintedAdvance(source, count, what) {
  const start = await painted(source);
  await waitFor(async () => (await painted(source)) >= start + count, 30_000, `${what}: ${count} more frames painted`);
}

async function statsValue(label) {
  return app.script(`
    for (const dt of document.querySelectorAll('#statsList dt')) {
      if (dt.textContent === ${JSON.stringify(label)}) return dt.nextElementSibling?.textContent ?? '';
    }
    return '';`);
}

test('the app uses its native engine where the webview has no WebRTC', async () => {
  assert.equal(await app.script('return typeof RTCPeerConnection'), 'undefined');
  assert.equal(await app.script('return !!globalThis.hearthNative'), true, 'the native engine is in place');
  assert.equal(await app.script("return document.getElementById('remoteVideoCanvas')?.tagName"), 'CANVAS');
});

test('a call between the app and a browser has pictures and sound both ways', async () => {
  const room = freshRoom('native');
  await app.fill('Name', 'Nell');
  await app.fill('Server', server.url.replace('http://', ''));
  await app.fill('Room', room);
  await app.clickButton('Join');
  await app.waitForText('presence', /Waiting for someone/);
  // No notice about missing WebRTC, and the preview runs.
  assert.doesNotMatch((await app.text('noticeText')) ?? '', /no WebRTC/);
  await paintedAdvance('preview', 20, 'the app\'s own preview');

  guest = await Person.open(browser, `${server.url}/?room=${room}`, 'Gus');
  await guest.joinAndWait(room);
  await app.waitForText('presence', /Gus is here/);
  await app.clickButton('Call');
  await guest.page.getByRole('alertdialog').filter({ hasText: 'Nell is calling' }).waitFor();
  await guest.button('Accept').click();
  await app.waitForText('callState', /In a call with Gus/, 30_000);
  await guest.waitForCallState('In a call with Nell', 30_000);

  // Pictures both ways.
  await guest.framesAdvance(30, 'remoteVideo', 30_000);
  await paintedAdvance('remote', 30, 'the browser\'s picture in the app');
  assert.ok((await progress()).remoteFrames >= 30);
  await app.screenshot('desktop-native-call.png');
  await app.audit('a native call');
  await guest.screenshot('desktop-native-call-guest.png');

  // Sound both ways: Chromium hears the app's test tone; the app's engine hears Chromium's beeps.
  assert.ok((await guest.remoteAudioPeak()) > 0.05, 'the browser hears the app');
  await waitFor(async () => ((await progress()).remoteLevelDb ?? -200) > -50, 15_000, 'the app to hear the browser');
});

test('mute and video off in the app reach the browser, and the stats panel reads the engine', async () => {
  await app.clickButton('Mute');
  await waitFor(async () => (await guest.remoteAudioPeak(800)) < 0.01, 10_000, 'the browser to hear silence');
  await app.clickButton('Stats');
  await waitFor(async () => /\d+ kbit\/s/.test(await statsValue('Sending')), 15_000, 'a send rate in the stats');
  await waitFor(async () => (await statsValue('Mic level')) === '0.000', 5000, 'the muted mic level');
  await waitFor(async () => /^\d+×\d+$/.test(await statsValue('Resolution')), 5000, 'the picture size in the stats');
  await waitFor(async () => /^\d+ fps$/.test(await statsValue('Frame rate')), 5000, 'the frame rate in the stats');
  await app.screenshot('desktop-native-stats.png');
  await app.audit('a native call with the stats panel open');
  await app.clickButton('Stats');
  await app.clickButton('Unmute');
  await waitFor(async () => (await guest.remoteAudioPeak(800)) > 0.05, 10_000, 'the browser to hear the app again');

  // Video off stops sending and closes the camera (the engine captures nothing more).
  const captured = async () => (await app.script("return await window.__TAURI__.core.invoke('native_progress')")).localFrames;
  await app.clickButton('Stop Video');
  await new Promise((r) => setTimeout(r, 1000));
  const stopped = await guest.frames();
  const capturedAtStop = await captured();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok((await guest.frames()) <= stopped + 2, 'the app\'s picture kept coming with its video off');
  assert.ok((await captured()) <= capturedAtStop + 2, 'the camera kept capturing with the app\'s video off');
  await app.clickButton('Start Video');
  await guest.framesAdvance(20, 'remoteVideo', 20_000);
  await paintedAdvance('preview', 20, 'the app\'s own picture after Start Video');
});

test('hang-up from either side ends the call on both', async () => {
  await guest.button('Hang Up').click();
  await app.waitForText('callState', /Call ended/, 10_000);
  await guest.waitForCallState('Call ended', 10_000);

  // Again, the browser calling this time, and the app hanging up.
  await guest.button('Call').click();
  await app.waitForText('incomingTitle', /Gus is calling/);
  await app.clickButton('Accept');
  await guest.waitForCallState('In a call with Nell', 30_000);
  await guest.framesAdvance(20, 'remoteVideo', 30_000);
  await paintedAdvance('remote', 20, 'the second call\'s picture in the app');
  await app.clickButton('Hang Up');
  await guest.waitForCallState('Call ended', 10_000);
  await app.waitForText('callState', /Call ended/, 10_000);
  guest.assertNoErrors();
});
