// @ts-check
//! Starts the page: finds out where it runs, and connects the controller to the page.

import { detect } from './env.js';
import { Controller } from './controller.js';
import { Page } from './ui.js';
import { browserMedia } from './media.js';
import { clearReceived } from './filesink.js';

const env = await detect();
// Where the webview has no WebRTC (Linux's WebKitGTK), the desktop app calls through its own
// engine; if even that is missing, the page says so and offers the browser.
/** @type {import('./payload.js').Capability[]} */
let caps = ['data'];
/** @type {import('./media.js').MediaBackend} */
let media = browserMedia;
if (env.native && typeof RTCPeerConnection !== 'function') {
  const { installNativeCalls } = await import('./nativemedia.js');
  const native = await installNativeCalls(env.native);
  if ('unavailable' in native) console.warn('hearth: native calls unavailable:', native.unavailable);
  else {
    media = native.media;
    // GStreamer 1.22's webrtcbin cannot roll back.
    caps = ['no-rollback', 'data'];
  }
}
const controller = new Controller(env, { caps, media });
// Files received in an earlier visit were saved then, or never will be.
clearReceived().catch((e) => console.warn('hearth: could not clear old received files', e));
const page = new Page({
  join: (name, room, server) => controller.join(name, room, server),
  leaveRoom: () => controller.leaveRoom(),
  startCamera: () => { controller.startCamera(); },
  startCall: () => { controller.startCall(); },
  accept: () => { controller.accept(); },
  joinCall: () => { controller.joinCall(); },
  decline: () => controller.decline(),
  hangup: () => controller.hangup(),
  toggleMute: () => controller.toggleMute(),
  toggleVideo: () => { controller.toggleVideo(); },
  toggleScreen: () => { controller.toggleScreen(); },
  chooseDevice: (what, id) => { controller.chooseDevice(what, id); },
  dismissNotice: () => controller.dismissNotice(),
  host: (name, maxPeople) => { controller.host(name, maxPeople); },
  stopHosting: () => { controller.stopHosting(); },
  rejoin: () => { controller.rejoinHostedCall(); },
  openInBrowser: () => { controller.openInBrowser(); },
  sendChat: (text) => controller.sendChat(text),
  setChatOpen: (open) => controller.setChatOpen(open),
  openLink: (url) => controller.openLink(url),
  testConnection: () => { controller.testConnection(); },
  sendFiles: (files, to) => controller.sendFiles(files, to),
  acceptFile: (id) => controller.acceptFile(id),
  declineFile: (id) => controller.declineFile(id),
  cancelFile: (id) => controller.cancelFile(id),
}, { desktop: env.kind === 'desktop', show: (video, stream) => media.show(video, stream) });

controller.addEventListener('change', () => page.render(controller.view));
page.prefill(env.prefill);
page.render(controller.view);

// Closing the page hangs up and leaves the room, so the other side is not left waiting.
addEventListener('pagehide', () => controller.unload());
// The desktop app announces its window closing, since a webview may not fire pagehide then.
addEventListener('hearth-closing', async () => {
  await controller.unload();
  await env.desktop?.pageLeft();
});
navigator.mediaDevices?.addEventListener?.('devicechange', () => { controller.refreshDevices(); });
