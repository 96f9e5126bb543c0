// The JIT's run-time side: compiles a PreparedProgram to a WebAssembly module (lazily, once per
// program and kind of memory), instantiates it over the context's memory, and runs it with the
// interpreter's observable behaviour (DESIGN.md, "Execution engines").
//
// The host side of the imports: helpers read r1-r5 from the calling frame's slot in linear memory
// (layout.ts) and write r0 back there, so a helper call passes two i32 across the wasm/JS boundary
// and no BigInt. bpf_tail_call makes the module unwind to `run`, which starts the target's
// module with the same r1-r5 (a trampoline); callbacks (bpf_loop…) enter the module through the
// exported function of their target.

import { BpfRuntimeError, type RuntimeFault } from '../errors.js';
import type { HelperArguments, HelperDefinition } from '../helpers.js';
import { fromBig, fromNumber, pair, toBigInt, toBigUint } from '../int64.js';
import { Interpreter, MAX_CALL_DEPTH, MAX_TAIL_CALLS, type InterpreterOptions, type RunArguments } from '../interpreter.js';
import { NULL_GUARD, type LinearMemory } from '../memory.js';
import type { PreparedProgram } from '../program.js';
import type { Instruction } from '../../isa/index.js';
import { compileModule, JitUnsupported, SMALL_MEMORY_LIMIT, type CompileStats } from './compiler.js';
import { ENTRY, FaultCode, IMPORT, REGION_BYTES, SLOTS, SLOT_BYTES, callbackExport } from './layout.js';

export interface JitOptions {
  readonly memory: LinearMemory;
  readonly cpu?: number;
  /** Stop with an `instruction-limit` fault once the budget is spent (default 100 million). */
  readonly instructionLimit?: number;
  readonly resolveTailCall?: InterpreterOptions['resolveTailCall'];
  readonly tailCallFailure?: InterpreterOptions['tailCallFailure'];
}

/** A compiled module, or why the program runs on the interpreter instead. */
export type CompiledProgram =
  | { readonly kind: 'wasm'; readonly module: WebAssembly.Module; readonly stats: CompileStats; readonly compileMs: number }
  | { readonly kind: 'unsupported'; readonly reason: string };

/** Absent, or a number that is an int32 (`(x | 0) === x`). */
function isInt32(x: number | bigint | undefined): x is number | undefined {
  return x === undefined || (typeof x === 'number' && (x | 0) === x);
}

/** An argument isInt32 accepted, as the int32 the entry takes. */
const int32 = (x: number | bigint | undefined): number => (x as number | undefined) ?? 0;

/** Results below 1024 need no BigInt allocation. */
const SMALL: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));

/** Per program: modules by kind of memory (shared or not, small maximum or not). */
const cache = new WeakMap<PreparedProgram, (CompiledProgram | undefined)[]>();

/** Compiles `program` for a kind of memory; cached per program and kind. */
export function compiledModule(program: PreparedProgram, shared: boolean, smallMemory = false): CompiledProgram {
  let entry = cache.get(program);
  if (entry === undefined) cache.set(program, (entry = []));
  const kind = (shared ? 1 : 0) | (smallMemory ? 2 : 0);
  const known = entry[kind];
  if (known !== undefined) return known;
  const start = performance.now();
  let compiled: CompiledProgram;
  try {
    const { bytes, stats } = compileModule(program, shared, smallMemory);
    const module = new WebAssembly.Module(bytes);
    compiled = { kind: 'wasm', module, stats, compileMs: performance.now() - start };
  } catch (e) {
    if (!(e instanceof JitUnsupported)) throw e;
    compiled = { kind: 'unsupported', reason: e.message };
  }
  entry[kind] = compiled;
  return compiled;
}

/** The wasm module bytes of a program (for inspection and tests). */
export function compileToWasm(program: PreparedProgram, shared = true, smallMemory = false): Uint8Array<ArrayBuffer> {
  return compileModule(program, shared, smallMemory).bytes;
}

type Entry = (fresh: number, r1: number, r2: number, r3: number, r4: number, r5: number, fromSlot: number, packetAddress: number, packetLength: number) => number;

interface Instance {
  readonly program: PreparedProgram;
  readonly entry: Entry;
  /** Exported function of each function start, for callbacks (by slot). */
  readonly callbacks: ((depth: number) => bigint)[];
}

/** HelperArguments over the helper slot of one frame (an Int32Array index). */
class SlotArguments implements HelperArguments {
  base = 0;
  constructor(
    private readonly jit: JitProgram,
    readonly memory: LinearMemory,
    readonly cpu: number,
  ) {}
  callFunction(target: number, args: readonly (number | bigint)[]): bigint {
    return this.jit.callFunction(target, args);
  }
  u64(n: number): bigint {
    const v = this.jit.view();
    return toBigUint(v[this.base + 2 * n], v[this.base + 2 * n + 1]);
  }
  i64(n: number): bigint {
    const v = this.jit.view();
    return toBigInt(v[this.base + 2 * n], v[this.base + 2 * n + 1]);
  }
  u32(n: number): number {
    return this.jit.view()[this.base + 2 * n] >>> 0;
  }
  i32(n: number): number {
    return this.jit.view()[this.base + 2 * n];
  }
}

/** A program run by compiled WebAssembly; `run` behaves exactly like `Interpreter.run`. */
export class JitProgram {
  readonly memory: LinearMemory;
  /** Address of the region holding the stacks and helper slots. */
  readonly region: number;
  private readonly limit: number;
  private readonly resolveTailCall: JitOptions['resolveTailCall'];
  private readonly args: SlotArguments;
  private readonly fuel: WebAssembly.Global;
  private readonly limitGlobal: WebAssembly.Global;
  private readonly baseGlobal: WebAssembly.Global;
  private readonly shared: boolean;
  private readonly smallMemory: boolean;
  private readonly instances = new Map<PreparedProgram, Instance>();
  private main: Instance | undefined;
  private fallback: Interpreter | undefined;
  private current: Instance | undefined;
  private i32: Int32Array;
  private helperDepth = -1;
  private callbackNesting = 0;
  private tailCalls = 0;
  private pendingTail: PreparedProgram | undefined;
  private pendingSlot = 0;
  /** Int32Array index of slot 0. */
  private readonly slot0: number;

  constructor(
    readonly program: PreparedProgram,
    private readonly options: JitOptions,
  ) {
    this.memory = options.memory;
    this.limit = options.instructionLimit ?? 100_000_000;
    this.resolveTailCall = options.resolveTailCall;
    this.region = this.memory.alloc(REGION_BYTES, 16);
    this.args = new SlotArguments(this, this.memory, options.cpu ?? 0);
    this.shared = typeof SharedArrayBuffer !== 'undefined' && this.memory.memory.buffer instanceof SharedArrayBuffer;
    this.smallMemory = this.memory.maximumBytes < SMALL_MEMORY_LIMIT;
    this.fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, 0n);
    this.limitGlobal = new WebAssembly.Global({ value: 'i64', mutable: false }, BigInt(this.limit));
    this.baseGlobal = new WebAssembly.Global({ value: 'i32', mutable: false }, this.region);
    this.i32 = new Int32Array(this.memory.memory.buffer);
    this.slot0 = this.slotIndex(0);
  }

  /** Instructions executed by the last run: known only when the interpreter ran it. */
  get instructionsExecuted(): number | undefined {
    return this.fallback?.instructionsExecuted;
  }

  /** Why the program runs on the interpreter, or undefined when it runs compiled. */
  get interpretedBecause(): string | undefined {
    const c = compiledModule(this.program, this.shared, this.smallMemory);
    return c.kind === 'unsupported' ? c.reason : undefined;
  }

  /** Compiles and instantiates now rather than on the first run. */
  compile(): this {
    if (this.main === undefined && this.fallback === undefined) {
      const inst = this.instantiate(this.program);
      if (inst === undefined) {
        this.fallback = new Interpreter(this.program, {
          memory: this.memory,
          cpu: this.options.cpu,
          instructionLimit: this.options.instructionLimit,
          resolveTailCall: this.options.resolveTailCall,
          tailCallFailure: this.options.tailCallFailure,
        });
      } else {
        this.main = inst;
      }
    }
    return this;
  }

  /** The Int32Array over linear memory (renewed when growth detached the old buffer). */
  view(): Int32Array {
    if (this.i32.length === 0) this.i32 = new Int32Array(this.memory.memory.buffer);
    return this.i32;
  }

  private slotIndex(depth: number): number {
    return (this.region + SLOTS + depth * SLOT_BYTES) >> 2;
  }


  private instantiate(program: PreparedProgram): Instance | undefined {
    const known = this.instances.get(program);
    if (known !== undefined) return known;
    const compiled = compiledModule(program, this.shared, this.smallMemory);
    if (compiled.kind === 'unsupported') return undefined;
    const helpers = program.helpers;
    let byPc: (Instruction | undefined)[] | undefined;
    const instructionAt = (pc: number): Instruction | undefined => {
      if (byPc === undefined) {
        byPc = [];
        for (const insn of program.instructions) byPc[insn.pc] = insn;
      }
      return byPc[pc];
    };
    const imports = {
      env: {
        [IMPORT.helper]: (pc: number, depth: number): void => {
          this.invoke(helpers[pc] as HelperDefinition, pc, depth);
        },
        [IMPORT.dispatch]: (pc: number, depth: number): number => this.dispatch(program, pc, depth),
        [IMPORT.fault]: (code: number, pc: number): never => {
          throw this.fault(program, code, pc);
        },
        [IMPORT.memoryFault]: (pc: number, value: bigint): never => {
          throw this.memoryFault(instructionAt(pc), pc, value);
        },
        [IMPORT.memory]: this.memory.memory,
        [IMPORT.base]: this.baseGlobal,
        [IMPORT.fuel]: this.fuel,
        [IMPORT.limit]: this.limitGlobal,
        [IMPORT.cpu]: new WebAssembly.Global({ value: 'i32', mutable: false }, this.options.cpu ?? 0),
      },
    };
    const instance = new WebAssembly.Instance(compiled.module, imports);
    const callbacks: ((depth: number) => bigint)[] = [];
    for (const start of program.functionStarts) callbacks[start] = instance.exports[callbackExport(start)] as (depth: number) => bigint;
    const inst: Instance = { program, entry: instance.exports[ENTRY] as Entry, callbacks };
    this.instances.set(program, inst);
    return inst;
  }

  private writeRegister(v: Int32Array, index: number, value: number | bigint | undefined): void {
    if (typeof value === 'number' && value === (value | 0)) {
      v[index] = value;
      v[index + 1] = value >> 31;
    } else if (value === undefined) {
      v[index] = 0;
      v[index + 1] = 0;
    } else {
      if (typeof value === 'bigint') fromBig(value);
      else fromNumber(value);
      v[index] = pair[0];
      v[index + 1] = pair[1];
    }
  }

  /** r0 of slot 0 as an unsigned bigint, `lo` being its low half as the entry returned it. */
  private result(lo: number): bigint {
    const hi = (this.i32.length !== 0 ? this.i32 : this.view())[this.slot0 + 1];
    if (hi === 0) return lo >= 0 && lo < SMALL.length ? SMALL[lo] : BigInt(lo >>> 0);
    return toBigUint(lo, hi);
  }

  /** Runs the program once; returns r0 (unsigned). Throws BpfRuntimeError. */
  run(args: RunArguments = {}): bigint {
    let inst = this.main;
    if (inst === undefined) {
      if (this.fallback === undefined) this.compile();
      if (this.fallback !== undefined) return this.fallback.run(args);
      inst = this.main as Instance;
    }
    const r1 = args.r1;
    const r2 = args.r2;
    const r3 = args.r3;
    const r4 = args.r4;
    const r5 = args.r5;
    const packet = args.packet;
    const packetAddress = packet === undefined ? 0 : packet.address;
    const packetLength = packet === undefined ? -1 : packet.length;
    this.helperDepth = -1;
    this.callbackNesting = 0;
    this.tailCalls = 0;
    this.current = inst;
    // The common case: absent or 32-bit arguments travel as wasm int32 parameters. Others go
    // through slot 0 (a number that is not a safe integer throws RangeError, as in the interpreter).
    const small = isInt32(r1) && isInt32(r2) && isInt32(r3) && isInt32(r4) && isInt32(r5);
    if (!small) {
      const v = this.view();
      const slot = this.slot0;
      this.writeRegister(v, slot + 2, r1);
      this.writeRegister(v, slot + 4, r2);
      this.writeRegister(v, slot + 6, r3);
      this.writeRegister(v, slot + 8, r4);
      this.writeRegister(v, slot + 10, r5);
    }
    try {
      let lo = small
        ? inst.entry(1, int32(r1), int32(r2), int32(r3), int32(r4), int32(r5), 0, packetAddress, packetLength)
        : inst.entry(1, 0, 0, 0, 0, 0, 1, packetAddress, packetLength);
      while (this.pendingTail !== undefined) {
        const target = this.pendingTail;
        this.pendingTail = undefined;
        // The target runs with the r1-r5 the tail call was made with, on a fresh stack.
        const slot = this.slot0;
        this.view().copyWithin(slot + 2, this.pendingSlot + 2, this.pendingSlot + 12);
        const next = this.instantiate(target);
        if (next === undefined) return this.interpretTail(target, slot, packet);
        this.current = next;
        lo = next.entry(0, 0, 0, 0, 0, 0, 1, packetAddress, packetLength);
      }
      return this.result(lo);
    } catch (e) {
      this.pendingTail = undefined;
      if (e instanceof BpfRuntimeError) throw e;
      const detail = e instanceof Error ? e.message : String(e);
      throw new BpfRuntimeError('internal', 0, `internal error: ${detail}`);
    }
  }

  /** A tail call into a program the JIT does not compile: the interpreter finishes the run. */
  private interpretTail(target: PreparedProgram, slot: number, packet: RunArguments['packet']): bigint {
    const left = Number(this.fuel.value as bigint);
    const vm = new Interpreter(target, {
      memory: this.memory,
      cpu: this.options.cpu,
      instructionLimit: Math.max(1, left),
      resolveTailCall: this.resolveTailCall,
      tailCallFailure: this.options.tailCallFailure,
    });
    const v = this.view();
    const reg = (n: number): bigint => toBigUint(v[slot + 2 * n], v[slot + 2 * n + 1]);
    return vm.run({ r1: reg(1), r2: reg(2), r3: reg(3), r4: reg(4), r5: reg(5), packet });
  }

  private invoke(helper: HelperDefinition, pc: number, depth: number): void {
    // No try/finally around this state: callFunction, the only way to nest, restores it.
    const base = this.slot0 + depth * (SLOT_BYTES >> 2);
    this.args.base = base;
    this.helperDepth = depth;
    let result: number | bigint;
    try {
      result = helper.call(this.args);
    } catch (e) {
      if (e instanceof BpfRuntimeError) throw e;
      throw new BpfRuntimeError('helper-error', pc, `helper ${helper.name} (#${helper.id}) failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const v = this.i32.length !== 0 ? this.i32 : this.view();
    if (typeof result === 'number' && result === (result | 0)) {
      v[base] = result;
      v[base + 1] = result >> 31;
      return;
    }
    try {
      if (typeof result === 'bigint') fromBig(result);
      else fromNumber(result);
    } catch (e) {
      throw new BpfRuntimeError('internal', pc, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
    v[base] = pair[0];
    v[base + 1] = pair[1];
  }

  /** callx and bpf_tail_call sites. Returns 1 when the module must unwind for a tail call. */
  private dispatch(program: PreparedProgram, pc: number, depth: number): number {
    const base = this.slotIndex(depth);
    const v = this.view();
    let helper = program.helpers[pc];
    if (helper === undefined) {
      const lo = v[base];
      const hi = v[base + 1];
      helper = hi === 0 ? program.helperRegistry.get(lo) : undefined;
      if (helper === undefined) throw new BpfRuntimeError('unknown-helper', pc, `callx to unknown helper id ${toBigUint(lo, hi)}`);
    }
    if (helper.kind === 'tail-call') {
      const failure = this.options.tailCallFailure;
      const found = this.callbackNesting === 0 || failure !== undefined ? this.resolveTailCall?.(v[base + 4] >>> 0, v[base + 6] >>> 0) : undefined;
      if (found !== undefined && this.callbackNesting === 0 && this.tailCalls < MAX_TAIL_CALLS) {
        this.tailCalls++;
        this.pendingTail = found;
        this.pendingSlot = base;
        return 1;
      }
      if (failure !== undefined) {
        fromNumber(failure(found === undefined ? 'no-program' : this.callbackNesting !== 0 ? 'nested' : 'limit'));
        v[base] = pair[0];
        v[base + 1] = pair[1];
        return 0;
      }
    }
    this.invoke(helper, pc, depth);
    return 0;
  }

  /** Runs the function at `target` from inside a helper call, on a fresh frame above the caller's. */
  callFunction(target: number, args: readonly (number | bigint)[]): bigint {
    const depth = this.helperDepth;
    if (depth < 0) throw new Error('callFunction is only possible during a helper call');
    if (depth + 1 >= MAX_CALL_DEPTH) throw new BpfRuntimeError('call-depth', target, `callback call depth exceeds ${MAX_CALL_DEPTH} frames`);
    const inst = this.current as Instance;
    const p = inst.program;
    if (!Number.isInteger(target) || target < 0 || target >= p.slots || !p.functionStarts.has(target)) {
      throw new BpfRuntimeError('bad-jump', target, `callback target ${target} is not the start of a function`);
    }
    const slot = this.slotIndex(depth + 1);
    const v = this.view();
    for (let n = 1; n <= 5; n++) this.writeRegister(v, slot + 2 * n, args[n - 1]);
    const fn = inst.callbacks[target];
    const savedBase = this.args.base;
    this.callbackNesting++;
    try {
      return BigInt.asUintN(64, fn(depth + 1));
    } finally {
      this.callbackNesting--;
      this.helperDepth = depth;
      this.args.base = savedBase;
    }
  }

  private fault(program: PreparedProgram, code: number, pc: number): BpfRuntimeError {
    let kind: RuntimeFault;
    let detail: string;
    switch (code) {
      case FaultCode.CallDepth:
        kind = 'call-depth';
        detail = `call depth exceeds ${MAX_CALL_DEPTH} frames`;
        break;
      case FaultCode.InstructionLimit:
        kind = 'instruction-limit';
        detail = `instruction limit of ${this.limit} reached (runaway program?)`;
        break;
      case FaultCode.BadJump:
        kind = 'bad-jump';
        detail = `control left the program (${program.slots} slots): jump outside it or no exit at its end`;
        break;
      case FaultCode.NoPacket:
        kind = 'no-packet';
        detail = 'legacy packet load, but the program was run without a packet';
        break;
      default:
        kind = 'internal';
        detail = `internal error: unknown fault code ${code}`;
    }
    return new BpfRuntimeError(kind, pc, detail);
  }

  /** The interpreter's message for a failed access at `pc` whose base register held `value`. */
  private memoryFault(insn: Instruction | undefined, pc: number, value: bigint): BpfRuntimeError {
    if (insn === undefined) return new BpfRuntimeError('internal', pc, 'internal error: memory fault outside an instruction');
    const reg = insn.spec.form === 'ldx' ? insn.src : insn.dst;
    const offset = insn.offset;
    const size = insn.spec.width / 8;
    const u = BigInt.asUintN(64, value);
    const hi = Number(u >> 32n);
    const address = u + BigInt(offset);
    const memorySize = this.memory.size;
    const a = Number(u & 0xffffffffn) + offset;
    if (hi === 0 && a >= NULL_GUARD && a + size <= memorySize) {
      return new BpfRuntimeError('misaligned-atomic', pc, `atomic ${size}-byte access at 0x${a.toString(16)} is not ${size}-byte aligned`);
    }
    const where = `${size}-byte access at r${reg}${offset < 0 ? '' : '+'}${offset} = 0x${BigInt.asUintN(64, address).toString(16)}`;
    if (hi === 0 && address >= 0n && address < BigInt(NULL_GUARD)) {
      return new BpfRuntimeError('null-dereference', pc, `null pointer dereference: ${where}`);
    }
    return new BpfRuntimeError('out-of-bounds', pc, `memory access out of bounds: ${where} (linear memory is 0x${memorySize.toString(16)} bytes)`);
  }
}

/** Compiles lazily: the module is built on the first run (or `compile()`). */
export function compileProgram(prepared: PreparedProgram, options: JitOptions): JitProgram {
  return new JitProgram(prepared, options);
}
