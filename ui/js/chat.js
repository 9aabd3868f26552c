// @ts-check
//! Chat in a call: the message as it crosses the `chat` data channel (docs/PROTOCOL.md, "Data
//! channels"), checked when it arrives; the conversation the page shows (bounded, with an unread
//! count while the panel is closed); and text split into words and links, never HTML. DOM-free.

/** A message's text may take up to 4 KiB as UTF-8; longer is refused with a reason. */
export const MAX_MESSAGE_BYTES = 4096;
/** Messages kept in the conversation; older ones are let go first. */
export const KEEP_MESSAGES = 500;

/**
 * @typedef {{kind: 'chat', id: string, text: string, at: number}} ChatWire
 * @typedef {{id: string, from: string, name: string, text: string, at: number, mine: boolean}} ChatMessage
 * @typedef {{text: string} | {link: string}} Segment
 */

const encoder = new TextEncoder();

/** Why `text` cannot be sent, or null when it can. @param {string} text */
export function refusal(text) {
  if (!text.trim()) return 'Write a message first.';
  const bytes = encoder.encode(text).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    return `That message is too long (${bytes} bytes); a message can be up to ${MAX_MESSAGE_BYTES} bytes.`;
  }
  return null;
}

/** @param {string} text @param {number} at @returns {ChatWire} */
export function wire(text, at, id = crypto.randomUUID()) {
  return { kind: 'chat', id, text, at };
}

/**
 * Reads a message from the channel: its wire form, or null for anything else (too long, not
 * JSON, not a chat message).
 * @param {unknown} raw
 * @returns {ChatWire | null}
 */
export function parseWire(raw) {
  if (typeof raw !== 'string' || raw.length > MAX_MESSAGE_BYTES * 2) return null;
  let d;
  try {
    d = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!d || d.kind !== 'chat' || typeof d.id !== 'string' || d.id.length > 64 || typeof d.text !== 'string') return null;
  if (!Number.isFinite(d.at) || refusal(d.text)) return null;
  return { kind: 'chat', id: d.id, text: d.text, at: d.at };
}

/** The conversation of one call as the page shows it. */
export class Conversation {
  constructor() {
    /** @type {ChatMessage[]} */
    this.messages = [];
    this.unread = 0;
    this.open = false;
  }

  /** @param {ChatMessage} message */
  add(message) {
    if (this.messages.some((m) => m.id === message.id && m.from === message.from)) return;
    this.messages.push(message);
    if (this.messages.length > KEEP_MESSAGES) this.messages.splice(0, this.messages.length - KEEP_MESSAGES);
    if (!this.open && !message.mine) this.unread += 1;
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.open = open;
    if (open) this.unread = 0;
  }

  clear() {
    this.messages = [];
    this.unread = 0;
  }
}

const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;

/**
 * Splits text into plain words and web links (http and https only), to be shown as text nodes and
 * anchors: nothing in a message is ever taken as markup.
 * @param {string} text
 * @returns {Segment[]}
 */
export function segments(text) {
  /** @type {Segment[]} */
  const out = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const link = trimLink(match[0]);
    const start = match.index ?? 0;
    if (start > last) out.push({ text: text.slice(last, start) });
    out.push({ link });
    last = start + link.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/** A sentence's closing punctuation, or a bracket closing around the link, is not part of it. @param {string} raw */
function trimLink(raw) {
  let link = raw;
  for (;;) {
    const trimmed = link.replace(/[.,;:!?]+$/, '');
    const unbalanced = trimmed.endsWith(')') && trimmed.split('(').length < trimmed.split(')').length;
    const next = unbalanced || trimmed.endsWith(']') ? trimmed.slice(0, -1) : trimmed;
    if (next === link) return link;
    link = next;
  }
}
