// The reference engine: executes a prepared program instruction by instruction (RFC 9669).
// Registers are pairs of int32 in one Int32Array (lo at 2n, hi at 2n+1): no BigInt on the hot
// path. Dispatch is one `switch` over the opcode byte, whose cases are literal constants from
// src/isa so V8 compiles it to a jump table.

import { AtomicOp, Opcode, type Instruction } from '../isa/index.js';
import { BpfRuntimeError, type RuntimeFault } from './errors.js';
import type { HelperArguments, HelperDefinition } from './helpers.js';
import {
  arsh64,
  bswap16,
  bswap32,
  fromBig,
  fromNumber,
  lsh64,
  mul64,
  pair,
  rsh64,
  sdiv64,
  sgt64,
  smod64,
  toBigInt,
  toBigUint,
  udiv64,
  ugt64,
  umod64,
} from './int64.js';
import { NULL_GUARD, type LinearMemory } from './memory.js';
import type { PreparedProgram } from './program.js';

export const STACK_SIZE = 512;
export const MAX_CALL_DEPTH = 8;

export type RegisterValue = bigint | number;

export interface RunArguments {
  readonly r1?: RegisterValue;
  readonly r2?: RegisterValue;
  readonly r3?: RegisterValue;
  readonly r4?: RegisterValue;
  readonly r5?: RegisterValue;
  /** The packet that legacy ABS/IND loads read (address and length in linear memory). */
  readonly packet?: { readonly address: number; readonly length: number };
}

export interface TraceEvent {
  readonly pc: number;
  readonly instruction: Instruction;
  /** r0-r10 before the instruction runs, unsigned. */
  readonly registers: readonly bigint[];
  /** Call depth (0 in the entry function). */
  readonly depth: number;
}

export interface InterpreterOptions {
  readonly memory: LinearMemory;
  /** Stop with an `instruction-limit` fault after this many instructions (default 100 million). */
  readonly instructionLimit?: number;
  /** Called before every instruction; costs nothing when absent. */
  readonly trace?: (event: TraceEvent) => void;
  /** CPU id helpers see (per-CPU maps). */
  readonly cpu?: number;
  /** Finds the program in slot `index` of the prog array at `mapAddress`, for bpf_tail_call. */
  readonly resolveTailCall?: (mapAddress: number, index: number) => PreparedProgram | undefined;
  /**
   * r0 of a bpf_tail_call that does not jump, by reason, where the ABI defines it (ebpf-for-windows
   * answers a negated ebpf_result_t); without it the tail-call helper's own result is used.
   */
  readonly tailCallFailure?: (reason: TailCallFailure) => number;
}

/**
 * Why a bpf_tail_call did not jump: the slot holds no program (an empty slot, an index past the
 * end, not a prog array), this invocation has used its MAX_TAIL_CALLS, or the call was made from
 * inside a helper's callback (bpf_loop …), where the engines do not replace the program.
 */
export type TailCallFailure = 'no-program' | 'limit' | 'nested';

/** Linux's MAX_TAIL_CALL_CNT: tail calls one invocation may make. */
export const MAX_TAIL_CALLS = 33;

class RegisterArguments implements HelperArguments {
  constructor(
    private readonly regs: Int32Array,
    readonly memory: LinearMemory,
    readonly cpu: number,
    private readonly interpreter: Interpreter,
  ) {}
  callFunction(target: number, args: readonly (number | bigint)[]): bigint {
    return this.interpreter.callFunction(target, args);
  }
  u64(n: number): bigint {
    return toBigUint(this.regs[2 * n], this.regs[2 * n + 1]);
  }
  i64(n: number): bigint {
    return toBigInt(this.regs[2 * n], this.regs[2 * n + 1]);
  }
  u32(n: number): number {
    return this.regs[2 * n] >>> 0;
  }
  i32(n: number): number {
    return this.regs[2 * n];
  }
}

export class Interpreter {
  /** The program being run (changes during a run when it tail-calls). */
  program: PreparedProgram;
  readonly entry: PreparedProgram;
  readonly memory: LinearMemory;
  private readonly regs = new Int32Array(22);
  /** Per frame: return pc, then saved r6-r10 (lo, hi). */
  private readonly frameReturn = new Int32Array(MAX_CALL_DEPTH);
  private readonly frameSaved = new Int32Array(MAX_CALL_DEPTH * 10);
  private readonly stackBase: number;
  private readonly limit: number;
  private readonly trace: ((event: TraceEvent) => void) | undefined;
  private readonly args: RegisterArguments;
  private readonly resolveTailCall: InterpreterOptions['resolveTailCall'];
  private readonly tailCallFailure: InterpreterOptions['tailCallFailure'];
  private executed = 0;
  private tailCalls = 0;
  /** Frame depth of the helper call in progress (where callbacks run from). */
  private helperDepth = -1;
  private packet: RunArguments['packet'];
  private byPc: (Instruction | undefined)[] | undefined;
  private byPcOf: PreparedProgram | undefined;

  constructor(program: PreparedProgram, options: InterpreterOptions) {
    this.program = program;
    this.entry = program;
    this.resolveTailCall = options.resolveTailCall;
    this.tailCallFailure = options.tailCallFailure;
    this.memory = options.memory;
    this.limit = options.instructionLimit ?? 100_000_000;
    this.trace = options.trace;
    this.stackBase = this.memory.alloc(MAX_CALL_DEPTH * STACK_SIZE, 16);
    this.args = new RegisterArguments(this.regs, this.memory, options.cpu ?? 0, this);
  }

  /** Instructions executed by the last run. */
  get instructionsExecuted(): number {
    return this.executed;
  }

  /** r0-r10 after the last run, unsigned. */
  registers(): bigint[] {
    return Array.from({ length: 11 }, (_, i) => toBigUint(this.regs[2 * i], this.regs[2 * i + 1]));
  }

  /** Address of the top of the entry function's stack frame (r10 at entry). */
  get framePointer(): number {
    return this.stackBase + STACK_SIZE;
  }

  private setArgument(n: number, value: RegisterValue | undefined): void {
    if (value === undefined) value = 0;
    if (typeof value === 'number' && value === (value | 0)) {
      this.regs[2 * n] = value;
      this.regs[2 * n + 1] = value >> 31;
      return;
    }
    if (typeof value === 'bigint') fromBig(value);
    else fromNumber(value);
    this.regs[2 * n] = pair[0];
    this.regs[2 * n + 1] = pair[1];
  }

  private fault(kind: RuntimeFault, pc: number, detail: string): BpfRuntimeError {
    return new BpfRuntimeError(kind, pc, detail);
  }

  private memoryFault(pc: number, reg: number, offset: number, size: number, memorySize: number): BpfRuntimeError {
    const lo = this.regs[2 * reg] >>> 0;
    const hi = this.regs[2 * reg + 1];
    const address = toBigUint(lo, hi) + BigInt(offset);
    const where = `${size}-byte access at r${reg}${offset < 0 ? '' : '+'}${offset} = 0x${BigInt.asUintN(64, address).toString(16)}`;
    if (hi === 0 && address >= 0n && address < BigInt(NULL_GUARD)) {
      return this.fault('null-dereference', pc, `null pointer dereference: ${where}`);
    }
    return this.fault('out-of-bounds', pc, `memory access out of bounds: ${where} (linear memory is 0x${memorySize.toString(16)} bytes)`);
  }

  private callHelper(helper: HelperDefinition, pc: number): void {
    let result: number | bigint;
    try {
      result = helper.call(this.args);
    } catch (e) {
      if (e instanceof BpfRuntimeError) throw e;
      throw this.fault('helper-error', pc, `helper ${helper.name} (#${helper.id}) failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof result === 'bigint') fromBig(result);
    else fromNumber(result);
    this.regs[0] = pair[0];
    this.regs[1] = pair[1];
  }

  private emitTrace(pc: number, depth: number): void {
    if (this.byPc === undefined || this.byPcOf !== this.program) {
      this.byPcOf = this.program;
      this.byPc = [];
      for (const insn of this.program.instructions) this.byPc[insn.pc] = insn;
    }
    const instruction = this.byPc[pc];
    if (instruction === undefined) return;
    this.trace?.({ pc, instruction, registers: this.registers(), depth });
  }

  /** Runs the program once; returns r0 (unsigned). Throws BpfRuntimeError. */
  run(args: RunArguments = {}): bigint {
    const R = this.regs;
    R.fill(0);
    this.setArgument(1, args.r1);
    this.setArgument(2, args.r2);
    this.setArgument(3, args.r3);
    this.setArgument(4, args.r4);
    this.setArgument(5, args.r5);
    R[20] = this.stackBase + STACK_SIZE;
    this.executed = 0;
    this.tailCalls = 0;
    this.helperDepth = -1;
    this.packet = args.packet;
    this.program = this.entry;
    return this.execute(0, 0);
  }

  /**
   * Runs the function at `target` from inside a helper call (bpf_loop, for_each_map_elem…) on a
   * fresh frame above the caller's; the caller's registers are restored afterwards.
   */
  callFunction(target: number, args: readonly (number | bigint)[]): bigint {
    const depth = this.helperDepth;
    if (depth < 0) throw new Error('callFunction is only possible during a helper call');
    if (depth + 1 >= MAX_CALL_DEPTH) throw this.fault('call-depth', target, `callback call depth exceeds ${MAX_CALL_DEPTH} frames`);
    const p = this.program;
    if (!Number.isInteger(target) || target < 0 || target >= p.slots || !p.functionStarts.has(target)) {
      throw this.fault('bad-jump', target, `callback target ${target} is not the start of a function`);
    }
    const saved = this.regs.slice();
    const savedHelperDepth = this.helperDepth;
    try {
      for (let n = 1; n <= 5; n++) this.setArgument(n, args[n - 1]);
      this.regs[20] = this.stackBase + (depth + 2) * STACK_SIZE;
      this.regs[21] = 0;
      return this.execute(target, depth + 1);
    } finally {
      this.regs.set(saved);
      this.helperDepth = savedHelperDepth;
    }
  }

  private execute(startPc: number, baseDepth: number): bigint {
    const R = this.regs;
    const args = { packet: this.packet };
    let p = this.program;
    let op = p.opcode;
    let dsts = p.dst;
    let srcs = p.src;
    let offs = p.offset;
    let imms = p.imm;
    let helpers = p.helpers;
    const limit = this.limit;
    const tracing = this.trace !== undefined;
    const frameReturn = this.frameReturn;
    const frameSaved = this.frameSaved;
    const mem = this.memory;

    let generation = mem.generation;
    let dv = mem.view;
    let i32 = mem.int32;
    let i64 = mem.bigInt64;
    let memSize = dv.byteLength;
    let depth = baseDepth;
    let pc = startPc;
    let count = this.executed;
    let d = 0;
    let s = 0;
    let a = 0;
    let k = 0;

    try {
      for (;;) {
        if (++count > limit) {
          throw this.fault('instruction-limit', pc, `instruction limit of ${limit} reached (runaway program?)`);
        }
        if (tracing) this.emitTrace(pc, depth);
        d = dsts[pc] << 1;
        s = srcs[pc] << 1;
        switch (op[pc]) {
          // ---- ALU64 ------------------------------------------------------------------------
          case Opcode.ADD64_IMM:
            k = imms[pc];
            a = (R[d] >>> 0) + (k >>> 0);
            R[d + 1] = (R[d + 1] + (k >> 31) + (a > 0xffffffff ? 1 : 0)) | 0;
            R[d] = a | 0;
            pc++;
            continue;
          case Opcode.ADD64_REG:
            a = (R[d] >>> 0) + (R[s] >>> 0);
            R[d + 1] = (R[d + 1] + R[s + 1] + (a > 0xffffffff ? 1 : 0)) | 0;
            R[d] = a | 0;
            pc++;
            continue;
          case Opcode.SUB64_IMM:
            k = imms[pc];
            a = (R[d] >>> 0) - (k >>> 0);
            R[d + 1] = (R[d + 1] - (k >> 31) - (a < 0 ? 1 : 0)) | 0;
            R[d] = a | 0;
            pc++;
            continue;
          case Opcode.SUB64_REG:
            a = (R[d] >>> 0) - (R[s] >>> 0);
            R[d + 1] = (R[d + 1] - R[s + 1] - (a < 0 ? 1 : 0)) | 0;
            R[d] = a | 0;
            pc++;
            continue;
          case Opcode.MUL64_IMM:
            k = imms[pc];
            mul64(R[d], R[d + 1], k, k >> 31);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.MUL64_REG:
            mul64(R[d], R[d + 1], R[s], R[s + 1]);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.DIV64_IMM:
            k = imms[pc];
            if (k === 0) {
              R[d] = 0;
              R[d + 1] = 0;
            } else {
              if (offs[pc] === 0) udiv64(R[d], R[d + 1], k, k >> 31);
              else sdiv64(R[d], R[d + 1], k, k >> 31);
              R[d] = pair[0];
              R[d + 1] = pair[1];
            }
            pc++;
            continue;
          case Opcode.DIV64_REG:
            if (R[s] === 0 && R[s + 1] === 0) {
              R[d] = 0;
              R[d + 1] = 0;
            } else {
              if (offs[pc] === 0) udiv64(R[d], R[d + 1], R[s], R[s + 1]);
              else sdiv64(R[d], R[d + 1], R[s], R[s + 1]);
              R[d] = pair[0];
              R[d + 1] = pair[1];
            }
            pc++;
            continue;
          case Opcode.MOD64_IMM:
            k = imms[pc];
            if (k !== 0) {
              if (offs[pc] === 0) umod64(R[d], R[d + 1], k, k >> 31);
              else smod64(R[d], R[d + 1], k, k >> 31);
              R[d] = pair[0];
              R[d + 1] = pair[1];
            }
            pc++;
            continue;
          case Opcode.MOD64_REG:
            if (R[s] !== 0 || R[s + 1] !== 0) {
              if (offs[pc] === 0) umod64(R[d], R[d + 1], R[s], R[s + 1]);
              else smod64(R[d], R[d + 1], R[s], R[s + 1]);
              R[d] = pair[0];
              R[d + 1] = pair[1];
            }
            pc++;
            continue;
          case Opcode.OR64_IMM:
            k = imms[pc];
            R[d] |= k;
            R[d + 1] |= k >> 31;
            pc++;
            continue;
          case Opcode.OR64_REG:
            R[d] |= R[s];
            R[d + 1] |= R[s + 1];
            pc++;
            continue;
          case Opcode.AND64_IMM:
            k = imms[pc];
            R[d] &= k;
            R[d + 1] &= k >> 31;
            pc++;
            continue;
          case Opcode.AND64_REG:
            R[d] &= R[s];
            R[d + 1] &= R[s + 1];
            pc++;
            continue;
          case Opcode.XOR64_IMM:
            k = imms[pc];
            R[d] ^= k;
            R[d + 1] ^= k >> 31;
            pc++;
            continue;
          case Opcode.XOR64_REG:
            R[d] ^= R[s];
            R[d + 1] ^= R[s + 1];
            pc++;
            continue;
          case Opcode.LSH64_IMM:
            lsh64(R[d], R[d + 1], imms[pc] & 63);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.LSH64_REG:
            lsh64(R[d], R[d + 1], R[s] & 63);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.RSH64_IMM:
            rsh64(R[d], R[d + 1], imms[pc] & 63);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.RSH64_REG:
            rsh64(R[d], R[d + 1], R[s] & 63);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.ARSH64_IMM:
            arsh64(R[d], R[d + 1], imms[pc] & 63);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.ARSH64_REG:
            arsh64(R[d], R[d + 1], R[s] & 63);
            R[d] = pair[0];
            R[d + 1] = pair[1];
            pc++;
            continue;
          case Opcode.NEG64:
            a = R[d];
            R[d + 1] = a === 0 ? -R[d + 1] | 0 : ~R[d + 1];
            R[d] = -a | 0;
            pc++;
            continue;
          case Opcode.MOV64_IMM:
            k = imms[pc];
            R[d] = k;
            R[d + 1] = k >> 31;
            pc++;
            continue;
          case Opcode.MOV64_REG:
            switch (offs[pc]) {
              case 0:
                R[d] = R[s];
                R[d + 1] = R[s + 1];
                break;
              case 8:
                R[d] = (R[s] << 24) >> 24;
                R[d + 1] = R[d] >> 31;
                break;
              case 16:
                R[d] = (R[s] << 16) >> 16;
                R[d + 1] = R[d] >> 31;
                break;
              default:
                R[d] = R[s];
                R[d + 1] = R[s] >> 31;
                break;
            }
            pc++;
            continue;
          case Opcode.BSWAP:
            k = imms[pc];
            if (k === 16) {
              R[d] = bswap16(R[d]);
              R[d + 1] = 0;
            } else if (k === 32) {
              R[d] = bswap32(R[d]);
              R[d + 1] = 0;
            } else {
              a = R[d];
              R[d] = bswap32(R[d + 1]);
              R[d + 1] = bswap32(a);
            }
            pc++;
            continue;

          // ---- ALU (32-bit; results are zero-extended) ---------------------------------------
          case Opcode.ADD32_IMM:
            R[d] = (R[d] + imms[pc]) | 0;
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.ADD32_REG:
            R[d] = (R[d] + R[s]) | 0;
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.SUB32_IMM:
            R[d] = (R[d] - imms[pc]) | 0;
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.SUB32_REG:
            R[d] = (R[d] - R[s]) | 0;
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.MUL32_IMM:
            R[d] = Math.imul(R[d], imms[pc]);
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.MUL32_REG:
            R[d] = Math.imul(R[d], R[s]);
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.DIV32_IMM:
          case Opcode.DIV32_REG:
            k = op[pc] === Opcode.DIV32_IMM ? imms[pc] : R[s];
            if (k === 0) R[d] = 0;
            else if (offs[pc] === 0) R[d] = ((R[d] >>> 0) / (k >>> 0)) | 0;
            else R[d] = (R[d] / k) | 0;
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.MOD32_IMM:
          case Opcode.MOD32_REG:
            k = op[pc] === Opcode.MOD32_IMM ? imms[pc] : R[s];
            if (k !== 0) {
              if (offs[pc] === 0) R[d] = (R[d] >>> 0) % (k >>> 0) | 0;
              else R[d] = R[d] % k | 0;
            }
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.OR32_IMM:
            R[d] |= imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.OR32_REG:
            R[d] |= R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.AND32_IMM:
            R[d] &= imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.AND32_REG:
            R[d] &= R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.XOR32_IMM:
            R[d] ^= imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.XOR32_REG:
            R[d] ^= R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.LSH32_IMM:
            R[d] <<= imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.LSH32_REG:
            R[d] <<= R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.RSH32_IMM:
            R[d] = R[d] >>> imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.RSH32_REG:
            R[d] = R[d] >>> R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.ARSH32_IMM:
            R[d] >>= imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.ARSH32_REG:
            R[d] >>= R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.NEG32:
            R[d] = -R[d] | 0;
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.MOV32_IMM:
            R[d] = imms[pc];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.MOV32_REG:
            k = offs[pc];
            R[d] = k === 8 ? (R[s] << 24) >> 24 : k === 16 ? (R[s] << 16) >> 16 : R[s];
            R[d + 1] = 0;
            pc++;
            continue;
          case Opcode.LE:
            k = imms[pc];
            if (k === 16) {
              R[d] &= 0xffff;
              R[d + 1] = 0;
            } else if (k === 32) {
              R[d + 1] = 0;
            }
            pc++;
            continue;
          case Opcode.BE:
            k = imms[pc];
            if (k === 16) {
              R[d] = bswap16(R[d]);
              R[d + 1] = 0;
            } else if (k === 32) {
              R[d] = bswap32(R[d]);
              R[d + 1] = 0;
            } else {
              a = R[d];
              R[d] = bswap32(R[d + 1]);
              R[d + 1] = bswap32(a);
            }
            pc++;
            continue;

          // ---- Jumps, 64-bit compare ---------------------------------------------------------
          case Opcode.JA:
            pc += offs[pc] + 1;
            continue;
          case Opcode.JA32:
            pc += imms[pc] + 1;
            continue;
          case Opcode.JEQ_IMM:
            k = imms[pc];
            pc += R[d] === k && R[d + 1] === k >> 31 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JEQ_REG:
            pc += R[d] === R[s] && R[d + 1] === R[s + 1] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JNE_IMM:
            k = imms[pc];
            pc += R[d] !== k || R[d + 1] !== k >> 31 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JNE_REG:
            pc += R[d] !== R[s] || R[d + 1] !== R[s + 1] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSET_IMM:
            k = imms[pc];
            pc += (R[d] & k) !== 0 || (R[d + 1] & (k >> 31)) !== 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSET_REG:
            pc += (R[d] & R[s]) !== 0 || (R[d + 1] & R[s + 1]) !== 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGT_IMM:
            k = imms[pc];
            pc += ugt64(R[d], R[d + 1], k, k >> 31) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGT_REG:
            pc += ugt64(R[d], R[d + 1], R[s], R[s + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGE_IMM:
            k = imms[pc];
            pc += !ugt64(k, k >> 31, R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGE_REG:
            pc += !ugt64(R[s], R[s + 1], R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLT_IMM:
            k = imms[pc];
            pc += ugt64(k, k >> 31, R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLT_REG:
            pc += ugt64(R[s], R[s + 1], R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLE_IMM:
            k = imms[pc];
            pc += !ugt64(R[d], R[d + 1], k, k >> 31) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLE_REG:
            pc += !ugt64(R[d], R[d + 1], R[s], R[s + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGT_IMM:
            k = imms[pc];
            pc += sgt64(R[d], R[d + 1], k, k >> 31) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGT_REG:
            pc += sgt64(R[d], R[d + 1], R[s], R[s + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGE_IMM:
            k = imms[pc];
            pc += !sgt64(k, k >> 31, R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGE_REG:
            pc += !sgt64(R[s], R[s + 1], R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLT_IMM:
            k = imms[pc];
            pc += sgt64(k, k >> 31, R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLT_REG:
            pc += sgt64(R[s], R[s + 1], R[d], R[d + 1]) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLE_IMM:
            k = imms[pc];
            pc += !sgt64(R[d], R[d + 1], k, k >> 31) ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLE_REG:
            pc += !sgt64(R[d], R[d + 1], R[s], R[s + 1]) ? offs[pc] + 1 : 1;
            continue;

          // ---- Jumps, 32-bit compare ---------------------------------------------------------
          case Opcode.JEQ32_IMM:
            pc += R[d] === imms[pc] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JEQ32_REG:
            pc += R[d] === R[s] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JNE32_IMM:
            pc += R[d] !== imms[pc] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JNE32_REG:
            pc += R[d] !== R[s] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSET32_IMM:
            pc += (R[d] & imms[pc]) !== 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSET32_REG:
            pc += (R[d] & R[s]) !== 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGT32_IMM:
            pc += R[d] >>> 0 > imms[pc] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGT32_REG:
            pc += R[d] >>> 0 > R[s] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGE32_IMM:
            pc += R[d] >>> 0 >= imms[pc] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JGE32_REG:
            pc += R[d] >>> 0 >= R[s] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLT32_IMM:
            pc += R[d] >>> 0 < imms[pc] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLT32_REG:
            pc += R[d] >>> 0 < R[s] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLE32_IMM:
            pc += R[d] >>> 0 <= imms[pc] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JLE32_REG:
            pc += R[d] >>> 0 <= R[s] >>> 0 ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGT32_IMM:
            pc += R[d] > imms[pc] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGT32_REG:
            pc += R[d] > R[s] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGE32_IMM:
            pc += R[d] >= imms[pc] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSGE32_REG:
            pc += R[d] >= R[s] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLT32_IMM:
            pc += R[d] < imms[pc] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLT32_REG:
            pc += R[d] < R[s] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLE32_IMM:
            pc += R[d] <= imms[pc] ? offs[pc] + 1 : 1;
            continue;
          case Opcode.JSLE32_REG:
            pc += R[d] <= R[s] ? offs[pc] + 1 : 1;
            continue;

          // ---- Calls and exit ----------------------------------------------------------------
          case Opcode.CALL:
          case Opcode.CALLX: {
            if (op[pc] === Opcode.CALL && srcs[pc] === 1) {
              // Program-local call: a fresh stack frame; r6-r9 and r10 come back on exit.
              if (depth + 1 >= MAX_CALL_DEPTH) {
                throw this.fault('call-depth', pc, `call depth exceeds ${MAX_CALL_DEPTH} frames`);
              }
              frameReturn[depth] = pc + 1;
              const base = depth * 10;
              for (let i = 0; i < 10; i++) frameSaved[base + i] = R[12 + i];
              depth++;
              R[20] = this.stackBase + (depth + 1) * STACK_SIZE;
              R[21] = 0;
              pc += imms[pc] + 1;
              continue;
            }
            // callx names the helper by the id in its register (known only now).
            const helper = op[pc] === Opcode.CALL ? helpers[pc] : R[d + 1] === 0 ? p.helperRegistry.get(R[d]) : undefined;
            if (helper === undefined) {
              throw this.fault('unknown-helper', pc, `callx to unknown helper id ${toBigUint(R[d], R[d + 1])}`);
            }
            if (helper.kind === 'tail-call') {
              const found = baseDepth === 0 || this.tailCallFailure !== undefined ? this.resolveTailCall?.(R[4] >>> 0, R[6] >>> 0) : undefined;
              const target = baseDepth === 0 && this.tailCalls < MAX_TAIL_CALLS ? found : undefined;
              if (target === undefined && this.tailCallFailure !== undefined) {
                fromNumber(this.tailCallFailure(found === undefined ? 'no-program' : baseDepth !== 0 ? 'nested' : 'limit'));
                R[0] = pair[0];
                R[1] = pair[1];
                pc++;
                continue;
              }
              if (target !== undefined) {
                // The target replaces this program: same context (r1), fresh stack, depth 0.
                this.tailCalls++;
                this.program = p = target;
                op = p.opcode;
                dsts = p.dst;
                srcs = p.src;
                offs = p.offset;
                imms = p.imm;
                helpers = p.helpers;
                depth = 0;
                R[20] = this.stackBase + STACK_SIZE;
                R[21] = 0;
                pc = 0;
                continue;
              }
            }
            this.helperDepth = depth;
            this.executed = count;
            this.callHelper(helper, pc);
            count = this.executed;
            if (mem.generation !== generation) {
              // The helper grew the memory: every view of the old buffer is stale.
              generation = mem.generation;
              dv = mem.view;
              i32 = mem.int32;
              i64 = mem.bigInt64;
              memSize = dv.byteLength;
            }
            pc++;
            continue;
          }
          case Opcode.EXIT: {
            if (depth === baseDepth) {
              this.executed = count;
              return toBigUint(R[0], R[1]);
            }
            depth--;
            const base = depth * 10;
            for (let i = 0; i < 10; i++) R[12 + i] = frameSaved[base + i];
            pc = frameReturn[depth];
            continue;
          }

          // ---- 64-bit immediate --------------------------------------------------------------
          case Opcode.LDDW:
            R[d] = imms[pc];
            R[d + 1] = imms[pc + 1];
            pc += 2;
            continue;

          // ---- Loads -------------------------------------------------------------------------
          case Opcode.LDXB:
          case Opcode.LDXSB:
            a = (R[s] >>> 0) + offs[pc];
            if (R[s + 1] !== 0 || a < NULL_GUARD || a + 1 > memSize) throw this.memoryFault(pc, s >> 1, offs[pc], 1, memSize);
            R[d] = op[pc] === Opcode.LDXB ? dv.getUint8(a) : dv.getInt8(a);
            R[d + 1] = op[pc] === Opcode.LDXB ? 0 : R[d] >> 31;
            pc++;
            continue;
          case Opcode.LDXH:
          case Opcode.LDXSH:
            a = (R[s] >>> 0) + offs[pc];
            if (R[s + 1] !== 0 || a < NULL_GUARD || a + 2 > memSize) throw this.memoryFault(pc, s >> 1, offs[pc], 2, memSize);
            R[d] = op[pc] === Opcode.LDXH ? dv.getUint16(a, true) : dv.getInt16(a, true);
            R[d + 1] = op[pc] === Opcode.LDXH ? 0 : R[d] >> 31;
            pc++;
            continue;
          case Opcode.LDXW:
          case Opcode.LDXSW:
            a = (R[s] >>> 0) + offs[pc];
            if (R[s + 1] !== 0 || a < NULL_GUARD || a + 4 > memSize) throw this.memoryFault(pc, s >> 1, offs[pc], 4, memSize);
            R[d] = dv.getInt32(a, true);
            R[d + 1] = op[pc] === Opcode.LDXW ? 0 : R[d] >> 31;
            pc++;
            continue;
          case Opcode.LDXDW:
            a = (R[s] >>> 0) + offs[pc];
            if (R[s + 1] !== 0 || a < NULL_GUARD || a + 8 > memSize) throw this.memoryFault(pc, s >> 1, offs[pc], 8, memSize);
            R[d] = dv.getInt32(a, true);
            R[d + 1] = dv.getInt32(a + 4, true);
            pc++;
            continue;

          // ---- Stores ------------------------------------------------------------------------
          case Opcode.STB:
          case Opcode.STXB:
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 1 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 1, memSize);
            dv.setUint8(a, op[pc] === Opcode.STB ? imms[pc] : R[s]);
            pc++;
            continue;
          case Opcode.STH:
          case Opcode.STXH:
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 2 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 2, memSize);
            dv.setUint16(a, op[pc] === Opcode.STH ? imms[pc] : R[s], true);
            pc++;
            continue;
          case Opcode.STW:
          case Opcode.STXW:
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 4 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 4, memSize);
            dv.setInt32(a, op[pc] === Opcode.STW ? imms[pc] : R[s], true);
            pc++;
            continue;
          case Opcode.STDW:
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 8 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 8, memSize);
            k = imms[pc];
            dv.setInt32(a, k, true);
            dv.setInt32(a + 4, k >> 31, true);
            pc++;
            continue;
          case Opcode.STXDW:
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 8 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 8, memSize);
            dv.setInt32(a, R[s], true);
            dv.setInt32(a + 4, R[s + 1], true);
            pc++;
            continue;

          // ---- Atomics -----------------------------------------------------------------------
          case Opcode.ATOMIC32: {
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 4 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 4, memSize);
            if ((a & 3) !== 0) throw this.fault('misaligned-atomic', pc, `atomic 4-byte access at 0x${a.toString(16)} is not 4-byte aligned`);
            const at = a >> 2;
            const v = R[s];
            let old: number;
            switch (imms[pc]) {
              case AtomicOp.ADD:
              case AtomicOp.FETCH_ADD:
                old = Atomics.add(i32, at, v);
                break;
              case AtomicOp.OR:
              case AtomicOp.FETCH_OR:
                old = Atomics.or(i32, at, v);
                break;
              case AtomicOp.AND:
              case AtomicOp.FETCH_AND:
                old = Atomics.and(i32, at, v);
                break;
              case AtomicOp.XOR:
              case AtomicOp.FETCH_XOR:
                old = Atomics.xor(i32, at, v);
                break;
              case AtomicOp.XCHG:
                old = Atomics.exchange(i32, at, v);
                break;
              default: // CMPXCHG: compares with r0, old value to r0
                old = Atomics.compareExchange(i32, at, R[0], v);
                R[0] = old;
                R[1] = 0;
                pc++;
                continue;
            }
            if ((imms[pc] & AtomicOp.FETCH) !== 0) {
              R[s] = old;
              R[s + 1] = 0;
            }
            pc++;
            continue;
          }
          case Opcode.ATOMIC64: {
            a = (R[d] >>> 0) + offs[pc];
            if (R[d + 1] !== 0 || a < NULL_GUARD || a + 8 > memSize) throw this.memoryFault(pc, d >> 1, offs[pc], 8, memSize);
            if ((a & 7) !== 0) throw this.fault('misaligned-atomic', pc, `atomic 8-byte access at 0x${a.toString(16)} is not 8-byte aligned`);
            const at = a >> 3;
            const v = toBigInt(R[s], R[s + 1]);
            let old: bigint;
            switch (imms[pc]) {
              case AtomicOp.ADD:
              case AtomicOp.FETCH_ADD:
                old = Atomics.add(i64, at, v);
                break;
              case AtomicOp.OR:
              case AtomicOp.FETCH_OR:
                old = Atomics.or(i64, at, v);
                break;
              case AtomicOp.AND:
              case AtomicOp.FETCH_AND:
                old = Atomics.and(i64, at, v);
                break;
              case AtomicOp.XOR:
              case AtomicOp.FETCH_XOR:
                old = Atomics.xor(i64, at, v);
                break;
              case AtomicOp.XCHG:
                old = Atomics.exchange(i64, at, v);
                break;
              default:
                old = Atomics.compareExchange(i64, at, toBigInt(R[0], R[1]), v);
                fromBig(old);
                R[0] = pair[0];
                R[1] = pair[1];
                pc++;
                continue;
            }
            if ((imms[pc] & AtomicOp.FETCH) !== 0) {
              fromBig(old);
              R[s] = pair[0];
              R[s + 1] = pair[1];
            }
            pc++;
            continue;
          }

          // ---- Legacy packet loads (big-endian; out of bounds ends the program with r0 = 0) --
          case Opcode.LDABSB:
          case Opcode.LDABSH:
          case Opcode.LDABSW:
          case Opcode.LDINDB:
          case Opcode.LDINDH:
          case Opcode.LDINDW: {
            const packet = args.packet;
            if (packet === undefined) throw this.fault('no-packet', pc, 'legacy packet load, but the program was run without a packet');
            const code = op[pc];
            const size = code === Opcode.LDABSB || code === Opcode.LDINDB ? 1 : code === Opcode.LDABSH || code === Opcode.LDINDH ? 2 : 4;
            let where = imms[pc];
            if (code === Opcode.LDINDB || code === Opcode.LDINDH || code === Opcode.LDINDW) where = (where + R[s]) | 0;
            if (where < 0 || where + size > packet.length) {
              this.executed = count;
              R[0] = 0;
              R[1] = 0;
              return 0n;
            }
            const at = packet.address + where;
            R[0] = size === 1 ? dv.getUint8(at) : size === 2 ? dv.getUint16(at, false) : dv.getInt32(at, false);
            R[1] = 0;
            pc++;
            continue;
          }

          default:
            if (pc < 0 || pc >= p.slots) {
              throw this.fault('bad-jump', pc, `control left the program (${p.slots} slots): jump outside it or no exit at its end`);
            }
            throw this.fault('bad-jump', pc, `opcode 0x${op[pc].toString(16)} is not executable here`);
        }
      }
    } catch (e) {
      this.executed = count;
      if (e instanceof BpfRuntimeError) throw e;
      // Anything else is a bug in the engine; still surface it as a typed runtime error.
      throw this.fault('internal', pc, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
