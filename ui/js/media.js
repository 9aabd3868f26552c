// @ts-check
//! Camera, microphone and speaker: opening them with graceful fallbacks, listing and switching
//! devices, and explaining failures in plain words.

/**
 * @typedef {{deviceId: string, label: string}} DeviceChoice
 * @typedef {{cameras: DeviceChoice[], microphones: DeviceChoice[], speakers: DeviceChoice[]}} DeviceList
 * @typedef {{stream: MediaStream, warning: string | null}} OpenResult
 */

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/**
 * Where the camera and microphone come from, and where pictures are shown: the browser's own
 * ({@link browserMedia}), or the desktop app's native engine (`nativemedia.js`). The page holds
 * tracks of either kind the same way; what a track's mute, stop or device means is the
 * backend's to say, so no track is ever patched.
 * @typedef {{
 *   openLocalMedia: (preferred?: {camera?: string, microphone?: string}) => Promise<OpenResult>,
 *   openTrack: (kind: 'audio'|'video', deviceId?: string) => Promise<MediaStreamTrack>,
 *   listDevices: () => Promise<DeviceList>,
 *   canChooseSpeaker: () => boolean,
 *   deviceOf: (track: MediaStreamTrack | undefined) => string,
 *   setMuted: (tracks: MediaStreamTrack[], muted: boolean) => void,
 *   stopTrack: (track: MediaStreamTrack) => void,
 *   release: (stream: MediaStream | null) => void,
 *   show: (video: HTMLVideoElement, stream: MediaStream | null) => void,
 *   canShareScreen: () => boolean,
 *   openScreen: () => Promise<MediaStreamTrack>,
 *   stopScreen: (track: MediaStreamTrack) => void,
 * }} MediaBackend
 */

/** Why opening media failed, in words for people. */
export class MediaError extends Error {
  /** @param {string} message @param {string} name */
  constructor(message, name) {
    super(message);
    this.name = 'MediaError';
    this.cause = name;
  }
}

/** @param {unknown} e */
function errorName(e) {
  return e && typeof e === 'object' && 'name' in e ? String(e.name) : 'Error';
}

/** @param {string} name @param {'camera'|'microphone'|'camera and microphone'} what */
export function explain(name, what) {
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Access to the ${what} was denied. Allow it in the site or system settings, then press Start Camera.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${what} was found.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${what} is in use by another program or could not be started.`;
    case 'TypeError':
      return `This page cannot use the ${what} here (it needs https or localhost).`;
    default:
      return `The ${what} could not be opened (${name}).`;
  }
}

/**
 * Opens camera and microphone, falling back to one of them when the other is missing or busy.
 * Throws {@link MediaError} only when neither can be had.
 * @param {{camera?: string, microphone?: string}} [preferred] device ids to try first
 * @returns {Promise<OpenResult>}
 */
export async function openLocalMedia(preferred = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MediaError(explain('TypeError', 'camera and microphone'), 'TypeError');
  }
  const audio = preferred.microphone ? { deviceId: { ideal: preferred.microphone } } : true;
  const video = preferred.camera ? { ...VIDEO, deviceId: { ideal: preferred.camera } } : VIDEO;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    return { stream, warning: substitutes(stream, preferred) };
  } catch (e) {
    const both = errorName(e);
    if (both === 'NotAllowedError' || both === 'SecurityError' || both === 'TypeError') {
      throw new MediaError(explain(both, 'camera and microphone'), both);
    }
    // One of the two is missing or busy: take what works.
    const [mic, cam] = await Promise.allSettled([
      navigator.mediaDevices.getUserMedia({ audio }),
      navigator.mediaDevices.getUserMedia({ video }),
    ]);
    if (mic.status === 'fulfilled' && cam.status === 'fulfilled') {
      const stream = new MediaStream([...mic.value.getTracks(), ...cam.value.getTracks()]);
      return { stream, warning: null };
    }
    if (mic.status === 'fulfilled') {
      return { stream: mic.value, warning: `${explain(errorName(/** @type {PromiseRejectedResult} */ (cam).reason), 'camera')} The call will be sound only.` };
    }
    if (cam.status === 'fulfilled') {
      return { stream: cam.value, warning: `${explain(errorName(/** @type {PromiseRejectedResult} */ (mic).reason), 'microphone')} The other person will not hear you.` };
    }
    throw new MediaError(`${explain(both, 'camera and microphone')} You can still see and hear the other person.`, both);
  }
}

/**
 * Says so when a device chosen earlier was not there and another one was opened instead, rather
 * than switching silently.
 * @param {MediaStream} stream @param {{camera?: string, microphone?: string}} preferred
 * @returns {string | null}
 */
export function substitutes(stream, preferred) {
  const missing = [];
  const camera = stream.getVideoTracks()[0];
  const microphone = stream.getAudioTracks()[0];
  if (preferred.camera && camera && deviceOf(camera) && deviceOf(camera) !== preferred.camera) missing.push(`camera (using ${camera.label || 'another one'})`);
  if (preferred.microphone && microphone && deviceOf(microphone) && deviceOf(microphone) !== preferred.microphone) {
    missing.push(`microphone (using ${microphone.label || 'another one'})`);
  }
  return missing.length ? `The ${missing.join(' and the ')} you chose before is not connected.` : null;
}

/**
 * Opens one device of a kind, for switching mid-call.
 * @param {'audio'|'video'} kind
 * @param {string} [deviceId]
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openTrack(kind, deviceId) {
  const base = kind === 'video' ? VIDEO : {};
  const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : (kind === 'video' ? VIDEO : true);
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
    return stream.getTracks()[0];
  } catch (e) {
    const name = errorName(e);
    throw new MediaError(explain(name, kind === 'video' ? 'camera' : 'microphone'), name);
  }
}

/** @returns {Promise<DeviceList>} */
export async function listDevices() {
  /** @type {DeviceList} */
  const list = { cameras: [], microphones: [], speakers: [] };
  if (!navigator.mediaDevices?.enumerateDevices) return list;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const counters = { videoinput: 0, audioinput: 0, audiooutput: 0 };
  for (const d of devices) {
    if (!d.deviceId || !(d.kind in counters)) continue;
    counters[d.kind] += 1;
    const fallback = { videoinput: 'Camera', audioinput: 'Microphone', audiooutput: 'Speaker' }[d.kind];
    const choice = { deviceId: d.deviceId, label: d.label || `${fallback} ${counters[d.kind]}` };
    if (d.kind === 'videoinput') list.cameras.push(choice);
    else if (d.kind === 'audioinput') list.microphones.push(choice);
    else list.speakers.push(choice);
  }
  return list;
}

/** Whether the speaker can be chosen here (`HTMLMediaElement.setSinkId`). */
const canChooseSpeaker = () => typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/** The id of the device a track comes from. @param {MediaStreamTrack | undefined} track */
export function deviceOf(track) {
  return track?.getSettings?.().deviceId ?? '';
}

/** Screens go sharper than cameras: up to 1920x1080, at 15 fps, which text needs more than motion. */
const SCREEN = { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 15 } };

/** Asks which screen or window to share (the browser's own prompt). @returns {Promise<MediaStreamTrack>} */
async function openScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new MediaError('This browser cannot share a screen.', 'NotSupportedError');
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: SCREEN, audio: false });
    const track = stream.getVideoTracks()[0];
    track.contentHint = 'detail';
    return track;
  } catch (e) {
    const name = errorName(e);
    // Cancelling the browser's prompt is a choice, not a failure.
    if (name === 'NotAllowedError' || name === 'AbortError') throw new MediaError('', name);
    throw new MediaError(`The screen could not be shared (${name}).`, name);
  }
}

/** The browser's camera, microphone and video elements. @type {MediaBackend} */
export const browserMedia = {
  openLocalMedia,
  openTrack,
  listDevices,
  canChooseSpeaker,
  deviceOf,
  setMuted(tracks, muted) {
    for (const track of tracks) track.enabled = !muted;
  },
  stopTrack(track) {
    track.stop();
  },
  release(stream) {
    stream?.getTracks().forEach((t) => t.stop());
  },
  show(video, stream) {
    if (video.srcObject !== stream) video.srcObject = stream;
    if (stream) video.play().catch(() => {});
  },
  canShareScreen: () => typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getDisplayMedia === 'function',
  openScreen,
  stopScreen(track) {
    track.stop();
  },
};
