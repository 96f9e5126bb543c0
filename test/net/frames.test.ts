import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUdpFrame } from '../../src/net/frames.js';

const sum16 = (bytes: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) s += bytes[bytes.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

test('an IPv4 UDP frame carries the addresses, ports, lengths and a valid header checksum', () => {
  const frame = buildUdpFrame({ source: { address: '10.0.0.1', port: 5353 }, destination: { address: '127.0.0.1', port: 53 }, payload: Uint8Array.from([1, 2, 3]) });
  const view = new DataView(frame.buffer);
  assert.equal(frame.length, 14 + 20 + 8 + 3);
  assert.equal(view.getUint16(12), 0x0800);
  assert.deepEqual([...frame.subarray(26, 30)], [10, 0, 0, 1]);
  assert.deepEqual([...frame.subarray(30, 34)], [127, 0, 0, 1]);
  assert.equal(frame[23], 17);
  assert.equal(view.getUint16(16), 31); // IP total length
  assert.equal(sum16(frame.subarray(14, 34)), 0xffff, 'IPv4 header checksum verifies');
  assert.equal(view.getUint16(34), 5353);
  assert.equal(view.getUint16(36), 53);
  assert.equal(view.getUint16(38), 11); // UDP length
  // UDP checksum: pseudo-header + datagram sums to 0xffff.
  const pseudo = Uint8Array.from([10, 0, 0, 1, 127, 0, 0, 1, 0, 17, 0, 11]);
  const total = sum16(Uint8Array.from([...pseudo, ...frame.subarray(34)]));
  assert.equal(total, 0xffff);
});

test('an empty payload gives a UDP length of 8 and IPv6 addresses give an IPv6 frame', () => {
  const empty = buildUdpFrame({ source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 }, payload: new Uint8Array(0) });
  assert.equal(new DataView(empty.buffer).getUint16(38), 8);
  const v6 = buildUdpFrame({ source: { address: '::1', port: 1 }, destination: { address: 'fe80::1:2', port: 2 }, payload: new Uint8Array(4) });
  const view = new DataView(v6.buffer);
  assert.equal(view.getUint16(12), 0x86dd);
  assert.equal(v6[20], 17);
  assert.equal(v6[37], 1); // ::1
  assert.deepEqual([...v6.subarray(38, 54)], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
  assert.equal(view.getUint16(54 + 4), 12);
  assert.throws(() => buildUdpFrame({ source: { address: '1.2.3.4', port: 1 }, destination: { address: '::1', port: 2 }, payload: new Uint8Array(0) }), /must both be IPv4 or both IPv6/);
  assert.throws(() => buildUdpFrame({ source: { address: '1.2.3', port: 1 }, destination: { address: '1.2.3.4', port: 2 }, payload: new Uint8Array(0) }), /not an IPv4 address/);
});
