// @ts-check
//! Files sent in a call, over each connection's `files` data channel (docs/PROTOCOL.md, "Data
//! channels"): the offer with name, size and SHA-256 first; nothing received until the person
//! accepts; chunks of 16 KiB with their offset, sent between a low and a high water mark of the
//! channel's buffer; the hash checked on arrival; cancel from either side; and a transfer cut by a
//! lost connection carried on from the bytes already received once the channel opens again.
//! DOM-free: the channels, the file reading and the place received bytes go are given to it.

import { Sha256 } from './sha256.js';

/** Bytes of file in one chunk message. */
export const CHUNK = 16 * 1024;
/** The channel's buffer is refilled when it drains below this... */
export const LOW_WATER = 256 * 1024;
/** ...and not filled beyond this. */
export const HIGH_WATER = 4 * 1024 * 1024;
/** Bytes before a chunk's data: the transfer's number (u32), then its offset (u64). */
const HEADER = 12;
/** The file is read this much at a time (then cut into chunks). */
const READ = 1024 * 1024;
/**
 * Received bytes waiting to be written: above this the receiver asks the sender to wait
 * (`file-wait`), and below RESUME_AT it asks for the rest (`file-accept` from the bytes it has).
 */
export const PAUSE_AT = 16 * 1024 * 1024;
export const RESUME_AT = 2 * 1024 * 1024;
/**
 * ...and at most this, whatever happens (a sender that does not wait): beyond it the transfer
 * stops with that reason rather than holding the rest in memory.
 */
export const WRITE_BACKLOG = 64 * 1024 * 1024;
/** Transfers kept in the list (finished ones are let go first). */
const KEEP = 100;

/**
 * @typedef {{kind: 'file-offer', id: string, n: number, name: string, size: number, sha256: string, type: string}} OfferWire
 * @typedef {{kind: 'file-accept', id: string, offset: number}} AcceptWire
 * @typedef {{kind: 'file-decline', id: string}} DeclineWire
 * @typedef {{kind: 'file-cancel', id: string}} CancelWire
 * @typedef {{kind: 'file-result', id: string, ok: boolean}} ResultWire
 * @typedef {{kind: 'file-wait', id: string}} WaitWire the receiver's disk is behind: stop sending until it accepts again
 * @typedef {OfferWire|AcceptWire|DeclineWire|CancelWire|ResultWire|WaitWire} FileWire
 * @typedef {'hashing'|'offered'|'sending'|'receiving'|'verified'|'failed'|'declined'|'cancelled'} TransferState
 * @typedef {{
 *   id: string, direction: 'out'|'in', peer: string, peerName: string, name: string, size: number,
 *   done: number, state: TransferState, reason: string | null, bytesPerSecond: number, saved: Blob | string | null,
 * }} TransferView saved: the received file, to hand to the browser's downloads, or where the app saved it
 * @typedef {{write: (bytes: Uint8Array<ArrayBuffer>) => Promise<void>, close: () => Promise<Blob | string>, abort: () => Promise<void>}} Sink
 * @typedef {{
 *   channel: (peer: string) => RTCDataChannel | null,
 *   openSink: (id: string, name: string, size: number) => Promise<Sink>,
 *   now?: () => number,
 * }} FilesOptions
 */

/**
 * Reads a control message from the channel, or null for anything else.
 * @param {unknown} raw
 * @returns {FileWire | null}
 */
export function parseWire(raw) {
  if (typeof raw !== 'string' || raw.length > 2048) return null;
  let d;
  try {
    d = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!d || typeof d.id !== 'string' || d.id.length > 64) return null;
  switch (d.kind) {
    case 'file-offer':
      return typeof d.name === 'string' && d.name.length <= 255 && Number.isSafeInteger(d.size) && d.size >= 0
        && Number.isInteger(d.n) && d.n >= 0 && d.n < 2 ** 32 && typeof d.sha256 === 'string' && /^[0-9a-f]{64}$/.test(d.sha256)
        && typeof d.type === 'string' ? d : null;
    case 'file-accept':
      return Number.isSafeInteger(d.offset) && d.offset >= 0 ? d : null;
    case 'file-decline':
    case 'file-cancel':
    case 'file-wait':
      return d;
    case 'file-result':
      return typeof d.ok === 'boolean' ? d : null;
    default:
      return null;
  }
}

/** A file name safe to save under: no folders, no control characters. @param {string} name */
export function safeName(name) {
  const base = name.replace(/^.*[\\/]/, '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return base && base !== '.' && base !== '..' ? base.slice(0, 255) : 'file';
}

/** "2.4 MB" @param {number} bytes */
export function size(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit += 1;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

class Transfer {
  /** @param {Omit<TransferView, 'done'|'reason'|'bytesPerSecond'|'saved'>} fields */
  constructor(fields) {
    /** @type {TransferView} */
    this.view = { ...fields, done: 0, reason: null, bytesPerSecond: 0, saved: null };
    /** @type {File | null} the file sent */
    this.file = null;
    this.sha256 = '';
    this.n = 0;
    /** @type {Sink | null} */
    this.sink = null;
    /** @type {Sha256 | null} */
    this.hash = null;
    /** The offset sending goes on from; a new accept moves it (a resume). */
    this.sendFrom = 0;
    /** Counts sending runs, so a run overtaken by a resume or cancel stops. */
    this.run = 0;
    /** Rate: bytes done at the last reading, and when. */
    this.mark = { at: 0, done: 0 };
    /** Received chunks written one after another. @type {Promise<void>} */
    this.writing = Promise.resolve();
    /** Bytes handed to the sink and not yet written. */
    this.backlog = 0;
    /** Whether the sender was asked to wait for the disk. */
    this.paused = false;
  }
}

/**
 * Events: `change` (the list changed), `offer` ({transfer}: someone offers a file).
 */
export class Files extends EventTarget {
  /** @param {FilesOptions} options */
  constructor({ channel, openSink, now = () => performance.now() }) {
    super();
    this.channel = channel;
    this.openSink = openSink;
    this.now = now;
    /** @type {Map<string, Transfer>} */
    this.transfers = new Map();
    this.numbers = 0;
    /** Incoming transfers by sender and number, for their chunks. @type {Map<string, Transfer>} */
    this.byNumber = new Map();
  }

  /** What the page lists, newest last. @returns {TransferView[]} */
  list() {
    return [...this.transfers.values()].map((t) => ({ ...t.view }));
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }

  /** @param {string} peer @param {FileWire} message */
  #send(peer, message) {
    const channel = this.channel(peer);
    if (channel?.readyState !== 'open') return false;
    channel.send(JSON.stringify(message));
    return true;
  }

  #forget() {
    const finished = [...this.transfers.values()].filter((t) => ['verified', 'failed', 'declined', 'cancelled'].includes(t.view.state));
    while (this.transfers.size > KEEP && finished.length) {
      const old = /** @type {Transfer} */ (finished.shift());
      this.transfers.delete(old.view.id);
    }
  }

  /**
   * Offers `file` to one person: its hash is worked out first (read in slices), then the offer
   * goes; the bytes go once they accept.
   * @param {File} file @param {{id: string, name: string}} to
   */
  async offer(file, to) {
    const id = crypto.randomUUID();
    const t = new Transfer({ id, direction: 'out', peer: to.id, peerName: to.name, name: safeName(file.name), size: file.size, state: 'hashing' });
    t.file = file;
    t.n = this.numbers++;
    this.transfers.set(id, t);
    this.#forget();
    this.#changed();
    const hash = new Sha256();
    for (let at = 0; at < file.size; at += READ) {
      hash.update(new Uint8Array(await file.slice(at, at + READ).arrayBuffer()));
      if (t.view.state !== 'hashing') return;
    }
    t.sha256 = hash.hex();
    const sent = this.#send(to.id, { kind: 'file-offer', id, n: t.n, name: t.view.name, size: file.size, sha256: t.sha256, type: file.type.slice(0, 100) });
    this.#set(t, sent ? 'offered' : 'failed', sent ? null : `${to.name} cannot receive files now.`);
  }

  /** @param {Transfer} t @param {TransferState} state @param {string | null} [reason] */
  #set(t, state, reason = null) {
    t.view.state = state;
    t.view.reason = reason;
    this.#changed();
  }

  /** Saves an offered file: received bytes go to a new place, then the sender is asked for them. @param {string} id */
  async accept(id) {
    const t = this.transfers.get(id);
    if (!t || t.view.direction !== 'in' || t.view.state !== 'offered') return;
    try {
      t.sink = await this.openSink(id, t.view.name, t.view.size);
    } catch (e) {
      this.#send(t.view.peer, { kind: 'file-decline', id });
      this.#set(t, 'failed', e instanceof Error ? e.message : String(e));
      return;
    }
    t.hash = new Sha256();
    t.mark = { at: this.now(), done: 0 };
    this.#set(t, 'receiving');
    this.#send(t.view.peer, { kind: 'file-accept', id, offset: 0 });
    if (t.view.size === 0) this.#finishReceiving(t);
  }

  /** @param {string} id */
  decline(id) {
    const t = this.transfers.get(id);
    if (!t || t.view.direction !== 'in' || t.view.state !== 'offered') return;
    this.#send(t.view.peer, { kind: 'file-decline', id });
    this.#set(t, 'declined');
  }

  /** Stops a transfer from this side; the other side is told. @param {string} id */
  cancel(id) {
    const t = this.transfers.get(id);
    if (!t || !['hashing', 'offered', 'sending', 'receiving'].includes(t.view.state)) return;
    this.#send(t.view.peer, { kind: 'file-cancel', id });
    this.#stop(t, 'cancelled', 'You cancelled it.');
  }

  /** @param {Transfer} t @param {TransferState} state @param {string | null} reason */
  #stop(t, state, reason) {
    t.run += 1;
    const sink = t.sink;
    t.sink = null;
    // What was received of it is let go at once; writes still waiting fail, as they should.
    if (sink) {
      t.writing = t.writing.catch(() => {});
      sink.abort().catch((e) => console.warn('hearth: a cancelled file could not be removed', e));
    }
    this.#set(t, state, reason);
  }

  /**
   * A message on the files channel from `peer`.
   * @param {string} peer @param {string} peerName @param {string | ArrayBuffer} data
   */
  receive(peer, peerName, data) {
    if (data instanceof ArrayBuffer) {
      this.#chunk(peer, data);
      return;
    }
    const message = parseWire(data);
    if (!message) {
      console.warn('hearth: ignored a files message we do not understand from', peerName);
      return;
    }
    const t = this.transfers.get(message.id);
    if (t && t.view.peer !== peer) return;
    switch (message.kind) {
      case 'file-offer': {
        if (t) return;
        const offered = new Transfer({ id: message.id, direction: 'in', peer, peerName, name: safeName(message.name), size: message.size, state: 'offered' });
        offered.sha256 = message.sha256;
        offered.n = message.n;
        this.transfers.set(message.id, offered);
        this.byNumber.set(`${peer}/${message.n}`, offered);
        this.#forget();
        this.dispatchEvent(new CustomEvent('offer', { detail: { transfer: { ...offered.view } } }));
        this.#changed();
        break;
      }
      case 'file-accept':
        if (t?.view.direction === 'out' && ['offered', 'sending'].includes(t.view.state) && message.offset <= t.view.size) {
          t.sendFrom = message.offset;
          this.#sendBytes(t);
        }
        break;
      case 'file-decline':
        if (t?.view.direction === 'out') this.#set(t, 'declined', `${peerName} declined it.`);
        break;
      case 'file-wait':
        // Their disk is behind: this run stops; their next accept says where to go on from.
        if (t?.view.direction === 'out' && t.view.state === 'sending') t.run += 1;
        break;
      case 'file-cancel':
        if (t && !['verified', 'failed', 'declined', 'cancelled'].includes(t.view.state)) this.#stop(t, 'cancelled', `${peerName} cancelled it.`);
        break;
      case 'file-result':
        if (t?.view.direction === 'out' && t.view.state === 'sending') {
          this.#set(t, message.ok ? 'verified' : 'failed', message.ok ? null : `${peerName} received it damaged (the SHA-256 did not match).`);
        }
        break;
    }
  }

  /** Sends the bytes from `sendFrom`, never filling the channel's buffer beyond the high water mark. @param {Transfer} t */
  async #sendBytes(t) {
    const run = ++t.run;
    const file = /** @type {File} */ (t.file);
    t.view.done = t.sendFrom;
    t.mark = { at: this.now(), done: t.sendFrom };
    this.#set(t, 'sending');
    let at = t.sendFrom;
    while (at < file.size) {
      const slice = new Uint8Array(await file.slice(at, at + READ).arrayBuffer());
      for (let i = 0; i < slice.length; i += CHUNK) {
        const channel = this.channel(t.view.peer);
        if (run !== t.run) return;
        if (channel?.readyState !== 'open') return; // Carried on when the channel opens again.
        if (channel.bufferedAmount > HIGH_WATER) {
          await drained(channel);
          if (run !== t.run) return;
          i -= CHUNK;
          continue;
        }
        const data = slice.subarray(i, i + CHUNK);
        const message = new Uint8Array(HEADER + data.length);
        const view = new DataView(message.buffer);
        view.setUint32(0, t.n);
        view.setUint32(4, Math.floor((at + i) / 2 ** 32));
        view.setUint32(8, (at + i) >>> 0);
        message.set(data, HEADER);
        channel.send(message);
        this.#progress(t, at + i + data.length);
      }
      at += slice.length;
    }
  }

  /** @param {Transfer} t @param {number} done */
  #progress(t, done) {
    t.view.done = done;
    const now = this.now();
    if (now - t.mark.at >= 500) {
      t.view.bytesPerSecond = ((done - t.mark.done) * 1000) / (now - t.mark.at);
      t.mark = { at: now, done };
      this.#changed();
    }
  }

  /** @param {string} peer @param {ArrayBuffer} buffer */
  #chunk(peer, buffer) {
    if (buffer.byteLength <= HEADER) return;
    const view = new DataView(buffer);
    const t = this.byNumber.get(`${peer}/${view.getUint32(0)}`);
    const offset = view.getUint32(4) * 2 ** 32 + view.getUint32(8);
    // Chunks come in order on a reliable channel; one at another offset belongs to a run that a
    // resume replaced, and is let go.
    if (!t || t.view.state !== 'receiving' || offset !== t.view.done) return;
    const data = new Uint8Array(buffer, HEADER);
    if (t.view.done + data.length > t.view.size) {
      this.#send(t.view.peer, { kind: 'file-cancel', id: t.view.id });
      this.#stop(t, 'failed', 'More bytes came than the file has.');
      return;
    }
    if (t.backlog + data.length > WRITE_BACKLOG) {
      this.#send(t.view.peer, { kind: 'file-cancel', id: t.view.id });
      this.#stop(t, 'failed', 'This device could not write the file as fast as it came.');
      return;
    }
    t.hash?.update(data);
    const sink = t.sink;
    t.backlog += data.length;
    t.writing = t.writing.then(() => sink?.write(data)).finally(() => {
      t.backlog -= data.length;
      if (t.paused && t.backlog < RESUME_AT && t.view.state === 'receiving' && t.view.done < t.view.size) {
        t.paused = false;
        this.#send(t.view.peer, { kind: 'file-accept', id: t.view.id, offset: t.view.done });
      }
    });
    if (!t.paused && t.backlog > PAUSE_AT) {
      t.paused = true;
      this.#send(t.view.peer, { kind: 'file-wait', id: t.view.id });
    }
    this.#progress(t, t.view.done + data.length);
    if (t.view.done === t.view.size) this.#finishReceiving(t);
  }

  /** Every byte is in: the hash is compared and the sender told. @param {Transfer} t */
  async #finishReceiving(t) {
    const ok = t.hash?.hex() === t.sha256;
    const sink = t.sink;
    t.sink = null;
    try {
      await t.writing;
      if (!sink) throw new Error('nowhere to save it');
      if (ok) t.view.saved = await sink.close();
      else await sink.abort();
    } catch (e) {
      this.#send(t.view.peer, { kind: 'file-result', id: t.view.id, ok: false });
      this.#set(t, 'failed', `It could not be saved: ${e instanceof Error ? e.message : e}`);
      return;
    }
    this.#send(t.view.peer, { kind: 'file-result', id: t.view.id, ok });
    this.#set(t, ok ? 'verified' : 'failed', ok ? null : 'It arrived damaged (the SHA-256 did not match) and was not kept.');
  }

  /**
   * `peer`'s files channel opened (again): transfers cut off midway carry on from the bytes
   * already received (the receiver asks).
   * @param {string} peer
   */
  reopened(peer) {
    for (const t of this.transfers.values()) {
      if (t.view.peer === peer && t.view.direction === 'in' && t.view.state === 'receiving') {
        this.#send(peer, { kind: 'file-accept', id: t.view.id, offset: t.view.done });
      }
    }
  }

  /**
   * Someone came back to the server under a new id (theirs or ours reconnected): their transfers
   * go on under it, and a file coming from them carries on from the bytes received so far.
   * @param {string} was @param {string} now
   */
  rebound(was, now) {
    for (const t of this.transfers.values()) if (t.view.peer === was) t.view.peer = now;
    for (const [key, t] of [...this.byNumber]) {
      if (key.startsWith(`${was}/`)) {
        this.byNumber.delete(key);
        this.byNumber.set(`${now}/${t.n}`, t);
      }
    }
    this.reopened(now);
  }

  /** `peer` left the call: what is going on with them ends. @param {string} peer @param {string} name */
  gone(peer, name) {
    for (const t of this.transfers.values()) {
      if (t.view.peer === peer && ['hashing', 'offered', 'sending', 'receiving'].includes(t.view.state)) {
        this.#stop(t, 'failed', `${name} left the call.`);
      }
    }
  }
}

/** Resolves when the channel's buffer drains below the low water mark (or it closes). @param {RTCDataChannel} channel */
function drained(channel) {
  return new Promise((resolve) => {
    const done = () => {
      channel.removeEventListener('bufferedamountlow', done);
      channel.removeEventListener('close', done);
      resolve(undefined);
    };
    channel.addEventListener('bufferedamountlow', done);
    channel.addEventListener('close', done);
  });
}
