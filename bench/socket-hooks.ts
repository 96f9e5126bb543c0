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
const OPS = opsArg > 0 ? Number(process.argv[opsArg + 1]) : 9000;

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

/** µs per operation over `n` sequential operations. */
async function timeOnce(op: () => Promise<void>, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await op();
  return ((performance.now() - t) * 1000) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Rounds alternate the configurations (nothing attached, then the programs attached, then
// detached again), so that drift in the machine's speed falls on all of them alike.
const ROUNDS = 9;
const perRound = Math.max(1, Math.round(OPS / ROUNDS));

for (let i = 0; i < 300; i++) await connectOnce();
const plainRuns = { connect: [] as number[], listen: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  plainRuns.connect.push(await timeOnce(connectOnce, perRound));
  plainRuns.listen.push(await timeOnce(listenOnce, perRound));
}
const points = socketAttachPoints('bench');
const context = new ExecutionContext();
const connect4 = loadObject(openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', 'connect4_policy.o')))), context).program('connect4_policy');
const bind = loadObject(openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', 'bind_efw.o')))), context).program('bind');
const idleRuns = { connect: [] as number[], listen: [] as number[] };
const attachedRuns = { connect: [] as number[], listen: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  idleRuns.connect.push(await timeOnce(connectOnce, perRound));
  idleRuns.listen.push(await timeOnce(listenOnce, perRound));
  const links = [points.find((p) => p.point.name === 'bench/connect4')?.attach(connect4), points.find((p) => p.point.name === 'bench/bind')?.attach(bind)];
  attachedRuns.connect.push(await timeOnce(connectOnce, perRound));
  attachedRuns.listen.push(await timeOnce(listenOnce, perRound));
  for (const l of links) l?.detach();
}
const summary = (runs: { connect: number[]; listen: number[] }): { connect: number; listen: number } => ({ connect: median(runs.connect), listen: median(runs.listen) });
const plain = summary(plainRuns);
const idle = summary(idleRuns);
const attached = summary(attachedRuns);
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
process.stdout.write(`socket hooks, ${OPS} sequential loopback operations per row (median of ${ROUNDS} rounds of ${perRound}, the rows interleaved; Node ${process.version})\n${table.toString()}\n`);
process.stdout.write(`one event through the hook (${EVENTS.toLocaleString('en-US')} events): connect4_policy ${connectNs.toFixed(0)} ns, bind_efw ${bindNs.toFixed(0)} ns\n`);
