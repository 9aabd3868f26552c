// @ts-check
//! `NativePeerConnection`: the part of `RTCPeerConnection` the call module uses, backed by one
//! connection of the desktop app's native engine (GStreamer's webrtcbin), so perfect
//! negotiation, ringing, hang-up and reconnection stay one code path whether the webview has
//! WebRTC or not. Each other person gets a connection of their own; the camera and microphone
//! are the engine's one capture, shared.

/** @typedef {import('./nativeengine.js').NativeEngine} NativeEngine */
/** @typedef {import('./nativevideo.js').NativePictures} NativePictures */
import { NativeDataChannel } from './nativedata.js';
/** @typedef {'audio'|'video'} Kind */

/**
 * A stand-in transceiver. The engine's media lines are fixed (video, then audio); what changes is
 * whether each sends, which `replaceTrack` controls (muting is the capture's, for everyone).
 */
class NativeTransceiver {
  /**
   * @param {NativePeerConnection} pc
   * @param {Kind} kind
   */
  constructor(pc, kind) {
    /** @type {RTCRtpTransceiverDirection} */
    this.direction = 'recvonly';
    /** @type {RTCRtpTransceiverDirection | null} */
    this.currentDirection = null;
    this.receiver = { track: { kind } };
    const transceiver = this;
    this.sender = {
      /** @type {MediaStreamTrack | null} */
      track: null,
      /** @param {MediaStreamTrack | null} track */
      async replaceTrack(track) {
        this.track = track;
        await pc.enqueue(() => pc.engine.invoke('native_peer_set_sending', { connection: pc.name, kind, enabled: !!track }));
        if (track && transceiver.direction === 'recvonly') transceiver.direction = 'sendrecv';
      },
      setStreams() {},
    };
  }
}

export class NativePeerConnection extends EventTarget {
  /**
   * @param {RTCConfiguration} config
   * @param {NativeEngine} engine
   * @param {NativePictures} pictures where this connection's remote pictures are painted
   */
  constructor(config, engine, pictures) {
    super();
    this.engine = engine;
    this.pictures = pictures;
    /** @type {RTCSignalingState} */
    this.signalingState = 'stable';
    /**
     * GStreamer 1.22's webrtcbin takes `ice-restart` as a plain renegotiation with the same
     * credentials: the session makes a new connection instead of restarting ICE.
     */
    this.canRestartIce = false;
    /** @type {RTCPeerConnectionState} */
    this.connectionState = 'new';
    /** @type {RTCSessionDescriptionInit | null} */
    this.localDescription = null;
    /** @type {RTCSessionDescriptionInit | null} */
    this.remoteDescription = null;
    /** @type {((e: {candidate: RTCIceCandidateInit | null}) => void) | null} */
    this.onicecandidate = null;
    /** @type {((e: {track: MediaStreamTrack, streams: MediaStream[]}) => void) | null} */
    this.ontrack = null;
    /** @type {(() => void) | null} */
    this.onnegotiationneeded = null;
    /** @type {(() => void) | null} */
    this.onconnectionstatechange = null;
    this.transceivers = [new NativeTransceiver(this, 'video'), new NativeTransceiver(this, 'audio')];
    this.iceRestart = false;
    this.negotiationScheduled = false;
    this.closed = false;
    /** The page-side tracks standing for this connection's remote tracks, by the engine's track id. @type {Map<number, MediaStreamTrack>} */
    this.remoteTracks = new Map();
    /** The data channels by their pre-negotiated id (the engine makes chat 0 and files 1). @type {Map<number, NativeDataChannel>} */
    this.dataChannels = new Map();
    const { name, ready } = engine.connect(config.iceServers ?? [], config.iceTransportPolicy === 'relay',
      (event) => this.#onEngineEvent(event), (message) => this.#onData(message));
    this.name = name;
    this.connected = ready;
    // Nothing is sent until a track is attached, as with the browser's transceivers.
    /** @type {Promise<unknown>} */
    this.ready = ready.then(async () => {
      for (const kind of /** @type {Kind[]} */ (['video', 'audio'])) {
        await engine.invoke('native_peer_set_sending', { connection: name, kind, enabled: false });
      }
    });
  }

  /**
   * Runs `step` after everything before it, in order, as the browser's operations chain does.
   * @template T @param {() => Promise<T>} step @returns {Promise<T>}
   */
  enqueue(step) {
    const result = this.ready.then(() => {
      if (this.closed) throw new DOMException('The connection is closed.', 'InvalidStateError');
      return step();
    });
    this.ready = result.catch(() => {});
    return result;
  }

  /** @param {any} event one of the engine's events for this connection */
  #onEngineEvent(event) {
    if (this.closed) return;
    switch (event.type) {
      case 'ice-candidate':
        this.onicecandidate?.({ candidate: { candidate: event.candidate, sdpMLineIndex: event.sdpMLineIndex, sdpMid: null } });
        break;
      case 'ice-gathering-state':
        // The browser's end-of-candidates.
        if (event.state === 'complete') this.onicecandidate?.({ candidate: null });
        break;
      case 'connection-state':
        if (event.state !== this.connectionState) {
          this.connectionState = event.state;
          this.onconnectionstatechange?.();
        }
        break;
      case 'track': {
        let track = this.remoteTracks.get(event.track);
        if (!track) {
          track = this.pictures.remoteTrack(event.kind, this.name, event.track);
          this.remoteTracks.set(event.track, track);
        }
        this.ontrack?.({ track, streams: [] });
        break;
      }
      case 'error':
        console.error(`hearth: native engine (${this.name}):`, event.message);
        break;
      case 'data-state':
        this.dataChannels.get(event.channel)?.changed(event.state);
        break;
      case 'data-buffered-low':
        this.dataChannels.get(event.channel)?.drained();
        break;
      default:
        // The engine's own negotiation-needed comes when it starts, before the page has asked
        // for anything; the page's is raised by addTransceiver and restartIce below.
        break;
    }
  }

  /** A data-channel message: `[channel, 0 text | 1 binary, payload…]`. @param {unknown} message */
  #onData(message) {
    if (this.closed || !(message instanceof ArrayBuffer) || message.byteLength < 2) return;
    const bytes = new Uint8Array(message);
    this.dataChannels.get(bytes[0])?.received(bytes[1], bytes.subarray(2));
  }

  /**
   * The page's side of one of the engine's two data channels; only those (negotiated, ids 0 and
   * 1) exist.
   * @param {string} label @param {RTCDataChannelInit} [init]
   */
  createDataChannel(label, init = {}) {
    const id = init.id ?? -1;
    if (!init.negotiated || (id !== 0 && id !== 1)) {
      throw new DOMException('The native engine has only its two pre-negotiated data channels (ids 0 and 1).', 'OperationError');
    }
    const channel = new NativeDataChannel(this.engine, () => this.name, this.connected, label, id);
    this.dataChannels.set(id, channel);
    return /** @type {RTCDataChannel} */ (/** @type {unknown} */ (channel));
  }

  #needNegotiation() {
    if (this.negotiationScheduled || this.closed) return;
    this.negotiationScheduled = true;
    queueMicrotask(() => {
      this.negotiationScheduled = false;
      if (!this.closed && this.signalingState === 'stable') this.onnegotiationneeded?.();
    });
  }

  /**
   * @param {MediaStreamTrack | Kind} trackOrKind
   * @param {RTCRtpTransceiverInit} [init]
   */
  addTransceiver(trackOrKind, init = {}) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : /** @type {Kind} */ (trackOrKind.kind);
    const transceiver = /** @type {NativeTransceiver} */ (this.transceivers.find((t) => t.receiver.track.kind === kind));
    transceiver.direction = init.direction ?? 'sendrecv';
    const track = typeof trackOrKind === 'string' ? null : trackOrKind;
    transceiver.sender.replaceTrack(track).catch(() => {});
    this.#needNegotiation();
    return transceiver;
  }

  /** @param {MediaStreamTrack} track */
  addTrack(track) {
    return this.addTransceiver(track, { direction: 'sendrecv' }).sender;
  }

  getTransceivers() {
    return this.transceivers;
  }

  /** @param {RTCSessionDescriptionInit} [description] */
  setLocalDescription(description) {
    return this.enqueue(async () => {
      const connection = this.name;
      let local = description;
      if (!local?.sdp) {
        local = this.signalingState === 'have-remote-offer'
          ? await this.engine.invoke('native_peer_create_answer', { connection })
          : await this.engine.invoke('native_peer_create_offer', { connection, iceRestart: this.iceRestart });
        this.iceRestart = false;
      }
      const init = /** @type {RTCSessionDescriptionInit} */ (local);
      await this.engine.invoke('native_peer_set_local_description', { connection, description: { type: init.type, sdp: init.sdp } });
      this.localDescription = { type: init.type, sdp: init.sdp };
      this.signalingState = await this.#engineSignalingState();
      if (init.type === 'answer') this.#settleDirections();
    });
  }

  /** @param {RTCSessionDescriptionInit} description */
  setRemoteDescription(description) {
    return this.enqueue(async () => {
      if (description.type === 'rollback') {
        throw new DOMException('Rolling back is not supported by the native engine.', 'OperationError');
      }
      await this.engine.invoke('native_peer_set_remote_description', { connection: this.name, description: { type: description.type, sdp: description.sdp } });
      this.remoteDescription = { type: description.type, sdp: description.sdp };
      this.signalingState = await this.#engineSignalingState();
      if (description.type === 'answer') this.#settleDirections();
    });
  }

  /** The signaling state as webrtcbin has it (never worked out here). @returns {Promise<RTCSignalingState>} */
  async #engineSignalingState() {
    return /** @type {RTCSignalingState} */ (await this.engine.invoke('native_peer_signaling_state', { connection: this.name }));
  }

  #settleDirections() {
    for (const t of this.transceivers) t.currentDirection = t.direction;
  }

  /** @param {RTCIceCandidateInit} candidate */
  addIceCandidate(candidate) {
    return this.enqueue(async () => {
      if (!candidate?.candidate) return;
      const index = candidate.sdpMLineIndex ?? this.#mlineOf(candidate.sdpMid ?? null);
      await this.engine.invoke('native_peer_add_ice_candidate', { connection: this.name, sdpMLineIndex: index, candidate: candidate.candidate });
    });
  }

  /** The index of the media section with this mid in the remote description (bundle: 0 is fine). */
  #mlineOf(/** @type {string | null} */ mid) {
    if (mid === null) return 0;
    const sections = (this.remoteDescription?.sdp ?? '').split(/\r?\nm=/).slice(1);
    const index = sections.findIndex((s) => new RegExp(`\\r?\\na=mid:${mid}\\r?$`, 'm').test(`\n${s}`));
    return Math.max(0, index);
  }

  restartIce() {
    this.iceRestart = true;
    this.#needNegotiation();
  }

  /** @returns {Promise<Map<string, any>>} */
  getStats() {
    return this.enqueue(async () => {
      /** @type {any[]} */
      const list = await this.engine.invoke('native_peer_stats', { connection: this.name });
      const now = performance.timeOrigin + performance.now();
      const report = new Map(list.map((s) => [s.id, { ...s, timestamp: now }]));
      // The picture as shown is the page's own figure (webrtcbin decodes, the page paints);
      // nothing webrtcbin does not measure is made up here.
      const stats = [...report.values()];
      const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
      const shown = [...this.remoteTracks.values()].find((t) => t.kind === 'video');
      const picture = shown ? this.pictures.pictureStats(shown) : null;
      if (video && picture) {
        Object.assign(video, { frameWidth: picture.width, frameHeight: picture.height, framesPerSecond: picture.fps, framesDecoded: picture.frames });
      }
      return report;
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.connectionState = 'closed';
    this.signalingState = 'closed';
    for (const track of this.remoteTracks.values()) this.pictures.endRemoteTrack(track);
    for (const channel of this.dataChannels.values()) channel.changed('closed');
    this.remoteTracks.clear();
    this.ready.then(() => this.engine.disconnect(this.name)).catch((e) => console.warn('hearth: native engine', e));
  }
}
