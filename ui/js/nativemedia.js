// @ts-check
//! Switches the page to the native engine where the webview has no WebRTC: the peer-connection
//! factory, the media backend (devices and the page-side tracks that stand for the engine's
//! capture: muting, stopping and switching them drives the engine), and the painted pictures.

import { setPeerConnectionFactory } from './call.js';
import { MediaError, useBackend } from './media.js';
import { NativeEngine } from './nativeengine.js';
import { NativePeerConnection } from './nativepc.js';
import { FramePainter } from './nativevideo.js';

/** @typedef {import('./env.js').NativeBridge} NativeBridge */
/** @typedef {import('./media.js').DeviceList} DeviceList */
/** @typedef {'audio'|'video'} Kind */

/**
 * Puts the native engine in place, if this machine has it.
 * @param {NativeBridge} bridge
 * @returns {Promise<string | null>} why native calls are not possible, or null when they are
 */
export async function installNativeCalls(bridge) {
  /** @type {{available: boolean, message: string | null}} */
  const status = await bridge.invoke('native_status').catch((e) => ({ available: false, message: String(e?.message ?? e) }));
  if (!status.available) return status.message ?? 'The native media engine is not available.';
  const engine = new NativeEngine(bridge);
  const local = new FramePainter(engine, 'local', /** @type {HTMLVideoElement} */ (document.getElementById('localVideo')));
  const remote = new FramePainter(engine, 'remote', /** @type {HTMLVideoElement} */ (document.getElementById('remoteVideo')));
  local.start();
  remote.start();
  const tracks = new NativeTracks(engine, local, remote);
  setPeerConnectionFactory((config) => {
    const pc = new NativePeerConnection(config, engine);
    pc.remoteTrack = (kind) => tracks.remote(kind);
    pc.pictureStats = () => remote.pictureStats();
    return /** @type {RTCPeerConnection} */ (/** @type {unknown} */ (pc));
  });
  useBackend(tracks);
  // For tests and benchmarks: what was painted, and how late.
  /** @type {any} */ (globalThis).hearthNative = { engine, local, remote };
  return null;
}

/** The page-side tracks standing for the engine's camera and microphone, and the devices. */
class NativeTracks {
  /**
   * @param {NativeEngine} engine
   * @param {FramePainter} local
   * @param {FramePainter} remotePainter
   */
  constructor(engine, local, remotePainter) {
    this.engine = engine;
    this.local = local;
    this.remotePainter = remotePainter;
    /** The track that currently stands for each kind; stopping an older one changes nothing. */
    this.current = /** @type {Record<Kind, MediaStreamTrack | null>} */ ({ audio: null, video: null });
    /** @type {AudioContext | null} */
    this.audioContext = null;
    /** The page-side tracks of the remote streams, made once. */
    this.remoteTracks = /** @type {Record<Kind, MediaStreamTrack | null>} */ ({ audio: null, video: null });
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

  /** A silent audio track: the engine plays and sends the sound itself. */
  #audioTrack() {
    this.audioContext ??= new AudioContext();
    return this.audioContext.createMediaStreamDestination().stream.getAudioTracks()[0];
  }

  /**
   * A page-side track for the engine's capture of `kind` from `deviceId`.
   * @param {Kind} kind @param {string} deviceId
   */
  #localTrack(kind, deviceId) {
    const track = kind === 'video' ? this.local.track() : this.#audioTrack();
    const engine = this.engine;
    const tracks = this;
    let enabled = true;
    Object.defineProperty(track, 'enabled', {
      configurable: true,
      get: () => enabled,
      set(value) {
        enabled = !!value;
        if (tracks.current[kind] === track) {
          engine.invoke('native_set_sending', { kind, enabled }).catch((e) => console.warn('hearth:', e));
        }
      },
    });
    // Stopping only ends the stand-in; WebKit's own stop is not called on it (a canvas or Web
    // Audio track has nothing to release, and ending one was seen to crash the web process).
    let readyState = /** @type {MediaStreamTrackState} */ ('live');
    Object.defineProperty(track, 'readyState', { configurable: true, get: () => readyState });
    track.stop = () => {
      readyState = 'ended';
      if (tracks.current[kind] !== track) return;
      tracks.current[kind] = null;
      engine.invoke('native_set_sending', { kind, enabled: false }).catch(() => {});
      if (!tracks.current.audio && !tracks.current.video) {
        engine.previewWanted = false;
        engine.close().catch(() => {});
      } else if (kind === 'video') {
        // As a browser's stopped camera track: the device is released and its light goes off.
        engine.invoke('native_set_camera', { on: false }).catch((e) => console.warn('hearth:', e));
      }
    };
    track.getSettings = () => ({ deviceId });
    this.current[kind] = track;
    return track;
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
    this.engine.previewWanted = true;
    try {
      // A call that started before the camera opened has the engine open with its connection
      // (and the capture); reopening would end that connection.
      await this.engine.ensureOpen();
    } catch (e) {
      throw new MediaError(`The camera and microphone could not be started: ${e instanceof Error ? e.message : e}`, 'NotReadableError');
    }
    const tracks = [];
    if (microphone) tracks.push(this.#localTrack('audio', microphone.deviceId));
    if (camera) tracks.push(this.#localTrack('video', camera.deviceId));
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
    await this.engine.ensureOpen();
    const key = kind === 'video' ? 'camera' : 'microphone';
    const wanted = deviceId || this.engine.devices[key];
    if (wanted && wanted !== this.engine.devices[key]) {
      try {
        await this.engine.invoke('native_switch_device', { kind, deviceId: wanted });
      } catch (e) {
        throw new MediaError(`That ${key} could not be opened: ${e instanceof Error ? e.message : e}`, 'NotReadableError');
      }
      this.engine.devices[key] = wanted;
    }
    if (kind === 'video') {
      try {
        await this.engine.invoke('native_set_camera', { on: true });
      } catch (e) {
        throw new MediaError(`The camera could not be opened: ${e instanceof Error ? e.message : e}`, 'NotReadableError');
      }
    }
    this.engine.previewWanted = true;
    return this.#localTrack(kind, wanted);
  }

  /**
   * The page-side track for the remote stream of `kind`: one for all calls, made on first use, so
   * that no call leaves a canvas capture or an audio node behind (stopping them was seen to crash
   * WebKit's web process, see #localTrack).
   * @param {Kind} kind
   */
  remote(kind) {
    const made = this.remoteTracks[kind];
    if (made) return made;
    const track = kind === 'video' ? this.remotePainter.track() : this.#audioTrack();
    this.remoteTracks[kind] = track;
    return track;
  }
}
