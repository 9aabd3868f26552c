// @ts-check
//! Where a received file's bytes go: in the desktop app, the Downloads folder (the app writes
//! them); in a browser, the origin's private file system (written to disk as they come, so memory
//! stays flat whatever the size), or, where that is missing, a Blob in memory up to a stated
//! limit. A browser's finished file is handed back as a disk-backed File to save.

/** Without the private file system, a received file is held in memory up to this size. */
export const MEMORY_LIMIT = 512 * 1024 * 1024;
/** Received chunks are gathered into writes of this size: one write per 16 KiB chunk is slow. */
const WRITE = 1024 * 1024;
/** The folder of the private file system that received files are written to. */
const FOLDER = 'incoming';

/** @typedef {import('./files.js').Sink} Sink */

/**
 * Gathers chunks into writes of up to {@link WRITE} bytes for `writeOut`; `flush` writes what is
 * gathered (before closing).
 * @param {(bytes: Uint8Array<ArrayBuffer>) => Promise<unknown>} writeOut
 */
function gathering(writeOut) {
  let gathered = new Uint8Array(WRITE);
  let filled = 0;
  const flush = async () => {
    if (!filled) return;
    const full = gathered.subarray(0, filled);
    gathered = new Uint8Array(WRITE);
    filled = 0;
    await writeOut(full);
  };
  return {
    flush,
    /** @param {Uint8Array<ArrayBuffer>} bytes */
    write: async (bytes) => {
      if (filled + bytes.length > WRITE) await flush();
      gathered.set(bytes, filled);
      filled += bytes.length;
    },
  };
}

/**
 * A place for the bytes of the transfer `id` (`size` bytes).
 * @param {string} id @param {string} name @param {number} size
 * @returns {Promise<Sink>}
 */
export async function openSink(id, name, size) {
  const storage = /** @type {StorageManager & {getDirectory?: () => Promise<FileSystemDirectoryHandle>}} */ (navigator.storage);
  if (typeof storage?.getDirectory === 'function') {
    const root = await storage.getDirectory();
    const folder = await root.getDirectoryHandle(FOLDER, { create: true });
    const handle = await folder.getFileHandle(id, { create: true });
    const writable = await handle.createWritable();
    const gather = gathering((bytes) => writable.write(bytes));
    return {
      write: gather.write,
      close: async () => {
        await gather.flush();
        await writable.close();
        return handle.getFile();
      },
      abort: async () => {
        await writable.abort().catch(() => {});
        await folder.removeEntry(id).catch(() => {});
      },
    };
  }
  if (size > MEMORY_LIMIT) {
    throw new Error(`This browser can only receive files up to ${MEMORY_LIMIT / 1024 / 1024} MB (${name} is bigger).`);
  }
  /** @type {Uint8Array<ArrayBuffer>[]} */
  let parts = [];
  return {
    write: async (bytes) => { parts.push(bytes.slice()); },
    close: async () => new Blob(parts),
    abort: async () => { parts = []; },
  };
}

/**
 * The desktop app's place for received bytes: its Downloads folder, written by the app in
 * writes of up to 1 MiB. The finished file's path is handed back.
 * @param {NonNullable<import('./env.js').Environment['desktop']>['downloads']} downloads
 * @returns {(id: string, name: string, size: number) => Promise<Sink>}
 */
export function appSink(downloads) {
  return async (id, name, size) => {
    await downloads.begin(id, name, size);
    const gather = gathering((bytes) => downloads.write(id, bytes));
    return {
      write: gather.write,
      close: async () => {
        await gather.flush();
        return downloads.finish(id);
      },
      abort: async () => { await downloads.abort(id); },
    };
  };
}

/** Lets go of files received in an earlier visit to the page (they were saved, or never will be). */
export async function clearReceived() {
  const storage = /** @type {StorageManager & {getDirectory?: () => Promise<FileSystemDirectoryHandle>}} */ (navigator.storage);
  if (typeof storage?.getDirectory !== 'function') return;
  const root = await storage.getDirectory();
  await root.removeEntry(FOLDER, { recursive: true }).catch(() => {});
}
