// @ts-check
//! Where the page runs: in a browser opened from a Hearth server (that server signals and hands
//! out ICE servers), or inside the desktop app (ICE servers and settings come from Rust commands
//! and the server address from the user).

/**
 * @typedef {{
 *   kind: 'browser' | 'desktop',
 *   defaultServer: string | null,
 *   prefill: {name: string, room: string, server: string},
 *   iceServers: (fromServer: RTCIceServer[]) => Promise<RTCIceServer[]>,
 *   load: (key: string) => string,
 *   save: (key: string, value: string) => void,
 * }} Environment
 */

/** @returns {any} the Tauri bridge when running inside the desktop app */
function tauri() {
  // @ts-ignore: injected by the desktop shell
  return globalThis.__TAURI__ ?? null;
}

/** @returns {Environment} */
export function detect() {
  const params = new URLSearchParams(location.search);
  const desktop = tauri() !== null;
  const storage = safeStorage();
  return {
    kind: desktop ? 'desktop' : 'browser',
    defaultServer: desktop ? null : location.origin,
    prefill: {
      name: params.get('name') ?? storage.load('name'),
      room: params.get('room') ?? '',
      server: params.get('server') ?? '',
    },
    async iceServers(fromServer) {
      if (fromServer.length > 0 || !desktop) return fromServer;
      try {
        return await tauri().core.invoke('ice_servers');
      } catch (e) {
        console.warn('hearth: no ICE servers from the app', e);
        return [];
      }
    },
    load: storage.load,
    save: storage.save,
  };
}

/** localStorage that never throws (private modes and sandboxes may refuse it). */
function safeStorage() {
  const prefix = 'hearth.';
  return {
    /** @param {string} key */
    load(key) {
      try {
        return localStorage.getItem(prefix + key) ?? '';
      } catch {
        return '';
      }
    },
    /** @param {string} key @param {string} value */
    save(key, value) {
      try {
        localStorage.setItem(prefix + key, value);
      } catch {
        /* remembering is a convenience; the call goes on without it */
      }
    },
  };
}
