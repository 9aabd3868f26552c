// @ts-check
//! One peer connection to the other person: perfect negotiation, trickle ICE with early
//! candidates queued, track switching, ICE restart (when to restart is the session's call), what
//! ICE gathering found for a diagnosis, and stats. The only module that touches
//! `RTCPeerConnection`.

import * as payload from './payload.js';

/**
 * Makes the peer connection. Replaceable so that another implementation (a native engine where
 * the webview has no WebRTC) can stand in.
 * @typedef {(config: RTCConfiguration) => RTCPeerConnection} PeerConnectionFactory
 */

/** @type {PeerConnectionFactory | null} */
let factory = typeof RTCPeerConnection === 'function' ? (config) => new RTCPeerConnection(config) : null;

/** Puts another peer-connection implementation in place. @param {PeerConnectionFactory} f */
export function setPeerConnectionFactory(f) {
  factory = f;
}

/** Whether calls are possible in this environment. */
export const canCall = () => factory !== null;

/** A peer connection from the implementation in place. @param {RTCConfiguration} config */
export function newPeerConnection(config) {
  if (!factory) throw new Error('This environment has no WebRTC peer connection.');
  return factory(config);
}

/** @typedef {'chat'|'files'} DataChannelName */

/** The most a shared screen is sent at, bits per second. */
const SCREEN_BITRATE = 2_500_000;

/** Gathering errors kept for a diagnosis; later ones are dropped (they repeat the first). */
const ICE_ERRORS_KEPT = 20;

/**
 * Events: `remote-stream` ({stream}), `media` ({state: 'up'|'interrupted'|'failed'}),
 * `channel` ({name, state: 'open'|'closed'}), `data` ({name, data: string | ArrayBuffer}),
 * `error` ({message}).
 */
export class Call extends EventTarget {
  /**
   * @param {{
   *   polite: boolean,
   *   iceServers: RTCIceServer[],
   *   send: (data: payload.Payload) => boolean,
   *   data?: boolean,
   * }} options data: make the chat and files data channels (both sides say they can)
   */
  constructor({ polite, iceServers, send, data = false }) {
    super();
    this.polite = polite;
    this.send = send;
    this.pc = newPeerConnection({ iceServers });
    this.remoteStream = new MediaStream();
    // Perfect negotiation (webrtc/samples): who is offering, and whether to ignore a colliding offer.
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.srdAnswerPending = false;
    /** The callee waits for the caller's first offer before offering anything itself. */
    this.mayOffer = !polite;
    /** @type {RTCIceCandidateInit[]} candidates that came before the remote description */
    this.pendingCandidates = [];
    this.closed = false;
    /** Candidate types this side gathered (`host`, `srflx`, `relay`). @type {Set<string>} */
    this.gathered = new Set();
    /** What went wrong while gathering, for a diagnosis. @type {{url: string, errorCode: number, errorText: string}[]} */
    this.iceErrors = [];
    /** @type {MediaStream | null} */
    this.localStream = null;
    /**
     * The data channels, made with the connection and kept for its life (GStreamer 1.22 leaks and
     * can deadlock when one closes): negotiated with fixed ids, so they never cause a
     * renegotiation and open the moment the connection does.
     * @type {Record<DataChannelName, RTCDataChannel> | null}
     */
    this.channels = data ? {
      chat: this.pc.createDataChannel('chat', { negotiated: true, id: 0 }),
      files: this.pc.createDataChannel('files', { negotiated: true, id: 1 }),
    } : null;
    this.#wire();
  }

  #wire() {
    const pc = this.pc;
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate || !candidate.candidate) return;
      if (candidate.type) this.gathered.add(candidate.type);
      this.send(payload.candidate(candidate));
    };
    pc.onicecandidateerror = (/** @type {any} */ e) => {
      if (this.iceErrors.length < ICE_ERRORS_KEPT) this.iceErrors.push({ url: String(e.url ?? ''), errorCode: Number(e.errorCode ?? 0), errorText: String(e.errorText ?? '') });
    };
    pc.ontrack = ({ track }) => {
      for (const old of this.remoteStream.getTracks().filter((t) => t.kind === track.kind && t !== track)) {
        this.remoteStream.removeTrack(old);
      }
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      this.dispatchEvent(new CustomEvent('remote-stream', { detail: { stream: this.remoteStream } }));
    };
    pc.onnegotiationneeded = async () => {
      // The impolite side makes every offer (the first, and each ICE restart): the polite side's
      // own negotiationneeded, after it answers with its streams set, would offer what is agreed
      // already, and crossing a new connection's first negotiation it made GStreamer 1.22 answer
      // with the wrong DTLS role.
      if (!this.mayOffer || this.polite || this.closed) return;
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription) this.send(payload.description(pc.localDescription));
      } catch (e) {
        this.#fail(`Could not start negotiating: ${e}`);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => this.#onConnectionState();
    for (const [name, channel] of Object.entries(this.channels ?? {})) {
      channel.binaryType = 'arraybuffer';
      // Files refill the buffer when it drains below this (files.js LOW_WATER).
      if (name === 'files') channel.bufferedAmountLowThreshold = 256 * 1024;
      channel.onopen = () => this.dispatchEvent(new CustomEvent('channel', { detail: { name, state: 'open' } }));
      channel.onclose = () => this.dispatchEvent(new CustomEvent('channel', { detail: { name, state: 'closed' } }));
      channel.onmessage = ({ data }) => this.dispatchEvent(new CustomEvent('data', { detail: { name, data } }));
    }
  }

  /** Media up, interrupted (ICE may still find its way back) or failed (it will not without a restart). */
  #onConnectionState() {
    const state = this.pc.connectionState;
    if (state === 'connected') {
      this.dispatchEvent(new CustomEvent('media', { detail: { state: 'up' } }));
    } else if (state === 'disconnected') {
      this.dispatchEvent(new CustomEvent('media', { detail: { state: 'interrupted' } }));
    } else if (state === 'failed' || state === 'closed') {
      if (!this.closed) this.dispatchEvent(new CustomEvent('media', { detail: { state: 'failed' } }));
    }
  }

  /**
   * Starts the call with whatever local media exists now (possibly none: the camera may still be
   * starting). The caller offers one audio and one video transceiver, both `sendrecv` whether or
   * not it has the track yet; the callee answers the caller's offer the same way. A track that
   * comes later is attached with `replaceTrack` ({@link setTrack}): no direction ever changes and
   * nothing is renegotiated, which GStreamer 1.22's webrtcbin (the desktop app's engine on Debian
   * 12) requires, since it refuses a transceiver changing direction.
   * @param {MediaStream | null} stream
   */
  start(stream) {
    // A stream of this call's own: what it sends changes with setTrack, the caller's stays as it is.
    this.localStream = stream ? new MediaStream(stream.getTracks()) : null;
    stream = this.localStream;
    if (this.polite) return;
    for (const kind of /** @type {const} */ (['audio', 'video'])) {
      const track = stream?.getTracks().find((t) => t.kind === kind);
      this.pc.addTransceiver(track ?? kind, { direction: 'sendrecv', streams: stream ? [stream] : [] });
    }
  }

  /** Makes the transceivers an offer created send and receive, with a track where one exists (callee only, once). */
  #attachLocalTracks() {
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      const track = this.localStream?.getTracks().find((t) => t.kind === kind);
      if (track && !transceiver.sender.track) transceiver.sender.replaceTrack(track);
      if (this.localStream) transceiver.sender.setStreams?.(this.localStream);
      transceiver.direction = 'sendrecv';
    }
  }

  /**
   * Handles a `description` or `candidate` payload from the other side.
   * @param {payload.DescriptionPayload | payload.CandidatePayload} data
   */
  async handle(data) {
    if (this.closed) return;
    const pc = this.pc;
    try {
      if (data.kind === 'description') {
        const description = data.description;
        // The same description again: an offer re-sent because its answer seemed lost. The offer
        // gets our answer again; an answer already applied is nothing new.
        if (description.sdp === pc.remoteDescription?.sdp && pc.signalingState === 'stable') {
          if (description.type === 'offer' && pc.localDescription) this.send(payload.description(pc.localDescription));
          return;
        }
        // Perfect negotiation as in webrtc/samples: an answer being applied does not make the
        // next offer a collision.
        const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.srdAnswerPending);
        const collision = description.type === 'offer' && !readyForOffer;
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        this.srdAnswerPending = description.type === 'answer';
        try {
          await pc.setRemoteDescription(description);
        } finally {
          this.srdAnswerPending = false;
        }
        await this.#flushCandidates();
        if (description.type === 'offer') {
          if (!this.mayOffer) {
            this.#attachLocalTracks();
            this.mayOffer = true;
          }
          await pc.setLocalDescription();
          if (pc.localDescription) this.send(payload.description(pc.localDescription));
        }
      } else {
        if (!pc.remoteDescription) {
          this.pendingCandidates.push(data.candidate);
          return;
        }
        await this.#addCandidate(data.candidate);
      }
    } catch (e) {
      this.#fail(`Negotiation failed: ${e}`);
    }
  }

  async #flushCandidates() {
    const queued = this.pendingCandidates.splice(0);
    for (const c of queued) await this.#addCandidate(c);
  }

  /** @param {RTCIceCandidateInit} c */
  async #addCandidate(c) {
    try {
      await this.pc.addIceCandidate(c);
    } catch (e) {
      // Candidates for an offer we ignored are expected to fail.
      if (!this.ignoreOffer) throw e;
    }
  }

  /**
   * Sends `track` instead of whatever is sent for its kind, or stops sending that kind (null),
   * with `replaceTrack`: never a renegotiation. Before the callee has answered, the track is only
   * remembered; the answer attaches it.
   * @param {'audio'|'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(kind, track) {
    if (track) {
      this.localStream ??= new MediaStream();
      for (const old of this.localStream.getTracks().filter((t) => t.kind === kind && t !== track)) this.localStream.removeTrack(old);
      if (!this.localStream.getTracks().includes(track)) this.localStream.addTrack(track);
    }
    if (!this.mayOffer) return;
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
    if (!transceiver) {
      // Every call negotiates one transceiver of each kind from its first offer, so this is a bug.
      this.#fail(`No ${kind} line in this call to send on.`);
      return;
    }
    if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    if (kind === 'video' && track) await this.#setVideoBitrate(track.contentHint === 'detail' ? SCREEN_BITRATE : null, transceiver.sender);
  }

  /**
   * A screen (sharp text) gets more bits than a camera; the camera goes back to the browser's own
   * choice. The native engine sets its own rates.
   * @param {number | null} maxBitrate @param {RTCRtpSender} sender
   */
  async #setVideoBitrate(maxBitrate, sender) {
    if (typeof sender.getParameters !== 'function') return;
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length) return;
    for (const encoding of parameters.encodings) {
      if (maxBitrate) encoding.maxBitrate = maxBitrate;
      else delete encoding.maxBitrate;
    }
    await sender.setParameters(parameters).catch((e) => console.warn('hearth: bitrate', e));
  }

  /**
   * Asks for new ICE candidates on both sides; the offer goes out through negotiationneeded. (An
   * offer still waiting for its answer would hold the restart back: the session sends that one
   * again first, with {@link resendOffer}.)
   */
  restartIce() {
    if (!this.closed) this.pc.restartIce();
  }

  /**
   * Whether ICE can be restarted on this connection: not on GStreamer 1.22's webrtcbin (the
   * native engine says so), where the session makes a new connection instead.
   */
  get canRestartIce() {
    return /** @type {{canRestartIce?: boolean}} */ (/** @type {unknown} */ (this.pc)).canRestartIce !== false;
  }

  /** Sends our offer again if it still waits for its answer; false if there is none waiting. */
  resendOffer() {
    if (this.closed || this.pc.signalingState !== 'have-local-offer' || !this.pc.localDescription) return false;
    this.send(payload.description(this.pc.localDescription));
    return true;
  }

  /** @returns {Promise<RTCStatsReport>} */
  getStats() {
    return this.pc.getStats();
  }

  /** Ends the connection. Local tracks are the caller's to stop. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = null;
    this.pc.onicecandidateerror = null;
    this.pc.ontrack = null;
    this.pc.onnegotiationneeded = null;
    this.pc.onconnectionstatechange = null;
    for (const channel of Object.values(this.channels ?? {})) {
      channel.onopen = null;
      channel.onclose = null;
      channel.onmessage = null;
    }
    this.pc.close();
  }

  /** @param {string} message */
  #fail(message) {
    console.error('hearth:', message);
    this.dispatchEvent(new CustomEvent('error', { detail: { message } }));
  }
}
