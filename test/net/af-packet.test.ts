// AF_PACKET sockets with mapped rings on a real veth pair: end A in this namespace, end B in a
// fresh network namespace. Needs root and iproute2; everything is removed afterwards, even on failure.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { openPacketSocket, type PacketSocket } from '../../src/net/af-packet.js';
import { inNetns } from '../../src/net/enter-netns.js';
import { SyscallError } from '../../src/net/libc.js';

const ns = `ebts${process.pid}`;
const ifA = `ebtsA${process.pid}`;
const ifB = `ebtsB${process.pid}`;
const ETHERTYPE_TEST = 0x88b5; // IEEE 802 local experimental

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return `AF_PACKET needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'AF_PACKET and network namespaces need root';
  try {
    ip('-V');
  } catch {
    return 'iproute2 (`ip`) is not installed';
  }
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.warn(`\n*** SKIPPING test/net/af-packet.test.ts: ${skip} ***\n`);

function parseMac(text: string): Uint8Array {
  return Uint8Array.from(text.trim().split(':').map((h) => Number.parseInt(h, 16)));
}

function testFrame(dst: Uint8Array, src: Uint8Array, seq: number, length: number): Uint8Array {
  const frame = new Uint8Array(length);
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = ETHERTYPE_TEST >> 8;
  frame[13] = ETHERTYPE_TEST & 0xff;
  frame[14] = seq >> 8;
  frame[15] = seq & 0xff;
  for (let i = 16; i < length; i++) frame[i] = (i * 7 + seq) & 0xff;
  return frame;
}

/** Collects copies of the frames `socket` receives that `keep` accepts, until `count` or `timeoutMs`. */
function collect(socket: PacketSocket, count: number, timeoutMs: number, keep: (frame: Uint8Array) => boolean): Uint8Array[] {
  const got: Uint8Array[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    if (!socket.waitReadable(Math.max(1, Math.min(50, deadline - Date.now())))) continue;
    socket.receiveBatch((frame, length) => {
      const copy = frame.slice(0, length);
      if (keep(copy)) got.push(copy);
    });
  }
  return got;
}

const isTestFrame = (frame: Uint8Array): boolean => frame.length >= 16 && ((frame[12] << 8) | frame[13]) === ETHERTYPE_TEST;

describe('AF_PACKET socket with TPACKET_V2 rings on a veth pair', { skip }, () => {
  let a: PacketSocket | undefined;
  let b: PacketSocket | undefined;
  let macA: Uint8Array = new Uint8Array(6);
  let macB: Uint8Array = new Uint8Array(6);

  before(() => {
    ip('netns', 'add', ns);
    ip('link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', ns);
    ip('link', 'set', ifA, 'addrgenmode', 'none');
    ip('-n', ns, 'link', 'set', ifB, 'addrgenmode', 'none');
    ip('link', 'set', ifA, 'up');
    ip('-n', ns, 'link', 'set', ifB, 'up');
    ip('-n', ns, 'addr', 'add', '10.213.0.2/24', 'dev', ifB);
    macA = parseMac(readFileSync(`/sys/class/net/${ifA}/address`, 'utf8'));
    macB = parseMac((JSON.parse(ip('-n', ns, '-j', 'link', 'show', ifB)) as { address: string }[])[0].address);
    a = openPacketSocket(ifA, { ringFrames: 256, promiscuous: true });
    // B's rings are small, so that sending 200 frames wraps its TX ring.
    b = inNetns(ns, () => openPacketSocket(ifB, { ringFrames: 64 }));
  });

  after(() => {
    a?.close();
    b?.close();
    for (const args of [['link', 'del', ifA], ['netns', 'del', ns]]) {
      try {
        ip(...args);
      } catch {
        // already gone (or never made)
      }
    }
  });

  test('binds to the named interface and reports its index', () => {
    assert.ok(a !== undefined);
    assert.equal(a.ifindex, Number(readFileSync(`/sys/class/net/${ifA}/ifindex`, 'utf8')));
    assert.equal(a.ifname, ifA);
    assert.ok(a.fd >= 0);
    assert.ok(a.maxReceiveLength >= 1514 && a.maxSendLength >= 1514, `slots hold a full-size frame (rx ${a.maxReceiveLength}, tx ${a.maxSendLength})`);
  });

  test('frames the peer sends arrive byte for byte and in order', () => {
    assert.ok(a !== undefined && b !== undefined);
    const frames = Array.from({ length: 200 }, (_, i) => testFrame(macA, macB, i, 60 + ((i * 97) % 1455)));
    assert.equal(b.sendBatch(frames), frames.length);
    const got = collect(a, frames.length, 3000, isTestFrame);
    assert.equal(got.length, frames.length, `received ${got.length} of ${frames.length} frames`);
    got.forEach((frame, i) => assert.deepEqual(frame, frames[i], `frame ${i}`));
  });

  test('frames the socket sends arrive at the peer, and the socket does not receive them itself', () => {
    assert.ok(a !== undefined && b !== undefined);
    const frames = Array.from({ length: 50 }, (_, i) => testFrame(macB, macA, 1000 + i, 1514 - i * 20));
    a.send(frames[0]);
    assert.equal(a.sendBatch(frames.slice(1)), frames.length - 1);
    const got = collect(b, frames.length, 3000, isTestFrame);
    assert.equal(got.length, frames.length, `the peer received ${got.length} of ${frames.length} frames`);
    got.forEach((frame, i) => assert.deepEqual(frame, frames[i], `frame ${i}`));
    const own = collect(a, 1, 200, (frame) => isTestFrame(frame) && frame[6] === macA[0] && frame.subarray(6, 12).every((x, i) => x === macA[i]));
    assert.equal(own.length, 0, 'the sending socket saw none of its own frames');
    assert.ok(a.stats().sent >= frames.length);
  });

  test('a UDP datagram the namespace kernel sends arrives with its headers and payload', () => {
    assert.ok(a !== undefined);
    ip('-n', ns, 'neigh', 'replace', '10.213.0.1', 'lladdr', [...macA].map((x) => x.toString(16).padStart(2, '0')).join(':'), 'dev', ifB, 'nud', 'permanent');
    const payload = 'ebpf-ts over the wire';
    const script = `const s=require('dgram').createSocket('udp4');s.bind(5353,()=>s.send(${JSON.stringify(payload)},4242,'10.213.0.1',()=>s.close()))`;
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore', timeout: 10000 });
    const isOurs = (f: Uint8Array): boolean => f.length >= 42 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 17 && ((f[36] << 8) | f[37]) === 4242;
    const [frame] = collect(a, 1, 3000, isOurs);
    assert.ok(frame !== undefined, 'a UDP frame to port 4242 arrived');
    assert.deepEqual(frame.subarray(0, 6), macA, 'destination MAC');
    assert.deepEqual(frame.subarray(6, 12), macB, 'source MAC');
    assert.deepEqual([...frame.subarray(26, 34)], [10, 213, 0, 2, 10, 213, 0, 1], 'IPv4 source and destination');
    assert.equal((frame[34] << 8) | frame[35], 5353, 'UDP source port');
    assert.equal(Buffer.from(frame.subarray(42)).toString('utf8'), payload);
  });

  test('readable() resolves once a frame waits, on koffi\'s worker thread', async () => {
    assert.ok(a !== undefined && b !== undefined);
    collect(a, Infinity, 50, () => false); // drain
    const waiting = a.readable(2000);
    b.send(testFrame(macA, macB, 7, 64));
    assert.equal(await waiting, true);
    assert.equal(collect(a, 1, 1000, isTestFrame).length, 1);
  });
});

describe('AF_PACKET socket errors', { skip }, () => {
  test('a frame view kept past close reads zeros instead of faulting', async () => {
    const socket = openPacketSocket('lo', { ringFrames: 16 });
    let kept: Uint8Array | undefined;
    try {
      const { createSocket } = await import('node:dgram');
      const udp = createSocket('udp4');
      await new Promise((resolve) => udp.send('kept', 9, '127.0.0.1', resolve));
      udp.close();
      assert.ok(socket.waitReadable(1000), 'the datagram reached lo');
      socket.receiveBatch((frame) => (kept = frame), 1);
    } finally {
      socket.close();
    }
    assert.ok(kept !== undefined);
    assert.ok(kept.every((x) => x === 0));
    assert.throws(() => socket.receiveBatch(() => undefined), /closed/);
  });


  test('an unknown interface is refused with its name', () => {
    assert.throws(() => openPacketSocket('ebtsNoSuchIf0'), (error: unknown) => error instanceof SyscallError && /ebtsNoSuchIf0/.test(error.message));
  });

  test('a frame size that is not a multiple of 16 is refused', () => {
    assert.throws(() => openPacketSocket('lo', { frameSize: 2056 }), /multiple of 16/);
  });
});
