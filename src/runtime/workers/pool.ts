// Runs one loaded program in several worker threads at once, on the same maps (DESIGN.md, "Memory
// model": the execution context's linear memory is a shared WebAssembly.Memory).
//
//   const pool = await WorkerPool.start(program, { threads: 2 });
//   const result = await pool.run({ data, iterationsPerThread: 100_000 });
//   await pool.close();
//
// Worker i runs as CPU i (per-CPU map values, bpf_get_smp_processor_id, its own perf buffer), so
// the context must have at least `threads` CPUs. Each worker gets:
// - the shared memory and an arena in it, carved here from the context's allocator, where it
//   allocates its interpreter stack frames, each run's packet and context, and user-space
//   scratch (no allocator is shared between threads);
// - the map descriptors, to rebuild the same maps (MapRegistry.attach; same ids and addresses);
// - every program of the context as loaded code bytes (map addresses already resolved), its ABI
//   and program type name, rebuilt with prepareProgram over the worker's own helper closures, and
//   run on the program's engine (or options.engine): the interpreter, or the JIT, whose module
//   imports the same shared memory.
// Program types are the built-in ones (a type registered only in the main thread's context runs
// with a raw context in workers). bpf_printk lines are buffered per worker and returned with
// each run's result (they are not added to the context's trace). Runs in the threads start
// together (a barrier in shared memory), so they really contend for the maps.

import { Worker } from 'node:worker_threads';
import { encode } from '../../isa/index.js';
import type { TraceRecord } from '../../helpers/host.js';
import type { Engine } from '../../vm/jit/engine.js';
import type { LoadedProgram } from '../program.js';
import type { ProgramImage, RunReply, WorkerInit, WorkerReply } from './protocol.js';
import { DEFAULT_ARENA_BYTES, releaseShares, shareMaps, type SharedMapsInit } from './shared-maps.js';

export interface WorkerPoolOptions {
  /** Worker threads (default 2); at most the context's CPU count. */
  readonly threads?: number;
  /** Bytes of each worker's arena in linear memory (default 1 MiB): stacks, packet, context, scratch. */
  readonly arenaBytes?: number;
  /** Per-run instruction limit in the workers (the interpreter's default otherwise). */
  readonly instructionLimit?: number;
  /** Most bpf_printk lines kept per worker and run (default 1000). */
  readonly traceCapacity?: number;
  /** Engine in the workers (default: the loaded program's). */
  readonly engine?: Engine;
}

export interface PoolRunOptions {
  /** Packet or other data each run sees (each thread has its own copy). */
  readonly data?: Uint8Array;
  /** Context struct bytes, as for testRun. */
  readonly ctx?: Uint8Array;
  /** Runs per thread (default 1). */
  readonly iterationsPerThread?: number;
}

export interface ThreadRunResult {
  /** The worker's CPU id (its index in the pool). */
  readonly cpu: number;
  /** r0 of the last run, unsigned. */
  readonly returnValue: bigint;
  readonly returnName?: string;
  readonly iterations: number;
  /** Nanoseconds the thread's loop of runs took. */
  readonly durationNs: number;
  /** Instructions executed by the last run (the interpreter counts them, the JIT does not). */
  readonly instructions: number | undefined;
  readonly data?: Uint8Array;
  readonly ctx?: Uint8Array;
  /** bpf_printk output of this thread's runs (at most traceCapacity lines). */
  readonly trace: readonly TraceRecord[];
  readonly traceDropped: number;
}

export interface PoolRunResult {
  readonly threads: readonly ThreadRunResult[];
  /** Wall-clock nanoseconds from sending the requests to the last result. */
  readonly wallNs: number;
  /** All threads' runs divided by the wall-clock time. */
  readonly runsPerSecond: number;
}

export class WorkerPoolError extends Error {
  override readonly name = 'WorkerPoolError';
}

interface Slot {
  readonly worker: Worker;
  /** Resolves the pending request, if any. */
  pending?: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };
}

export class WorkerPool {
  private closed = false;
  private busy = false;
  private round = 0;

  private constructor(
    readonly program: LoadedProgram,
    private readonly slots: readonly Slot[],
    private readonly shares: readonly SharedMapsInit[],
  ) {}

  get threads(): number {
    return this.slots.length;
  }

  /** Starts the workers and waits until each has rebuilt the maps and programs. */
  static async start(program: LoadedProgram, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const context = program.context;
    const threads = options.threads ?? 2;
    if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    if (threads > context.cpus) {
      throw new RangeError(`${threads} threads need ${threads} CPUs, the context has ${context.cpus} (create it with { cpus: ${threads} })`);
    }
    const programs: ProgramImage[] = [...context.programs].map((p) => ({ id: p.id, code: encode(p.prepared.instructions), abi: p.abi, type: p.programType.name }));
    const barrier = new SharedArrayBuffer(4);
    const shares: SharedMapsInit[] = [];
    for (let cpu = 0; cpu < threads; cpu++) shares.push(shareMaps(context.maps, options.arenaBytes ?? DEFAULT_ARENA_BYTES));
    const slots: Slot[] = shares.map((shared, cpu) => {
      const init: WorkerInit = {
        shared,
        cpu,
        programs,
        entry: program.id,
        engine: options.engine ?? program.engine,
        instructionLimit: options.instructionLimit,
        traceCapacity: options.traceCapacity ?? 1000,
        barrier,
      };
      const slot: Slot = { worker: new Worker(new URL('./worker.js', import.meta.url), { workerData: init }) };
      slot.worker.on('message', (reply: WorkerReply) => {
        const pending = slot.pending;
        slot.pending = undefined;
        pending?.resolve(reply);
      });
      slot.worker.on('error', (error) => {
        const pending = slot.pending;
        slot.pending = undefined;
        pending?.reject(error);
      });
      slot.worker.on('exit', (code) => {
        const pending = slot.pending;
        slot.pending = undefined;
        pending?.reject(new WorkerPoolError(`worker for CPU ${cpu} exited with code ${code}`));
      });
      return slot;
    });
    const pool = new WorkerPool(program, slots, shares);
    try {
      const replies = await Promise.all(slots.map((slot) => pool.expect(slot)));
      for (const reply of replies) if (reply.kind === 'error') throw new WorkerPoolError(`a worker could not start: ${reply.name}: ${reply.message}`);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private expect(slot: Slot): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      slot.pending = { resolve, reject };
    });
  }

  /** Runs the program `iterationsPerThread` times in every thread at once. */
  async run(options: PoolRunOptions = {}): Promise<PoolRunResult> {
    if (this.closed) throw new WorkerPoolError('the pool is closed');
    if (this.busy) throw new WorkerPoolError('a run is already in progress');
    const iterations = options.iterationsPerThread ?? 1;
    if (!(Number.isInteger(iterations) && iterations >= 1)) throw new RangeError(`iterationsPerThread must be a positive integer, got ${iterations}`);
    this.busy = true;
    try {
      const round = ++this.round;
      const start = performance.now();
      const replies = await Promise.all(
        this.slots.map((slot) => {
          const reply = this.expect(slot);
          slot.worker.postMessage({ kind: 'run', data: options.data, ctx: options.ctx, iterations, parties: this.slots.length, round });
          return reply;
        }),
      );
      const wallNs = (performance.now() - start) * 1e6;
      const threads = replies.map((reply) => {
        if (reply.kind !== 'result') throw new WorkerPoolError(reply.kind === 'error' ? `run failed in a worker: ${reply.name}: ${reply.message}` : `unexpected ${reply.kind} reply`);
        return this.describe(reply);
      });
      return { threads, wallNs, runsPerSecond: (iterations * threads.length) / (wallNs / 1e9) };
    } finally {
      this.busy = false;
    }
  }

  private describe(reply: RunReply): ThreadRunResult {
    const { kind: _kind, ...rest } = reply;
    const returnName = this.program.programType.returnName?.(reply.returnValue, this.program.abi);
    return returnName === undefined ? rest : { ...rest, returnName };
  }

  /** Stops the workers and gives their arenas back to the context when nothing was allocated after them. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
    releaseShares(this.program.context.memory, this.shares);
  }
}
