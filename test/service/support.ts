// Real processes for the service's tests: a sandbox (a private temp dir with a short unique socket
// path and a state directory) that starts ebpfsvc daemons and other node children, runs the `ebpf`
// CLI as a child process, opens clients and raw sockets, and on cleanup kills every process it
// started (by pid), closes every client and removes the dir, even when a test failed. A process
// 'exit' handler does the same for sandboxes a crashed test file never cleaned up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceClient } from '../../src/service/client.js';
import { ServiceError, type LinkInfo, type MapInfo, type PinInfo, type ProgramInfo } from '../../src/service/protocol.js';
import { REPO_ROOT } from '../support/shared.js';

export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
export const DAEMON = join(REPO_ROOT, 'dist', 'src', 'service', 'daemon.js');
export const EXAMPLES = join(REPO_ROOT, 'examples');
export const example = (name: string): string => join(EXAMPLES, name);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process whose output is collected as it comes. */
export class Child {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private lineWaiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private seen = 0;

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    proc.stdout?.on('data', (s: string) => {
      this.stdout += s;
      this.checkLines();
    });
    proc.stderr?.on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => {
      proc.once('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
      proc.once('error', (e) => {
        this.stderr += String(e);
        resolve({ code: null, signal: null, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the next complete stdout line (after those already returned) that matches. */
  nextLine(match: (line: string) => boolean = () => true, timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters = this.lineWaiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching line from pid ${this.pid} within ${timeoutMs} ms; stdout: ${this.stdout.slice(-500)} stderr: ${this.stderr.slice(-1000)}`));
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.lineWaiters.push({ match, resolve: done });
      void this.exited.then(() => {
        this.checkLines();
        if (this.lineWaiters.some((w) => w.resolve === done)) {
          this.lineWaiters = this.lineWaiters.filter((w) => w.resolve !== done);
          clearTimeout(timer);
          reject(new Error(`pid ${this.pid} exited (code ${this.proc.exitCode}, signal ${this.proc.signalCode}) before the line; stderr: ${this.stderr.slice(-1000)}`));
        }
      });
      this.checkLines();
    });
  }

  private checkLines(): void {
    for (;;) {
      const end = this.stdout.indexOf('\n', this.seen);
      if (end < 0 || this.lineWaiters.length === 0) return;
      const line = this.stdout.slice(this.seen, end);
      this.seen = end + 1;
      const i = this.lineWaiters.findIndex((w) => w.match(line));
      if (i >= 0) this.lineWaiters.splice(i, 1)[0].resolve(line);
    }
  }

  /** Sends `signal` (by pid) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.running) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
    return this.exited;
  }
}

export interface Daemon extends Child {
  readonly endpoint: string;
  readonly stateDir: string;
}

const live = new Set<Sandbox>();
process.once('exit', () => {
  for (const s of live) s.cleanupSync();
});

export class Sandbox {
  readonly dir: string;
  /** Default endpoint and state directory of this sandbox. */
  readonly endpoint: string;
  readonly stateDir: string;
  private readonly children: Child[] = [];
  private readonly clients: ServiceClient[] = [];
  private readonly sockets: Socket[] = [];

  constructor() {
    // A short path: a Unix socket path must fit in 108 bytes.
    this.dir = mkdtempSync(join(tmpdir(), 'ebpfsvc-test-'));
    this.endpoint = join(this.dir, 'svc.sock');
    this.stateDir = join(this.dir, 'state');
    live.add(this);
  }

  /** The environment for CLI children: this sandbox's service, no inherited EBPF_TS_* settings. */
  env(where: { endpoint?: string; stateDir?: string } = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.EBPF_TS_ENDPOINT;
    delete env.EBPF_TS_STATE_DIR;
    return { ...env, EBPF_TS_ENDPOINT: where.endpoint ?? this.endpoint, EBPF_TS_STATE_DIR: where.stateDir ?? this.stateDir };
  }

  /** Spawns `node ARGS` as a tracked child (killed at cleanup). */
  spawnNode(args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdin?: boolean } = {}): Child {
    const p = spawn(process.execPath, args, { cwd: REPO_ROOT, env: options.env ?? this.env(), stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const child = new Child(p);
    this.children.push(child);
    return child;
  }

  /** Starts a daemon and waits for its "ready PID ENDPOINT" line. */
  async startDaemon(extra: readonly string[] = [], where: { endpoint?: string; stateDir?: string } = {}): Promise<Daemon> {
    const endpoint = where.endpoint ?? this.endpoint;
    const stateDir = where.stateDir ?? this.stateDir;
    const child = this.spawnNode([DAEMON, '--endpoint', endpoint, '--state-dir', stateDir, ...extra]);
    const line = await child.nextLine((l) => l.startsWith('ready '), 20_000);
    const [, pid, at] = line.split(' ');
    if (Number(pid) !== child.pid || at !== endpoint) throw new Error(`unexpected ready line '${line}' (pid ${child.pid}, endpoint ${endpoint})`);
    return Object.assign(child, { endpoint, stateDir });
  }

  /** Spawns a daemon that is expected to fail; resolves with its exit. */
  async failingDaemon(where: { endpoint?: string; stateDir?: string }): Promise<Exit> {
    const child = this.spawnNode([DAEMON, '--endpoint', where.endpoint ?? this.endpoint, '--state-dir', where.stateDir ?? this.stateDir]);
    const timer = setTimeout(() => void child.kill(), 20_000);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `ebpf ARGS` against this sandbox's service; resolves with its exit code and output. */
  async cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Exit> {
    const child = this.spawnNode([CLI, ...args], { env: options.env });
    const timer = setTimeout(() => void child.kill(), options.timeoutMs ?? 30_000);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the CLI and fails (with its output) unless it exits 0. */
  async cliOk(...args: string[]): Promise<string> {
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`ebpf ${args.join(' ')} exited ${r.code ?? r.signal}:\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  async client(role: 'reader' | 'admin', options: { token?: string; endpoint?: string; stateDir?: string } = {}): Promise<ServiceClient> {
    const c = await ServiceClient.connect({ endpoint: options.endpoint ?? this.endpoint, stateDir: options.stateDir ?? this.stateDir, role, token: options.token, client: `test-${role}`, timeoutMs: 30_000 });
    this.clients.push(c);
    return c;
  }

  async raw(endpoint = this.endpoint): Promise<RawConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(endpoint);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
    this.sockets.push(socket);
    return new RawConnection(socket);
  }

  /** The service's log (JSON lines) in this sandbox's state directory. */
  readLog(stateDir = this.stateDir): string {
    try {
      return readFileSync(join(stateDir, 'service.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills every child this sandbox started, closes its clients and removes its dir. */
  async cleanup(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.children.map((c) => c.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  cleanupSync(): void {
    for (const c of this.children) {
      if (!c.running) continue;
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

// ---- the wire, byte by byte ----

export interface Reply {
  readonly kind: 'reply';
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { code: string; message: string };
}

/** A frame: 4-byte big-endian length and the body (JSON of a value, a string as is, or bytes). */
export function frame(body: unknown): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([head, bytes]);
}

/** A client socket that speaks the framing by hand, to send what ServiceClient never would. */
export class RawConnection {
  private buffered = Buffer.alloc(0);
  private readonly replies: Reply[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;
  private nextId = 1;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const length = this.buffered.readUInt32BE(0);
        if (this.buffered.length < 4 + length) break;
        this.replies.push(JSON.parse(this.buffered.subarray(4, 4 + length).toString('utf8')) as Reply);
        this.buffered = this.buffered.subarray(4 + length);
      }
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next reply, in the order they came. */
  async next(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.ended) throw new Error('the service closed the connection without a reply');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.replies.shift() as Reply;
  }

  /** Any replies already here (for checking that nothing came). */
  get pending(): number {
    return this.replies.length;
  }

  /** Sends one well-formed request envelope and returns its reply. */
  async request(op: string, args: unknown, id = this.nextId++): Promise<Reply> {
    this.write(frame({ kind: 'request', id, op, args }));
    return this.next();
  }

  async hello(role: 'reader' | 'admin' = 'reader', token?: string): Promise<Reply> {
    return this.request('hello', { version: 1, role, ...(token === undefined ? {} : { token }) });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The ServiceError code of a rejected request (fails when it did not reject with one). */
export async function errorCode(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServiceError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('the request succeeded; expected an error reply');
}

/** Polls `check` until it returns a value other than undefined. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Little-endian u32 key and u64 value as the protocol's lowercase hex. */
export const u32hex = (n: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b.toString('hex');
};
export const u64hex = (n: number | bigint): string => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n), 0);
  return b.toString('hex');
};
export const hexU64 = (hex: string): bigint => Buffer.from(hex, 'hex').readBigUInt64LE(0);

/** "Loaded with ID N" from `ebpf add program`. */
export function loadedId(stdout: string): number {
  const m = /^Loaded with ID (\d+)$/m.exec(stdout);
  if (m === null) throw new Error(`no 'Loaded with ID N' in: ${stdout}`);
  return Number(m[1]);
}

/** Everything a client can see of the service's state, maps' contents included. */
export async function snapshot(c: ServiceClient): Promise<unknown> {
  const programs = ((await c.request('program.list', {})) as { programs: ProgramInfo[] }).programs;
  const maps = ((await c.request('map.list', {})) as { maps: MapInfo[] }).maps;
  const contents = await Promise.all(maps.map((m) => c.request('map.dump', { map: m.id })));
  const links = ((await c.request('link.list', {})) as { links: LinkInfo[] }).links;
  const pins = ((await c.request('pin.list', {})) as { pins: PinInfo[] }).pins;
  const points = await c.request('attach-point.list', {});
  const status = (await c.request('service.status', {})) as Record<string, unknown>;
  return { programs, maps, contents, links, pins, points, counts: [status.programs, status.maps, status.links, status.pins], hosts: status.hosts };
}
