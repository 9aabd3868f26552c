// @ts-check
//! The desktop app's native media engine as the page sees it: opening it (camera, microphone and
//! a fresh connection), reopening it for each call, closing it, and its events, each tagged with
//! the opening it belongs to so that a late event of an old call is never taken for the new one.

/** @typedef {import('./env.js').NativeBridge} NativeBridge */

/**
 * Events: `engine` ({generation, event}), where event is one of the engine's
 * (`ice-candidate`, `connection-state`, `track`, `negotiation-needed`, `error`).
 */
export class NativeEngine extends EventTarget {
  /** @param {NativeBridge} bridge */
  constructor(bridge) {
    super();
    this.bridge = bridge;
    /** Devices to open; empty means the system's default. */
    this.devices = { camera: '', microphone: '' };
    /** Which opening is current; events of others are dropped. */
    this.generation = 0;
    this.isOpen = false;
    /** Whether the page shows the preview, so the engine is reopened after a call. */
    this.previewWanted = false;
    /** Serialises open and close, which replace each other. @type {Promise<unknown>} */
    this.queue = Promise.resolve();
  }

  /**
   * @template {import('./bridge.js').Command} C
   * @param {C} command
   * @param {import('./bridge.js').ArgsOf<(typeof import('./bridge.js').COMMANDS)[C]>} [args]
   */
  invoke(command, args) {
    return this.bridge.invoke(command, args);
  }

  /**
   * Opens capture and a fresh connection with these ICE servers, replacing what was open.
   * @param {RTCIceServer[]} [iceServers]
   * @param {boolean} [relayOnly] only relayed (TURN) candidates, as `iceTransportPolicy: 'relay'`
   * @returns {Promise<number>} the generation of this opening
   */
  open(iceServers = [], relayOnly = false) {
    const run = async () => {
      const generation = ++this.generation;
      const channel = this.bridge.channel((/** @type {any} */ event) => {
        this.dispatchEvent(new CustomEvent('engine', { detail: { generation, event } }));
      });
      await this.invoke('native_open', {
        iceServers,
        camera: this.devices.camera || null,
        microphone: this.devices.microphone || null,
        relayOnly,
        events: channel,
      });
      this.isOpen = true;
      return generation;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Opens the engine unless it is open. */
  async ensureOpen() {
    await this.queue;
    if (!this.isOpen) await this.open();
  }

  /** Stops capture and the connection; the camera light goes off. */
  close() {
    const run = async () => {
      this.generation += 1;
      this.isOpen = false;
      await this.invoke('native_close');
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** After a call: keep the preview going with a fresh engine, or let everything go. */
  afterCall() {
    return this.previewWanted ? this.open() : this.close();
  }
}
