// @ts-check
//! The page on the desktop app's native engine, where the webview has no WebRTC: the
//! peer-connection factory (a connection of the engine per other person), and the media backend
//! (devices, the capture that every connection shares, and the engine's pictures painted in the
//! page's video elements' place). Page-side tracks only stand for the engine's media: what muting,
//! stopping or switching them means is said here, to the engine, never by patching a track.

import { setPeerConnectionFactory } from './call.js';
import { MediaError } from './media.js';
import { NativeEngine } from './nativeengine.js';
import { NativePeerConnection } from './nativepc.js';
import { NativePictures } from './nativevideo.js';

/** @typedef {import('./env.js').NativeBridge} NativeBridge */
/** @typedef {import('./media.js').DeviceList} DeviceList */
/** @typedef {import('./media.js').MediaBackend} MediaBackend */
/** @typedef {'audio'|'video'} Kind */

/**
 * Puts the native engine in place, if this machine has it.
 * @param {NativeBridge} bridge
 * @returns {Promise<{media: MediaBackend} | {unavailable: string}>} the media backend to use, or
 *   why native calls are not possible
 */
export async function installNativeCalls(bridge) {
  /** @type {{available: boolean, message: string | null}} */
  const status = await bridge.invoke('native_status').catch((e) => ({ available: false, message: String(e?.message ?? e) }));
  if (!status.available) return { unavailable: status.message ?? 'The native media engine is not available.' };
  const engine = new NativeEngine(bridge);
  const pictures = new NativePictures(engine);
  setPeerConnectionFactory((config) => /** @type {RTCPeerConnection} */ (/** @type {unknown} */ (new NativePeerConnection(config, engine, pictures))));
  // For tests and benchmarks: what was painted and how late, and each connection's figures.
  /** @type {any} */ (globalThis).hearthNative = {
    engine,
    pictures,
    painted: () => ({ preview: pictures.preview.painted, remote: pictures.remotePainted }),
    connections: () => Promise.all([...engine.connections].map(async (connection) => ({
      connection,
      ...(await engine.invoke('native_peer_progress', { connection }).catch(() => ({}))),
      rtp: await engine.invoke('native_peer_stats', { connection })
        .then((/** @type {any[]} */ stats) => stats.filter((s) => s.type.endsWith('bound-rtp'))).catch(() => []),
    }))),
    /** Every remote picture painted now: frames in all and in the last second, display latencies. */
    remotePictures: () => [...pictures.remote.values()].map((p) => ({
      name: p.name, label: p.canvas?.getAttribute('aria-label') ?? null, painted: p.painted, fps: p.paintTimes.length, latencies: p.latencies.slice(-250), size: p.size,
    })),
  };
  return { media: new NativeMedia(engine, pictures) };
}

/**
 * The engine's camera and microphone as a {@link MediaBackend}: one stand-in track per kind
 * (the preview's picture, a silent sound track), which stays for the page's life.
 * @implements {MediaBackend}
 */
class NativeMedia {
  /** @param {NativeEngine} engine @param {NativePictures} pictures */
  constructor(engine, pictures) {
    this.engine = engine;
    this.pictures = pictures;
  }

  canChooseSpeaker() {
    return false;
  }

  /** @returns {Promise<DeviceList>} */
  async listDevices() {
    /** @type {{kind: Kind, deviceId: string, label: string}[]} */
    const devices = await this.engine.invoke('native_devices').catch(() => []);
    const pick = (/** @type {Kind} */ kind) => devices.filter((d) => d.kind === kind).map(({ deviceId, label }) => ({ deviceId, label }));
    return { cameras: pick('video'), microphones: pick('audio'), speakers: [] };
  }

  /** @param {Kind} kind */
  #track(kind) {
    return kind === 'video' ? this.pictures.cameraTrack() : this.pictures.soundTrack('local');
  }

  /**
   * Opens camera and microphone through the engine, with the same fallbacks as the browser's.
   * @param {{camera?: string, microphone?: string}} [preferred]
   */
  async openLocalMedia(preferred = {}) {
    const devices = await this.listDevices();
    const camera = devices.cameras.find((d) => d.deviceId === preferred.camera) ?? devices.cameras[0];
    const microphone = devices.microphones.find((d) => d.deviceId === preferred.microphone) ?? devices.microphones[0];
    if (!camera && !microphone) {
      throw new MediaError('No camera and no microphone were found. You can still see and hear the other person.', 'NotFoundError');
    }
    this.engine.devices = { camera: camera?.deviceId ?? '', microphone: microphone?.deviceId ?? '' };
    try {
      // A call that started before the camera opened has the capture open already (camera
      // closed); this opens the camera in it, and every connection sends it.
      await this.engine.start({ video: !!camera });
      await this.engine.invoke('native_set_microphone', { enabled: true });
    } catch (e) {
      throw new MediaError(`The camera and microphone could not be started: ${e instanceof Error ? e.message : e}`, 'NotReadableError');
    }
    const tracks = [];
    if (microphone) tracks.push(this.#track('audio'));
    if (camera) tracks.push(this.#track('video'));
    const substituted = [
      preferred.camera && camera && camera.deviceId !== preferred.camera ? `camera (using ${camera.label})` : '',
      preferred.microphone && microphone && microphone.deviceId !== preferred.microphone ? `microphone (using ${microphone.label})` : '',
    ].filter(Boolean);
    const warning = !camera
      ? 'No camera was found. The call will be sound only.'
      : !microphone ? 'No microphone was found. The other person will not hear you.'
        : substituted.length ? `The ${substituted.join(' and the ')} you chose before is not connected.` : null;
    return { stream: new MediaStream(tracks), warning };
  }

  /**
   * Opens one device of a kind mid-call: the engine switches its source in place.
   * @param {Kind} kind @param {string} [deviceId]
   */
  async openTrack(kind, deviceId) {
    const key = kind === 'video' ? 'camera' : 'microphone';
    const wanted = deviceId || this.engine.devices[key];
    try {
      await this.engine.start();
      if (wanted && wanted !== this.engine.devices[key]) {
        await this.engine.invoke('native_switch_device', { kind, deviceId: wanted });
        this.engine.devices[key] = wanted;
      }
      if (kind === 'video') await this.engine.invoke('native_set_camera', { on: true });
    } catch (e) {
      throw new MediaError(`That ${key} could not be opened: ${e instanceof Error ? e.message : e}`, 'NotReadableError');
    }
    return this.#track(kind);
  }

  /** @param {MediaStreamTrack | undefined} track */
  deviceOf(track) {
    if (!track) return '';
    return track.kind === 'video' ? this.engine.devices.camera : this.engine.devices.microphone;
  }

  /** Muting is the capture's: silence goes to every connection. @param {MediaStreamTrack[]} tracks @param {boolean} muted */
  setMuted(tracks, muted) {
    if (!tracks.length) return;
    this.engine.invoke('native_set_microphone', { enabled: !muted }).catch((e) => console.warn('hearth:', e));
  }

  /** The camera's stand-in stopped: the device is released and its light goes off. @param {MediaStreamTrack} track */
  stopTrack(track) {
    if (track.kind !== 'video') return;
    this.engine.invoke('native_set_camera', { on: false }).catch((e) => console.warn('hearth:', e));
  }

  /** Everything let go: the capture closes once no connection needs it. @param {MediaStream | null} stream */
  release(stream) {
    if (!stream) return;
    this.engine.invoke('native_set_camera', { on: false }).catch(() => {});
    this.engine.release().catch((e) => console.warn('hearth:', e));
  }

  canShareScreen() {
    return true;
  }

  /**
   * The engine sends the screen instead of the camera to every connection; the page's track is
   * the picture's stand-in, whose preview then shows the screen.
   * @returns {Promise<MediaStreamTrack>}
   */
  async openScreen() {
    try {
      await this.engine.start();
      await this.engine.invoke('native_share_screen', { on: true });
    } catch (e) {
      throw new MediaError(`The screen could not be shared: ${e instanceof Error ? e.message : e}`, 'NotReadableError');
    }
    return this.pictures.cameraTrack();
  }

  /** Back to the camera, as it was. */
  stopScreen() {
    this.engine.invoke('native_share_screen', { on: false }).catch((e) => console.warn('hearth:', e));
  }

  /** @param {HTMLVideoElement} video @param {MediaStream | null} stream */
  show(video, stream) {
    this.pictures.show(video, stream);
  }
}
