//! This person's camera and microphone (`LocalMedia`) over a fake backend: one opening however
//! many ask, an opening overtaken by a release let go, video off and on, switching devices
//! (the new track handed to the call before the old one stops), muting, and failures said.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalMedia } from '../../ui/js/localmedia.js';

// The browser's stream of tracks, as far as LocalMedia makes one (the shared screen's preview).
globalThis.MediaStream ??= /** @type {any} */ (class { constructor(tracks) { this.tracks = tracks; } });

/** A track of a kind from a device. */
const track = (kind, device) => ({ kind, device, stopped: false });

/** A stream holding tracks, as far as LocalMedia uses one. */
function fakeStream(tracks) {
  const list = [...tracks];
  return {
    getTracks: () => [...list],
    getAudioTracks: () => list.filter((t) => t.kind === 'audio'),
    getVideoTracks: () => list.filter((t) => t.kind === 'video'),
    addTrack: (t) => list.push(t),
    removeTrack: (t) => list.splice(list.indexOf(t), 1),
  };
}

/**
 * A backend that records what it was asked, whose openings wait until `finishOpening()`.
 * @param {{fail?: string, sameTrack?: boolean}} [options] sameTrack: a switch keeps the same
 *   track (as the native engine's stand-ins do)
 */
function fakeBackend({ fail, sameTrack = false } = {}) {
  const log = [];
  let finish;
  const backend = {
    log,
    finishOpening: () => finish(),
    openLocalMedia: async (preferred) => {
      log.push(['open', preferred.camera]);
      await new Promise((resolve) => { finish = resolve; });
      if (fail) throw new Error(fail);
      return { stream: fakeStream([track('audio', 'mic1'), track('video', preferred.camera || 'cam1')]), warning: null };
    },
    openTrack: async (kind, deviceId) => {
      log.push(['openTrack', kind, deviceId]);
      return sameTrack ? backend.current(kind) : track(kind, deviceId);
    },
    current: (kind) => null,
    listDevices: async () => ({ cameras: [{ deviceId: 'cam1', label: 'One' }, { deviceId: 'cam2', label: 'Two' }], microphones: [], speakers: [] }),
    canChooseSpeaker: () => false,
    deviceOf: (t) => t?.device ?? '',
    setMuted: (tracks, muted) => log.push(['muted', tracks.length, muted]),
    stopTrack: (t) => { t.stopped = true; log.push(['stop', t.kind, t.device]); },
    release: (stream) => log.push(['release', stream ? stream.getTracks().length : 0]),
    show: () => {},
    canShareScreen: () => true,
    openScreen: async () => {
      log.push(['openScreen']);
      return Object.assign(new EventTarget(), { kind: 'video', device: 'screen', stopped: false });
    },
    stopScreen: (t) => { t.stopped = true; log.push(['stopScreen']); },
  };
  return backend;
}

function localMedia(backend) {
  const attached = [];
  const saved = [];
  const media = new LocalMedia({
    backend: /** @type {any} */ (backend),
    chosen: { camera: '', microphone: '', speaker: '' },
    save: (role, id) => saved.push([role, id]),
    attach: async (kind, t) => { attached.push([kind, t?.device ?? null]); backend.log.push(['attach', kind, t?.device ?? null]); },
  });
  const notices = [];
  media.addEventListener('notice', (e) => notices.push(/** @type {CustomEvent} */ (e).detail.text));
  let sent = 0;
  media.addEventListener('sending', () => { sent += 1; });
  return { media, attached, saved, notices, sent: () => sent };
}

test('two requests while the camera opens open it once, and both get the same stream', async () => {
  const backend = fakeBackend();
  const { media, attached } = localMedia(backend);
  const first = media.start();
  const second = media.start();
  assert.equal(media.starting, true);
  backend.finishOpening();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a, b);
  assert.equal(backend.log.filter(([what]) => what === 'open').length, 1);
  assert.deepEqual(attached, [['audio', 'mic1'], ['video', 'cam1']], 'each track handed to the call');
  assert.deepEqual(media.sending(), { audio: true, video: true, screen: false, missing: [] });
  assert.equal(await media.start(), a, 'open already: the same stream');
});

test('a release while the camera opens lets the opened camera go at once', async () => {
  const backend = fakeBackend();
  const { media, attached } = localMedia(backend);
  const opening = media.start();
  media.release();
  backend.finishOpening();
  assert.equal(await opening, null);
  assert.equal(media.stream, null);
  assert.deepEqual(backend.log.at(-1), ['release', 2], 'the opened tracks were let go');
  assert.deepEqual(attached, [], 'nothing reached the call');
});

test('video off stops the camera and tells the call; video on opens it again', async () => {
  const backend = fakeBackend();
  const { media, sent } = localMedia(backend);
  const opening = media.start();
  backend.finishOpening();
  const stream = await opening;
  const camera = stream.getVideoTracks()[0];
  const told = sent();
  await media.toggleVideo();
  assert.equal(camera.stopped, true, 'the camera light goes off');
  assert.equal(media.videoOff, true);
  assert.deepEqual(media.sending(), { audio: true, video: false, screen: false, missing: [] });
  assert.deepEqual(backend.log.slice(-2), [['stop', 'video', 'cam1'], ['attach', 'video', null]]);
  assert.equal(sent(), told + 1, 'the others are told');
  await media.toggleVideo();
  assert.equal(media.videoOff, false);
  assert.deepEqual(backend.log.slice(-2), [['openTrack', 'video', 'cam1'], ['attach', 'video', 'cam1']]);
  assert.deepEqual(media.sending(), { audio: true, video: true, screen: false, missing: [] });
});

test('switching camera hands the new track to the call before the old one stops, and is remembered', async () => {
  const backend = fakeBackend();
  const { media, saved } = localMedia(backend);
  const opening = media.start();
  backend.finishOpening();
  await opening;
  await media.choose('camera', 'cam2');
  const steps = backend.log.slice(-3).map((s) => s.join(' '));
  assert.deepEqual(steps, ['openTrack video cam2', 'attach video cam2', 'stop video cam1']);
  assert.deepEqual(saved, [['camera', 'cam2']]);
  assert.equal(media.chosen.camera, 'cam2');
  assert.deepEqual(media.stream?.getVideoTracks().map((t) => t.device), ['cam2']);
});

test('a backend that switches in place (same track) never stops the track it still uses', async () => {
  const backend = fakeBackend({ sameTrack: true });
  const { media } = localMedia(backend);
  const opening = media.start();
  backend.finishOpening();
  const stream = await opening;
  backend.current = (kind) => stream.getTracks().find((t) => t.kind === kind);
  await media.choose('camera', 'cam2');
  assert.equal(stream.getVideoTracks()[0].stopped, false);
  assert.equal(stream.getVideoTracks().length, 1);
});

test('mute goes to the backend and stops what is sent of the microphone', async () => {
  const backend = fakeBackend();
  const { media } = localMedia(backend);
  const opening = media.start();
  backend.finishOpening();
  await opening;
  media.toggleMute();
  assert.deepEqual(backend.log.at(-1), ['muted', 1, true]);
  assert.deepEqual(media.sending(), { audio: false, video: true, screen: false, missing: [] });
  media.toggleMute();
  assert.deepEqual(backend.log.at(-1), ['muted', 1, false]);
});

test('a camera that cannot be opened is said, and the call can go on without it', async () => {
  const backend = fakeBackend({ fail: 'The camera is in use by another program or could not be started.' });
  const { media, notices } = localMedia(backend);
  const opening = media.start();
  backend.finishOpening();
  assert.equal(await opening, null);
  assert.equal(media.starting, false);
  assert.match(media.warning ?? '', /in use by another program/);
  assert.deepEqual(notices, [media.warning]);
  assert.deepEqual(media.sending(), { audio: false, video: false, screen: false, missing: ['camera', 'microphone'] }, 'the others are told it has neither');
});

test('a shared screen is sent instead of the camera; the camera comes back when sharing stops, also from the browser', async () => {
  const backend = fakeBackend();
  const { media } = localMedia(backend);
  const opening = media.start();
  backend.finishOpening();
  await opening;
  await media.shareScreen();
  assert.deepEqual(backend.log.at(-1), ['attach', 'video', 'screen']);
  assert.deepEqual(media.sending(), { audio: true, video: true, screen: true, missing: [] });

  // The camera turned off and on while sharing: the screen stays what is sent.
  await media.toggleVideo();
  await media.toggleVideo();
  assert.equal(backend.log.filter(([what, kind]) => what === 'attach' && kind === 'video').at(-1)?.[2], 'screen');

  await media.stopSharing();
  assert.deepEqual(backend.log.slice(-2), [['attach', 'video', 'cam1'], ['stopScreen']]);
  assert.deepEqual(media.sending(), { audio: true, video: true, screen: false, missing: [] });

  // The browser's own "Stop sharing" ends the track.
  await media.shareScreen();
  const screen = media.screen;
  screen?.dispatchEvent(new Event('ended'));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(media.screen, null);
  assert.deepEqual(backend.log.at(-1), ['stopScreen']);
});
