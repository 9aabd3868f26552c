//! The release `.deb` installed with `apt install ./Hearth_*.deb` on a clean Debian 12 (a fresh
//! debootstrap tree, entered with chroot): it pulls in its runtime dependencies, adds a `hearth`
//! command whose libraries all resolve, a desktop entry with an icon, the GStreamer plugins a call
//! needs (everything the native engine's pipelines use), and `hearth` opens its window on a
//! virtual screen.
//!
//! Needs root (or sudo) for debootstrap, mounts and chroot. The base tree is made once and kept in
//! `target/debian-12-base/`; each run installs into a fresh copy of it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const debDir = path.join(repo, 'target/release/bundle/deb');
const base = path.join(repo, 'target/debian-12-base');
const root = path.join(repo, 'target/debian-12-install');
const asRoot = process.getuid?.() === 0 ? [] : ['sudo'];

/**
 * Runs a command as root; returns stdout, or throws with everything it printed. Ten minutes at
 * most (a download that stalls fails here, with what it printed, rather than holding CI).
 */
function sh(args, { allowFail = false, timeout = 10 * 60_000 } = {}) {
  const [cmd, ...rest] = [...asRoot, ...args];
  const result = spawnSync(cmd, rest, { encoding: 'utf8', maxBuffer: 64 << 20, timeout, killSignal: 'SIGKILL' });
  if (result.error) throw new Error(`${args.join(' ')}: ${result.error.message}\n${result.stdout}\n${result.stderr}`);
  if (!allowFail && result.status !== 0) {
    throw new Error(`${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Runs a shell command inside the installed system. */
function inside(script, options) {
  return sh(['chroot', root, '/bin/sh', '-c', `export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8; ${script}`], options);
}

const mounts = ['proc', 'sys', 'dev', 'dev/pts', 'var/cache/apt/archives'];
let debName;

before(() => {
  const debs = existsSync(debDir) ? readdirSync(debDir).filter((f) => f.endsWith('.deb')) : [];
  assert.equal(debs.length, 1, `expected one .deb in ${debDir} (npm run package:deb makes it), found ${debs}`);
  debName = debs[0];
  const complete = path.join(base, '.hearth-base-complete');
  if (!existsSync(complete)) {
    sh(['rm', '-rf', base]);
    sh(['debootstrap', '--variant=minbase', 'bookworm', base, 'http://deb.debian.org/debian']);
    sh(['touch', complete]);
  }
  sh(['rm', '-rf', root]);
  sh(['cp', '-a', base, root]);
  sh(['mount', '-t', 'proc', 'proc', path.join(root, 'proc')]);
  sh(['mount', '--rbind', '/sys', path.join(root, 'sys')]);
  sh(['mount', '--bind', '/dev', path.join(root, 'dev')]);
  sh(['mount', '--bind', '/dev/pts', path.join(root, 'dev/pts')]);
  // The host's package cache saves downloading what the host already has.
  sh(['mount', '--bind', '/var/cache/apt/archives', path.join(root, 'var/cache/apt/archives')]);
  sh(['cp', path.join(debDir, debName), path.join(root, 'tmp', debName)]);
});

after(() => {
  inside('pkill -x hearth; pkill -x Xvfb; true', { allowFail: true });
  for (const m of [...mounts].reverse()) sh(['umount', '-l', path.join(root, m)], { allowFail: true });
  sh(['rm', '-rf', '--one-file-system', root], { allowFail: true });
});

test('the .deb installs with apt on a clean Debian 12 and declares what it needs', () => {
  const control = sh(['dpkg-deb', '--field', path.join(debDir, debName), 'Package', 'Depends', 'Recommends']).stdout;
  assert.match(control, /^Package: hearth$/m);
  // Screen sharing on Wayland goes through the desktop portal and PipeWire.
  assert.match(control, /^Recommends: .*\bgstreamer1\.0-pipewire\b/m);
  assert.match(control, /^Recommends: .*\bxdg-desktop-portal\b/m);
  for (const dep of ['libwebkit2gtk-4.1-0', 'libgtk-3-0', 'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-bad', 'gstreamer1.0-nice']) {
    assert.match(control, new RegExp(`\\b${dep.replace(/[.]/g, '\\.')}\\b`), `Depends lacks ${dep}`);
  }
  assert.notEqual(inside('command -v hearth', { allowFail: true }).status, 0, 'the clean system already has hearth');
  inside(`apt-get update -qq && apt-get install -y -qq --no-install-recommends ./tmp/${debName}`);
  assert.equal(inside('dpkg-query -W -f=\'${Status}\' hearth').stdout, 'install ok installed');
});

test('hearth is a command whose libraries all resolve', () => {
  assert.equal(inside('command -v hearth').stdout.trim(), '/usr/bin/hearth');
  const ldd = inside('ldd /usr/bin/hearth').stdout;
  assert.doesNotMatch(ldd, /not found/, ldd);
  assert.match(ldd, /libwebkit2gtk-4\.1\.so/);
});

test('a desktop entry starts hearth and names an installed icon', () => {
  const entry = readFileSync(path.join(root, 'usr/share/applications/Hearth.desktop'), 'utf8');
  assert.match(entry, /^Type=Application$/m);
  assert.match(entry, /^Name=Hearth$/m);
  assert.match(entry, /^Exec=hearth\b/m);
  const icon = entry.match(/^Icon=(.+)$/m)?.[1];
  assert.ok(icon, 'the desktop entry has no Icon=');
  const iconDirs = readdirSync(path.join(root, 'usr/share/icons/hicolor'));
  const icons = iconDirs
    .map((size) => path.join(root, 'usr/share/icons/hicolor', size, 'apps', `${icon}.png`))
    .filter((file) => existsSync(file) && statSync(file).size > 0);
  assert.ok(icons.length >= 2, `icon ${icon} installed in ${icons.length} sizes`);
  inside('apt-get install -y -qq --no-install-recommends desktop-file-utils');
  const validate = inside('desktop-file-validate /usr/share/applications/Hearth.desktop', { allowFail: true });
  assert.equal(validate.status, 0, validate.stdout + validate.stderr);
});

test('the GStreamer plugins a call needs are installed with it', () => {
  const dir = path.join(root, 'usr/lib/x86_64-linux-gnu/gstreamer-1.0');
  const plugins = [
    'coreelements', 'webrtc', 'nice', 'srtp', 'dtls', 'rtpmanager', 'rtp', 'vpx', 'opus', 'jpeg', 'level', 'autodetect',
    'app', 'playback', 'videoconvertscale', 'videorate', 'videotestsrc', 'audioconvert', 'audioresample',
    'audiotestsrc', 'volume', 'video4linux2', 'pulseaudio',
  ];
  for (const plugin of plugins) {
    assert.ok(existsSync(path.join(dir, `libgst${plugin}.so`)), `libgst${plugin}.so is missing`);
  }
});

test('hearth opens its window', () => {
  // Xvfb and xwininfo only to look at it; hearth's own dependencies were checked before these.
  inside('apt-get install -y -qq --no-install-recommends xvfb xauth x11-utils');
  inside('(Xvfb :77 -screen 0 1280x800x24 -nolisten tcp >/tmp/xvfb.log 2>&1 &)');
  // Poll, for the screen and then for the window: startup time varies with the machine.
  let deadline = Date.now() + 30_000;
  while (inside('DISPLAY=:77 xwininfo -root >/dev/null 2>&1', { allowFail: true }).status !== 0) {
    assert.ok(Date.now() < deadline, `Xvfb did not start: ${inside('cat /tmp/xvfb.log', { allowFail: true }).stdout}`);
    spawnSync('sleep', ['0.2']);
  }
  inside('(DISPLAY=:77 hearth >/tmp/hearth.log 2>&1 &)');
  deadline = Date.now() + 60_000;
  let tree = '';
  while (Date.now() < deadline) {
    tree = inside('DISPLAY=:77 xwininfo -root -tree 2>/dev/null', { allowFail: true }).stdout ?? '';
    // pgrep matches the 15-character process name, so "WebKitWebProces"; -f matches the path.
    if (/"Hearth"/.test(tree) && inside('pgrep -f /WebKitWebProcess', { allowFail: true }).status === 0) break;
    spawnSync('sleep', ['0.5']);
  }
  const log = inside('cat /tmp/hearth.log', { allowFail: true }).stdout;
  assert.match(tree, /"Hearth": \("hearth" "Hearth"\)\s+\d+x\d+/, `no Hearth window; hearth printed:\n${log}`);
  assert.equal(inside('pgrep -x hearth', { allowFail: true }).status, 0, `hearth exited:\n${log}`);
  assert.equal(inside('pgrep -f /WebKitWebProcess', { allowFail: true }).status, 0, `the webview's process is not running:\n${log}`);
});
