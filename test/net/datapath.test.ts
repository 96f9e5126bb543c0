// The L2 datapath on the wire (as root, iproute2): the client and server test hosts joined by
// the datapath through their root-side veth ends, real datagrams from the client's kernel to the
// server's, and the frames that arrive on the other side:
//   no program -> bridged both ways (ARP, then UDP echoed by a server process);
//   droppacket  -> empty datagrams dropped before the server's kernel sees them, others pass;
//   xdp_reflect -> UDP to port 7 answered by the datapath itself (XDP_TX), the server sees none;
//   xdp_redirect -> UDP sent out of the interface a DEVMAP slot names (XDP_REDIRECT);
//   xdp_decap   -> a tunnelled frame injected on the client's wire arrives at the server as its
//                  inner datagram (bpf_xdp_adjust_head on a real frame).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject } from '../../src/elf/index.js';
import { openPacketSocket } from '../../src/net/af-packet.js';
import { Datapath } from '../../src/net/datapath.js';
import { inNetns } from '../../src/net/enter-netns.js';
import { buildUdpFrame } from '../../src/net/frames.js';
import { interfaceMac, testHostsDown, testHostsUp, type TestHosts } from '../../src/net/netns.js';
import { ExecutionContext } from '../../src/runtime/context.js';
import { loadObject, type LoadedObject } from '../../src/runtime/load.js';
import { REPO_ROOT } from '../support/shared.js';
import { outputInNamespace, startEchoServer, wireSkipReason } from './wire.js';

const prefix = `ebtdp${process.pid.toString(36)}-`;
const skip = await wireSkipReason('test/net/datapath.test.ts');

let hosts: TestHosts | undefined;
let datapath: Datapath | undefined;
let server: ChildProcess | undefined;
let heard: number[] = [];

/** The client: sends each payload to 10.77.0.2:PORT and prints the replies it gets within 1.5 s. */
const CLIENT = `
const [port, ...payloads] = JSON.parse(process.argv[1]);
const s = require('node:dgram').createSocket('udp4');
const replies = [];
s.on('message', (m, r) => replies.push({ text: m.toString(), from: r.address + ':' + r.port }));
s.bind(0, '10.77.0.1', () => {
  for (const p of payloads) s.send(Buffer.from(p), port, '10.77.0.2');
  setTimeout(() => { process.stdout.write(JSON.stringify(replies)); s.close(); }, 1500);
});`;

async function ask(port: number, ...payloads: string[]): Promise<{ text: string; from: string }[]> {
  return JSON.parse((await outputInNamespace(`${prefix}client`, CLIENT, JSON.stringify([port, ...payloads]))) || '[]') as { text: string; from: string }[];
}

function load(name: string): LoadedObject {
  return loadObject(openObject(new Uint8Array(readFileSync(join(REPO_ROOT, 'examples', name))), { path: name }), new ExecutionContext());
}

before(async () => {
  if (skip !== false) return;
  hosts = await testHostsUp({ prefix, removeOnExit: true });
  datapath = new Datapath();
  datapath.addInterface(hosts.client.rootInterface);
  datapath.addInterface(hosts.server.rootInterface);
  datapath.bridge(hosts.client.rootInterface, hosts.server.rootInterface);
  datapath.start(20);
  const echo = await startEchoServer(`${prefix}server`, '10.77.0.2', 5353);
  server = echo.child;
  heard = echo.heard;
});

after(async () => {
  server?.kill();
  await datapath?.close();
  await hosts?.close();
  if (skip === false) await testHostsDown({ prefix });
});

test('with no program the datapath bridges the two networks: ARP and UDP both ways', { skip }, async () => {
  const replies = await ask(5353, 'hello');
  assert.deepEqual(replies, [{ text: 'hello', from: '10.77.0.2:5353' }]);
  const c = datapath?.counters(`${prefix}cli0`);
  assert.ok((c?.passed ?? 0) >= 2, `frames passed from the client side: ${JSON.stringify(c)}`);
});

test('droppacket drops empty datagrams before the server\'s kernel sees them; the others pass', { skip }, async () => {
  const dp = datapath as Datapath;
  const object = load('droppacket.o');
  dp.attach(`${prefix}cli0`, object.program('drop_empty_udp'));
  heard.length = 0;
  const replies = await ask(5353, '', 'abcd', '');
  assert.deepEqual(replies.map((r) => r.text), ['abcd'], 'only the non-empty one was answered');
  assert.deepEqual(heard, [4], 'the server heard only the 4-byte datagram');
  assert.equal(dp.counters(`${prefix}cli0`).dropped, 2);
  assert.equal(new DataView(object.map('dropped_packet_map').lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true), 2n);
  dp.detach(`${prefix}cli0`);
  heard.length = 0;
  assert.deepEqual((await ask(5353, '')).map((r) => r.text), [''], 'detached: empty datagrams arrive again');
  assert.deepEqual(heard, [0]);
});

test('xdp_reflect answers UDP to port 7 from the datapath (XDP_TX); the server never sees it', { skip }, async () => {
  const dp = datapath as Datapath;
  const object = load('xdp_reflect.o');
  dp.attach(`${prefix}cli0`, object.program('reflect_echo'));
  heard.length = 0;
  const before = dp.counters(`${prefix}cli0`).transmitted;
  const replies = await ask(7, 'ping', 'pong');
  assert.deepEqual(replies.map((r) => r.text).sort(), ['ping', 'pong']);
  assert.ok(replies.every((r) => r.from === '10.77.0.2:7'), JSON.stringify(replies));
  assert.equal(dp.counters(`${prefix}cli0`).transmitted - before, 2);
  assert.deepEqual(heard, []);
  dp.detach(`${prefix}cli0`);
});

test('xdp_redirect sends UDP out of the interface its devmap names (XDP_REDIRECT); an empty slot passes', { skip }, async () => {
  const dp = datapath as Datapath;
  const object = load('xdp_redirect.o');
  dp.attach(`${prefix}cli0`, object.program('redirect_udp'));
  const serverSide = dp.interfaces().find((i) => i.name === `${prefix}srv0`);
  assert.ok(serverSide !== undefined);
  // Empty slot: XDP_PASS (bpf_redirect_map's flags), to the peer as before.
  assert.deepEqual((await ask(5353, 'a')).map((r) => r.text), ['a']);
  const key = new Uint8Array(4);
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, serverSide.ifindex, true);
  object.map('out_ports').update(key, value);
  const before = dp.counters(`${prefix}cli0`).redirected;
  assert.deepEqual((await ask(5353, 'b', 'c')).map((r) => r.text).sort(), ['b', 'c']);
  assert.equal(dp.counters(`${prefix}cli0`).redirected - before, 2);
  dp.detach(`${prefix}cli0`);
});

test('xdp_decap takes a tunnelled frame apart on the wire (bpf_xdp_adjust_head): the server gets the inner datagram', { skip }, async () => {
  const dp = datapath as Datapath;
  const inner = buildUdpFrame({
    source: { address: '10.77.0.1', port: 40000 }, destination: { address: '10.77.0.2', port: 5353 }, payload: new TextEncoder().encode('tunneled'),
    sourceMac: interfaceMac('eth0', `${prefix}client`), destinationMac: interfaceMac('eth0', `${prefix}server`),
  });
  // Outer Ethernet (EtherType 0x88B5) and a 4-byte tunnel header, then the inner frame.
  const outer = new Uint8Array(14 + 4 + inner.length);
  outer.set(inner.subarray(0, 12), 0);
  outer.set([0x88, 0xb5, 0xde, 0xad, 0xbe, 0xef], 12);
  outer.set(inner, 18);
  const wire = inNetns(`${prefix}client`, () => openPacketSocket('eth0'));
  try {
    const inject = async (): Promise<void> => {
      wire.send(outer);
      await new Promise((r) => setTimeout(r, 500));
    };
    heard.length = 0;
    await inject();
    assert.deepEqual(heard, [], 'without the program the server\'s kernel ignores the tunnel frame');
    const object = load('xdp_decap.o');
    dp.attach(`${prefix}cli0`, object.program('decap'));
    await inject();
    assert.deepEqual(heard, [8], 'the inner 8-byte datagram arrived');
    assert.equal(new DataView(object.map('decapsulated').lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true), 1n);
  } finally {
    wire.close();
    dp.detach(`${prefix}cli0`);
  }
});
