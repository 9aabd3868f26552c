// @ts-check
//! `NativeDataChannel`: the part of `RTCDataChannel` the call uses (chat and files), backed by one
//! of the two data channels the native engine makes with each connection. Messages go to the app
//! as raw bytes, one after another in the order sent (a `native_peer_send` each, never two at
//! once, so none overtakes another); what arrives comes on the connection's raw data channel as
//! `[channel, 0 text | 1 binary, payload…]` and is handed here by the connection.

/** @typedef {import('./nativeengine.js').NativeEngine} NativeEngine */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NativeDataChannel extends EventTarget {
  /**
   * @param {NativeEngine} engine
   * @param {() => string} connection the connection's name
   * @param {Promise<unknown>} ready settles once the connection exists
   * @param {string} label
   * @param {number} id the pre-negotiated id (0 chat, 1 files)
   */
  constructor(engine, connection, ready, label, id) {
    super();
    this.engine = engine;
    this.connection = connection;
    this.label = label;
    this.id = id;
    /** @type {RTCDataChannelState} */
    this.readyState = 'connecting';
    /** Bytes handed to `send` and not yet sent by the engine, as far as the page knows. */
    this.bufferedAmount = 0;
    this.bufferedAmountLowThreshold = 0;
    /** @type {BinaryType} */
    this.binaryType = 'arraybuffer';
    /** @type {((e: Event) => void) | null} */
    this.onopen = null;
    /** @type {((e: Event) => void) | null} */
    this.onclose = null;
    /** @type {((e: {data: string | ArrayBuffer}) => void) | null} */
    this.onmessage = null;
    /** Sends go one after another. @type {Promise<unknown>} */
    this.sending = ready.catch(() => {});
    /** Bytes queued here and not yet handed to the engine. */
    this.queued = 0;
    /** Wakes a send the engine refused as busy. @type {(() => void) | null} */
    this.engineDrained = null;
  }

  /** @param {string | ArrayBuffer | ArrayBufferView} data */
  send(data) {
    if (this.readyState !== 'open') throw new DOMException('The data channel is not open.', 'InvalidStateError');
    const text = typeof data === 'string';
    const bytes = text ? encoder.encode(data)
      : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.queued += bytes.length;
    this.bufferedAmount += bytes.length;
    const step = async () => {
      const before = this.bufferedAmount;
      try {
        // The engine refuses beyond its high mark (busy): wait for it to drain, and send again.
        for (;;) {
          try {
            const buffered = await this.engine.sendData(this.connection(), String(this.id), text ? 'text' : 'binary', bytes);
            this.queued -= bytes.length;
            this.bufferedAmount = Number(buffered) + this.queued;
            break;
          } catch (e) {
            if (/** @type {any} */ (e)?.code !== 'busy' || this.readyState !== 'open') throw e;
            await new Promise((resolve) => { this.engineDrained = () => resolve(undefined); });
          }
        }
      } catch (e) {
        this.queued -= bytes.length;
        this.bufferedAmount = Math.max(0, this.bufferedAmount - bytes.length);
        console.warn(`hearth: a message on the ${this.label} channel was not sent:`, e);
        if (/** @type {any} */ (e)?.code === 'closed') this.changed('closed');
      }
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) {
        this.dispatchEvent(new Event('bufferedamountlow'));
      }
    };
    this.sending = this.sending.then(step, step);
  }

  /** The engine says the channel opened or closed. @param {'open'|'closed'} state */
  changed(state) {
    if (this.readyState === state) return;
    if (state === 'closed') {
      this.engineDrained?.();
      this.engineDrained = null;
    }
    this.readyState = state;
    const event = new Event(state === 'open' ? 'open' : 'close');
    this.dispatchEvent(event);
    (state === 'open' ? this.onopen : this.onclose)?.(event);
  }

  /** The engine's buffer drained below its low mark. */
  drained() {
    this.engineDrained?.();
    this.engineDrained = null;
    this.bufferedAmount = this.queued;
    if (this.bufferedAmount <= this.bufferedAmountLowThreshold) this.dispatchEvent(new Event('bufferedamountlow'));
  }

  /** A message from the other side. @param {number} kind 0 text, 1 binary @param {Uint8Array} payload */
  received(kind, payload) {
    const data = kind === 0 ? decoder.decode(payload) : payload.slice().buffer;
    const event = new MessageEvent('message', { data });
    this.dispatchEvent(event);
    this.onmessage?.({ data });
  }

  /** Kept for the connection's life: the engine's data channels end with it (GStreamer 1.22). */
  close() {}
}
