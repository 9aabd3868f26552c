//! Stats summaries from reports shaped like Chromium's getStats().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, rows } from '../../ui/js/stats.js';

const report = (t, bytes, extra = []) => new Map([
  ['CP1', { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.012, timestamp: t }],
  ['OV', { type: 'outbound-rtp', kind: 'video', bytesSent: bytes, timestamp: t }],
  ['OA', { type: 'outbound-rtp', kind: 'audio', bytesSent: bytes / 10, timestamp: t }],
  ['IV', { type: 'inbound-rtp', kind: 'video', bytesReceived: bytes * 2, frameWidth: 640, frameHeight: 480, framesPerSecond: 29.7, packetsLost: 1, packetsReceived: 99, timestamp: t }],
  ['MS', { type: 'media-source', kind: 'audio', audioLevel: 0.25, timestamp: t }],
  ...extra,
]);

test('rates come from two reports a second apart', () => {
  const s = summarize(report(1000, 0), report(2000, 125_000));
  assert.equal(s.rttMs, 12);
  assert.equal(s.sendKbps, (137_500 * 8) / 1000);
  assert.equal(s.receiveKbps, 2000);
  assert.equal(s.width, 640);
  assert.equal(s.height, 480);
  assert.equal(s.fps, 29.7);
  assert.equal(s.lossPercent, 1);
  assert.equal(s.outboundAudioLevel, 0.25);
});

test('the first report has no rates yet, and the rows say so', () => {
  const s = summarize(null, report(1000, 5000));
  assert.equal(s.sendKbps, null);
  const shown = Object.fromEntries(rows(s));
  assert.equal(shown.Sending, '–');
  assert.equal(shown['Round trip'], '12 ms');
  assert.equal(shown.Resolution, '640×480');
  assert.equal(shown['Packet loss'], '1.0 %');
  assert.equal(shown['Mic level'], '0.250');
});

test('an empty report gives dashes, not errors', () => {
  const shown = Object.fromEntries(rows(summarize(null, new Map())));
  for (const value of Object.values(shown)) assert.equal(value, '–');
});

test('without a candidate pair the round trip comes from RTCP (remote-inbound-rtp), and nothing is made up', () => {
  const report = new Map([['r', { type: 'remote-inbound-rtp', kind: 'video', roundTripTime: 0.012, timestamp: 1 }]]);
  const s = summarize(null, report);
  assert.equal(s.rttMs, 12);
  assert.equal(s.outboundAudioLevel, null, 'no microphone level is reported when none was measured');
});

/** A report whose transport selected the pair of these two candidates. */
const pathReport = (local, remote) => new Map([
  ['T', { type: 'transport', selectedCandidatePairId: 'CP' }],
  ['CP', { type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded', currentRoundTripTime: 0.003 }],
  ['L', { type: 'local-candidate', ...local }],
  ['R', { type: 'remote-candidate', ...remote }],
]);

test('the path says whether the media goes directly on one network, across a router, through a NAT or a relay', () => {
  const path = (local, remote) => summarize(null, pathReport(local, remote)).path;
  assert.equal(path({ candidateType: 'host', address: '192.168.1.20' }, { candidateType: 'host', address: '192.168.1.31' }), 'lan');
  assert.equal(path({ candidateType: 'host', address: 'fd00:1:2:3::20' }, { candidateType: 'host', address: 'fd00:1:2:3::31' }), 'lan');
  assert.equal(path({ candidateType: 'host', address: '10.77.2.2' }, { candidateType: 'host', address: '10.77.1.2' }), 'direct');
  assert.equal(path({ candidateType: 'host', address: '10.77.1.2' }, { candidateType: 'prflx', address: '10.77.1.1' }), 'nat');
  assert.equal(path({ candidateType: 'srflx', address: '203.0.113.5' }, { candidateType: 'host', address: '198.51.100.7' }), 'nat');
  assert.equal(path({ candidateType: 'relay', address: '10.77.1.2' }, { candidateType: 'host', address: '10.77.1.2' }), 'relay');
  assert.equal(path({ candidateType: 'host', address: '10.0.0.2' }, { candidateType: 'relay', address: '10.77.1.2' }), 'relay');
  assert.equal(path({ candidateType: 'host', address: 'a1b2.local' }, { candidateType: 'host', address: 'c3d4.local' }), 'direct', 'mDNS names cannot be compared');
  const shown = Object.fromEntries(rows(summarize(null, pathReport({ candidateType: 'relay' }, { candidateType: 'host' }))));
  assert.equal(shown.Connection, 'Relayed through TURN');
  assert.equal(shown['Round trip'], '3 ms');
});

test('a remote peer-reflexive address is a NAT unless the other side says its end is its own address', () => {
  const path = (theirs) => summarize(null, pathReport({ candidateType: 'host', address: '10.77.2.2' }, { candidateType: 'prflx', address: '' }), theirs).path;
  assert.equal(path(undefined), 'nat', 'nothing said yet: a NAT, most likely');
  assert.equal(path('prflx'), 'nat');
  assert.equal(path('host'), 'direct', 'their checks came before their candidates: no NAT');
  assert.equal(path('relay'), 'relay');
  assert.equal(summarize(null, pathReport({ candidateType: 'host', address: '10.77.2.2' }, { candidateType: 'host', address: '10.77.1.2' }), 'srflx').path, 'nat', 'their end is a NAT\'s');
  assert.equal(summarize(null, pathReport({ candidateType: 'srflx' }, { candidateType: 'host' })).localType, 'srflx');
});

test('without a selected pair the path is unknown, not guessed', () => {
  assert.equal(summarize(null, new Map([['CP', { type: 'candidate-pair', state: 'in-progress' }]])).path, null);
});
