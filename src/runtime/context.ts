// An execution context (DESIGN.md): one linear memory, the maps and programs living in it, and the
// helper host they share. Everything a program can point at is in `memory`.
import { MapRegistry, type BpfMap } from '../maps/index.js';
import { monotonicNanoseconds, type HelperHost, type TraceRecord } from '../helpers/host.js';
import { builtinProgramTypes, type ProgramTypeRegistry } from '../program-types/index.js';
import { LinearMemory, type LinearMemoryOptions } from '../vm/memory.js';
import type { LoadedProgram } from './program.js';
import type { Abi } from '../elf/spec.js';

/** What tail calls between programs must share: the program type and the ABI (so the context). */
export const programKind = (type: string, abi: Abi): string => `${abi} ${type}`;

export interface ExecutionContextOptions {
  readonly memory?: LinearMemoryOptions;
  /** Number of CPUs per-CPU maps keep values for (default 1). */
  readonly cpus?: number;
  /** Source for bpf_get_prandom_u32 (default Math.random). */
  readonly random?: () => number;
  /** Source for bpf_ktime_get_ns (default a monotonic clock). */
  readonly clock?: () => bigint;
  readonly programTypes?: ProgramTypeRegistry;
  /** How many trace_printk lines to keep (default 1000). */
  readonly traceCapacity?: number;
}

export class ExecutionContext {
  readonly memory: LinearMemory;
  readonly maps: MapRegistry;
  readonly host: HelperHost;
  readonly programTypes: ProgramTypeRegistry;
  readonly cpus: number;
  private readonly programsById = new Map<number, LoadedProgram>();
  private nextProgramId = 1;
  private readonly traceLines: TraceRecord[] = [];
  private readonly traceListeners = new Set<(record: TraceRecord) => void>();
  private readonly traceCapacity: number;
  private readonly scratch = new Map<number, number>();

  constructor(options: ExecutionContextOptions = {}) {
    this.memory = new LinearMemory(options.memory);
    this.cpus = options.cpus ?? 1;
    this.maps = new MapRegistry(this.memory, { cpus: this.cpus });
    this.maps.programExists = (id) => this.programsById.has(id);
    this.maps.programKind = (id) => {
      const p = this.programsById.get(id);
      return p === undefined ? undefined : programKind(p.programType.name, p.abi);
    };
    this.programTypes = options.programTypes ?? builtinProgramTypes();
    this.traceCapacity = options.traceCapacity ?? 1000;
    const random = options.random ?? (() => Math.floor(Math.random() * 0x100000000));
    const clock = options.clock ?? monotonicNanoseconds;
    const pid = typeof process !== 'undefined' ? BigInt(process.pid) : 0n;
    this.host = {
      memory: this.memory,
      maps: this.maps,
      trace: (record) => this.addTrace(record),
      now: clock,
      random,
      pidTgid: (pid << 32n) | pid,
      scratchFor: (map) => this.scratch.get(map.id),
      socket: { cookie: 0n, pidTgid: 0n },
      redirect: { ifindex: 0 },
    };
  }

  private addTrace(record: TraceRecord): void {
    this.traceLines.push(record);
    if (this.traceLines.length > this.traceCapacity) this.traceLines.shift();
    for (const listener of this.traceListeners) listener(record);
  }

  /** bpf_printk output kept so far (oldest first). */
  get trace(): readonly TraceRecord[] {
    return this.traceLines;
  }

  /** Calls `listener` for every bpf_printk line from now on; returns a function that stops it. */
  onTrace(listener: (record: TraceRecord) => void): () => void {
    this.traceListeners.add(listener);
    return () => this.traceListeners.delete(listener);
  }

  /**
   * Sets a value-sized buffer aside for `map`, outside any test run's allocations, for helpers
   * that hand a copy of a value to the program (bpf_map_lookup_and_delete_elem).
   */
  reserveScratch(map: BpfMap): void {
    if (!this.scratch.has(map.id)) this.scratch.set(map.id, this.memory.alloc(Math.max(map.spec.valueSize, 8), 8));
  }

  /** Gives a loaded program its id. */
  registerProgram(make: (id: number) => LoadedProgram): LoadedProgram {
    const program = make(this.nextProgramId++);
    this.programsById.set(program.id, program);
    return program;
  }

  program(id: number): LoadedProgram | undefined {
    return this.programsById.get(id);
  }

  get programs(): IterableIterator<LoadedProgram> {
    return this.programsById.values();
  }
}
