// Messages between a WorkerPool (main thread) and its workers (worker.ts).

import type { Abi } from '../../elf/spec.js';
import type { TraceRecord } from '../../helpers/host.js';
import type { Engine } from '../../vm/jit/engine.js';
import type { SharedMapsInit } from './shared-maps.js';

export interface ProgramImage {
  readonly id: number;
  /** The loaded code (map references already resolved to addresses), re-encoded. */
  readonly code: Uint8Array;
  readonly abi: Abi;
  /** Program type name; the worker uses the built-in type of that name (or a raw context). */
  readonly type: string;
}

export interface WorkerInit {
  readonly shared: SharedMapsInit;
  /** This worker's CPU id: per-CPU map values, bpf_get_smp_processor_id, its perf buffer. */
  readonly cpu: number;
  /** Every program of the context (tail calls find their targets by id). */
  readonly programs: readonly ProgramImage[];
  /** The program to run, and the engine to run it on. */
  readonly entry: number;
  readonly engine: Engine;
  readonly instructionLimit?: number;
  /** Most trace_printk lines a worker keeps per run. */
  readonly traceCapacity: number;
  /** A SharedArrayBuffer of one Int32 word: the start barrier of every run. */
  readonly barrier: SharedArrayBuffer;
}

export interface RunRequest {
  readonly kind: 'run';
  readonly data?: Uint8Array;
  readonly ctx?: Uint8Array;
  readonly iterations: number;
  /** Threads that must arrive at the barrier before any starts. */
  readonly parties: number;
  /** Barrier round: the barrier word reaches parties x round when everyone has arrived. */
  readonly round: number;
}

export interface RunReply {
  readonly kind: 'result';
  readonly cpu: number;
  readonly returnValue: bigint;
  readonly iterations: number;
  /** Nanoseconds the loop of runs took. */
  readonly durationNs: number;
  /** Instructions executed by the last run (interpreter only). */
  readonly instructions: number | undefined;
  readonly data?: Uint8Array;
  readonly ctx?: Uint8Array;
  readonly trace: readonly TraceRecord[];
  readonly traceDropped: number;
}

export interface ReadyReply {
  readonly kind: 'ready';
}

export interface ErrorReply {
  readonly kind: 'error';
  readonly name: string;
  readonly message: string;
}

export type WorkerReply = RunReply | ReadyReply | ErrorReply;
