// @ts-check
//! Composes the page's parts, free of the DOM: the room (the signaling client), the call (a
//! `GroupCall` with one session per other person), the local camera and microphone, and hosting
//! in the desktop app; and publishes one view of everything for the page to draw.

import { probe } from './probe.js';
import { describeProbe } from './diagnosis.js';
import { SignalingClient, websocketUrl } from './signaling.js';
import { canCall } from './call.js';
import { browserMedia } from './media.js';
import { LocalMedia } from './localmedia.js';
import * as payload from './payload.js';
import { LABELS, listNames } from './callstate.js';
import { GroupCall } from './groupcall.js';
import * as chat from './chat.js';
import { Files } from './files.js';
import { openSink, appSink } from './filesink.js';

/** How often the stats, the pictures' state and who speaks are read. */
const STATS_EVERY_MS = 1000;

const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const NO_WEBRTC = 'This window cannot make video calls: its web engine has no WebRTC. '
  + 'You can still host or join; then press Open in browser to talk from your web browser.';

/**
 * One other person in the call, as the page shows them.
 * @typedef {{
 *   id: string,
 *   name: string,
 *   state: CallState,
 *   stream: MediaStream | null,
 *   media: RemoteMedia | null,
 *   picture: import('./picture.js').PictureState,
 *   speaking: boolean,
 *   unstable: boolean,
 *   path: import('./stats.js').Path | null,
 *   rttMs: number | null,
 *   failure: string | null,
 * }} Tile unstable: their packets stopped on a connection that says it is up; failure: why the
 *   connection could not be made (while it is still being tried)
 *
 * @typedef {import('./signaling.js').PeerInfo} PeerInfo
 * @typedef {import('./session.js').RemoteMedia} RemoteMedia
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
 *   tiles: Tile[],
 *   joinable: {call: string, names: string[]} | null,
 *   ringable: string[],
 *   notice: Notice | null,
 *   mediaWarning: string | null,
 *   localStream: MediaStream | null,
 *   screenPreview: MediaStream | null,
 *   cameraStarting: boolean,
 *   muted: boolean,
 *   videoOff: boolean,
 *   sharing: boolean,
 *   canShareScreen: boolean,
 *   devices: import('./media.js').DeviceList,
 *   chosen: {camera: string, microphone: string, speaker: string},
 *   canChooseSpeaker: boolean,
 *   webrtc: boolean,
 *   stats: {name: string, rows: string[][]}[] | null,
 *   connectionTest: {state: 'testing'} | {state: 'done', rows: string[][], verdict: string} | null,
 *   desktop: boolean,
 *   hosting: import('./env.js').HostInfo | null,
 *   server: string,
 *   recentServers: string[],
 *   busy: string,
 *   chat: {messages: chat.ChatMessage[], unread: number, open: boolean, error: string | null},
 *   transfers: import('./files.js').TransferView[],
 *   fileRecipients: {id: string, name: string}[],
 * }} View
 */

export class Controller extends EventTarget {
  /**
   * @param {import('./env.js').Environment} env
   * @param {{caps?: payload.Capability[], media?: import('./media.js').MediaBackend}} [options]
   *   caps: what this client's calls can and cannot do (the native engine's); media: where the
   *   camera and microphone come from (the browser's unless said)
   */
  constructor(env, { caps = [], media = browserMedia } = {}) {
    super();
    this.env = env;
    this.media = new LocalMedia({
      backend: media,
      chosen: { camera: env.load('camera'), microphone: env.load('microphone'), speaker: env.load('speaker') },
      save: (role, deviceId) => env.save(role, deviceId),
      attach: async (kind, track) => { if (this.call.member) await this.call.setTrack(kind, track); },
    });
    this.media.addEventListener('change', () => this.#syncMedia());
    this.media.addEventListener('sending', () => this.call.announce());
    this.media.addEventListener('notice', (e) => {
      const { text } = /** @type {CustomEvent} */ (e).detail;
      if (text) this.#notice(text, 'warning');
      else if (this.view.notice?.tone === 'warning' && this.view.notice.text.includes('camera')) this.#update({ notice: null });
    });
    /** @type {SignalingClient | null} */
    this.signaling = null;
    this.call = new GroupCall({ send: (to, data) => this.#send(to, data), caps });
    this.call.localStream = () => this.media.outgoing();
    this.call.sending = () => this.media.sending();
    this.call.addEventListener('change', () => this.#syncCall());
    this.call.addEventListener('notice', (e) => this.#notice(/** @type {CustomEvent} */ (e).detail.text));
    this.call.addEventListener('ended', () => this.#callEnded());
    this.call.addEventListener('chat', (e) => {
      const { id, text, at, from, name } = /** @type {CustomEvent} */ (e).detail;
      this.conversation.add({ id, text, at, from, name, mine: false });
      this.#syncChat();
    });
    this.conversation = new chat.Conversation();
    this.files = new Files({ channel: (peer) => this.call.filesChannel(peer), openSink: env.desktop ? appSink(env.desktop.downloads) : openSink });
    this.files.addEventListener('change', () => this.#syncChat());
    this.call.addEventListener('files', (e) => {
      const { from, name, data } = /** @type {CustomEvent} */ (e).detail;
      this.files.receive(from, name, data);
    });
    this.call.addEventListener('rebound', (e) => {
      const { was, now } = /** @type {CustomEvent} */ (e).detail;
      this.files.rebound(was, now);
    });
    this.call.addEventListener('files-open', (e) => {
      this.files.reopened(/** @type {CustomEvent} */ (e).detail.from);
      this.#syncChat();
    });
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.statsTimer = undefined;
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
      tiles: [],
      joinable: null,
      ringable: [],
      notice: null,
      mediaWarning: null,
      localStream: null,
      screenPreview: null,
      cameraStarting: false,
      muted: false,
      videoOff: false,
      sharing: false,
      canShareScreen: this.media.canShareScreen,
      devices: { cameras: [], microphones: [], speakers: [] },
      chosen: { ...this.media.chosen },
      canChooseSpeaker: this.media.canChooseSpeaker,
      webrtc: canCall(),
      stats: null,
      connectionTest: null,
      desktop: env.kind === 'desktop',
      hosting: null,
      server: env.prefill.server,
      recentServers: env.desktop?.recentServers() ?? [],
      busy: '',
      chat: { messages: [], unread: 0, open: false, error: null },
      transfers: [],
      fileRecipients: [],
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

  /** Copies what the call shows into the view. */
  #syncCall() {
    const call = this.call;
    const state = call.state;
    const names = call.names();
    const who = state === 'incoming' ? call.incoming?.name ?? '' : listNames(names);
    /** @type {Tile[]} */
    const tiles = [...call.sessions.values()].map((s) => ({
      id: s.remoteId,
      name: s.name,
      state: s.state,
      stream: s.remoteStream,
      media: s.remoteMedia,
      picture: s.pictureState,
      speaking: s.speaking,
      unstable: s.unstable,
      path: s.path,
      rttMs: s.rttMs,
      failure: s.failure,
    }));
    for (const t of this.files.list()) {
      if (!call.sessions.has(t.peer) && ['hashing', 'offered', 'sending', 'receiving'].includes(t.state)) this.files.gone(t.peer, t.peerName);
    }
    const stats = call.member
      ? [...call.sessions.values()].filter((s) => s.call).map((s) => ({ name: s.name, rows: s.stats ?? [['Status', 'Measuring…']] }))
      : null;
    this.#update({
      callState: state,
      callLabel: label(state, who),
      otherName: who,
      tiles,
      joinable: call.joinable(),
      ringable: call.member ? call.notInCall().map((p) => p.name) : [],
      stats,
    });
    if (call.member && this.statsTimer === undefined) {
      this.statsTimer = setInterval(() => { this.call.tick(); }, STATS_EVERY_MS);
    } else if (!call.member && this.statsTimer !== undefined) {
      clearInterval(this.statsTimer);
      this.statsTimer = undefined;
    }
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

  /** Starts hosting a call of up to `maxPeople` on this computer and joins it. @param {string} name @param {number} [maxPeople] */
  async host(name, maxPeople = 4) {
    const desktop = this.env.desktop;
    if (!desktop) return;
    name = name.trim();
    if (!name || [...name].length > 64) return this.#notice('Enter a name of 1 to 64 characters.', 'error');
    this.env.save('name', name);
    this.#update({ name, busy: 'Starting…', notice: null });
    try {
      const hosting = await desktop.startHosting(maxPeople);
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
      // Our id dies with the connection; the others must find us again.
      this.call.lostServer();
      this.#update({ peers: [] });
    }
  }

  /** @param {import('./signaling.js').WelcomeMessage & {rejoin: boolean}} welcome */
  async #onWelcome(welcome) {
    const iceServers = await this.env.iceServers(welcome.iceServers);
    const firstJoin = this.view.screen === 'join';
    this.#update({ screen: 'room', joining: false, peers: welcome.peers, room: welcome.room });
    this.call.welcomed(welcome.id, this.view.name, welcome.peers, iceServers);
    if (firstJoin) {
      if (!this.view.webrtc) this.#notice(NO_WEBRTC, 'warning');
      this.startCamera();
    }
  }

  /** @param {PeerInfo} peer */
  #onPeerJoined(peer) {
    this.#update({ peers: [...this.view.peers.filter((p) => p.id !== peer.id), peer] });
    this.call.peerJoined(peer);
  }

  /** @param {string} id */
  #onPeerLeft(id) {
    this.#update({ peers: this.view.peers.filter((p) => p.id !== id) });
    this.call.peerLeft(id);
  }

  /** @param {import('./signaling.js').ServerErrorDetail} error */
  #onServerError(error) {
    if (error.retrying) {
      // An automatic reconnection refused for now (our old place not yet freed): the client asks
      // again, and the call, if any, goes on meanwhile.
      console.info('hearth: the server refused a rejoin for now; trying again:', error.message);
      return;
    }
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
      case 'unauthorized':
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
    this.call.hangup();
    this.call.close();
    this.signaling?.leave();
    this.signaling = null;
    this.media.release();
    this.conversation.clear();
    this.#syncChat(null);
    this.#update({ screen: 'join', peers: [], connection: 'idle' });
    this.#syncCall();
  }

  // ----- camera and microphone -----

  /** Copies the camera and microphone's state into the view. */
  #syncMedia() {
    const m = this.media;
    this.#update({
      localStream: m.stream,
      screenPreview: m.screenPreview,
      cameraStarting: m.starting,
      mediaWarning: m.warning,
      muted: m.muted,
      videoOff: m.videoOff,
      sharing: !!m.screen,
      devices: m.devices,
      chosen: { ...m.chosen },
    });
  }

  /**
   * Opens camera and microphone; tracks that arrive during a call are sent at once: a call never
   * waits for the camera.
   */
  startCamera() {
    return this.media.start();
  }

  refreshDevices() {
    return this.media.refreshDevices();
  }

  toggleMute() {
    this.media.toggleMute();
  }

  toggleVideo() {
    return this.media.toggleVideo();
  }

  /** Shares a screen instead of the camera, or stops sharing it. */
  toggleScreen() {
    return this.media.screen ? this.media.stopSharing() : this.media.shareScreen();
  }

  /** @param {import('./localmedia.js').DeviceRole} what @param {string} deviceId */
  chooseDevice(what, deviceId) {
    return this.media.choose(what, deviceId);
  }

  // ----- chat -----

  /** @param {string | null} [error] */
  #syncChat(error = this.view.chat.error) {
    const c = this.conversation;
    const transfers = this.files.list();
    // Files offered to us count as unread until the panel is opened to answer them.
    const offers = c.open ? 0 : transfers.filter((t) => t.direction === 'in' && t.state === 'offered').length;
    this.#update({
      chat: { messages: [...c.messages], unread: c.unread + offers, open: c.open, error },
      transfers,
      fileRecipients: this.call.fileRecipients(),
    });
  }

  /**
   * Offers files to one person in the call, or to everyone in it (`to`: their id, or null).
   * @param {File[]} files @param {string | null} to
   */
  sendFiles(files, to) {
    const everyone = this.call.fileRecipients();
    const recipients = to ? everyone.filter((p) => p.id === to) : everyone;
    if (!files.length) return;
    if (!recipients.length) {
      this.#syncChat(this.call.member ? 'No one in the call can receive files yet. Try again once they are connected.' : 'Files go to the people in a call: call someone first.');
      return;
    }
    this.#syncChat(null);
    for (const file of files) for (const person of recipients) this.files.offer(file, person).catch((e) => this.#syncChat(String(e?.message ?? e)));
  }

  /** @param {string} id */
  acceptFile(id) {
    this.files.accept(id);
  }

  /** @param {string} id */
  declineFile(id) {
    this.files.decline(id);
  }

  /** @param {string} id */
  cancelFile(id) {
    this.files.cancel(id);
  }

  /**
   * Sends a chat message to everyone in the call. Returns whether it went (the page then clears
   * the box); if not, the reason is in the view.
   * @param {string} text
   */
  sendChat(text) {
    const refused = !this.call.member ? 'Messages go to the people in a call: call someone first.' : chat.refusal(text);
    if (refused) {
      this.#syncChat(refused);
      return false;
    }
    const message = chat.wire(text, Date.now());
    if (!this.call.sendChat(message)) {
      this.#syncChat('No one in the call can get messages yet. Try again once they are connected.');
      return false;
    }
    this.conversation.add({ ...message, from: '', name: this.view.name, mine: true });
    this.#syncChat(null);
    return true;
  }

  /** The chat panel was opened or closed: what is shown is read. @param {boolean} open */
  setChatOpen(open) {
    this.conversation.setOpen(open);
    this.#syncChat();
  }

  /** Opens a link from a message: in the system's browser in the app, in a new tab otherwise. @param {string} url */
  openLink(url) {
    if (this.env.desktop) this.env.desktop.openLink(url).catch((e) => this.#notice(e instanceof Error ? e.message : String(e), 'error'));
    else globalThis.open(url, '_blank', 'noopener,noreferrer');
  }

  /** Test connection: what the STUN and TURN servers of this room give this device. */
  async testConnection() {
    if (this.view.connectionTest?.state === 'testing') return;
    if (!this.view.webrtc) return this.#notice('Testing the connection needs WebRTC, which this window does not have.', 'error');
    this.#update({ connectionTest: { state: 'testing' } });
    const result = await probe(this.call.iceServers);
    const { rows, verdict } = describeProbe(result);
    this.#update({ connectionTest: { state: 'done', rows, verdict } });
  }

  // ----- the call -----

  /** Rings everyone in the room who is not in the call (in a call: adds them to it). */
  startCall() {
    if (!this.view.peers.length || this.call.incoming) return;
    if (this.call.member && !this.call.notInCall().length) return;
    if (!this.view.webrtc) return this.#notice('Calls need WebRTC, which this window does not have.', 'error');
    this.#update({ notice: null });
    this.call.ring();
    this.startCamera();
  }

  /**
   * Takes the incoming call at once, with whatever camera and microphone are ready; those still
   * starting join the call when they are.
   */
  accept() {
    if (!this.call.incoming) return;
    if (!this.view.webrtc) {
      return this.#notice(`${NO_WEBRTC} ${this.view.otherName} will need to call again once you are there.`, 'warning');
    }
    this.#update({ notice: null });
    this.call.accept();
    this.startCamera();
  }

  /** Joins the call going on in the room, connecting to everyone in it without ringing. */
  joinCall() {
    if (!this.view.webrtc) return this.#notice('Calls need WebRTC, which this window does not have.', 'error');
    this.#update({ notice: null });
    this.call.join();
    this.startCamera();
  }

  /** Turns the incoming call down. */
  decline() {
    this.call.decline();
  }

  /** Leaves the call; the others carry on. */
  hangup() {
    if (!this.call.member) return;
    this.call.hangup();
    this.#notice('Call ended.');
  }

  /**
   * The page is going away: tell the others and the server (the tutorial's step 8). Resolves once
   * that has been sent (at most a second).
   * @returns {Promise<void>}
   */
  unload() {
    this.call.close();
    const left = this.signaling?.leave() ?? Promise.resolve();
    this.signaling = null;
    this.media.release();
    return left;
  }

  /** We are out of the call: the camera goes off, as after every call. */
  #callEnded() {
    this.media.release();
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
    this.call.receive(from, data);
  }
}

/** Words for the call's state, with who it is with. @param {CallState} state @param {string} who */
function label(state, who) {
  switch (state) {
    case 'outgoing': return `Ringing ${who}…`;
    case 'incoming': return `${who} is calling`;
    case 'connecting': return `Connecting to ${who}…`;
    case 'connected': return `In a call with ${who}`;
    case 'reconnecting': return `Reconnecting to ${who}…`;
    default: return LABELS[state];
  }
}
