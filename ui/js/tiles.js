// @ts-check
//! The people's tiles: one per other person in the call, made and removed as they come and go,
//! each showing their picture (or why there is none), their name, whether they are muted or
//! missing a device, a link gone quiet, and how the media travels.

import { PATH_BADGES, PATH_WORDS } from './stats.js';

/**
 * @typedef {import('./controller.js').Tile} Tile
 * @typedef {{
 *   video: HTMLVideoElement, placeholder: HTMLElement, text: HTMLElement, avatar: HTMLElement,
 *   muted: HTMLElement, status: HTMLElement, path: HTMLElement, name: HTMLElement, tile: HTMLElement,
 * }} TileParts the elements of one person's tile
 */

/** @param {HTMLElement} el @param {boolean} shown */
function show(el, shown) {
  el.hidden = !shown;
}

/** Initials for an avatar. @param {string} name */
export function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0].toUpperCase()).join('') || '?';
}

export class Tiles {
  /**
   * @param {{
   *   main: TileParts,
   *   container: HTMLElement,
   *   before: HTMLElement,
   *   showStream: (video: HTMLVideoElement, stream: MediaStream | null) => void,
   * }} options main: the page's own first tile; container, before: where more tiles go;
   *   showStream: puts a stream in a video element (the media backend's way)
   */
  constructor({ main, container, before, showStream }) {
    this.main = main;
    this.container = container;
    this.before = before;
    this.showStream = showStream;
    /** Tiles beyond the first, by person. @type {Map<string, TileParts>} */
    this.more = new Map();
  }

  /** The first person, in the main tile. @param {Tile} t @param {boolean} grid */
  renderMain(t, grid) {
    this.#render(this.main, t, grid);
  }

  /**
   * Draws one person's tile.
   * @param {TileParts} parts
   * @param {Tile} t
   * @param {boolean} grid
   */
  #render(parts, t, grid) {
    const screen = t.media?.screen === true;
    const label = screen ? `${t.name}'s screen` : `Video of ${t.name}`;
    parts.tile.classList.toggle('screen', screen);
    if (parts.video.getAttribute('aria-label') !== label) parts.video.setAttribute('aria-label', label);
    const noPicture = t.picture === 'off' || t.picture === 'missing';
    // Until the connection is up its video is black: the words say what is going on instead.
    const connected = t.state === 'connected' || t.state === 'reconnecting';
    const live = connected && !noPicture && !!t.stream && t.stream.getVideoTracks().length > 0;
    parts.video.classList.toggle('live', live);
    this.showStream(parts.video, t.stream);
    show(parts.placeholder, !live);
    parts.avatar.textContent = initials(t.name);
    show(parts.avatar, true);
    parts.text.textContent = noPicture ? pictureText(t) : tileStateText(t);
    show(parts.muted, t.media?.audio === false);
    setText(parts.muted, t.media?.missing.includes('microphone') ? `${t.name} has no microphone` : `${t.name} is muted`);
    const unstable = t.state === 'connected' && t.unstable;
    setText(parts.status, 'Connection unstable…');
    show(parts.status, unstable);
    parts.tile.dataset.link = t.state === 'reconnecting' ? 'reconnecting' : unstable ? 'unstable' : t.state;
    show(parts.path, t.state === 'connected' && t.path !== null);
    if (t.path) {
      setText(parts.path, PATH_BADGES[t.path]);
      const words = t.rttMs === null ? PATH_WORDS[t.path] : `${PATH_WORDS[t.path]}, ${Math.round(t.rttMs)} ms round trip`;
      if (parts.path.title !== words) {
        parts.path.title = words;
        parts.path.setAttribute('aria-label', `${t.name}: ${words}`);
      }
    }
    // A shared screen is named even in a call of two: it is not the person's face.
    show(parts.name, grid || screen);
    const shownName = screen ? `${t.name}'s screen` : t.name;
    parts.name.textContent = t.state === 'reconnecting' ? `${shownName} · reconnecting…` : t.state === 'connecting' ? `${shownName} · connecting…`
      : unstable ? `${shownName} · connection unstable…` : shownName;
    parts.tile.classList.toggle('speaking', grid && t.speaking);
  }

  /** Tiles for everyone after the first, made and removed as people come and go. @param {Tile[]} tiles @param {boolean} grid */
  renderMore(tiles, grid) {
    const wanted = new Set(tiles.map((t) => t.id));
    for (const [id, parts] of this.more) {
      if (!wanted.has(id)) {
        this.showStream(parts.video, null);
        parts.tile.remove();
        this.more.delete(id);
      }
    }
    for (const t of tiles) {
      let parts = this.more.get(t.id);
      if (!parts) {
        parts = makeTile();
        this.more.set(t.id, parts);
        this.container.insertBefore(parts.tile, this.before);
      }
      this.#render(parts, t, grid);
    }
  }
}

/** Why a person's picture is not shown. @param {Tile} t */
function pictureText(t) {
  if (t.picture === 'off') return t.media?.missing.includes('camera') ? `${t.name} has no camera` : `${t.name}'s camera is off`;
  return t.media?.video
    ? `${t.name}'s camera is on, but the picture is not arriving. Their network or yours may be blocking it.`
    : `No picture is arriving from ${t.name}.`;
}

/** A tile's words while its picture has not come yet. @param {Tile} t */
function tileStateText(t) {
  // A connection that failed before it ever worked says why while it keeps trying.
  if (t.failure && (t.state === 'connecting' || t.state === 'reconnecting')) return `Could not connect to ${t.name} yet. ${t.failure} Still trying…`;
  switch (t.state) {
    case 'connecting': return `Connecting to ${t.name}…`;
    case 'reconnecting': return `Reconnecting to ${t.name}…`;
    default: return t.name;
  }
}

/** Sets an element's text only when it changes (a live region would announce every set). @param {HTMLElement} element @param {string} text */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** The parts of a tile for one more person. */
function makeTile() {
  const tile = document.createElement('div');
  tile.className = 'tile';
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  const placeholder = document.createElement('div');
  placeholder.className = 'placeholder';
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  avatar.setAttribute('aria-hidden', 'true');
  const text = document.createElement('p');
  placeholder.append(avatar, text);
  const muted = document.createElement('p');
  muted.className = 'remote-muted';
  const status = document.createElement('p');
  status.className = 'tile-status';
  status.setAttribute('role', 'status');
  status.hidden = true;
  const path = document.createElement('span');
  path.className = 'tile-path';
  path.hidden = true;
  const name = document.createElement('p');
  name.className = 'tile-name';
  tile.append(video, placeholder, muted, status, path, name);
  return { tile, video, placeholder, text, avatar, muted, status, path, name };
}
