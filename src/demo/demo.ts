// The seed demo: a DNS server under a flood of zero-length UDP datagrams, protected by loading
// examples/droppacket.o on its socket's XDP hook; unprotected again after detaching; and the
// unsafe variant refused by the verifier.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachXdpToSocket, type XdpSocketLink } from '../program-types/index.js';
import { ExecutionContext, loadObject } from '../runtime/index.js';
import type { ObjectSpec } from '../elf/index.js';
import { startDnsClient, type DnsClient } from './dns-client.js';
import type { Engine } from '../vm/jit/engine.js';
import { startDnsServer, type DnsServerStats } from './dns-server.js';

/** The DNS server under attack, wherever it runs. */
export interface DemoServer {
  readonly port: number;
  stats(): Promise<Readonly<DnsServerStats>>;
  close(): Promise<void>;
}

/** How the demo protects the server: load and attach droppacket, and take it away again. */
export interface DemoProtection {
  /** The server, started on `port` (0: any), offering the hook droppacket attaches to. */
  startServer(port: number): Promise<DemoServer>;
  /** Prints what it shows the user (the program, its verification) before the flood starts. */
  explain(say: (s: string) => void): Promise<void>;
  /** Loads and attaches droppacket; returns a reader of its drop counter. */
  protect(say: (s: string) => void): Promise<() => Promise<bigint>>;
  unprotect(say: (s: string) => void): Promise<void>;
  /** Tries to load the unsafe variant; returns what the verifier said, or why it could not. */
  tryUnsafe(): Promise<{ refused: boolean; report: string }>;
  /** Ends whatever it started (also after a failure or Ctrl-C). */
  close(): Promise<void>;
}

export interface DemoOptions {
  /** Seconds per phase (unprotected, protected, unprotected again). */
  readonly phaseSeconds: number;
  /** Target flood rate, datagrams per second (all flooders together). */
  readonly rate: number;
  readonly flooders: number;
  /** DNS queries per second from the client. */
  readonly queryRate: number;
  /** Server port (0: any free port). */
  readonly port: number;
  readonly protection: DemoProtection;
  /** Prints what happens as it happens (false with --json). */
  readonly live: boolean;
  readonly out: (s: string) => void;
  /** Stops early when this resolves (Ctrl-C). */
  readonly stop?: Promise<void>;
}

export type PhaseName = 'unprotected' | 'protected' | 'unprotected-again';

export interface Second {
  readonly phase: PhaseName;
  readonly floodSent: number;
  readonly reachedServer: number;
  readonly droppedByXdp: number;
  readonly dnsSent: number;
  readonly dnsAnswered: number;
  readonly latencyP50Ms?: number;
  readonly latencyP99Ms?: number;
}

export interface PhaseSummary {
  readonly phase: PhaseName;
  readonly seconds: number;
  readonly floodSentPerSecond: number;
  readonly reachedServerPerSecond: number;
  readonly droppedPerSecond: number;
  readonly dnsAnsweredPerSecond: number;
  readonly dnsAnsweredRatio: number;
  readonly latencyP50Ms?: number;
  readonly latencyP99Ms?: number;
}

export interface DemoSummary {
  readonly port: number;
  readonly targetRate: number;
  readonly phases: PhaseSummary[];
  readonly seconds: Second[];
  readonly unsafe?: { refused: boolean; report: string };
  readonly notes: string[];
  readonly interrupted: boolean;
}

const FLOODER = join(fileURLToPath(new URL('.', import.meta.url)), 'flooder.js');

function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const fmt = (n: number | undefined, digits = 2): string => (n === undefined ? '-' : n.toFixed(digits));

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { out } = options;
  const say = (s: string): void => {
    if (options.live) out(s);
  };
  const notes: string[] = [];
  const { protection } = options;
  let server: DemoServer | undefined;
  let port = options.port;
  let client: DnsClient | undefined;
  const flooders: ChildProcess[] = [];
  let protectedNow = false;
  const seconds: Second[] = [];
  let interrupted = false;
  let floodSent = 0;
  let unsafe: DemoSummary['unsafe'];
  try {
    if (options.live) await protection.explain(out);
    server = await protection.startServer(options.port);
    port = server.port;
    say(`\nDNS server on 127.0.0.1:${server.port}; ${options.flooders} flooder process(es) sending ${options.rate.toLocaleString('en-US')} zero-length datagrams/s; a client asking ${options.queryRate} queries/s.\n`);
    for (let i = 0; i < options.flooders; i++) {
      const child = fork(FLOODER, [String(server.port), String(options.rate / options.flooders)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      child.on('message', (m: { sent?: number }) => {
        if (typeof m.sent === 'number') floodSent += m.sent;
      });
      flooders.push(child);
    }
    client = await startDnsClient({ port: server.port, rate: options.queryRate });

    let dropped = (): Promise<bigint> => Promise.resolve(0n);

    say('\n  time  phase               flood sent/s  reached server/s  dropped by XDP/s  DNS answers/s  DNS latency p50/p99 (ms)\n');
    let last = { received: 0, dropped: 0n };
    const stopped = options.stop?.then(() => {
      interrupted = true;
    });
    const phases: PhaseName[] = ['unprotected', 'protected', 'unprotected-again'];
    let t = 0;
    for (const phase of phases) {
      if (interrupted) break;
      if (phase === 'protected') {
        dropped = await protection.protect(say);
        protectedNow = true;
        last = { received: (await server.stats()).received, dropped: await dropped() };
      } else if (phase === 'unprotected-again' && protectedNow) {
        await protection.unprotect(say);
        protectedNow = false;
        last = { ...last, received: (await server.stats()).received };
      }
      for (let s = 0; s < options.phaseSeconds && !interrupted; s++) {
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 1000)), stopped]);
        if (interrupted) break;
        t++;
        const window = client.takeWindow();
        const latencies = [...window.latencies].sort((a, b) => a - b);
        const droppedNow = protectedNow ? await dropped() : last.dropped;
        const stats = await server.stats();
        const second: Second = {
          phase,
          floodSent,
          reachedServer: stats.received - last.received,
          droppedByXdp: Number(droppedNow - last.dropped),
          dnsSent: window.sent,
          dnsAnswered: window.answered,
          latencyP50Ms: percentile(latencies, 50),
          latencyP99Ms: percentile(latencies, 99),
        };
        floodSent = 0;
        last = { received: stats.received, dropped: droppedNow };
        seconds.push(second);
        say(`  ${String(t).padStart(4)}  ${phase.padEnd(18)}  ${String(second.floodSent).padStart(12)}  ${String(second.reachedServer).padStart(16)}  ${String(second.droppedByXdp).padStart(16)}  ${String(second.dnsAnswered).padStart(13)}  ${fmt(second.latencyP50Ms)} / ${fmt(second.latencyP99Ms)}\n`);
      }
    }
    for (const child of flooders) child.kill();
    if (!interrupted) {
      unsafe = await protection.tryUnsafe();
      say(`\n${unsafe.report}\n`);
    }
  } finally {
    for (const child of flooders) child.kill();
    client?.close();
    await server?.close();
    await protection.close();
  }

  const phases: PhaseSummary[] = (['unprotected', 'protected', 'unprotected-again'] as const).flatMap((phase) => {
    // The first second of a phase mixes both states: leave it out of the averages when there are more.
    const all = seconds.filter((s) => s.phase === phase);
    const rows = all.length > 1 ? all.slice(1) : all;
    if (rows.length === 0) return [];
    const mean = (f: (s: Second) => number): number => rows.reduce((a, s) => a + f(s), 0) / rows.length;
    const p50s = rows.flatMap((s) => (s.latencyP50Ms === undefined ? [] : [s.latencyP50Ms])).sort((a, b) => a - b);
    const p99s = rows.flatMap((s) => (s.latencyP99Ms === undefined ? [] : [s.latencyP99Ms])).sort((a, b) => a - b);
    const sent = rows.reduce((a, s) => a + s.dnsSent, 0);
    return [{
      phase,
      seconds: rows.length,
      floodSentPerSecond: Math.round(mean((s) => s.floodSent)),
      reachedServerPerSecond: Math.round(mean((s) => s.reachedServer)),
      droppedPerSecond: Math.round(mean((s) => s.droppedByXdp)),
      dnsAnsweredPerSecond: Math.round(mean((s) => s.dnsAnswered)),
      dnsAnsweredRatio: sent === 0 ? 0 : Math.min(1, rows.reduce((a, s) => a + s.dnsAnswered, 0) / sent),
      latencyP50Ms: percentile(p50s, 50),
      latencyP99Ms: percentile(p99s, 50),
    }];
  });
  const reached = phases.find((p) => p.phase === 'unprotected')?.floodSentPerSecond ?? 0;
  if (reached > 0 && reached < options.rate * 0.8) {
    notes.push(`this machine sent ${reached.toLocaleString('en-US')} datagrams/s, short of the ${options.rate.toLocaleString('en-US')}/s target (CPU-bound: the flooders share the cores with the server)`);
  }
  return { port, targetRate: options.rate, phases, seconds, unsafe, notes, interrupted };
}

export function summaryText(summary: DemoSummary): string {
  const lines = ['', `Summary${summary.interrupted ? ' (interrupted)' : ''}:`, '  phase               flood sent/s  reached server/s  dropped by XDP/s  DNS answered  DNS latency p50/p99 (ms)'];
  for (const p of summary.phases) {
    lines.push(`  ${p.phase.padEnd(18)}  ${String(p.floodSentPerSecond).padStart(12)}  ${String(p.reachedServerPerSecond).padStart(16)}  ${String(p.droppedPerSecond).padStart(16)}  ${(p.dnsAnsweredRatio * 100).toFixed(1).padStart(11)}%  ${fmt(p.latencyP50Ms)} / ${fmt(p.latencyP99Ms)}`);
  }
  if (summary.unsafe !== undefined) lines.push(`  droppacket_unsafe.o: ${summary.unsafe.refused ? 'refused by the verifier' : 'NOT refused'}`);
  for (const n of summary.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}

/** The demo inside this one process: the server's socket hook and droppacket in a local context. */
export function inProcessProtection(spec: ObjectSpec, unsafe: () => { refused: boolean; report: string }, engine: Engine, explain: (say: (s: string) => void) => void): DemoProtection {
  let socket: import('node:dgram').Socket | undefined;
  let link: XdpSocketLink | undefined;
  return {
    async startServer(port) {
      const server = await startDnsServer({ port });
      socket = server.socket;
      return { port: server.port, stats: () => Promise.resolve(server.stats), close: () => server.close() };
    },
    explain: (say) => Promise.resolve(explain(say)),
    protect(say) {
      if (socket === undefined) throw new Error('the server is not running');
      const object = loadObject(spec, new ExecutionContext(), { engine });
      link = attachXdpToSocket(object.program('xdp'), socket);
      say(`  -- loaded ${spec.path ?? 'droppacket.o'} and attached ${link.program.name} to the server's socket (engine ${link.program.engine})\n`);
      const map = object.map('dropped_packet_map');
      const key = new Uint8Array(4);
      return Promise.resolve(() => {
        const v = map.lookup(key);
        return Promise.resolve(v === undefined ? 0n : new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0, true));
      });
    },
    unprotect(say) {
      link?.detach();
      say(`  -- detached ${link?.program.name ?? 'droppacket'}: the flood reaches the server again\n`);
      link = undefined;
      return Promise.resolve();
    },
    tryUnsafe: () => Promise.resolve(unsafe()),
    close() {
      link?.detach();
      return Promise.resolve();
    },
  };
}
