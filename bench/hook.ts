// Per-datagram cost of the in-process XDP socket hook (a benchmark, not a test): droppacket on a
// socket, datagrams injected straight into the socket's 'message' path so the kernel's share is
// left out.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObject } from '../src/elf/index.js';
import { attachXdpToSocket } from '../src/program-types/index.js';
import { ExecutionContext, loadObject } from '../src/runtime/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', 'droppacket.o'))));
const socket = createSocket('udp4');
socket.bind(0, '127.0.0.1');
await once(socket, 'listening');
let delivered = 0;
socket.on('message', () => delivered++);

function perDatagram(payload: Buffer, count: number): number {
  const rinfo = { address: '10.0.0.1', family: 'IPv4' as const, port: 4242, size: payload.length };
  for (let i = 0; i < count / 5; i++) socket.emit('message', payload, rinfo);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) socket.emit('message', payload, rinfo);
  return Number(process.hrtime.bigint() - start) / count;
}

const n = 500_000;
const bare = perDatagram(Buffer.from('query'), n);
process.stdout.write('\nXDP socket hook (droppacket), ns per datagram (datagrams injected into the socket\'s message path):\n');
process.stdout.write(`  no hook (emit to one listener)        ${bare.toFixed(0).padStart(6)}\n`);
for (const engine of ['interpreter', 'jit'] as const) {
  const program = loadObject(spec, new ExecutionContext(), { engine }).program('xdp');
  const link = attachXdpToSocket(program, socket);
  const dropped = perDatagram(Buffer.alloc(0), n);
  const passed = perDatagram(Buffer.from('query'), n);
  link.detach();
  process.stdout.write(`  ${engine.padEnd(11)} empty datagram dropped ${dropped.toFixed(0).padStart(6)}\n`);
  process.stdout.write(`  ${engine.padEnd(11)} datagram passed        ${passed.toFixed(0).padStart(6)}  (hook overhead ${(passed - bare).toFixed(0)})\n`);
}
socket.close();
if (delivered === 0) process.exitCode = 1;
