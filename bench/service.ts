// The service's costs as a client sees them (a benchmark, not a test): a daemon in a temporary
// directory, droppacket added to it, then the latency of a read (program.list) and of a map lookup
// over the endpoint, the time to add a program (the verifier process included; its own time apart),
// the throughput of map.update from 8 clients at once (an unpinned map, and a pinned one, whose
// updates are on disk before each reply), and `ebpf show programs` end to end as a user runs it.
//   node dist/bench/service.js [--requests N]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { ServiceClient } from '../src/service/client.js';
import type { ProgramInfo } from '../src/service/protocol.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const DAEMON = fileURLToPath(new URL('../src/service/daemon.js', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const OBJECT = join(ROOT, 'examples', 'droppacket.o');

const args = process.argv.slice(2);
const at = args.indexOf('--requests');
const REQUESTS = at >= 0 ? Number(args[at + 1]) : 5_000;
if (!Number.isInteger(REQUESTS) || REQUESTS < 1) throw new Error(`--requests takes a positive integer; got ${args[at + 1]}`);
const WARM_UP = 500;
const ADDS = 20;
const CLIENTS = 8;
const UPDATES_PER_CLIENT = 2_000;
const PINNED_UPDATES_PER_CLIENT = 250;
const CLI_RUNS = 5;
const READY_TIMEOUT_MS = 15_000;

interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Nearest-rank percentiles and the mean of times in ms. */
function stats(ms: readonly number[]): Stats {
  const sorted = [...ms].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { n: sorted.length, p50: rank(0.5), p99: rank(0.99), mean: sorted.reduce((s, x) => s + x, 0) / sorted.length };
}

const time = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 100 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);
const count = (n: number): string => n.toLocaleString('en-US');

/** Times `request` `n` times in sequence after `warm` untimed calls. */
async function latency(n: number, warm: number, request: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < warm; i++) await request();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await request();
    ms.push(performance.now() - t);
  }
  return stats(ms);
}

/** Starts the daemon and resolves once it printed its "ready" line. */
function startDaemon(endpoint: string, stateDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [DAEMON, '--endpoint', endpoint, '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolveReady, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`the daemon did not start: ${why}${stderr.trim() === '' ? '' : `\n${stderr.trim()}`}`));
    };
    const timer = setTimeout(() => fail(`no "ready" line within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const failed = (e: Error): void => fail(e.message);
    const exited = (code: number | null, signal: NodeJS.Signals | null): void => fail(`it exited (${signal ?? `code ${code}`})`);
    child.once('error', failed);
    child.once('exit', exited);
    const ready = (): void => {
      clearTimeout(timer);
      child.off('error', failed);
      child.off('exit', exited);
      resolveReady(child);
    };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^ready \d+ /m.test(stdout)) ready();
    });
  });
}

/** Stops the daemon (SIGTERM: it saves and closes), SIGKILL if it has not gone within 5 s. */
async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

/** map.update from `clients` connections at once, each waiting for its reply before the next. */
async function updateThroughput(endpoint: string, stateDir: string, map: number, clients: number, perClient: number): Promise<{ opsPerSecond: number; stats: Stats }> {
  const connections = await Promise.all(Array.from({ length: clients }, () => ServiceClient.connect({ endpoint, stateDir, role: 'admin', client: 'bench' })));
  try {
    const value = (i: number): string => Buffer.from(new BigUint64Array([BigInt(i)]).buffer).toString('hex');
    await Promise.all(connections.map(async (c) => {
      for (let i = 0; i < Math.ceil(WARM_UP / clients); i++) await c.request('map.update', { map, key: '00000000', value: value(i) });
    }));
    const ms: number[] = [];
    const started = performance.now();
    await Promise.all(connections.map(async (c, k) => {
      for (let i = 0; i < perClient; i++) {
        const t = performance.now();
        await c.request('map.update', { map, key: '00000000', value: value(k * perClient + i) });
        ms.push(performance.now() - t);
      }
    }));
    const elapsed = performance.now() - started;
    return { opsPerSecond: (clients * perClient) / (elapsed / 1000), stats: stats(ms) };
  } finally {
    for (const c of connections) c.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ebpf-bench-service-'));
const endpoint = process.platform === 'win32' ? `\\\\.\\pipe\\ebpf-bench-service-${process.pid}` : join(dir, 'ebpfsvc.sock');
const stateDir = join(dir, 'state');
let daemon: ChildProcess | undefined;
let client: ServiceClient | undefined;

let cleaning: Promise<void> | undefined;
/** Closes the client, stops the daemon and removes the temporary directory (once). */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    client?.close();
    if (daemon !== undefined) await stopDaemon(daemon);
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  daemon = await startDaemon(endpoint, stateDir);
  client = await ServiceClient.connect({ endpoint, stateDir, client: 'bench' });
  if (client.role !== 'admin') throw new Error('the bench could not read the admin token of its own daemon');
  const c = client;
  const object = readFileSync(OBJECT).toString('base64');
  const path = relative(ROOT, OBJECT);
  const add = async (pinned: 'none' | 'first'): Promise<ProgramInfo> =>
    (await c.request('program.add', { object, path, section: 'xdp', pinned, ...(pinned === 'none' ? {} : { pinPath: 'bench/droppacket' }) })) as ProgramInfo;

  const program = await add('none');
  const map = program.maps[0];
  if (map === undefined) throw new Error('droppacket.o loaded without its map');
  const rows: (string | number)[][] = [];
  const row = (what: string, s: Stats, extra = ''): void => {
    rows.push([what, count(s.n), time(s.p50), time(s.p99), time(s.mean), extra]);
  };

  row('program.list (1 program)', await latency(REQUESTS, WARM_UP, () => c.request('program.list', {})));
  row('map.lookup key 00000000', await latency(REQUESTS, WARM_UP, () => c.request('map.lookup', { map, key: '00000000' })));

  // Adding a program: the verifier process is forked for each one. verifiedMs is its own time to
  // open the object and verify; the rest is fork, node's start-up, IPC and loading in the host.
  const addMs: number[] = [];
  const verifiedMs: number[] = [];
  for (let i = 0; i < ADDS; i++) {
    const t = performance.now();
    const p = await add('none');
    addMs.push(performance.now() - t);
    verifiedMs.push(p.verifiedMs);
    await c.request('program.delete', { id: p.id });
  }
  row('program.add droppacket (unpinned)', stats(addMs));
  row('  of which the verifier (verifiedMs)', stats(verifiedMs));

  const unpinned = await updateThroughput(endpoint, stateDir, map, CLIENTS, UPDATES_PER_CLIENT);
  row(`map.update, ${CLIENTS} clients, unpinned map`, unpinned.stats, `${count(Math.round(unpinned.opsPerSecond))} updates/s`);
  // A pinned map's acknowledged updates are saved (state.json, fsync, rename) before the reply;
  // concurrent updates share a save.
  const pinnedProgram = await add('first');
  const pinned = await updateThroughput(endpoint, stateDir, pinnedProgram.maps[0], CLIENTS, PINNED_UPDATES_PER_CLIENT);
  row(`map.update, ${CLIENTS} clients, pinned map`, pinned.stats, `${count(Math.round(pinned.opsPerSecond))} updates/s`);
  await c.request('program.delete', { id: pinnedProgram.id });

  // The CLI as a user runs it: a new node process, connect, hello, one request, a table.
  const command = [process.execPath, CLI, 'show', 'programs', '--endpoint', endpoint, '--state-dir', stateDir];
  const cliMs: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    const t = performance.now();
    const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
    cliMs.push(performance.now() - t);
    if (r.status !== 0 || !r.stdout.includes('drop_empty_udp')) throw new Error(`${command.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  }
  row('ebpf show programs (CLI, end to end)', stats(cliMs));
  const bareMs: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    bareMs.push(performance.now() - t);
  }
  row('  for scale: node -e 0', stats(bareMs));

  const table = new Table({
    head: ['measurement', 'n', 'p50', 'p99', 'mean', 'throughput'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  for (const r of rows) table.push(r);
  const transport = process.platform === 'win32' ? 'a named pipe' : 'a Unix socket';
  process.stdout.write(`ebpfsvc over ${transport} (${process.platform}, node ${process.versions.node}); ${count(REQUESTS)} sequential requests after ${WARM_UP} warm-up, ${ADDS} adds, ${CLIENTS} clients:\n`);
  process.stdout.write(`${table.toString()}\n`);
  process.stdout.write(`CLI timed: ${['node', relative(process.cwd(), CLI), ...command.slice(2)].join(' ')}\n`);
}

try {
  await main();
} catch (e) {
  process.exitCode = 1;
  if (!interrupted) process.stderr.write(`bench/service: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  await cleanUp();
}
