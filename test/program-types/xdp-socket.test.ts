// The in-process XDP hook on real UDP sockets over loopback.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { assembleBytes } from '../../src/isa/index.js';
import { buildProgramObject, openObject } from '../../src/elf/index.js';
import { ExecutionContext, loadObject, type LoadedProgram } from '../../src/runtime/index.js';
import { attachXdpToSocket } from '../../src/program-types/index.js';
import { loadExample, u32, u64le } from '../support/objects.js';

const open = new Set<Socket>();
after(() => {
  for (const s of open) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
});

async function boundSocket(type: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
  const socket = createSocket(type);
  open.add(socket);
  socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1');
  await once(socket, 'listening');
  return socket;
}

/** Sends datagrams and collects what the server's listeners get within a short while. */
async function exchange(server: Socket, payloads: Uint8Array[], family: 'udp4' | 'udp6' = 'udp4'): Promise<{ received: Buffer[]; replies: Buffer[] }> {
  const client = await boundSocket(family);
  const received: Buffer[] = [];
  const replies: Buffer[] = [];
  const onMessage = (m: Buffer) => received.push(m);
  server.on('message', onMessage);
  client.on('message', (m) => replies.push(m));
  for (const p of payloads) client.send(p, server.address().port, server.address().address);
  await new Promise((resolve) => setTimeout(resolve, 150));
  server.off('message', onMessage);
  client.close();
  return { received, replies };
}

function xdpProgram(source: string): LoadedProgram {
  const object = loadObject(openObject(buildProgramObject(assembleBytes(source), { section: 'xdp', symbol: 'prog' })), new ExecutionContext());
  return object.program('prog');
}

test('droppacket on a socket drops empty datagrams before any listener and passes the rest', async () => {
  const { object } = loadExample('droppacket.o');
  const server = await boundSocket();
  const link = attachXdpToSocket(object.program('xdp'), server);
  const { received } = await exchange(server, [new Uint8Array(0), Buffer.from('query'), new Uint8Array(0), Buffer.from('again')]);
  assert.deepEqual(received.map((m) => m.toString()), ['query', 'again']);
  assert.equal(link.stats.dropped, 2);
  assert.equal(link.stats.passed, 2);
  assert.equal(u64le(object.map('dropped_packet_map').lookup(u32(0))), 2n, 'the program counted its drops');
  link.detach();
  const after = await exchange(server, [new Uint8Array(0)]);
  assert.equal(after.received.length, 1, 'after detach the empty datagram is delivered');
  server.close();
});

test('the program sees the real ports and addresses in the frame headers', async () => {
  // r0 = the UDP destination port read from the frame (big-endian at offset 36), as XDP_PASS when
  // it equals the socket's port; the test patches the port into the program.
  const server = await boundSocket();
  const port = server.address().port;
  const program = xdpProgram(`
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 42
    jgt %r4, %r3, drop
    ldxh %r5, [%r2+36]
    be16 %r5
    jne %r5, ${port}, drop
    ldxw %r6, [%r2+30]
    jne %r6, 0x0100007f, drop
    mov %r0, 2
    exit
  drop:
    mov %r0, 1
    exit`);
  const link = attachXdpToSocket(program, server);
  const { received } = await exchange(server, [Buffer.from('x')]);
  assert.equal(received.length, 1, 'destination port and address 127.0.0.1 were in the frame');
  assert.equal(link.stats.passed, 1);
  link.detach();
  server.close();
});

test('XDP_TX sends the datagram back to its sender, and unknown verdicts are counted as aborted', async () => {
  const server = await boundSocket();
  const tx = attachXdpToSocket(xdpProgram('mov %r0, 3\nexit'), server);
  const { received, replies } = await exchange(server, [Buffer.from('ping')]);
  assert.equal(received.length, 0);
  assert.deepEqual(replies.map((r) => r.toString()), ['ping']);
  assert.equal(tx.stats.transmitted, 1);
  tx.detach();
  // A program that could fault is refused by the verifier at load; an unknown verdict is aborted.
  assert.throws(() => xdpProgram('mov %r1, 0\nldxw %r0, [%r1+0]\nexit'), /refused by the verifier/);
  const odd = attachXdpToSocket(xdpProgram('mov %r0, 7\nexit'), server);
  const out = await exchange(server, [Buffer.from('x')]);
  assert.equal(out.received.length, 0);
  assert.equal(odd.stats.aborted, 1);
  odd.detach();
  server.close();
});

test('IPv6 datagrams become IPv6 frames, and a socket takes one program at a time', async () => {
  const server = await boundSocket('udp6');
  // Passes only frames whose EtherType is IPv6 (0x86dd).
  const program = xdpProgram('ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +4\nldxh %r5, [%r2+12]\njne %r5, 0xdd86, +2\nmov %r0, 2\nexit\nmov %r0, 1\nexit');
  const link = attachXdpToSocket(program, server);
  assert.throws(() => attachXdpToSocket(program, server), /already has program prog attached/);
  const { received } = await exchange(server, [Buffer.from('v6')], 'udp6');
  assert.equal(received.length, 1);
  link.detach();
  server.close();
  const notXdp = loadObject(openObject(buildProgramObject(assembleBytes('mov %r0, 0\nexit'), { section: 'socket', symbol: 'f' })), new ExecutionContext()).program('f');
  assert.throws(() => attachXdpToSocket(notXdp, createSocket('udp4')), /only xdp programs attach to sockets/);
});
