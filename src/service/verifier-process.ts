// Verification in a process of its own (DESIGN.md, "Service and security model"): each request
// forks a fresh verifier-child.js with a V8 heap limit, a CPU-time limit (prlimit, on Linux) and a
// wall-time limit (a timer here). A fresh process per request means no state, leak or corruption
// carries from one object to the next. Whatever the child does (crash, hang, run out of memory, get
// killed, answer nonsense) resolves a refusal: only a well-formed report that says ok accepts.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VerificationReport } from '../verifier/index.js';
import type { ChildVerdict } from './verifier-child.js';

export interface VerifyRequest {
  /** ELF bytes. */
  readonly object: Uint8Array;
  /** For messages. */
  readonly path?: string;
  /** Function or section name; the object's only program when absent. */
  readonly program?: string;
  /** Verify as this program type instead of the program's own. */
  readonly programType?: string;
  readonly abi?: 'linux' | 'efw';
  readonly allowPointerLeaks?: boolean;
}

export interface VerifierLimits {
  /** V8 heap limit of the child in MB (default 512). */
  readonly memoryMb?: number;
  /** Default 60. */
  readonly wallSeconds?: number;
  /** Default = wallSeconds; whole seconds (rounded up), enforced where prlimit exists. */
  readonly cpuSeconds?: number;
}

export type VerifierFailure = 'crashed' | 'out-of-memory' | 'killed' | 'timeout' | 'cpu-limit' | 'bad-object';

/**
 * `ms` is, for the verifier's verdicts, the child's time to open, select and verify; for process
 * failures, the time from fork to the child's end.
 */
export type VerifyVerdict =
  | { readonly ok: true; readonly program: string; readonly section: string; readonly type: string; readonly report: VerificationReport; readonly text: string; readonly ms: number }
  | { readonly ok: false; readonly refusedBy: 'verifier'; readonly program: string; readonly section: string; readonly type: string; readonly report: VerificationReport; readonly text: string; readonly ms: number }
  | { readonly ok: false; readonly refusedBy: 'process'; readonly failure: VerifierFailure; readonly message: string; readonly ms: number };

export interface VerifierHooks {
  /** Called once the child exists (tests kill it through this). */
  onSpawn?(pid: number): void;
}

const CHILD = fileURLToPath(new URL('./verifier-child.js', import.meta.url));
const DEFAULT_MEMORY_MB = 512;
const DEFAULT_WALL_SECONDS = 60;
/** Enough of stderr to quote the reason for a crash; the rest is stack. */
const STDERR_TAIL = 2048;
/** Signals a process raises against itself when it faults: a crash, not a kill from outside. */
const FAULT_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT', 'SIGTRAP', 'SIGSYS']);

let prlimitPath: string | null | undefined;
/** prlimit(1), found once: it sets the child's RLIMIT_CPU before node starts. */
function findPrlimit(): string | undefined {
  if (prlimitPath === undefined) {
    prlimitPath = null;
    if (process.platform === 'linux') {
      const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin', '/bin'];
      for (const d of dirs) {
        try {
          accessSync(join(d, 'prlimit'), constants.X_OK);
          prlimitPath = join(d, 'prlimit');
          break;
        } catch {
          // not here
        }
      }
    }
  }
  return prlimitPath ?? undefined;
}

interface Spawned {
  readonly child: ChildProcess;
  readonly memoryMb: number;
  readonly wallSeconds: number;
  /** Undefined when no CPU limit could be set (no prlimit). */
  readonly cpuSeconds: number | undefined;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`verifier limit ${name} must be a positive number; got ${v}`);
  return v;
}

function spawnChild(limits: VerifierLimits): Spawned {
  const memoryMb = Math.ceil(positive('memoryMb', limits.memoryMb, DEFAULT_MEMORY_MB));
  const wallSeconds = positive('wallSeconds', limits.wallSeconds, DEFAULT_WALL_SECONDS);
  const cpu = Math.ceil(positive('cpuSeconds', limits.cpuSeconds, wallSeconds));
  const nodeFlags = [`--max-old-space-size=${memoryMb}`];
  const prlimit = findPrlimit();
  // The child's flags are exactly these: none of the parent's (--inspect, --test…) nor NODE_OPTIONS.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const common: ForkOptions = { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env };
  if (prlimit === undefined) {
    return { child: fork(CHILD, [], { ...common, execArgv: nodeFlags }), memoryMb, wallSeconds, cpuSeconds: undefined };
  }
  // prlimit execs node in place (same pid, the IPC fd stays open). SIGXCPU at the soft limit
  // kills node (it has no handler); the hard limit a second later is SIGKILL, in case it did not.
  // No core files: a dump of a verifier's heap is large and of no use to the service.
  const execArgv = [`--cpu=${cpu}:${cpu + 1}`, '--core=0', '--', process.execPath, ...nodeFlags];
  return { child: fork(CHILD, [], { ...common, execPath: prlimit, execArgv }), memoryMb, wallSeconds, cpuSeconds: cpu };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The child's verdict if it is well-formed, else undefined (and then it accepts nothing). */
function wellFormed(m: unknown): ChildVerdict | undefined {
  if (!isRecord(m) || typeof m.ok !== 'boolean') return undefined;
  if (typeof m.program !== 'string' || typeof m.section !== 'string' || typeof m.type !== 'string' || typeof m.text !== 'string') return undefined;
  if (typeof m.ms !== 'number' || !Number.isFinite(m.ms)) return undefined;
  const r = m.report;
  if (!isRecord(r) || r.ok !== m.ok || typeof r.instructions !== 'number' || typeof r.statesVisited !== 'number') return undefined;
  if (m.ok ? r.errors !== undefined : !Array.isArray(r.errors) || r.errors.length === 0) return undefined;
  return m as unknown as ChildVerdict;
}

/** The last line of stderr that says something: not a stack frame, not node's version banner. */
const lastLine = (text: string): string => {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('at ') && !/^Node\.js v\d/.test(l));
  const line = lines[lines.length - 1] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
};

export function verifyInProcess(request: VerifyRequest, limits: VerifierLimits = {}, hooks: VerifierHooks = {}): Promise<VerifyVerdict> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1);
    const refuse = (failure: VerifierFailure, message: string): void =>
      finish({ ok: false, refusedBy: 'process', failure, message, ms: performance.now() - started });

    let spawned: Spawned;
    try {
      spawned = spawnChild(limits);
    } catch (e) {
      // Bad limits are the caller's mistake; a failed fork is this host's, and refuses.
      if (e instanceof RangeError) return reject(e);
      return resolve({ ok: false, refusedBy: 'process', failure: 'crashed', message: `the verifier process could not be started after 0.0 s: ${(e as Error).message}; the program is refused`, ms: performance.now() - started });
    }
    const { child } = spawned;

    let settled = false;
    let killedByUs = false;
    let stderr = '';
    let outOfMemory = false;
    const messages: unknown[] = [];
    const timer = setTimeout(() => {
      killedByUs = true;
      child.kill('SIGKILL');
    }, spawned.wallSeconds * 1000);

    function finish(verdict: VerifyVerdict): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(verdict);
    }

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      // Looked for in the joined text, so a message split across chunks is still seen.
      const joined = stderr + chunk;
      if (/heap out of memory|Reached heap limit/.test(joined)) outOfMemory = true;
      stderr = joined.slice(-STDERR_TAIL);
    });
    child.on('message', (m: unknown) => messages.push(m));
    child.on('error', (e) => {
      // Spawning failed (no pid): no exit will follow. Other errors (a send to a dead child) are
      // followed by its exit, which says what happened.
      if (child.pid === undefined) refuse('crashed', `the verifier process could not be started after ${seconds()} s: ${e.message}; the program is refused`);
    });
    child.once('exit', () => clearTimeout(timer));
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => finish(classify(code, signal)));

    function classify(code: number | null, signal: NodeJS.Signals | null): VerifyVerdict {
      const ms = performance.now() - started;
      const failed = (failure: VerifierFailure, what: string): VerifyVerdict =>
        ({ ok: false, refusedBy: 'process', failure, message: `the verifier process ${what}; the program is refused`, ms });
      if (killedByUs) return failed('timeout', `was stopped at its wall-time limit of ${spawned.wallSeconds} s after ${seconds()} s`);
      if (code === 0 && signal === null) {
        if (messages.length !== 1) return failed('crashed', `exited after ${seconds()} s with ${messages.length} replies instead of one verdict`);
        const reply = messages[0];
        if (isRecord(reply) && typeof reply.error === 'string' && Object.keys(reply).length === 1) {
          return { ok: false, refusedBy: 'process', failure: 'bad-object', message: reply.error.replace(/\s*\n\s*/g, ' '), ms };
        }
        const v = wellFormed(reply);
        if (v === undefined) return failed('crashed', `sent a malformed verdict after ${seconds()} s`);
        const common = { program: v.program, section: v.section, type: v.type, report: v.report, text: v.text, ms: v.ms };
        return v.ok ? { ok: true, ...common } : { ok: false, refusedBy: 'verifier', ...common };
      }
      // V8 prints "heap out of memory" and aborts (SIGABRT; 134 when a shell reports it).
      if (outOfMemory || code === 134) return failed('out-of-memory', `ran out of memory (V8 heap limit ${spawned.memoryMb} MB) after ${seconds()} s`);
      if (signal === 'SIGXCPU') return failed('cpu-limit', `used up its CPU-time limit of ${spawned.cpuSeconds ?? '?'} s after ${seconds()} s`);
      const detail = lastLine(stderr);
      if (signal !== null && FAULT_SIGNALS.has(signal)) return failed('crashed', `crashed with ${signal} after ${seconds()} s${detail === '' ? '' : ` (${detail})`}`);
      // A SIGKILL here is not ours, nor prlimit's hard CPU limit: node dies at the soft limit's SIGXCPU.
      if (signal !== null) return failed('killed', `was killed by ${signal} after ${seconds()} s`);
      return failed('crashed', `crashed (exit code ${code}) after ${seconds()} s${detail === '' ? '' : `: ${detail}`}`);
    }

    if (child.pid !== undefined) {
      try {
        hooks.onSpawn?.(child.pid);
      } catch (e) {
        // The caller's hook failed: stop the child and report the caller's error, not a verdict.
        killedByUs = true;
        child.kill('SIGKILL');
        settled = true;
        clearTimeout(timer);
        return reject(e);
      }
    }
    // Only the fields the child reads: a request cannot smuggle anything else into the sandbox.
    const message = {
      object: request.object, path: request.path, program: request.program, programType: request.programType,
      abi: request.abi, allowPointerLeaks: request.allowPointerLeaks,
    };
    try {
      // A failed send (the child already died) is reported by the child's exit.
      child.send(message, () => {});
    } catch (e) {
      // The request cannot be serialised: the caller's mistake.
      killedByUs = true;
      child.kill('SIGKILL');
      settled = true;
      clearTimeout(timer);
      reject(e);
    }
  });
}
