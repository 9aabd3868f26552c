//! The page's table of Rust commands (ui/js/bridge.js) is the Rust side's: every command the app
//! registers is in it with the same arguments (camelCase, optional where Rust takes an Option),
//! nothing else is, and no module calls a command except through the bridge.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, RAW_COMMANDS } from '../../ui/js/bridge.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every .rs file under `dir`. @param {string} dir @returns {string[]} */
function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? rustFiles(file) : name.endsWith('.rs') ? [file] : [];
  });
}

/** Parameters the page does not send: what Tauri injects. */
const INJECTED = /^(State|tauri::State|AppHandle|tauri::AppHandle|Window|tauri::Window|WebviewWindow|tauri::WebviewWindow|Request|tauri::ipc::Request)\b/;

const camel = (/** @type {string} */ snake) => snake.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** The `#[tauri::command]` functions of the app: name → argument names as the page sends them. */
function rustCommands() {
  /** @type {Map<string, string[]>} */
  const commands = new Map();
  for (const file of rustFiles(path.join(ROOT, 'src-tauri/src'))) {
    const source = readFileSync(file, 'utf8');
    const pattern = /#\[tauri::command[^\]]*\]\s*(?:#\[[^\]]*\]\s*)*pub\s+(?:async\s+)?fn\s+(\w+)(?:<[^>]*>)?\s*\(([^)]*)\)/g;
    for (const [, name, params] of source.matchAll(pattern)) {
      const args = params.split(/,(?![^<]*>)/).map((p) => p.trim()).filter(Boolean).flatMap((param) => {
        const [, argName, type] = /^(?:mut\s+)?(\w+)\s*:\s*(.+)$/s.exec(param) ?? [];
        if (!argName || INJECTED.test(type.trim())) return [];
        return [`${camel(argName)}${/^Option\s*</.test(type.trim()) ? '?' : ''}`];
      });
      commands.set(name, args);
    }
  }
  return commands;
}

/** The names registered with `generate_handler!` (directly or through the app's `handler!`). */
function registered() {
  const lib = readFileSync(path.join(ROOT, 'src-tauri/src/lib.rs'), 'utf8');
  return new Set([...lib.matchAll(/\b(?:commands|native)(?:::\w+)*::(\w+)\s*,/g)].map(([, name]) => name));
}

test('every command the app registers is in the page\'s table, with the same arguments', () => {
  const rust = rustCommands();
  const names = registered();
  assert.ok(rust.size >= 20, `found the Rust commands (${rust.size})`);
  for (const name of names) {
    assert.ok(rust.has(name), `${name} is registered but no #[tauri::command] fn ${name} was found`);
    assert.deepEqual([...(COMMANDS[name] ?? ['(missing from ui/js/bridge.js)'])], rust.get(name), `arguments of ${name}`);
  }
  for (const name of Object.keys(COMMANDS)) assert.ok(names.has(name), `${name} is in the page's table but the app does not register it`);
});

test('a raw-body command takes a request and reads the headers the page\'s table names', () => {
  const sources = rustFiles(path.join(ROOT, 'src-tauri/src')).map((file) => readFileSync(file, 'utf8')).join('\n');
  for (const [name, headers] of Object.entries(RAW_COMMANDS)) {
    assert.deepEqual([...COMMANDS[name]], [], `${name} takes no JSON arguments`);
    const signature = new RegExp(`fn ${name}\\s*\\(([^)]*)\\)`).exec(sources)?.[1] ?? '';
    assert.match(signature, /:\s*(?:tauri::ipc::)?Request\b/, `${name} takes the raw request`);
    for (const header of headers) assert.ok(sources.includes(`"${header}"`), `the ${header} header of ${name} is read`);
  }
});

test('no page module calls a command except through the bridge', () => {
  const dir = path.join(ROOT, 'ui/js');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'bridge.js')) {
    const source = readFileSync(path.join(dir, file), 'utf8');
    assert.doesNotMatch(source, /core\.invoke\(/, `${file} calls Tauri directly`);
  }
});
