// @ts-check
//! The call's state machine, free of WebRTC and the DOM so it can be tested on its own.

/**
 * idle: no call. outgoing: we rang and wait. incoming: we are rung. connecting: accepted, media
 * not yet flowing. connected: media flows (with or without the server). reconnecting: the media
 * stopped and we try to get it back. ended: a call just finished (acts as idle).
 * @typedef {'idle'|'outgoing'|'incoming'|'connecting'|'connected'|'reconnecting'|'ended'} CallState
 *
 * @typedef {'ring-sent'|'ring-received'|'accepted'|'declined'|'hangup'|'media-connected'|
 *   'media-interrupted'|'media-failed'|'peer-away'|'peer-back'|'timeout'} CallEvent
 */

/** States in which a call exists (ringing or beyond). */
export const ACTIVE = new Set(['outgoing', 'incoming', 'connecting', 'connected', 'reconnecting']);

/** @type {Record<CallState, Partial<Record<CallEvent, CallState>>>} */
const TABLE = {
  idle: { 'ring-sent': 'outgoing', 'ring-received': 'incoming' },
  ended: { 'ring-sent': 'outgoing', 'ring-received': 'incoming' },
  outgoing: { accepted: 'connecting', declined: 'ended', hangup: 'ended', timeout: 'ended', 'peer-away': 'ended' },
  incoming: { accepted: 'connecting', declined: 'ended', hangup: 'ended', timeout: 'ended', 'peer-away': 'ended' },
  connecting: {
    'media-connected': 'connected', 'media-failed': 'ended', hangup: 'ended', timeout: 'ended',
    'peer-away': 'ended', 'media-interrupted': 'connecting',
  },
  connected: {
    'media-interrupted': 'reconnecting', 'peer-away': 'reconnecting', 'media-failed': 'ended', hangup: 'ended',
    'media-connected': 'connected', 'peer-back': 'connected',
  },
  reconnecting: {
    'media-connected': 'reconnecting', 'peer-back': 'reconnecting', 'media-interrupted': 'reconnecting',
    'peer-away': 'reconnecting', 'media-failed': 'ended', hangup: 'ended', timeout: 'ended',
  },
};

/**
 * The next state, or null when the event means nothing in this state (the caller ignores it).
 * `reconnecting` is left by {@link settle} once both the media and the other person are back.
 * @param {CallState} state
 * @param {CallEvent} event
 * @returns {CallState | null}
 */
export function next(state, event) {
  return TABLE[state][event] ?? null;
}

/**
 * Where a connected or reconnecting call stands given what is known right now: connected while
 * the media flows, whether or not the other person is on the server (the media needs none).
 * @param {{mediaUp: boolean}} facts
 * @returns {CallState}
 */
export function settle({ mediaUp }) {
  return mediaUp ? 'connected' : 'reconnecting';
}

/** Words for each state, shown on screen and announced to screen readers. */
export const LABELS = /** @type {Record<CallState, string>} */ ({
  idle: 'Not in a call',
  outgoing: 'Ringing…',
  incoming: 'Incoming call',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  ended: 'Call ended',
});

/** "Ada", "Ada and Bob", "Ada, Bob and Cleo". @param {string[]} names */
export function listNames(names) {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
