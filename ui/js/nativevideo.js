// @ts-check
//! The native engine's pictures on the page. This webview cannot play the engine's media in a
//! `<video>`, so each video element the page draws gets a canvas in its place, and the picture of
//! the stream the page gives it is painted there: frames fetched newest-first from the engine
//! (the preview, or one connection's track) and painted as they come. The call code still wants
//! real tracks to hold, so each picture has a page-side stand-in track, reused and never ended
//! (ending a canvas or Web Audio track was seen to crash WebKit's web process). Also the figures
//! a test or benchmark reads (frames painted, added display latency).

/** @typedef {import('./nativeengine.js').NativeEngine} NativeEngine */
/** @typedef {'audio'|'video'} Kind */

/** Bytes before the JPEG; see `FRAME_HEADER` in src-tauri/src/native/frames.rs. */
const HEADER = 24;
/** How many latency samples to keep. */
const SAMPLES = 600;
/** How long to wait before asking again when the engine has nothing to give (no capture yet). */
const RETRY_MS = 1000;

/** One picture's frames, fetched and painted into whichever canvas shows it. */
export class FramePainter {
  /** @param {(after: number) => Promise<unknown>} fetchFrame the newest frame after a sequence number */
  constructor(fetchFrame) {
    this.fetchFrame = fetchFrame;
    /** Where the picture is shown now, if anywhere. @type {HTMLCanvasElement | null} */
    this.canvas = null;
    this.seq = 0;
    this.painted = 0;
    /** When the frames of the last second were painted. @type {number[]} */
    this.paintTimes = [];
    /** Milliseconds from the frame leaving the engine to it being painted. @type {number[]} */
    this.latencies = [];
    this.running = false;
    /** @type {(() => void) | null} called after each frame painted */
    this.onPainted = null;
    this.size = { width: 0, height: 0 };
    /** Which picture this is, for tests and benchmarks. */
    this.name = 'preview';
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
        reply = await this.fetchFrame(this.seq);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      if (reply instanceof ArrayBuffer && reply.byteLength > HEADER) await this.#paint(reply);
    }
  }

  /** @param {ArrayBuffer} buffer */
  async #paint(buffer) {
    const header = new DataView(buffer, 0, HEADER);
    this.seq = header.getUint32(0, true);
    const width = header.getUint32(4, true);
    const height = header.getUint32(8, true);
    const sentAt = header.getFloat64(16, true);
    /** @type {ImageBitmap} */
    let picture;
    try {
      picture = await createImageBitmap(new Blob([new Uint8Array(buffer, HEADER)], { type: 'image/jpeg' }));
    } catch (e) {
      console.warn('hearth: a frame could not be decoded', e);
      return;
    }
    if (!this.running) {
      picture.close();
      return;
    }
    this.size = { width, height };
    const canvas = this.canvas;
    if (canvas) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      canvas.getContext('2d', { alpha: false })?.drawImage(picture, 0, 0, width, height);
    }
    picture.close();
    this.painted += 1;
    if (canvas) canvas.dataset.frames = String(this.painted);
    const now = performance.now();
    this.paintTimes.push(now);
    while (this.paintTimes.length && this.paintTimes[0] < now - 1000) this.paintTimes.shift();
    this.latencies.push(performance.timeOrigin + performance.now() - sentAt);
    if (this.latencies.length > SAMPLES) this.latencies.splice(0, this.latencies.length - SAMPLES);
    this.onPainted?.();
  }

  /** The picture as shown: its size, frames painted in the last second and in all. */
  pictureStats() {
    if (!this.painted) return null;
    return { ...this.size, fps: this.paintTimes.length, frames: this.painted };
  }
}

/**
 * Every picture of the native engine and where it is shown: the preview, each connection's
 * remote tracks, and the canvases standing in for the page's video elements.
 */
export class NativePictures {
  /** @param {NativeEngine} engine */
  constructor(engine) {
    this.engine = engine;
    /** The painter of each stand-in video track. @type {WeakMap<MediaStreamTrack, FramePainter>} */
    this.painters = new WeakMap();
    /** The canvas standing in for each video element. @type {WeakMap<HTMLVideoElement, HTMLCanvasElement>} */
    this.canvases = new WeakMap();
    /** Video stand-ins no connection holds now, for the next one. @type {MediaStreamTrack[]} */
    this.spare = [];
    /** @type {AudioContext | null} */
    this.audioContext = null;
    /** @type {Record<'local'|'remote', MediaStreamTrack | null>} the silent stand-ins for sound, one each */
    this.sound = { local: null, remote: null };
    /** Remote frames painted, all connections together, for tests and benchmarks. */
    this.remotePainted = 0;
    /** The remote pictures being painted now, by connection and track (`connection/track`). @type {Map<string, FramePainter>} */
    this.remote = new Map();
    this.preview = new FramePainter((after) => engine.invoke('native_preview_frame', { after }));
    /** @type {MediaStreamTrack | null} */
    this.previewTrack = null;
    /** Which painter was last shown on each canvas. @type {WeakMap<HTMLCanvasElement, FramePainter | null>} */
    this.drawing = new WeakMap();
  }

  /** A silent audio track: the engine plays and sends the sound itself. @param {'local'|'remote'} side */
  soundTrack(side) {
    this.audioContext ??= new AudioContext();
    this.sound[side] ??= this.audioContext.createMediaStreamDestination().stream.getAudioTracks()[0];
    return this.sound[side];
  }

  /** A video stand-in: a spare one, or a new one. */
  #standIn() {
    return this.spare.pop() ?? document.createElement('canvas').captureStream(0).getVideoTracks()[0];
  }

  /** The stand-in track of the camera's preview (one for the page's life); its painter runs. */
  cameraTrack() {
    if (!this.previewTrack) {
      this.previewTrack = this.#standIn();
      this.painters.set(this.previewTrack, this.preview);
      this.preview.start();
    }
    return this.previewTrack;
  }

  /**
   * The stand-in for a connection's remote track; a video one is painted from then on.
   * @param {Kind} kind @param {string} connection @param {number} track the engine's id of it
   */
  remoteTrack(kind, connection, track) {
    if (kind === 'audio') return this.soundTrack('remote');
    const standIn = this.#standIn();
    const painter = new FramePainter((after) => this.engine.invoke('native_remote_frame', { connection, track, after }));
    painter.onPainted = () => { this.remotePainted += 1; };
    painter.name = `${connection}/${track}`;
    this.remote.set(painter.name, painter);
    this.painters.set(standIn, painter);
    painter.start();
    return standIn;
  }

  /** A connection's remote track ended: its painting stops, its stand-in is kept for another. @param {MediaStreamTrack} track */
  endRemoteTrack(track) {
    const painter = this.painters.get(track);
    if (!painter || track === this.previewTrack) return;
    painter.stop();
    this.remote.delete(painter.name);
    if (painter.canvas) painter.canvas.dataset.frames = '0';
    painter.canvas = null;
    this.painters.delete(track);
    this.spare.push(track);
  }

  /** The figures of a stand-in track's picture. @param {MediaStreamTrack} track */
  pictureStats(track) {
    return this.painters.get(track)?.pictureStats() ?? null;
  }

  /**
   * Shows `stream`'s picture in `video`'s place (the page's `srcObject`, for this webview).
   * @param {HTMLVideoElement} video @param {MediaStream | null} stream
   */
  show(video, stream) {
    let canvas = this.canvases.get(video);
    if (!canvas) {
      canvas = document.createElement('canvas');
      if (video.id) canvas.id = `${video.id}Canvas`;
      canvas.setAttribute('role', 'img');
      canvas.width = 640;
      canvas.height = 360;
      video.after(canvas);
      video.hidden = true;
      this.canvases.set(video, canvas);
    }
    // The page shows and hides the video by its classes (`live`, `off`); the canvas follows.
    canvas.className = `picture ${video.className}`;
    const label = video.getAttribute('aria-label') ?? '';
    if (canvas.getAttribute('aria-label') !== label) canvas.setAttribute('aria-label', label);
    const track = stream?.getVideoTracks()[0];
    const painter = track ? this.painters.get(track) ?? null : null;
    const previous = this.drawing.get(canvas) ?? null;
    if (previous === painter && painter?.canvas === canvas) return;
    // Another picture that was painted here is no longer shown; this one is shown here only.
    if (previous && previous.canvas === canvas) previous.canvas = null;
    delete canvas.dataset.frames;
    if (painter) painter.canvas = canvas;
    this.drawing.set(canvas, painter);
  }
}
