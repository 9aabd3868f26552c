// @ts-check
//! The desktop app's native media engine as the page sees it: the one capture (camera and
//! microphone) that every connection shares, and the connections themselves, one per other
//! person, each under a name of its own. Starting, connecting, disconnecting and closing go one
//! after another, in the order asked, since each can replace what the one before made.

/** @typedef {import('./env.js').NativeBridge} NativeBridge */
/** @typedef {import('./bridge.js').Command} Command */
import { invokeRaw } from './bridge.js';

export class NativeEngine {
  /** @param {NativeBridge} bridge */
  constructor(bridge) {
    this.bridge = bridge;
    /** Devices to open; empty means the system's default. */
    this.devices = { camera: '', microphone: '' };
    /** Whether the page shows the preview, so the capture outlives a call. */
    this.previewWanted = false;
    /** The connections open, by name. @type {Set<string>} */
    this.connections = new Set();
    /** Names connections uniquely for the whole life of the page. */
    this.made = 0;
    /** Serialises start, connect, disconnect and close. @type {Promise<unknown>} */
    this.queue = Promise.resolve();
  }

  /**
   * @template {Command} C
   * @param {C} command
   * @param {import('./bridge.js').ArgsOf<(typeof import('./bridge.js').COMMANDS)[C]>} [args]
   */
  invoke(command, args) {
    return this.bridge.invoke(command, args);
  }

  /**
   * Runs `step` after every start, connect, disconnect and close asked before it.
   * @template T @param {() => Promise<T>} step @returns {Promise<T>}
   */
  #inTurn(step) {
    const result = this.queue.then(step, step);
    this.queue = result.catch(() => {});
    return result;
  }

  #devices() {
    return { camera: this.devices.camera || null, microphone: this.devices.microphone || null };
  }

  /**
   * Opens the capture (the preview) unless open; an open one takes the chosen devices, and its
   * camera is turned on or off as `video` says (left as it is without it).
   * @param {{video?: boolean}} [options]
   */
  start({ video } = {}) {
    this.previewWanted = true;
    return this.#inTurn(() => this.invoke('native_start', { ...this.#devices(), video }));
  }

  /**
   * A new connection with these ICE servers, its events to `onEvent`. A capture it has to open
   * keeps the camera closed: only the preview or Start Video opens it.
   * @param {RTCIceServer[]} iceServers
   * @param {boolean} relayOnly only relayed (TURN) candidates, as `iceTransportPolicy: 'relay'`
   * @param {(event: any) => void} onEvent
   * @param {(message: ArrayBuffer) => void} onData every data-channel message, as `[channel, kind, payload…]`
   * @returns {{name: string, ready: Promise<void>}}
   */
  connect(iceServers, relayOnly, onEvent, onData) {
    this.made += 1;
    const name = `connection-${this.made}`;
    this.connections.add(name);
    const events = this.bridge.channel(onEvent);
    const data = this.bridge.channel(onData);
    const ready = this.#inTurn(() => this.invoke('native_connect', { connection: name, iceServers, relayOnly, ...this.#devices(), events, data }));
    return { name, ready };
  }

  /**
   * Queues one message on a connection's data channel; answers the channel's bytes waiting.
   * @param {string} connection @param {string} channel "0" chat, "1" files
   * @param {'text'|'binary'} kind @param {Uint8Array} bytes
   */
  sendData(connection, channel, kind, bytes) {
    return invokeRaw('native_peer_send', bytes, { 'hearth-connection': connection, channel, kind });
  }

  /** Ends one connection; without any and without the preview, the capture closes too. @param {string} name */
  disconnect(name) {
    this.connections.delete(name);
    return this.#inTurn(async () => {
      await this.invoke('native_disconnect', { connection: name });
      if (!this.connections.size && !this.previewWanted) await this.invoke('native_close');
    });
  }

  /** The preview is no longer wanted: the capture closes once no connection needs it. */
  release() {
    this.previewWanted = false;
    return this.#inTurn(async () => {
      if (!this.connections.size) await this.invoke('native_close');
    });
  }
}
