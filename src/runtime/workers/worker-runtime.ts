// What a pool worker builds from its WorkerInit: an execution-context-like host over the shared
// memory and the attached maps, every program of the context prepared with this thread's helper
// closures, and one interpreter (its own stack frames, in this thread's arena) for the entry
// program on this worker's CPU, on the engine the pool asked for (the interpreter, or the JIT:
// its module imports the same shared memory). Kept apart from the worker entry so it can run in
// any thread.
//
// Helpers that would reach the main thread are local instead: bpf_printk lines are buffered per
// run and returned with the result; bpf_ktime_get_ns reads this thread's monotonic clock (the
// same clock as the main thread's in Node); bpf_get_prandom_u32 uses this thread's Math.random.

import { buildHelperRegistry, monotonicNanoseconds, type HelperHost, type TraceRecord } from '../../helpers/index.js';
import { ProgArrayMap, type BpfMap } from '../../maps/index.js';
import { builtinProgramTypes, type ProgramType } from '../../program-types/index.js';
import { createEngine, type ProgramRunner } from '../../vm/jit/engine.js';
import { prepareProgram, type PreparedProgram } from '../../vm/program.js';
import type { LinearMemory } from '../../vm/memory.js';
import type { ProgramImage, RunReply, RunRequest, WorkerInit } from './protocol.js';
import { attachMaps } from './shared-maps.js';
import { tailCallFailureFor } from '../tail-calls.js';

export class WorkerRuntime {
  readonly memory: LinearMemory;
  readonly cpu: number;
  private readonly prepared = new Map<number, PreparedProgram>();
  private readonly runner: ProgramRunner;
  private readonly type: ProgramType;
  private readonly image: ProgramImage;
  private readonly traceLines: TraceRecord[] = [];
  private traceDropped = 0;
  private readonly barrier: Int32Array;

  constructor(private readonly init: WorkerInit) {
    const ids = new Set(init.programs.map((p) => p.id));
    const { memory, maps } = attachMaps(init.shared, { programExists: (id) => ids.has(id) });
    this.memory = memory;
    this.cpu = init.cpu;
    this.barrier = new Int32Array(init.barrier);
    // Copies handed to programs by bpf_map_lookup_and_delete_elem: this thread's own.
    const scratch = new Map<number, number>();
    for (const map of maps) scratch.set(map.id, memory.alloc(Math.max(map.spec.valueSize, 8), 8));
    const pid = BigInt(process.pid);
    const host: HelperHost = {
      memory,
      maps,
      trace: (record) => this.addTrace(record),
      now: monotonicNanoseconds,
      random: () => Math.floor(Math.random() * 0x100000000),
      pidTgid: (pid << 32n) | pid,
      scratchFor: (map: BpfMap) => scratch.get(map.id),
      socket: { cookie: 0n, pidTgid: 0n },
      redirect: { ifindex: 0 },
    };
    const types = builtinProgramTypes();
    for (const image of init.programs) {
      const type = types.get(image.type);
      const helpers = buildHelperRegistry(host, image.abi, type.name, type.helpers?.(host) ?? []);
      this.prepared.set(image.id, prepareProgram(image.code, { helpers }));
    }
    const image = init.programs.find((p) => p.id === init.entry);
    const entry = this.prepared.get(init.entry);
    if (image === undefined || entry === undefined) throw new Error(`program ${init.entry} is not among the programs sent to the worker`);
    this.image = image;
    this.type = types.get(image.type);
    const resolveTailCall = (mapAddress: number, index: number): PreparedProgram | undefined => {
      const map = maps.byAddress(mapAddress);
      if (!(map instanceof ProgArrayMap)) return undefined;
      const id = map.programAt(index);
      return id === undefined ? undefined : this.prepared.get(id);
    };
    this.runner = createEngine(init.engine, entry, { memory, cpu: init.cpu, instructionLimit: init.instructionLimit, resolveTailCall, tailCallFailure: tailCallFailureFor(image.abi) });
    // Compile now (JIT), not during the first timed run.
    (this.runner as { compile?: () => void }).compile?.();
  }

  private addTrace(record: TraceRecord): void {
    if (this.traceLines.length < this.init.traceCapacity) this.traceLines.push(record);
    else this.traceDropped++;
  }

  /** Waits until `parties` threads have arrived for this round, so runs overlap. */
  private arrive(parties: number, round: number): void {
    const target = parties * round;
    const arrived = Atomics.add(this.barrier, 0, 1) + 1;
    if (arrived >= target) {
      Atomics.notify(this.barrier, 0);
      return;
    }
    for (let seen = arrived; seen < target; seen = Atomics.load(this.barrier, 0)) Atomics.wait(this.barrier, 0, seen, 100);
  }

  run(request: RunRequest): RunReply {
    // First, so that a run failing below never leaves the other threads waiting.
    this.arrive(request.parties, request.round);
    if (!(Number.isInteger(request.iterations) && request.iterations >= 1)) throw new RangeError(`iterations must be a positive integer, got ${request.iterations}`);
    this.traceLines.length = 0;
    this.traceDropped = 0;
    const memory = this.memory;
    const mark = memory.mark();
    try {
      const run = this.type.prepareRun({ data: request.data, ctx: request.ctx }, memory, this.image.abi);
      const args = { r1: run.r1, r2: run.r2 ?? 0, packet: run.packet };
      const vm = this.runner;
      let returnValue = 0n;
      const start = monotonicNanoseconds();
      for (let i = 0; i < request.iterations; i++) returnValue = vm.run(args);
      const durationNs = Number(monotonicNanoseconds() - start);
      const out = run.collect();
      return {
        kind: 'result',
        cpu: this.cpu,
        returnValue,
        iterations: request.iterations,
        durationNs,
        instructions: vm.instructionsExecuted,
        data: out.data,
        ctx: out.ctx,
        trace: this.traceLines.slice(),
        traceDropped: this.traceDropped,
      };
    } finally {
      memory.release(mark);
    }
  }
}
