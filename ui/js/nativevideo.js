// @ts-check
//! The native engine's pictures on the page: a canvas in place of each `<video>` (which this
//! webview cannot feed from the engine), frames fetched newest-first and painted as they come,
//! and the figures a test or benchmark reads (frames painted, added display latency).

/** @typedef {import('./nativeengine.js').NativeEngine} NativeEngine */

/** Bytes before the JPEG; see `FRAME_HEADER` in src-tauri/src/native.rs. */
const HEADER = 24;
/** How many latency samples to keep. */
const SAMPLES = 600;

export class FramePainter {
  /**
   * @param {NativeEngine} engine
   * @param {'local'|'remote'} source
   * @param {HTMLVideoElement} video the element the canvas stands in for
   */
  constructor(engine, source, video) {
    this.engine = engine;
    this.source = source;
    this.canvas = document.createElement('canvas');
    this.canvas.id = `${video.id}Canvas`;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', video.getAttribute('aria-label') ?? '');
    this.canvas.width = 640;
    this.canvas.height = 480;
    video.after(this.canvas);
    video.hidden = true;
    // The page still hands this video its streams, whose tracks only stand for the engine's
    // media; keep them from WebKit's media player, which would play them for nothing (and was
    // seen to crash the web process when such a track ended).
    /** @type {MediaProvider | null} */
    let stream = null;
    Object.defineProperty(video, 'srcObject', { configurable: true, get: () => stream, set: (value) => { stream = value; } });
    // The page shows and hides the video by its classes (`live`, `off`); the canvas follows.
    const mirror = () => { this.canvas.className = video.className; };
    new MutationObserver(mirror).observe(video, { attributes: true, attributeFilter: ['class'] });
    mirror();
    this.context = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext('2d', { alpha: false }));
    this.seq = 0;
    this.painted = 0;
    /** When the frames of the last second were painted. @type {number[]} */
    this.paintTimes = [];
    /** Milliseconds from the frame leaving the engine to it being painted. @type {number[]} */
    this.latencies = [];
    this.running = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.#loop();
  }

  stop() {
    this.running = false;
  }

  async #loop() {
    while (this.running) {
      /** @type {unknown} */
      let reply;
      try {
        reply = await this.engine.invoke('native_frame', { source: this.source, after: this.seq });
      } catch (e) {
        console.warn('hearth: no frames from the native engine', e);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (reply instanceof ArrayBuffer && reply.byteLength > HEADER) await this.#paint(reply);
    }
  }

  /** @param {ArrayBuffer} buffer */
  async #paint(buffer) {
    const header = new DataView(buffer, 0, HEADER);
    const seq = header.getUint32(0, true);
    const width = header.getUint32(4, true);
    const height = header.getUint32(8, true);
    const sentAt = header.getFloat64(16, true);
    this.seq = seq;
    /** @type {ImageBitmap} */
    let picture;
    try {
      picture = await createImageBitmap(new Blob([new Uint8Array(buffer, HEADER)], { type: 'image/jpeg' }));
    } catch (e) {
      console.warn('hearth: a frame could not be decoded', e);
      return;
    }
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.context.drawImage(picture, 0, 0, width, height);
    picture.close();
    this.painted += 1;
    this.canvas.dataset.frames = String(this.painted);
    const now = performance.now();
    this.paintTimes.push(now);
    while (this.paintTimes.length && this.paintTimes[0] < now - 1000) this.paintTimes.shift();
    this.latencies.push(performance.timeOrigin + performance.now() - sentAt);
    if (this.latencies.length > SAMPLES) this.latencies.splice(0, this.latencies.length - SAMPLES);
  }

  /** The picture as shown: its size, frames painted in the last second and in all. */
  pictureStats() {
    if (!this.painted) return null;
    return { width: this.canvas.width, height: this.canvas.height, fps: this.paintTimes.length, frames: this.painted };
  }

  /** A page-side video track for this picture (the call code wants real tracks to hold). */
  track() {
    return this.canvas.captureStream(0).getVideoTracks()[0];
  }
}
