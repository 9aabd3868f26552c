// @ts-check
//! The call flow, free of the DOM: joining a room, ringing, accepting, hanging up, surviving
//! dropped connections. It drives the signaling client, the media devices and the call, and
//! publishes one view of everything for the UI to draw.

import { SignalingClient, websocketUrl } from './signaling.js';
import { Call, canCall } from './call.js';
import * as media from './media.js';
import * as payload from './payload.js';
import { next, settle, ACTIVE, LABELS } from './callstate.js';
import { summarize, rows } from './stats.js';
import { PictureWatch } from './picture.js';

/** Unanswered rings stop after this long. */
const RING_TIMEOUT_MS = 30_000;
/** How long a call waits for the other person to come back to the server. */
const AWAY_GRACE_MS = 15_000;
/** How long "Call ended" and similar stay before the screen settles. */
const STATS_EVERY_MS = 1000;

const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const NO_WEBRTC = 'This window cannot make video calls: its web engine has no WebRTC. '
  + 'You can still host or join; then press Open in browser to talk from your web browser.';

/**
 * @typedef {import('./signaling.js').PeerInfo} PeerInfo
 * @typedef {import('./callstate.js').CallState} CallState
 * @typedef {{text: string, tone: 'info'|'warning'|'error'}} Notice
 * @typedef {{
 *   screen: 'join'|'room',
 *   joining: boolean,
 *   connection: import('./signaling.js').ConnectionState,
 *   room: string,
 *   name: string,
 *   peers: PeerInfo[],
 *   callState: CallState,
 *   callLabel: string,
 *   otherName: string,
 *   notice: Notice | null,
 *   mediaWarning: string | null,
 *   localStream: MediaStream | null,
 *   cameraStarting: boolean,
 *   remoteStream: MediaStream | null,
 *   remoteMedia: {audio: boolean, video: boolean} | null,
 *   remotePicture: import('./picture.js').PictureState,
 *   muted: boolean,
 *   videoOff: boolean,
 *   devices: media.DeviceList,
 *   chosen: {camera: string, microphone: string, speaker: string},
 *   canChooseSpeaker: boolean,
 *   webrtc: boolean,
 *   stats: string[][] | null,
 *   desktop: boolean,
 *   hosting: import('./env.js').HostInfo | null,
 *   server: string,
 *   recentServers: string[],
 *   busy: string,
 * }} View
 */

export class Controller extends EventTarget {
  /** @param {import('./env.js').Environment} env */
  constructor(env) {
    super();
    this.env = env;
    /** @type {SignalingClient | null} */
    this.signaling = null;
    /** @type {Call | null} */
    this.call = null;
    /** The current call: its id, who is on the other end, and what we know of them. */
    this.callId = '';
    this.remoteId = '';
    this.mediaUp = false;
    this.peerPresent = true;
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {Record<string, ReturnType<typeof setTimeout> | undefined>} */
    this.timers = {};
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.statsTimer = undefined;
    /** @type {Map<string, any> | null} */
    this.lastReport = null;
    /** The other person's picture: whether it arrives. */
    this.picture = new PictureWatch();
    /** The camera and microphone being opened, so that a second request waits for the first. @type {Promise<MediaStream | null> | null} */
    this.cameraOpening = null;
    /** Counts releases of the camera: an opening that a release overtook is let go at once. */
    this.releases = 0;
    /** @type {View} */
    this.view = {
      screen: 'join',
      joining: false,
      connection: 'idle',
      room: env.prefill.room,
      name: env.prefill.name,
      peers: [],
      callState: 'idle',
      callLabel: LABELS.idle,
      otherName: '',
      notice: null,
      mediaWarning: null,
      localStream: null,
      cameraStarting: false,
      remoteStream: null,
      remoteMedia: null,
      remotePicture: 'waiting',
      muted: false,
      videoOff: false,
      devices: { cameras: [], microphones: [], speakers: [] },
      chosen: { camera: env.load('camera'), microphone: env.load('microphone'), speaker: env.load('speaker') },
      canChooseSpeaker: media.canChooseSpeaker(),
      webrtc: canCall(),
      stats: null,
      desktop: env.kind === 'desktop',
      hosting: null,
      server: env.prefill.server,
      recentServers: env.desktop?.recentServers() ?? [],
      busy: '',
    };
    if (env.warning) this.view.notice = { text: env.warning, tone: 'warning' };
    else if (!this.view.webrtc) this.view.notice = { text: NO_WEBRTC, tone: 'warning' };
  }

  /** @param {Partial<View>} changes */
  #update(changes) {
    Object.assign(this.view, changes);
    this.dispatchEvent(new CustomEvent('change', { detail: this.view }));
  }

  /** @param {string} text @param {Notice['tone']} [tone] */
  #notice(text, tone = 'info') {
    this.#update({ notice: { text, tone } });
  }

  dismissNotice() {
    this.#update({ notice: null });
  }

  /** @param {CallState} state */
  #setCallState(state) {
    this.#update({ callState: state, callLabel: this.#label(state) });
  }

  /** @param {CallState} state */
  #label(state) {
    const who = this.view.otherName;
    switch (state) {
      case 'outgoing': return `Ringing ${who}…`;
      case 'incoming': return `${who} is calling`;
      case 'connecting': return `Connecting to ${who}…`;
      case 'connected': return `In a call with ${who}`;
      case 'reconnecting': return `Reconnecting to ${who}…`;
      default: return LABELS[state];
    }
  }

  /** @param {import('./callstate.js').CallEvent} event @returns {boolean} whether it applied */
  #fire(event) {
    const to = next(this.view.callState, event);
    if (!to) return false;
    this.#setCallState(to === 'connected' || to === 'reconnecting'
      ? settle({ mediaUp: this.mediaUp, peerPresent: this.peerPresent })
      : to);
    return true;
  }

  // ----- joining -----

  /**
   * @param {string} name
   * @param {string} room
   * @param {string} [server] only in the desktop app: the server to use
   */
  async join(name, room, server) {
    name = name.trim();
    room = room.trim();
    if (!name || [...name].length > 64) return this.#notice('Enter a name of 1 to 64 characters.', 'error');
    if (!ROOM_PATTERN.test(room)) {
      return this.#notice('A room name is 1 to 64 letters, digits, "-" or "_".', 'error');
    }
    let url;
    if (this.env.desktop && !this.view.hosting) {
      if (!server?.trim()) return this.#notice('Enter the address of the computer hosting the call, or of a Hearth server.', 'error');
      this.#update({ joining: true, busy: 'Looking for the server…', notice: null });
      try {
        const found = await this.env.desktop.resolveServer(server);
        url = found.wsUrl;
        this.#update({ server: server.trim(), recentServers: this.env.desktop.recentServers() });
      } catch (e) {
        this.#update({ joining: false, busy: '' });
        return this.#notice(e instanceof Error ? e.message : String(e), 'error');
      }
    } else {
      const base = this.view.hosting?.localUrl ?? (server?.trim() || this.env.defaultServer);
      if (!base) return this.#notice('Enter the address of a Hearth server.', 'error');
      try {
        url = websocketUrl(/^[a-z]+:\/\//i.test(base) ? base : `http://${base}`);
      } catch {
        return this.#notice(`"${base}" is not a server address.`, 'error');
      }
    }
    this.env.save('name', name);
    this.#connect(name, room, url);
  }

  /** @param {string} name @param {string} room @param {string} url */
  #connect(name, room, url) {
    this.signaling?.close();
    const client = new SignalingClient(url);
    this.signaling = client;
    client.addEventListener('state', (e) => this.#onConnectionState(/** @type {CustomEvent} */ (e).detail.state));
    client.addEventListener('welcome', (e) => this.#onWelcome(/** @type {CustomEvent} */ (e).detail));
    client.addEventListener('peer-joined', (e) => this.#onPeerJoined(/** @type {CustomEvent} */ (e).detail.peer));
    client.addEventListener('peer-left', (e) => this.#onPeerLeft(/** @type {CustomEvent} */ (e).detail.id));
    client.addEventListener('signal', (e) => {
      const { from, data } = /** @type {CustomEvent} */ (e).detail;
      this.#onSignal(from, data);
    });
    client.addEventListener('server-error', (e) => this.#onServerError(/** @type {CustomEvent} */ (e).detail));
    client.addEventListener('unreachable', () => {
      if (this.view.screen === 'join') {
        client.close();
        this.#update({ joining: false, busy: '' });
        this.#notice(`Could not reach the Hearth server at ${new URL(url).host}. Check the address and your network, then try again.`, 'error');
      }
    });
    this.#update({ name, room, joining: true, busy: '', notice: null });
    client.join(room, name);
  }

  // ----- host mode (desktop app) -----

  /** Starts hosting a call on this computer and joins it. @param {string} name */
  async host(name) {
    const desktop = this.env.desktop;
    if (!desktop) return;
    name = name.trim();
    if (!name || [...name].length > 64) return this.#notice('Enter a name of 1 to 64 characters.', 'error');
    this.env.save('name', name);
    this.#update({ name, busy: 'Starting…', notice: null });
    try {
      const hosting = await desktop.startHosting();
      this.#update({ hosting, busy: '', room: hosting.room });
      // Even without WebRTC the host joins: it sees who arrives and who calls.
      this.#connect(name, hosting.room, websocketUrl(hosting.localUrl));
    } catch (e) {
      this.#update({ busy: '' });
      this.#notice(e instanceof Error ? e.message : String(e), 'error');
    }
  }

  /** Joins the call this app hosts again, after leaving it. */
  rejoinHostedCall() {
    const hosting = this.view.hosting;
    if (hosting) this.#connect(this.view.name, hosting.room, websocketUrl(hosting.localUrl));
  }

  /** Ends hosting: the call and every connection end, and the port is freed. */
  async stopHosting() {
    if (!this.env.desktop || !this.view.hosting) return;
    if (this.view.screen === 'room') this.leaveRoom();
    await this.env.desktop.stopHosting().catch((e) => this.#notice(String(e?.message ?? e), 'error'));
    this.#update({ hosting: null, room: '' });
  }

  /**
   * Opens the call page in the web browser (for a window without WebRTC). The app leaves the room
   * first so the browser can take its place.
   */
  async openInBrowser() {
    const desktop = this.env.desktop;
    if (!desktop) return;
    const name = this.view.name.trim() || 'Guest';
    const room = this.view.hosting?.room ?? this.view.room;
    if (!room) return this.#notice('Enter the room code first.', 'error');
    if (this.view.screen === 'room') this.leaveRoom();
    try {
      const url = await desktop.openInBrowser(this.view.hosting ? null : this.view.server, room, name);
      this.#notice(`Opened ${url} in your browser. Keep Hearth open while you are hosting.`, 'info');
    } catch (e) {
      this.#notice(e instanceof Error ? e.message : String(e), 'error');
    }
  }

  /** @param {import('./signaling.js').ConnectionState} state */
  #onConnectionState(state) {
    this.#update({ connection: state });
    if (state === 'reconnecting' && this.view.screen === 'room') {
      // Our id dies with the connection; the other person must find us again.
      if (ACTIVE.has(this.view.callState)) this.#otherAway();
      this.#update({ peers: [] });
    }
  }

  /** @param {import('./signaling.js').WelcomeMessage & {rejoin: boolean}} welcome */
  async #onWelcome(welcome) {
    this.iceServers = await this.env.iceServers(welcome.iceServers);
    const firstJoin = this.view.screen === 'join';
    this.#update({ screen: 'room', joining: false, peers: welcome.peers, room: welcome.room });
    if (firstJoin) {
      if (!this.view.webrtc) {
        this.#notice(NO_WEBRTC, 'warning');
      }
      this.startCamera();
    }
    if (ACTIVE.has(this.view.callState)) {
      for (const peer of welcome.peers) this.#send(peer.id, payload.resume(this.callId));
    }
  }

  /** @param {PeerInfo} peer */
  #onPeerJoined(peer) {
    this.#update({ peers: [...this.view.peers.filter((p) => p.id !== peer.id), peer] });
    if (ACTIVE.has(this.view.callState) && !this.peerPresent) this.#send(peer.id, payload.resume(this.callId));
  }

  /** @param {string} id */
  #onPeerLeft(id) {
    const who = this.view.peers.find((p) => p.id === id);
    this.#update({ peers: this.view.peers.filter((p) => p.id !== id) });
    if (id !== this.remoteId || !ACTIVE.has(this.view.callState)) return;
    if (this.view.callState === 'connected' || this.view.callState === 'reconnecting') {
      this.#otherAway();
    } else {
      this.#endCall(`${who?.name ?? 'The other person'} left.`);
    }
  }

  /** The other person lost the server (or we did): wait a while for them to come back. */
  #otherAway() {
    this.peerPresent = false;
    if (this.view.callState === 'connected' || this.view.callState === 'reconnecting') {
      this.#fire('peer-away');
      clearTimeout(this.timers.away);
      this.timers.away = setTimeout(() => this.#endCall(`${this.view.otherName} left.`), AWAY_GRACE_MS);
    } else {
      this.#endCall(`Lost contact with ${this.view.otherName}.`);
    }
  }

  /** @param {import('./signaling.js').ErrorMessage} error */
  #onServerError(error) {
    switch (error.code) {
      case 'room-full':
        this.signaling?.close();
        this.signaling = null;
        this.#update({ screen: 'join', joining: false, peers: [] });
        this.#notice(`The room "${this.view.room}" is full. Choose another room name.`, 'error');
        break;
      case 'unknown-room':
      case 'bad-room':
      case 'bad-name':
        this.signaling?.close();
        this.signaling = null;
        this.#update({ screen: 'join', joining: false });
        this.#notice(error.message, 'error');
        break;
      case 'unknown-peer':
        // The other side is gone; the peer-left that says so is on its way.
        break;
      default:
        console.warn('hearth: server error', error);
        this.#notice(`The server said: ${error.message}`, 'warning');
    }
  }

  /** Leaves the room: hangs up first, releases the camera. */
  leaveRoom() {
    if (ACTIVE.has(this.view.callState)) this.hangup();
    this.signaling?.leave();
    this.signaling = null;
    this.#stopLocal();
    this.#update({ screen: 'join', peers: [], connection: 'idle', callState: 'idle', callLabel: LABELS.idle });
  }

  // ----- camera and microphone -----

  /**
   * Opens camera and microphone; failures are explained, and the call can still go on. While they
   * open, a second request waits for the same opening. Tracks that arrive during a call are sent
   * at once: a call never waits for the camera.
   * @returns {Promise<MediaStream | null>}
   */
  startCamera() {
    if (this.view.localStream) return Promise.resolve(this.view.localStream);
    this.cameraOpening ??= this.#openCamera().finally(() => { this.cameraOpening = null; });
    return this.cameraOpening;
  }

  async #openCamera() {
    this.#update({ cameraStarting: true });
    const releases = this.releases;
    try {
      const { stream, warning } = await media.openLocalMedia({
        camera: this.view.chosen.camera,
        microphone: this.view.chosen.microphone,
      });
      if (this.releases !== releases) {
        // Hung up or left the room while the camera started: let it go again.
        media.stopStream(stream);
        this.#update({ cameraStarting: false });
        return null;
      }
      this.#update({ localStream: stream, cameraStarting: false, mediaWarning: warning, muted: false, videoOff: !stream.getVideoTracks().length });
      if (warning) this.#notice(warning, 'warning');
      else if (this.view.notice?.tone === 'warning' && this.view.notice.text.includes('camera')) this.#update({ notice: null });
      if (this.call) {
        for (const track of stream.getTracks()) await this.call.setTrack(/** @type {'audio'|'video'} */ (track.kind), track);
        this.#announceMedia();
      }
      await this.refreshDevices();
      return stream;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.#update({ mediaWarning: message, cameraStarting: false });
      this.#notice(message, 'warning');
      return null;
    }
  }

  /** Tells the other person what we send, so their screen can say "camera off" or "muted". */
  #announceMedia() {
    if (!this.call || !this.callId) return;
    const live = (/** @type {MediaStreamTrack[]} */ tracks) => tracks.some((t) => t.readyState === 'live');
    const stream = this.view.localStream;
    this.#send(this.remoteId, payload.media(this.callId, {
      audio: live(stream?.getAudioTracks() ?? []) && !this.view.muted,
      video: live(stream?.getVideoTracks() ?? []) && !this.view.videoOff,
    }));
  }

  async refreshDevices() {
    const devices = await media.listDevices();
    const stream = this.view.localStream;
    const chosen = {
      ...this.view.chosen,
      camera: media.deviceOf(stream?.getVideoTracks()[0]) || this.view.chosen.camera,
      microphone: media.deviceOf(stream?.getAudioTracks()[0]) || this.view.chosen.microphone,
    };
    this.#update({ devices, chosen });
  }

  #stopLocal() {
    this.releases += 1;
    media.stopStream(this.view.localStream);
    this.#update({ localStream: null, muted: false, videoOff: false });
  }

  toggleMute() {
    const tracks = this.view.localStream?.getAudioTracks() ?? [];
    const muted = !this.view.muted;
    tracks.forEach((t) => { t.enabled = !muted; });
    this.#update({ muted });
    this.#announceMedia();
  }

  /** Stops the camera (its light goes off) or starts it again, mid-call without renegotiating. */
  async toggleVideo() {
    const stream = this.view.localStream;
    if (!this.view.videoOff) {
      for (const track of stream?.getVideoTracks() ?? []) {
        track.stop();
        stream?.removeTrack(track);
      }
      await this.call?.setTrack('video', null);
      this.#update({ videoOff: true, localStream: stream });
      this.#announceMedia();
      return;
    }
    if (!stream) {
      await this.startCamera();
      return;
    }
    try {
      const track = await media.openTrack('video', this.view.chosen.camera);
      stream.addTrack(track);
      await this.call?.setTrack('video', track);
      this.#update({ videoOff: false, localStream: stream });
      this.#announceMedia();
    } catch (e) {
      this.#notice(e instanceof Error ? e.message : String(e), 'warning');
    }
  }

  /**
   * Switches camera, microphone or speaker; mid-call the new track replaces the old one.
   * @param {'camera'|'microphone'|'speaker'} what
   * @param {string} deviceId
   */
  async chooseDevice(what, deviceId) {
    this.env.save(what, deviceId);
    this.#update({ chosen: { ...this.view.chosen, [what]: deviceId } });
    if (what === 'speaker') return;
    const stream = this.view.localStream;
    const kind = what === 'camera' ? 'video' : 'audio';
    const old = stream?.getTracks().find((t) => t.kind === kind);
    if (!stream || (kind === 'video' && this.view.videoOff)) return;
    try {
      const track = await media.openTrack(kind, deviceId);
      if (kind === 'audio') track.enabled = !this.view.muted;
      // Hand the sender its new track before stopping the old one: Chromium's encoder does not
      // pick up a replacement for a track that already ended.
      await this.call?.setTrack(kind, track);
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
      this.#update({ localStream: stream });
    } catch (e) {
      this.#notice(e instanceof Error ? e.message : String(e), 'warning');
    }
  }

  // ----- the call -----

  /** Rings the other person in the room. */
  async startCall() {
    const other = this.view.peers[0];
    if (!other || !(this.view.callState === 'idle' || this.view.callState === 'ended')) return;
    if (!this.view.webrtc) return this.#notice('Calls need WebRTC, which this window does not have.', 'error');
    this.callId = payload.newCallId();
    this.remoteId = other.id;
    this.peerPresent = true;
    this.mediaUp = false;
    this.#update({ otherName: other.name, notice: null });
    this.#fire('ring-sent');
    this.#send(other.id, payload.ring(this.view.name, this.callId));
    this.timers.ring = setTimeout(() => {
      if (this.view.callState !== 'outgoing') return;
      this.#send(this.remoteId, payload.hangup(this.callId));
      this.#endCall(`${this.view.otherName} did not answer.`);
    }, RING_TIMEOUT_MS);
    await this.startCamera();
  }

  /**
   * Takes the incoming call at once, with whatever camera and microphone are ready; those still
   * starting join the call when they are.
   */
  accept() {
    if (this.view.callState !== 'incoming') return;
    if (!this.view.webrtc) {
      return this.#notice(`${NO_WEBRTC} ${this.view.otherName} will need to call again once you are there.`, 'warning');
    }
    clearTimeout(this.timers.ring);
    this.#createCall(true, this.view.localStream);
    this.#fire('accepted');
    this.#send(this.remoteId, payload.accept(this.callId));
    this.#announceMedia();
    this.#update({ notice: null });
    this.startCamera();
  }

  /** Turns the incoming call down. */
  decline() {
    if (this.view.callState !== 'incoming') return;
    this.#send(this.remoteId, payload.decline(this.callId));
    this.#endCall(null, false);
  }

  /** Ends the call on both sides. */
  hangup() {
    if (!ACTIVE.has(this.view.callState)) return;
    this.#send(this.remoteId, payload.hangup(this.callId));
    this.#endCall('Call ended.');
  }

  /** The page is going away: tell the other side and the server (the tutorial's step 8). */
  unload() {
    if (ACTIVE.has(this.view.callState)) this.#send(this.remoteId, payload.hangup(this.callId));
    this.signaling?.leave();
    this.call?.close();
    media.stopStream(this.view.localStream);
  }

  /** @param {boolean} polite @param {MediaStream | null} stream */
  #createCall(polite, stream) {
    const call = new Call({
      polite,
      iceServers: this.iceServers,
      send: (data) => this.#send(this.remoteId, data),
    });
    this.call = call;
    call.addEventListener('remote-stream', (e) => this.#update({ remoteStream: /** @type {CustomEvent} */ (e).detail.stream }));
    call.addEventListener('media', (e) => this.#onMedia(/** @type {CustomEvent} */ (e).detail.state));
    call.addEventListener('error', (e) => this.#notice(/** @type {CustomEvent} */ (e).detail.message, 'error'));
    call.start(stream);
    this.lastReport = null;
    this.picture = new PictureWatch();
    this.#update({ remoteMedia: null, remotePicture: 'waiting' });
    this.#update({ stats: [['Status', 'Measuring…']] });
    clearInterval(this.statsTimer);
    this.statsTimer = setInterval(() => this.#collectStats(), STATS_EVERY_MS);
  }

  /** @param {'up'|'interrupted'|'failed'} state */
  #onMedia(state) {
    if (state === 'up') {
      this.mediaUp = true;
      this.#fire('media-connected');
    } else if (state === 'interrupted') {
      this.mediaUp = false;
      this.#fire('media-interrupted');
    } else {
      this.mediaUp = false;
      this.#endCall(`The connection to ${this.view.otherName} was lost.`);
    }
  }

  async #collectStats() {
    if (!this.call) return;
    try {
      const report = /** @type {Map<string, any>} */ (await this.call.getStats());
      const summary = summarize(this.lastReport, report);
      this.lastReport = report;
      const remotePicture = this.picture.update({
        now: performance.now(),
        frames: summary.framesDecoded,
        announcedVideo: this.view.remoteMedia?.video ?? null,
        mediaUp: this.mediaUp,
      });
      this.#update({ stats: rows(summary), remotePicture });
    } catch {
      /* the call closed between ticks */
    }
  }

  /**
   * @param {string | null} message what to tell the user, if anything
   * @param {boolean} [showEnded] whether to show "Call ended" as the state
   */
  #endCall(message, showEnded = true) {
    for (const key of Object.keys(this.timers)) clearTimeout(this.timers[key]);
    clearInterval(this.statsTimer);
    this.call?.close();
    this.call = null;
    this.callId = '';
    this.remoteId = '';
    this.mediaUp = false;
    this.peerPresent = true;
    this.#stopLocal();
    this.#update({ remoteStream: null, remoteMedia: null, remotePicture: 'waiting', stats: null });
    this.#setCallState(showEnded ? 'ended' : 'idle');
    if (message) this.#notice(message);
  }

  /** @param {string} to @param {payload.Payload} data */
  #send(to, data) {
    return this.signaling?.signal(to, data) ?? false;
  }

  /** @param {string} from @param {unknown} raw */
  #onSignal(from, raw) {
    const data = payload.parse(raw);
    if (!data) {
      console.warn('hearth: ignored a signal we do not understand', raw);
      return;
    }
    const fromCurrent = from === this.remoteId;
    switch (data.kind) {
      case 'ring': return this.#onRing(from, data);
      case 'accept':
        if (fromCurrent && this.view.callState === 'outgoing') {
          clearTimeout(this.timers.ring);
          this.#createCall(false, this.view.localStream);
          this.#fire('accepted');
          this.#announceMedia();
        }
        return;
      case 'media':
        if (fromCurrent && this.call && data.call === this.callId) {
          this.#update({ remoteMedia: { audio: data.audio, video: data.video } });
        }
        return;
      case 'decline':
        if (fromCurrent && this.view.callState === 'outgoing') {
          const why = data.reason === 'busy' ? 'is in another call' : 'declined the call';
          this.#endCall(`${this.view.otherName} ${why}.`);
        }
        return;
      case 'hangup':
        if (fromCurrent && ACTIVE.has(this.view.callState) && (!data.call || data.call === this.callId)) {
          const missed = this.view.callState === 'incoming';
          this.#endCall(missed ? `Missed call from ${this.view.otherName}.` : `${this.view.otherName} hung up.`);
        }
        return;
      case 'description':
      case 'candidate':
        if (fromCurrent && this.call) this.call.handle(data);
        return;
      case 'resume':
      case 'resumed':
        if (ACTIVE.has(this.view.callState) && data.call === this.callId) {
          this.remoteId = from;
          this.peerPresent = true;
          clearTimeout(this.timers.away);
          if (data.kind === 'resume') this.#send(from, payload.resumed(this.callId));
          this.#fire('peer-back');
          this.#announceMedia();
          // ICE may have given up while nobody could signal; ask again now that we can.
          if (!this.mediaUp) this.call?.restartIce();
        } else if (data.kind === 'resume') {
          this.#send(from, payload.hangup(data.call));
        }
        return;
    }
  }

  /** @param {string} from @param {payload.RingPayload} ring */
  #onRing(from, ring) {
    const state = this.view.callState;
    if (state === 'outgoing' && from === this.remoteId) {
      // Both pressed Call at once: the call from the lower id wins, and its callee accepts.
      const selfId = this.signaling?.selfId ?? '';
      if (from < selfId) {
        clearTimeout(this.timers.ring);
        this.callId = ring.call;
        this.#setCallState('incoming');
        this.accept();
      }
      return;
    }
    if (ACTIVE.has(state)) {
      this.#send(from, payload.decline(ring.call, 'busy'));
      return;
    }
    this.callId = ring.call;
    this.remoteId = from;
    this.peerPresent = true;
    this.mediaUp = false;
    this.#update({ otherName: ring.name.slice(0, 64), notice: null });
    this.#fire('ring-received');
    this.timers.ring = setTimeout(() => {
      if (this.view.callState === 'incoming') this.#endCall(`Missed call from ${this.view.otherName}.`);
    }, RING_TIMEOUT_MS);
  }
}
