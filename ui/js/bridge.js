// @ts-check
//! The one contract between the page and the desktop app's Rust commands: each command's name and
//! the names of its arguments (a trailing `?` marks one the Rust side takes as an `Option`). Every
//! call from the page goes through `invoke` here, typed by this table, so a renamed or missing
//! argument fails the type check; `tests/unit/bridge.test.mjs` compares the table with the
//! `#[tauri::command]` functions and their registration in `src-tauri/src`.

export const COMMANDS = /** @type {const} */ ({
  app_info: [],
  ice_servers: [],
  load_settings: [],
  save_settings: ['settings'],
  start_hosting: ['maxPeople?'],
  stop_hosting: [],
  page_left: [],
  resolve_server: ['input'],
  open_in_browser: ['server?', 'room', 'name'],
  open_link: ['url'],
  download_begin: ['id', 'name', 'size'],
  download_write: [],
  download_finish: ['id'],
  download_abort: ['id'],
  native_status: [],
  native_devices: [],
  // The capture: camera and microphone, shared by every connection.
  native_start: ['camera?', 'microphone?', 'video?'],
  native_close: [],
  native_set_camera: ['on'],
  native_set_microphone: ['enabled'],
  native_switch_device: ['kind', 'deviceId'],
  native_progress: [],
  native_preview_frame: ['after'],
  // One connection per other person, named by the page.
  native_connect: ['connection', 'iceServers', 'relayOnly?', 'camera?', 'microphone?', 'video?', 'events', 'data'],
  native_peer_send: [],
  native_share_screen: ['on'],
  native_disconnect: ['connection'],
  native_peer_create_offer: ['connection', 'iceRestart'],
  native_peer_create_answer: ['connection'],
  native_peer_set_local_description: ['connection', 'description'],
  native_peer_set_remote_description: ['connection', 'description'],
  native_peer_add_ice_candidate: ['connection', 'sdpMLineIndex', 'candidate'],
  native_peer_stats: ['connection'],
  native_peer_progress: ['connection'],
  native_peer_signaling_state: ['connection'],
  native_peer_set_sending: ['connection', 'kind', 'enabled'],
  native_remote_frame: ['connection', 'track?', 'after'],
});

/**
 * Commands whose request body is raw bytes (not JSON), with the headers each takes instead of
 * arguments.
 */
export const RAW_COMMANDS = /** @type {const} */ ({
  download_write: ['id'],
  // `connection` is a header a webview never sends (fetch forbids it), hence hearth-connection.
  native_peer_send: ['hearth-connection', 'channel', 'kind'],
});

/**
 * @typedef {keyof typeof COMMANDS} Command
 * @typedef {{code: string, message: string}} CommandError
 */

/**
 * The arguments object of a command: its required names, and its optional ones (`name?`).
 * @template {readonly string[]} P
 * @typedef {{ [K in P[number] as K extends `${string}?` ? never : K]: unknown }
 *   & { [K in P[number] as K extends `${infer B}?` ? B : never]?: unknown }} ArgsOf
 */

/** @returns {any} the Tauri bridge when running inside the desktop app */
export function tauri() {
  // @ts-ignore: injected by the desktop shell (app.withGlobalTauri)
  return globalThis.__TAURI__ ?? null;
}

/**
 * Runs a Rust command; its errors arrive as `{code, message}` and are rethrown as Error(message)
 * with the code.
 * @template {Command} C
 * @param {C} command
 * @param {ArgsOf<(typeof COMMANDS)[C]>} [args]
 * @returns {Promise<any>}
 */
export async function invoke(command, args) {
  try {
    return await tauri().core.invoke(command, args);
  } catch (e) {
    throw commandError(e);
  }
}

/**
 * Runs a raw-body command: `bytes` go as they are (no JSON, no base64), the names in `headers`.
 * @template {keyof typeof RAW_COMMANDS} C
 * @param {C} command
 * @param {Uint8Array} bytes
 * @param {Record<(typeof RAW_COMMANDS)[C][number], string>} headers
 * @returns {Promise<any>}
 */
export async function invokeRaw(command, bytes, headers) {
  try {
    return await tauri().core.invoke(command, bytes, { headers });
  } catch (e) {
    throw commandError(e);
  }
}

/** A command's `{code, message}` as an Error with that code. @param {unknown} e */
function commandError(e) {
  const error = /** @type {Partial<CommandError>} */ (e);
  const err = new Error(error?.message ?? String(e));
  /** @type {any} */ (err).code = error?.code ?? 'error';
  return err;
}
