// @ts-check
//! Where the page runs: in a browser opened from a Hearth server (that server signals and hands
//! out ICE servers), or inside the desktop app (ICE servers, settings and host mode come from Rust
//! commands, and the server address from the user).

/**
 * @typedef {{port: number, room: string, addresses: string[], localUrl: string, invite: string, maxPeople: number}} HostInfo
 * @typedef {{httpUrl: string, wsUrl: string, authority: string, host: string, port: number, secure: boolean}} ServerAddress
 * @typedef {{
 *   displayName: string,
 *   recentServers: string[],
 *   ice: {stunUrls: string, turnUrls: string, turnUsername: string, turnCredential: string},
 *   devices: {camera: string, microphone: string, speaker: string},
 * }} Settings
 *
 * @typedef {{
 *   startHosting: (maxPeople: number) => Promise<HostInfo>,
 *   stopHosting: () => Promise<void>,
 *   pageLeft: () => Promise<void>,
 *   resolveServer: (input: string) => Promise<ServerAddress>,
 *   openInBrowser: (server: string | null, room: string, name: string) => Promise<string>,
 *   openLink: (url: string) => Promise<void>,
 *   downloads: {
 *     begin: (id: string, name: string, size: number) => Promise<void>,
 *     write: (id: string, bytes: Uint8Array) => Promise<void>,
 *     finish: (id: string) => Promise<string>,
 *     abort: (id: string) => Promise<boolean>,
 *   },
 *   recentServers: () => string[],
 * }} DesktopApi
 *
 * @typedef {{
 *   kind: 'browser' | 'desktop',
 *   defaultServer: string | null,
 *   prefill: {name: string, room: string, server: string},
 *   warning: string | null,
 *   iceServers: (fromServer: RTCIceServer[]) => Promise<RTCIceServer[]>,
 *   load: (key: 'name'|'camera'|'microphone'|'speaker') => string,
 *   save: (key: 'name'|'camera'|'microphone'|'speaker', value: string) => void,
 *   desktop: DesktopApi | null,
 *   native: NativeBridge | null,
 * }} Environment
 *
 * What the native media engine is reached through (desktop app only).
 * @typedef {{
 *   invoke: typeof invoke,
 *   channel: (onmessage: (message: any) => void) => unknown,
 * }} NativeBridge
 */

import { invoke, invokeRaw, tauri } from './bridge.js';

/**
 * The invite token in the page's address (`?token=`), which a server with tokens turned on needs
 * with each `join`; null without one. Read from the address each time, never stored.
 * @param {string} [search] the address's query, `location.search` by default
 * @returns {string | null}
 */
export function inviteToken(search = globalThis.location?.search ?? '') {
  const token = new URLSearchParams(search).get('token')?.trim();
  return token ? token : null;
}

/** @returns {Promise<Environment>} */
export async function detect() {
  const params = new URLSearchParams(location.search);
  return tauri() ? desktop(params) : browser(params);
}

/** @param {URLSearchParams} params @returns {Environment} */
function browser(params) {
  const storage = safeStorage();
  return {
    kind: 'browser',
    defaultServer: location.origin,
    prefill: { name: params.get('name') ?? storage.load('name'), room: params.get('room') ?? '', server: '' },
    warning: null,
    iceServers: async (fromServer) => fromServer,
    load: storage.load,
    save: storage.save,
    desktop: null,
    native: null,
  };
}

/** @param {URLSearchParams} params @returns {Promise<Environment>} */
async function desktop(params) {
  /** @type {{settings: Settings, warning: string | null}} */
  const loaded = await invoke('load_settings');
  const settings = loaded.settings;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let saveTimer;
  const persist = () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      invoke('save_settings', { settings }).catch((e) => console.warn('hearth: settings not saved', e));
    }, 300);
  };
  const fields = {
    name: () => settings.displayName,
    camera: () => settings.devices.camera,
    microphone: () => settings.devices.microphone,
    speaker: () => settings.devices.speaker,
  };
  return {
    kind: 'desktop',
    defaultServer: null,
    prefill: { name: params.get('name') ?? settings.displayName, room: params.get('room') ?? '', server: settings.recentServers[0] ?? '' },
    warning: loaded.warning,
    async iceServers(fromServer) {
      // A remote server's list wins; in host mode the app's own configuration applies.
      if (fromServer.length > 0) return fromServer;
      try {
        return await invoke('ice_servers');
      } catch (e) {
        console.warn('hearth: no ICE servers from the app', e);
        return [];
      }
    },
    load: (key) => fields[key](),
    save(key, value) {
      if (key === 'name') settings.displayName = value;
      else settings.devices[key] = value;
      persist();
    },
    desktop: {
      startHosting: (maxPeople) => invoke('start_hosting', { maxPeople }),
      stopHosting: () => invoke('stop_hosting'),
      pageLeft: () => invoke('page_left'),
      async resolveServer(input) {
        const server = await invoke('resolve_server', { input });
        settings.recentServers = [input.trim(), ...settings.recentServers.filter((s) => s !== input.trim())].slice(0, 8);
        return server;
      },
      openInBrowser: (server, room, name) => invoke('open_in_browser', { server, room, name }),
      openLink: (url) => invoke('open_link', { url }),
      downloads: {
        begin: (id, name, size) => invoke('download_begin', { id, name, size }),
        write: (id, bytes) => invokeRaw('download_write', bytes, { id }),
        finish: (id) => invoke('download_finish', { id }),
        abort: (id) => invoke('download_abort', { id }),
      },
      recentServers: () => settings.recentServers,
    },
    native: {
      invoke,
      channel(onmessage) {
        const channel = new (tauri().core.Channel)();
        channel.onmessage = onmessage;
        return channel;
      },
    },
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
