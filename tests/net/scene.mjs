//! What the tests across the simulated network (netns.mjs) share on the page side: Chromium
//! inside a namespace, treating the server's plain-HTTP origin as secure; the people in it, with
//! their peer connections watched so a test can read which candidate pair ICE chose; the stats
//! panel's rows; and a recorder of what each page shows (call state, server connection, tiles)
//! through an outage.

import assert from 'node:assert/strict';
import { launchBrowser, Person, waitFor } from '../e2e/harness.mjs';

/**
 * Chromium inside namespace `netns`, for pages of `origin` (the server, e.g. http://10.77.1.2:PORT).
 * A page at http://10.77.1.2 is not a secure context, so Chromium would give it no camera and no
 * microphone; `--unsafely-treat-insecure-origin-as-secure` with that exact origin makes it one for
 * these tests. (Serving the UI over HTTPS on a LAN address is a separate piece of work.)
 * @param {string} netns @param {string} origin
 */
export function browserIn(netns, origin) {
  return launchBrowser({ netns, args: [`--unsafely-treat-insecure-origin-as-secure=${origin}`] });
}

/**
 * Opens the page of `url` for `name` in `browser`, every RTCPeerConnection it makes kept on
 * `window.__hearthPeerConnections` for {@link selectedPair}; with `forceRelay`, each is made with
 * `iceTransportPolicy: 'relay'` (the UI and server have no such setting: the test forces it).
 * @param {import('playwright-core').Browser} browser @param {string} url @param {string} name
 * @param {{forceRelay?: boolean}} [options]
 */
export async function openPerson(browser, url, name, { forceRelay = false } = {}) {
  const person = await Person.open(browser, url, name, {
    prepare: (context) => context.addInitScript((forceRelay) => {
      const Native = window.RTCPeerConnection;
      /** @type {RTCPeerConnection[]} */
      const all = [];
      Object.defineProperty(window, '__hearthPeerConnections', { value: all });
      window.RTCPeerConnection = class extends Native {
        /** @param {RTCConfiguration} [config] */
        constructor(config = {}) {
          super(forceRelay ? { ...config, iceTransportPolicy: 'relay' } : config);
          all.push(this);
          // Every candidate gathered (getStats() lists only those in a pair).
          /** @type {string[]} */
          const gathered = [];
          Object.defineProperty(this, '__hearthGathered', { value: gathered });
          this.addEventListener('icecandidate', ({ candidate }) => {
            if (candidate?.candidate) gathered.push(`${candidate.type} ${candidate.address}`);
          });
        }
      };
    }, forceRelay),
  });
  assert.equal(await person.page.evaluate(() => isSecureContext), true, `${name}'s page is a secure context`);
  // Across the namespaces the page's modules arrive slowly enough that the load event can come
  // first; Join is enabled once they handle the form.
  await person.page.locator('#joinBtn:enabled').waitFor({ timeout: 30_000 });
  return person;
}

/**
 * @typedef {{candidateType: string, address: string, port: number, protocol: string, relayProtocol?: string}} Candidate
 * @typedef {{local: Candidate, remote: Candidate, rttMs: number | null}} Pair
 */

/**
 * The candidate pair ICE selected on the person's newest open peer connection, from getStats().
 * @param {Person} person @returns {Promise<Pair | null>}
 */
export function selectedPair(person) {
  return person.page.evaluate(async () => {
    const all = /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).__hearthPeerConnections ?? []);
    const pc = all.filter((p) => p.connectionState !== 'closed').at(-1);
    if (!pc) return null;
    const stats = [...(await pc.getStats()).values()];
    const byId = new Map(stats.map((s) => [s.id, s]));
    const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport ? byId.get(transport.selectedCandidatePairId) : stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    if (!pair) return null;
    const pick = (/** @type {any} */ c) => ({ candidateType: c?.candidateType, address: c?.address, port: c?.port, protocol: c?.protocol, ...(c?.relayProtocol ? { relayProtocol: c.relayProtocol } : {}) });
    return {
      local: pick(byId.get(pair.localCandidateId)),
      remote: pick(byId.get(pair.remoteCandidateId)),
      rttMs: typeof pair.currentRoundTripTime === 'number' ? Math.round(pair.currentRoundTripTime * 1000) : null,
    };
  });
}

/**
 * Every local candidate the person's newest peer connection gathered, as "type address" (from its
 * icecandidate events: getStats() lists only the candidates in a pair).
 * @param {Person} person @returns {Promise<string[]>}
 */
export function localCandidates(person) {
  return person.page.evaluate(() => {
    const all = /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).__hearthPeerConnections ?? []);
    const pc = all.filter((p) => p.connectionState !== 'closed').at(-1);
    return pc ? [.../** @type {any} */ (pc).__hearthGathered] : [];
  });
}

/** A pair in one line: "host 10.77.2.2 → prflx 10.77.1.1". @param {Pair | null} p */
export function describePair(p) {
  return p ? `${p.local.candidateType} ${p.local.address}:${p.local.port} → ${p.remote.candidateType} ${p.remote.address}:${p.remote.port} (${p.local.protocol}${p.local.relayProtocol ? `, relay over ${p.local.relayProtocol}` : ''})` : 'no selected pair';
}

/** The value the stats panel shows for a row, or null without one. @param {Person} person @param {string} label */
export async function statsValue(person, label) {
  const row = person.page.locator('#statsList dt', { hasText: label });
  if (!(await row.count())) return null;
  return row.first().locator('xpath=following-sibling::dd[1]').textContent();
}

/** Opens the stats panel, unless it is open. @param {Person} person */
export async function openStats(person) {
  if (await person.page.locator('#statsPanel').isHidden()) await person.button('Stats').click();
  await person.page.locator('#statsPanel').waitFor();
  // Rows come with the panel's first reading.
  await waitFor(async () => (await person.page.locator('#statsList dt').count()) > 0, 5000, `${person.name}'s stats rows`);
}

/**
 * What a person sees at one moment: the call state line (and its data-state), the server
 * connection line, the notice (an alert such as "The connection to Ada was lost."), and the
 * words on each other person's tile.
 * @typedef {{callState: string, state: string, connection: string, notice: string, tiles: string[]}} Seen
 * @param {Person} person @returns {Promise<Seen>}
 */
export function seen(person) {
  return person.page.evaluate(() => {
    const callState = document.getElementById('callState');
    const connection = /** @type {HTMLElement} */ (document.getElementById('connection'));
    // The words a person reads on each tile (its visible lines and badges; not the avatar's initials).
    const tiles = [...document.querySelectorAll('#tiles .tile')].map((tile) => [...tile.querySelectorAll('p, span')]
      .filter((p) => p.checkVisibility() && p.textContent?.trim())
      .map((p) => p.textContent?.replace(/\s+/g, ' ').trim()).join(' / '));
    return {
      callState: callState?.textContent ?? '',
      state: callState?.dataset.state ?? '',
      connection: connection.hidden ? '' : connection.textContent ?? '',
      notice: /** @type {HTMLElement} */ (document.getElementById('notice')).hidden ? '' : document.getElementById('noticeText')?.textContent ?? '',
      tiles,
    };
  });
}

/**
 * Polls what `person` sees every `everyMs` and keeps each change, with the time since `t0`, and
 * the frames shown of `other`'s tile, so a test can say when the picture came back.
 * @param {Person} person @param {string} other @param {number} t0 @param {number} [everyMs]
 */
export function record(person, other, t0, everyMs = 200) {
  /** @type {Array<{t: number} & Seen>} */
  const changes = [];
  /** @type {Array<{t: number, frames: number}>} */
  const frames = [];
  /** @type {Set<string>} */
  const states = new Set();
  let last = '';
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now() - t0;
      try {
        const now = await seen(person);
        states.add(now.state);
        const key = JSON.stringify(now);
        if (key !== last) { changes.push({ t, ...now }); last = key; }
        frames.push({ t, frames: await person.tileFrames(other) });
      } catch (e) {
        if (!stopped) changes.push({ t, callState: `(could not read: ${/** @type {Error} */ (e).message.split('\n')[0]})`, state: '?', connection: '', notice: '', tiles: [] });
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    changes, frames, states,
    async stop() { stopped = true; await loop; },
    /**
     * When the picture of `other` first advanced by `count` frames after `fromT` (ms since t0),
     * or null if it did not.
     * @param {number} fromT @param {number} [count]
     */
    advancedAfter(fromT, count = 5) {
      const base = frames.filter((f) => f.t <= fromT).at(-1)?.frames ?? 0;
      return frames.find((f) => f.t > fromT && f.frames >= base + count)?.t ?? null;
    },
    /** Whether frames advanced by `count` within [from, to]. @param {number} from @param {number} to @param {number} [count] */
    advancedBetween(from, to, count = 5) {
      const inside = frames.filter((f) => f.t >= from && f.t <= to);
      return inside.length > 1 && inside.at(-1).frames - inside[0].frames >= count;
    },
    /** Frames of the other's tile every `stepMs`, as "t s: n" for the test's output. @param {number} [stepMs] */
    timeline(stepMs = 2500) {
      /** @type {string[]} */
      const out = [];
      for (let at = 0; frames.length && at <= frames.at(-1).t; at += stepMs) {
        const f = frames.filter((x) => x.t <= at).at(-1) ?? frames[0];
        out.push(`${at / 1000}s:${f.frames}`);
      }
      const last = frames.at(-1);
      if (last) out.push(`${(last.t / 1000).toFixed(1)}s:${last.frames}`);
      return `  ${person.name}'s frames of ${other}: ${out.join(' ')}`;
    },
    /** The changes as lines for the test's output. */
    lines() {
      return changes.map((c) => `  ${(c.t / 1000).toFixed(1).padStart(6)} s  ${person.name}: [${c.state}] "${c.callState}"${c.connection ? ` | connection "${c.connection}"` : ''}${c.notice ? ` | notice "${c.notice}"` : ''} | tiles ${JSON.stringify(c.tiles)}`);
    },
  };
}
