// A program loaded into an execution context: prepared for the interpreter, with an id, and able
// to do test runs (BPF_PROG_TEST_RUN / `bpftool prog run` without a kernel).
import type { Abi, ProgramSpec } from '../elf/spec.js';
import type { ProgramType } from '../program-types/types.js';
import { Interpreter, type TraceEvent } from '../vm/interpreter.js';
import { createEngine, type Engine, type ProgramRunner } from '../vm/jit/engine.js';
import type { PreparedProgram } from '../vm/program.js';
import type { ExecutionContext } from './context.js';
import { tailCallFailureFor } from './tail-calls.js';

export type EngineName = Engine;

export interface TestRunOptions {
  /** Packet or other data the program sees. */
  readonly data?: Uint8Array;
  /** Context struct (bytes); fields the program type fills must be zero. */
  readonly ctx?: Uint8Array;
  /** Run this many times and report the mean duration (default 1). */
  readonly repeat?: number;
  /** CPU the run pretends to be on (per-CPU maps). */
  readonly cpu?: number;
  /** Per-instruction trace. */
  readonly trace?: (event: TraceEvent) => void;
}

export interface TestRunResult {
  /** r0, unsigned. */
  readonly returnValue: bigint;
  /** What the program type calls that value (XDP_DROP…), when it has a name. */
  readonly returnName?: string;
  /** The data as the program left it (for XDP: the frame between data and data_end). */
  readonly data?: Uint8Array;
  readonly ctx?: Uint8Array;
  /** Mean nanoseconds per run. */
  readonly durationNs: number;
  /** Instructions executed by the last run (the interpreter counts them; the JIT does not). */
  readonly instructions: number | undefined;
}

export class LoadedProgram {
  private readonly runners = new Map<number, ProgramRunner>();

  constructor(
    readonly id: number,
    readonly spec: ProgramSpec,
    readonly abi: Abi,
    readonly programType: ProgramType,
    readonly prepared: PreparedProgram,
    readonly context: ExecutionContext,
    private readonly resolveTailCall: (mapAddress: number, index: number) => PreparedProgram | undefined,
    /** How the program runs: compiled to WebAssembly (`jit`, the default) or interpreted. */
    readonly engine: EngineName = 'jit',
  ) {}

  /** The program's runner on this CPU, on its engine (stack frames and compiled code are made once). */
  runner(cpu = 0): ProgramRunner {
    let runner = this.runners.get(cpu);
    if (runner === undefined) {
      runner = createEngine(this.engine, this.prepared, {
        memory: this.context.memory,
        cpu,
        resolveTailCall: this.resolveTailCall,
        tailCallFailure: tailCallFailureFor(this.abi),
      });
      this.runners.set(cpu, runner);
    }
    return runner;
  }

  get name(): string {
    return this.spec.name;
  }

  get section(): string {
    return this.spec.section;
  }

  get type(): string {
    return this.programType.name;
  }

  /** A tracing interpreter for one run (a trace is always taken on the interpreter). */
  private tracingInterpreter(cpu: number, trace: (event: TraceEvent) => void): Interpreter {
    return new Interpreter(this.prepared, { memory: this.context.memory, cpu, trace, resolveTailCall: this.resolveTailCall, tailCallFailure: tailCallFailureFor(this.abi) });
  }

  testRun(options: TestRunOptions = {}): TestRunResult {
    const repeat = options.repeat ?? 1;
    if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`repeat must be a positive integer, got ${repeat}`);
    const cpu = options.cpu ?? 0;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.context.cpus) {
      throw new RangeError(`cpu ${cpu} does not exist (the context has ${this.context.cpus})`);
    }
    const memory = this.context.memory;
    // Runners are made before the mark: their stacks and compiled code outlive this run.
    const vm = options.trace === undefined ? this.runner(cpu) : undefined;
    const mark = memory.mark();
    try {
      const run = this.programType.prepareRun({ data: options.data, ctx: options.ctx }, memory, this.abi);
      const args = { r1: run.r1, r2: run.r2 ?? 0, packet: run.packet };
      const runner = vm ?? this.tracingInterpreter(cpu, options.trace as (event: TraceEvent) => void);
      // Compiling (JIT) is not running: keep it out of the timing.
      (runner as { compile?: () => void }).compile?.();
      let returnValue = 0n;
      const start = performance.now();
      for (let i = 0; i < repeat; i++) returnValue = runner.run(args);
      const durationNs = ((performance.now() - start) * 1e6) / repeat;
      const out = run.collect();
      return {
        returnValue,
        returnName: this.programType.returnName?.(returnValue, this.abi),
        data: out.data,
        ctx: out.ctx,
        durationNs,
        instructions: runner.instructionsExecuted,
      };
    } finally {
      memory.release(mark);
    }
  }
}
