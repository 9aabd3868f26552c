// @ts-check
//! `NativePeerConnection`: the part of `RTCPeerConnection` the call module uses, backed by the
//! desktop app's native engine (GStreamer's webrtcbin), so perfect negotiation, ringing, hang-up
//! and reconnection stay one code path whether the webview has WebRTC or not.

/** @typedef {import('./nativeengine.js').NativeEngine} NativeEngine */

/**
 * A stand-in transceiver. The engine's media lines are fixed (video, then audio); what changes is
 * whether each sends, which `replaceTrack` and `direction` control.
 */
class NativeTransceiver {
  /**
   * @param {NativePeerConnection} pc
   * @param {'audio'|'video'} kind
   */
  constructor(pc, kind) {
    this.pc = pc;
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
        await pc.enqueue(() => pc.engine.invoke('native_set_sending', { kind, enabled: !!track && track.enabled }));
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
   */
  constructor(config, engine) {
    super();
    this.engine = engine;
    /** @type {RTCSignalingState} */
    this.signalingState = 'stable';
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
    /** @type {(kind: 'audio'|'video') => MediaStreamTrack} makes the page-side track of a remote stream */
    this.remoteTrack = () => { throw new Error('no remote track maker'); };
    /** @type {() => {width: number, height: number, fps: number, frames: number} | null} the remote picture as painted */
    this.pictureStats = () => null;
    /** @type {number | null} */
    this.generation = null;
    /** @param {Event} e */
    this.onEngineEvent = (e) => this.#onEngineEvent(/** @type {CustomEvent} */ (e).detail);
    engine.addEventListener('engine', this.onEngineEvent);
    // Every call gets a fresh engine with this call's ICE servers; everything waits for it.
    /** @type {Promise<unknown>} */
    // Nothing is sent until a track is attached, as with the browser's transceivers.
    this.ready = engine.open(config.iceServers ?? [], config.iceTransportPolicy === 'relay').then(async (generation) => {
      this.generation = generation;
      for (const kind of ['video', 'audio']) await engine.invoke('native_set_sending', { kind, enabled: false });
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

  /** @param {{generation: number, event: any}} detail */
  #onEngineEvent({ generation, event }) {
    if (this.closed || generation !== this.generation) return;
    switch (event.type) {
      case 'ice-candidate':
        this.onicecandidate?.({ candidate: { candidate: event.candidate, sdpMLineIndex: event.sdpMLineIndex, sdpMid: null } });
        break;
      case 'connection-state':
        if (event.state !== this.connectionState) {
          this.connectionState = event.state;
          this.onconnectionstatechange?.();
        }
        break;
      case 'track': {
        const track = this.remoteTrack(event.kind);
        this.ontrack?.({ track, streams: [] });
        break;
      }
      case 'error':
        console.error('hearth: native engine:', event.message);
        break;
      default:
        // The engine's own negotiation-needed comes when it starts, before the page has asked
        // for anything; the page's is raised by addTransceiver and restartIce below.
        break;
    }
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
   * @param {MediaStreamTrack | 'audio' | 'video'} trackOrKind
   * @param {RTCRtpTransceiverInit} [init]
   */
  addTransceiver(trackOrKind, init = {}) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : /** @type {'audio'|'video'} */ (trackOrKind.kind);
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
      let local = description;
      if (!local?.sdp) {
        local = this.signalingState === 'have-remote-offer'
          ? await this.engine.invoke('native_create_answer')
          : await this.engine.invoke('native_create_offer', { iceRestart: this.iceRestart });
        this.iceRestart = false;
      }
      const init = /** @type {RTCSessionDescriptionInit} */ (local);
      await this.engine.invoke('native_set_local_description', { description: { type: init.type, sdp: init.sdp } });
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
      await this.engine.invoke('native_set_remote_description', { description: { type: description.type, sdp: description.sdp } });
      this.remoteDescription = { type: description.type, sdp: description.sdp };
      this.signalingState = await this.#engineSignalingState();
      if (description.type === 'answer') this.#settleDirections();
    });
  }

  /** The signaling state as webrtcbin has it (never worked out here). @returns {Promise<RTCSignalingState>} */
  async #engineSignalingState() {
    return /** @type {RTCSignalingState} */ (await this.engine.invoke('native_signaling_state'));
  }

  #settleDirections() {
    for (const t of this.transceivers) t.currentDirection = t.direction;
  }

  /** @param {RTCIceCandidateInit} candidate */
  addIceCandidate(candidate) {
    return this.enqueue(async () => {
      if (!candidate?.candidate) return;
      const index = candidate.sdpMLineIndex ?? this.#mlineOf(candidate.sdpMid ?? null);
      await this.engine.invoke('native_add_ice_candidate', { sdpMLineIndex: index, candidate: candidate.candidate });
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
      const list = await this.engine.invoke('native_stats');
      const now = performance.timeOrigin + performance.now();
      const report = new Map(list.map((s) => [s.id, { ...s, timestamp: now }]));
      // The picture as shown is the page's own figure (webrtcbin decodes, the page paints);
      // nothing webrtcbin does not measure is made up here.
      const stats = [...report.values()];
      const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
      const picture = this.pictureStats();
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
    this.engine.removeEventListener('engine', this.onEngineEvent);
    this.ready.then(async () => { await this.engine.afterCall(); }).catch((e) => console.warn('hearth: native engine', e));
  }
}
