// What the application socket hooks (src/register) add to a connect and to a listen (a benchmark,
// not a test): the same operations timed plain, with the hooks installed and nothing attached,
// and with one program attached (connect4_policy letting the connection through; bind_efw
// permitting the listen). All in this process, on loopback; no service is involved.
//   node dist/bench/socket-hooks.js [--ops N]
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { openObject } from '../src/elf/index.js';
import { BindHook, SockAddrHook } from '../src/program-types/index.js';
import { socketAttachPoints } from '../src/register/node-sockets.js';
import { ExecutionContext, loadObject } from '../src/runtime/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const opsArg = process.argv.indexOf('--ops');
const OPS = opsArg > 0 ? Number(process.argv[opsArg + 1]) : 3000;

const server = net.createServer((s) => s.destroy());
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as net.AddressInfo).port;

function connectOnce(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

function listenOnce(): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

/** Median of 5 runs of `ops` sequential operations, in µs per operation. */
async function time(op: () => Promise<void>): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < OPS / 5; i++) await op();
    runs.push(((performance.now() - t) * 1000) / (OPS / 5));
  }
  return runs.sort((a, b) => a - b)[2];
}

for (let i = 0; i < 300; i++) await connectOnce();
const plain = { connect: await time(connectOnce), listen: await time(listenOnce) };
const points = socketAttachPoints('bench');
const idle = { connect: await time(connectOnce), listen: await time(listenOnce) };
const context = new ExecutionContext();
const connect4 = loadObject(openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', 'connect4_policy.o')))), context).program('connect4_policy');
const bind = loadObject(openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', 'bind_efw.o')))), context).program('bind');
const links = [points.find((p) => p.point.name === 'bench/connect4')?.attach(connect4), points.find((p) => p.point.name === 'bench/bind')?.attach(bind)];
const attached = { connect: await time(connectOnce), listen: await time(listenOnce) };
for (const l of links) l?.detach();
server.close();

// The hook's own cost, which the socket timings above are too noisy to resolve: one event through
// the hook (context filled, program run, decision read back), many times.
const EVENTS = 200_000;
const perEvent = (run: () => void): number => {
  for (let i = 0; i < 10_000; i++) run();
  const t = performance.now();
  for (let i = 0; i < EVENTS; i++) run();
  return ((performance.now() - t) * 1e6) / EVENTS;
};
const sockAddr = new SockAddrHook(connect4);
const bindHook = new BindHook(bind);
const connectEvent = { family: 4, protocol: 'tcp', address: { address: '127.0.0.1', port } } as const;
const bindEvent = { operation: 'bind', protocol: 'tcp', address: { address: '127.0.0.1', port: 8081 }, pid: process.pid } as const;
const connectNs = perEvent(() => void sockAddr.run(connectEvent));
const bindNs = perEvent(() => void bindHook.run(bindEvent));

const table = new Table({ head: ['', 'connect µs', 'added', 'listen µs', 'added'], style: { head: [], border: [] } });
const row = (name: string, m: { connect: number; listen: number }): void => {
  table.push([name, m.connect.toFixed(1), (m.connect - plain.connect).toFixed(1), m.listen.toFixed(1), (m.listen - plain.listen).toFixed(1)]);
};
row('plain Node', plain);
row('hooks installed, nothing attached', idle);
row('one program attached (JIT)', attached);
process.stdout.write(`socket hooks, ${OPS} sequential loopback operations per row (median of 5 runs; Node ${process.version})\n${table.toString()}\n`);
process.stdout.write(`one event through the hook (${EVENTS.toLocaleString('en-US')} events): connect4_policy ${connectNs.toFixed(0)} ns, bind_efw ${bindNs.toFixed(0)} ns\n`);
