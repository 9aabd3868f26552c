// @ts-check
//! This person's camera and microphone, whichever backend gives them (the browser's, or the
//! desktop app's native engine): opening them once however many ask, muting, turning the
//! camera off and on, switching devices, letting them go, and what is being sent. DOM-free; the
//! controller hands the tracks to the call and shows the state.

/** @typedef {import('./media.js').MediaBackend} MediaBackend */
/** @typedef {import('./media.js').DeviceList} DeviceList */
/** @typedef {'camera'|'microphone'|'speaker'} DeviceRole */
/** @typedef {{camera: string, microphone: string, speaker: string}} Chosen */

/**
 * Events: `change` (anything below changed), `sending` (what is sent changed: the others should
 * be told), `notice` ({text}: a problem to show, or null when an earlier camera problem is over).
 */
export class LocalMedia extends EventTarget {
  /**
   * @param {{
   *   backend: MediaBackend,
   *   chosen: Chosen,
   *   save: (role: DeviceRole, deviceId: string) => void,
   *   attach: (kind: 'audio'|'video', track: MediaStreamTrack | null) => Promise<void>,
   * }} options attach: hands a track (or none) to the call, if there is one
   */
  constructor({ backend, chosen, save, attach }) {
    super();
    this.backend = backend;
    this.save = save;
    this.attach = attach;
    /** @type {MediaStream | null} */
    this.stream = null;
    this.starting = false;
    this.muted = false;
    this.videoOff = false;
    /** Why the camera or microphone is missing, if it is. @type {string | null} */
    this.warning = null;
    /** @type {DeviceList} */
    this.devices = { cameras: [], microphones: [], speakers: [] };
    /** @type {Chosen} */
    this.chosen = { ...chosen };
    this.canChooseSpeaker = backend.canChooseSpeaker();
    /** The opening under way, so that a second request waits for the first. @type {Promise<MediaStream | null> | null} */
    this.opening = null;
    /** Counts releases: an opening that a release overtook is let go at once. */
    this.releases = 0;
    /** The screen being shared instead of the camera, if one is. @type {MediaStreamTrack | null} */
    this.screen = null;
    /** The shared screen as the self-view shows it. @type {MediaStream | null} */
    this.screenPreview = null;
    this.canShareScreen = backend.canShareScreen();
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }

  /** @param {string | null} text */
  #notice(text) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { text } }));
  }

  /**
   * What is sent: the microphone (on and unmuted), and the camera (on) or a screen; and the
   * devices that failed to open (after an opening that said why), so the others can say so.
   * @returns {import('./payload.js').Sending}
   */
  sending() {
    /** @type {import('./payload.js').Device[]} */
    const missing = [];
    if (this.warning !== null && !this.starting) {
      if (!this.stream?.getVideoTracks().length) missing.push('camera');
      if (!this.stream?.getAudioTracks().length) missing.push('microphone');
    }
    return {
      audio: !!this.stream?.getAudioTracks().length && !this.muted,
      video: !!this.screen || (!!this.stream?.getVideoTracks().length && !this.videoOff),
      screen: !!this.screen,
      missing,
    };
  }

  /** The tracks a new connection sends: the microphone, and the screen or the camera. @returns {MediaStream | null} */
  outgoing() {
    if (!this.screen) return this.stream;
    return new MediaStream([...(this.stream?.getAudioTracks() ?? []), this.screen]);
  }

  /** The camera's picture being sent, if it is (not while a screen is). */
  #camera() {
    return this.videoOff ? null : this.stream?.getVideoTracks()[0] ?? null;
  }

  /** Sends a screen instead of the camera, after the backend asks which one (a prompt may be cancelled). */
  async shareScreen() {
    if (this.screen) return;
    /** @type {MediaStreamTrack} */
    let track;
    try {
      track = await this.backend.openScreen();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message) this.#notice(message);
      return;
    }
    this.screen = track;
    this.screenPreview = new MediaStream([track]);
    // The browser's own "Stop sharing" ends the track: the camera comes back.
    track.addEventListener?.('ended', () => { if (this.screen === track) this.stopSharing(); });
    await this.attach('video', track);
    this.#changed();
    this.dispatchEvent(new Event('sending'));
  }

  /** Stops sharing the screen: the camera's picture (if it is on) is sent again. */
  async stopSharing() {
    const track = this.screen;
    if (!track) return;
    this.screen = null;
    this.screenPreview = null;
    await this.attach('video', this.#camera());
    this.backend.stopScreen(track);
    this.#changed();
    this.dispatchEvent(new Event('sending'));
  }

  /**
   * Opens camera and microphone; failures are explained, and the call can still go on. While they
   * open, a second request waits for the same opening.
   * @returns {Promise<MediaStream | null>}
   */
  start() {
    if (this.stream) return Promise.resolve(this.stream);
    this.opening ??= this.#open().finally(() => { this.opening = null; });
    return this.opening;
  }

  async #open() {
    this.starting = true;
    this.#changed();
    const releases = this.releases;
    try {
      const { stream, warning } = await this.backend.openLocalMedia({ camera: this.chosen.camera, microphone: this.chosen.microphone });
      if (this.releases !== releases) {
        // Hung up or left the room while the camera started: let it go again.
        this.backend.release(stream);
        this.starting = false;
        this.#changed();
        return null;
      }
      Object.assign(this, { stream, starting: false, warning, muted: false, videoOff: !stream.getVideoTracks().length });
      this.#changed();
      this.#notice(warning);
      for (const track of stream.getTracks()) await this.attach(/** @type {'audio'|'video'} */ (track.kind), track);
      this.dispatchEvent(new Event('sending'));
      await this.refreshDevices();
      return stream;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      Object.assign(this, { warning: message, starting: false });
      this.#changed();
      this.#notice(message);
      return null;
    }
  }

  async refreshDevices() {
    this.devices = await this.backend.listDevices();
    const stream = this.stream;
    this.chosen = {
      ...this.chosen,
      camera: this.backend.deviceOf(stream?.getVideoTracks()[0]) || this.chosen.camera,
      microphone: this.backend.deviceOf(stream?.getAudioTracks()[0]) || this.chosen.microphone,
    };
    this.#changed();
  }

  /** Lets camera and microphone go (their lights go off); an opening under way is let go too. */
  release() {
    this.releases += 1;
    if (this.screen) this.backend.stopScreen(this.screen);
    this.screen = null;
    this.screenPreview = null;
    this.backend.release(this.stream);
    Object.assign(this, { stream: null, muted: false, videoOff: false });
    this.#changed();
  }

  toggleMute() {
    this.muted = !this.muted;
    if (this.stream) this.backend.setMuted(this.stream.getAudioTracks(), this.muted);
    this.#changed();
    this.dispatchEvent(new Event('sending'));
  }

  /** Stops the camera (its light goes off) or starts it again, mid-call without renegotiating. */
  async toggleVideo() {
    const stream = this.stream;
    if (!stream) {
      await this.start();
      return;
    }
    if (!this.videoOff) {
      for (const track of stream.getVideoTracks()) {
        stream.removeTrack(track);
        this.backend.stopTrack(track);
      }
      if (!this.screen) await this.attach('video', null);
      this.videoOff = true;
    } else {
      try {
        const track = await this.backend.openTrack('video', this.chosen.camera);
        stream.addTrack(track);
        if (!this.screen) await this.attach('video', track);
        this.videoOff = false;
      } catch (e) {
        this.#notice(e instanceof Error ? e.message : String(e));
        return;
      }
    }
    this.#changed();
    this.dispatchEvent(new Event('sending'));
  }

  /**
   * Switches camera, microphone or speaker, and remembers the choice; mid-call the new track
   * replaces the old one.
   * @param {DeviceRole} role @param {string} deviceId
   */
  async choose(role, deviceId) {
    this.save(role, deviceId);
    this.chosen = { ...this.chosen, [role]: deviceId };
    this.#changed();
    if (role === 'speaker') return;
    const stream = this.stream;
    const kind = role === 'camera' ? 'video' : 'audio';
    if (!stream || (kind === 'video' && this.videoOff)) return;
    const old = stream.getTracks().find((t) => t.kind === kind);
    try {
      const track = await this.backend.openTrack(kind, deviceId);
      if (kind === 'audio') this.backend.setMuted([track], this.muted);
      // Hand the senders their new track before stopping the old one: Chromium's encoder does
      // not pick up a replacement for a track that already ended. A shared screen stays sent.
      if (kind === 'audio' || !this.screen) await this.attach(kind, track);
      if (old && old !== track) {
        stream.removeTrack(old);
        this.backend.stopTrack(old);
      }
      if (!stream.getTracks().includes(track)) stream.addTrack(track);
      this.#changed();
    } catch (e) {
      this.#notice(e instanceof Error ? e.message : String(e));
    }
  }
}
