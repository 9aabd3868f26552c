// @ts-check
//! What to show for the other person's picture, from what they say they send (the `media`
//! payload) and whether their frames are arriving: free of the DOM and of WebRTC, so the rule
//! can be tested on its own.

/**
 * live: frames arrive. waiting: not yet (the call or their camera just started). off: they say
 * their camera is off. missing: their camera is on (or they did not say) but no frame has come
 * for a while: something between the two of us drops it, and the person should know.
 * @typedef {'live'|'waiting'|'off'|'missing'} PictureState
 */

/** How long frames may be absent, while they should be coming, before the picture is "missing". */
export const MISSING_AFTER_MS = 4000;

/**
 * Follows the other person's picture from one stats tick to the next.
 */
export class PictureWatch {
  constructor() {
    /** Frames decoded (or painted) so far, at the last tick. @type {number | null} */
    this.frames = null;
    /** Since when frames should have been arriving and have not. @type {number | null} */
    this.expectedSince = null;
    /** @type {PictureState} */
    this.state = 'waiting';
  }

  /**
   * @param {{
   *   now: number,
   *   frames: number | null,
   *   announcedVideo: boolean | null,
   *   mediaUp: boolean,
   * }} tick now: a clock in ms; frames: frames decoded so far (null when the stats have none);
   *   announcedVideo: what the other person said of their camera (null: nothing yet);
   *   mediaUp: whether the connection carries media
   * @returns {PictureState}
   */
  update({ now, frames, announcedVideo, mediaUp }) {
    const advanced = frames !== null && this.frames !== null && frames > this.frames;
    if (frames !== null) this.frames = frames;
    if (announcedVideo === false) {
      this.expectedSince = null;
      this.state = 'off';
    } else if (advanced) {
      this.expectedSince = null;
      this.state = 'live';
    } else if (!mediaUp) {
      this.expectedSince = null;
      this.state = this.state === 'live' ? 'live' : 'waiting';
    } else {
      this.expectedSince ??= now;
      this.state = now - this.expectedSince >= MISSING_AFTER_MS ? 'missing' : (this.state === 'live' ? 'live' : 'waiting');
    }
    return this.state;
  }
}
