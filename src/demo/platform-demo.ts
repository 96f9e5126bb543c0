// The demo through the platform (npm start): a private ebpfsvc; the DNS server in its own process,
// a hook host offering its socket as the XDP attach point dns0; and the `ebpf` CLI run as separate
// processes to verify, add, show, dump and delete droppacket, as a user would type it.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceClient } from '../service/client.js';
import type { MapInfo, ProgramInfo } from '../service/protocol.js';
import type { DemoProtection, DemoServer } from './demo.js';
import type { DnsServerStats } from './dns-server.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const DAEMON = join(here, '..', 'service', 'daemon.js');
const CLI = join(here, '..', 'cli', 'main.js');
const DNS_HOST = join(here, 'dns-host.js');
const ATTACH_POINT = 'dns0';

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface PlatformDemoOptions {
  /** Folder of droppacket.o and droppacket_unsafe.o. */
  readonly examples: string;
  readonly execution: 'jit' | 'interpret';
}

/** Starts a private service; everything it starts ends with close(). */
export async function platformProtection(options: PlatformDemoOptions): Promise<DemoProtection> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-ts-demo-'));
  const env = { ...process.env, EBPF_TS_ENDPOINT: join(dir, 'ebpfsvc.sock'), EBPF_TS_STATE_DIR: join(dir, 'state') };
  const children: ChildProcess[] = [];
  const show = (p: string): string => relative(process.cwd(), p) || p;
  const droppacket = join(options.examples, 'droppacket.o');

  /** Runs `ebpf ARGS` as a user would, printing the command and what it printed. */
  const ebpf = (args: string[], say: (s: string) => void): Promise<CliResult> =>
    new Promise((resolve) => {
      say(`\n$ ebpf ${args.join(' ')}\n`);
      const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => {
        const text = (stdout + stderr).replace(/^\n/, '').trimEnd();
        if (text !== '') say(`${text.replace(/^/gm, '  ')}\n`);
        resolve({ status, stdout, stderr });
      });
    });

  /** The first message of `child` that `pick` makes something of (an Error rejects). */
  const waitFor = <T>(child: ChildProcess, pick: (m: unknown) => T | Error | undefined, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const done = (): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (m: unknown): void => {
        const v = pick(m);
        if (v === undefined) return;
        done();
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      const onExit = (code: number | null): void => {
        done();
        reject(new Error(`${what} exited (code ${code}) before it answered`));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });

  // The service, in the background as `ebpf service start` would run it: in a process group of its
  // own, so that Ctrl-C reaches the demo, which then stops everything in order.
  const service = spawn(process.execPath, [DAEMON], { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(service);
  await new Promise<void>((resolve, reject) => {
    let text = '';
    service.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('ready ')) resolve();
    });
    service.once('exit', (code) => reject(new Error(`the service exited (code ${code}) before it was ready`)));
  });
  const client = await ServiceClient.connect({ endpoint: env.EBPF_TS_ENDPOINT, stateDir: env.EBPF_TS_STATE_DIR, client: 'demo' });

  let programId: number | undefined;
  let mapId: number | undefined;
  const key = '00000000';

  return {
    async startServer(port: number): Promise<DemoServer> {
      const host = fork(DNS_HOST, [String(port), ATTACH_POINT], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(host);
      const ready = await waitFor(host, (m) => {
        const r = m as { ready?: boolean; port?: number; error?: string };
        if (r.error !== undefined) return new Error(`the DNS server could not start: ${r.error}`);
        return r.ready === true ? (r.port as number) : undefined;
      }, 'the DNS server');
      return {
        port: ready,
        stats: () => {
          const reply = waitFor(host, (m) => (m as { stats?: DnsServerStats }).stats, 'the DNS server');
          host.send('stats');
          return reply;
        },
        close: () => {
          host.disconnect();
          return new Promise((resolve) => (host.exitCode !== null ? resolve() : host.once('exit', () => resolve())));
        },
      };
    },
    async explain(say) {
      await ebpf(['show', 'verification', show(droppacket), 'xdp'], say);
    },
    async protect(say) {
      say('  -- the flood is on; protecting the server through the service:\n');
      const added = await ebpf(['add', 'program', show(droppacket), 'xdp', `interface=${ATTACH_POINT}`, `execution=${options.execution}`], say);
      const id = /Loaded with ID (\d+)/.exec(added.stdout)?.[1];
      if (added.status !== 0 || id === undefined) throw new Error(`ebpf add program failed: ${added.stderr.trim()}`);
      programId = Number(id);
      await ebpf(['show', 'programs'], say);
      const program = ((await client.request('program.list', { id: programId })) as { programs: ProgramInfo[] }).programs[0];
      const maps = ((await client.request('map.list', {})) as { maps: MapInfo[] }).maps;
      mapId = maps.find((m) => program.maps.includes(m.id) && m.name === 'dropped_packet_map')?.id;
      if (mapId === undefined) throw new Error('droppacket has no dropped_packet_map');
      const map = mapId;
      say('\n');
      return async () => {
        const r = (await client.request('map.lookup', { map, key })) as { value: string };
        return Buffer.from(r.value, 'hex').readBigUInt64LE(0);
      };
    },
    async unprotect(say) {
      if (mapId !== undefined) await ebpf(['map', 'dump', String(mapId)], say);
      if (programId !== undefined) await ebpf(['delete', 'program', String(programId)], say);
      say('  -- the flood reaches the server again\n\n');
      programId = undefined;
    },
    async tryUnsafe() {
      let report = '';
      const r = await ebpf(['add', 'program', show(join(options.examples, 'droppacket_unsafe.o')), 'xdp', `interface=${ATTACH_POINT}`], (s) => (report += s));
      return { refused: r.status !== 0 && /refused by the verifier/.test(r.stderr), report: `${report.trim()}\n  # the same program without its UDP bounds check: refused, nothing loaded` };
    },
    async close() {
      client.close();
      for (const child of children.reverse()) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              child.kill('SIGKILL');
              resolve();
            }, 3000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
