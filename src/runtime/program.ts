// A program loaded into an execution context: prepared for the interpreter, with an id, and able
// to do test runs (BPF_PROG_TEST_RUN / `bpftool prog run` without a kernel).
import type { Abi, ProgramSpec } from '../elf/spec.js';
import type { ProgramType } from '../program-types/types.js';
import { Interpreter, type TraceEvent } from '../vm/interpreter.js';
import type { PreparedProgram } from '../vm/program.js';
import type { ExecutionContext } from './context.js';

export type EngineName = 'interpreter';

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
  /** Instructions executed by the last run. */
  readonly instructions: number;
}

export class LoadedProgram {
  readonly engine: EngineName = 'interpreter';
  private readonly interpreters = new Map<string, Interpreter>();

  constructor(
    readonly id: number,
    readonly spec: ProgramSpec,
    readonly abi: Abi,
    readonly programType: ProgramType,
    readonly prepared: PreparedProgram,
    readonly context: ExecutionContext,
    private readonly resolveTailCall: (mapAddress: number, index: number) => PreparedProgram | undefined,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get section(): string {
    return this.spec.section;
  }

  get type(): string {
    return this.programType.name;
  }

  /** An interpreter for this program on this CPU (its stack frames are allocated once). */
  interpreter(cpu = 0, trace?: (event: TraceEvent) => void): Interpreter {
    const key = trace === undefined ? String(cpu) : `${cpu}:trace`;
    let vm = this.interpreters.get(key);
    if (vm === undefined) {
      vm = new Interpreter(this.prepared, { memory: this.context.memory, cpu, trace, resolveTailCall: this.resolveTailCall });
      if (trace === undefined) this.interpreters.set(key, vm);
    }
    return vm;
  }

  testRun(options: TestRunOptions = {}): TestRunResult {
    const repeat = options.repeat ?? 1;
    if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`repeat must be a positive integer, got ${repeat}`);
    const cpu = options.cpu ?? 0;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.context.cpus) {
      throw new RangeError(`cpu ${cpu} does not exist (the context has ${this.context.cpus})`);
    }
    const vm = this.interpreter(cpu, options.trace);
    const memory = this.context.memory;
    const mark = memory.mark();
    try {
      const run = this.programType.prepareRun({ data: options.data, ctx: options.ctx }, memory, this.abi);
      const args = { r1: run.r1, r2: run.r2 ?? 0, packet: run.packet };
      let returnValue = 0n;
      const start = performance.now();
      for (let i = 0; i < repeat; i++) returnValue = vm.run(args);
      const durationNs = ((performance.now() - start) * 1e6) / repeat;
      const out = run.collect();
      return {
        returnValue,
        returnName: this.programType.returnName?.(returnValue, this.abi),
        data: out.data,
        ctx: out.ctx,
        durationNs,
        instructions: vm.instructionsExecuted,
      };
    } finally {
      memory.release(mark);
    }
  }
}
