// The seed demo: a DNS server under a flood of zero-length UDP datagrams, protected by loading
// examples/droppacket.o on its socket's XDP hook; unprotected again after detaching; and the
// unsafe variant refused by the verifier.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObject, type ObjectSpec } from '../elf/index.js';
import { attachXdpToSocket, type XdpSocketLink } from '../program-types/index.js';
import { ExecutionContext, loadObject, type LoadedObject } from '../runtime/index.js';
import { startDnsClient, type DnsClient } from './dns-client.js';
import type { Engine } from '../vm/jit/engine.js';
import { startDnsServer, type DnsServer } from './dns-server.js';

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
  readonly examples: string;
  /** How droppacket runs. */
  readonly engine: Engine;
  /** Prints what happens as it happens (false with --json). */
  readonly live: boolean;
  readonly out: (s: string) => void;
  /** Shows the program's disassembly and verification first. */
  readonly explain?: (object: ObjectSpec, out: (s: string) => void) => void;
  /** Tries to load the unsafe variant; returns what the verifier said, or why it could not. */
  readonly tryUnsafe?: (path: string) => { refused: boolean; report: string };
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

function dropCounter(object: LoadedObject): () => bigint {
  const map = object.map('dropped_packet_map');
  const key = new Uint8Array(4);
  return () => {
    const v = map.lookup(key);
    return v === undefined ? 0n : new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0, true);
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { out } = options;
  const say = (s: string): void => {
    if (options.live) out(s);
  };
  const notes: string[] = [];
  const droppacketPath = join(options.examples, 'droppacket.o');
  const spec = openObject(new Uint8Array(readFileSync(droppacketPath)), { path: droppacketPath });
  if (options.live) options.explain?.(spec, out);

  const server: DnsServer = await startDnsServer({ port: options.port });
  let client: DnsClient | undefined;
  const flooders: ChildProcess[] = [];
  let link: XdpSocketLink | undefined;
  const seconds: Second[] = [];
  let interrupted = false;
  let floodSent = 0;
  try {
    say(`\nDNS server on 127.0.0.1:${server.port}; ${options.flooders} flooder process(es) sending ${options.rate.toLocaleString('en-US')} zero-length datagrams/s; a client asking ${options.queryRate} queries/s.\n`);
    for (let i = 0; i < options.flooders; i++) {
      const child = fork(FLOODER, [String(server.port), String(options.rate / options.flooders)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      child.on('message', (m: { sent?: number }) => {
        if (typeof m.sent === 'number') floodSent += m.sent;
      });
      flooders.push(child);
    }
    client = await startDnsClient({ port: server.port, rate: options.queryRate });

    // A fresh execution context: the program and its map live there.
    const context = new ExecutionContext();
    let object: LoadedObject | undefined;
    let dropped = (): bigint => 0n;

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
        object = loadObject(spec, context, { engine: options.engine });
        link = attachXdpToSocket(object.program('xdp'), server.socket);
        dropped = dropCounter(object);
        last = { ...last, dropped: dropped() };
        say(`  -- loaded ${droppacketPath} and attached ${link.program.name} to the server's socket (engine ${link.program.engine})\n`);
      } else if (phase === 'unprotected-again' && link !== undefined) {
        link.detach();
        say(`  -- detached ${link.program.name}: the flood reaches the server again\n`);
      }
      for (let s = 0; s < options.phaseSeconds && !interrupted; s++) {
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 1000)), stopped]);
        if (interrupted) break;
        t++;
        const window = client.takeWindow();
        const latencies = [...window.latencies].sort((a, b) => a - b);
        const droppedNow = dropped();
        const second: Second = {
          phase,
          floodSent,
          reachedServer: server.stats.received - last.received,
          droppedByXdp: Number(droppedNow - last.dropped),
          dnsSent: window.sent,
          dnsAnswered: window.answered,
          latencyP50Ms: percentile(latencies, 50),
          latencyP99Ms: percentile(latencies, 99),
        };
        floodSent = 0;
        last = { received: server.stats.received, dropped: droppedNow };
        seconds.push(second);
        say(`  ${String(t).padStart(4)}  ${phase.padEnd(18)}  ${String(second.floodSent).padStart(12)}  ${String(second.reachedServer).padStart(16)}  ${String(second.droppedByXdp).padStart(16)}  ${String(second.dnsAnswered).padStart(13)}  ${fmt(second.latencyP50Ms)} / ${fmt(second.latencyP99Ms)}\n`);
      }
    }
  } finally {
    link?.detach();
    for (const child of flooders) child.kill();
    client?.close();
    await server.close();
  }

  let unsafe: DemoSummary['unsafe'];
  if (!interrupted && options.tryUnsafe !== undefined) {
    unsafe = options.tryUnsafe(join(options.examples, 'droppacket_unsafe.o'));
    say(`\n${unsafe.report}\n`);
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
  return { port: server.port, targetRate: options.rate, phases, seconds, unsafe, notes, interrupted };
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
