// The oracle: runs one accepted program on one input, on the interpreter with its per-instruction
// trace instrumented, then on the JIT, and says what (if anything) went wrong. Checked for every
// memory access the interpreter makes (ldx/st/stx/atomic and the memory arguments of the helpers
// the generators call, from r1-r5 at the call): it must lie in the packet [data_meta, data_end),
// the 24-byte context (read only), the live stack frames of this invocation (512 bytes per frame,
// entry frame and active calls), or exactly one value of a map the program names (the read-only
// map read only). Stack bytes are poisoned before each run and every byte the program (or a
// helper: what its model says it wrote on this outcome, and whatever bytes changed) stores is recorded: reading a byte not written in this
// run is an uninitialised stack read. Also findings: running a pc the verifier found unreachable,
// a spin lock unlocked without being held, stored to while held, or still held at exit, a 4- or
// 8-byte store into the packet or a map value (or r0 at exit, or a changed map word) whose value
// is an address the program may point at (an approximate pointer-leak check: objects live above
// 16 MiB, see environment.ts, so ordinary numbers do not collide), any run-time fault (an
// instruction limit reached is a hang), and the JIT disagreeing with the interpreter on r0 or the
// fault, the packet bytes or the maps' contents.

import { BpfRuntimeError, Interpreter, JitProgram, prepareProgram, type TraceEvent } from '../../src/vm/index.js';
import { MAX_CALL_DEPTH, STACK_SIZE } from '../../src/vm/interpreter.js';
import { BUILTIN_HELPER_BASE } from '../../src/abi/builtins.js';
import { CTX_SIZE, GUARD_BYTE, type Environment, type FuzzMap, type Region } from './environment.js';
import { ARRAY_BYTES, type Input } from './inputs.js';
import type { BuiltProgram } from './program.js';

export type FindingKind =
  | 'out-of-bounds' | 'read-only-write' | 'uninitialized-stack' | 'pointer-leak' | 'unverified-code' | 'spin-lock'
  | 'fault' | 'hang' | 'engine-mismatch';

export interface Finding {
  readonly kind: FindingKind;
  readonly pc: number;
  readonly detail: string;
}

const STACK_BYTES = MAX_CALL_DEPTH * STACK_SIZE;
const POISON = 0xcb;
const H = { lookup: 1, update: 2, remove: 3, printk: 6, csumDiff: 28, push: 87, pop: 88, peek: 89, lock: 93, unlock: 94, snprintf: 165 };
const MEMSET = BUILTIN_HELPER_BASE + 1;
const MEMCPY = BUILTIN_HELPER_BASE + 2;
const MEMMOVE = BUILTIN_HELPER_BASE + 3;
const MEMCMP = BUILTIN_HELPER_BASE + 4;

interface PendingHelper {
  readonly id: number;
  readonly pc: number;
  readonly args: readonly number[];
  /** Stack bytes before the call: those that changed were written. */
  readonly before: Uint8Array;
}

interface SideEffects {
  readonly outcome: string;
  readonly area: Uint8Array;
  readonly arrays: Uint8Array;
  readonly queue: readonly bigint[];
}

const u32 = (v: bigint): number => Number(v & 0xffffffffn);

export class Oracle {
  private readonly interpreter: Interpreter;
  private readonly jit: JitProgram;
  private readonly mark: number;
  private readonly interpStack: number;
  private readonly jitStack: number;
  private readonly mapValues: readonly { region: Region; map: FuzzMap }[];
  private readonly windows: readonly Region[];
  private readonly usesLocks: boolean;
  private readonly arrValues: readonly Region[];
  // Per run:
  private written = new Uint8Array(STACK_BYTES);
  private held = new Set<number>();
  private pending: PendingHelper | undefined;
  private finding: Finding | undefined;
  private input: Input | undefined;
  private meta = 0;
  private dataEnd = 0;
  /** Runs of either engine so far. */
  executions = 0;

  constructor(
    private readonly env: Environment,
    private readonly program: BuiltProgram,
    private readonly reachable: ReadonlySet<number>,
    instructionLimit: number,
  ) {
    this.mark = env.memory.mark();
    const prepared = prepareProgram(program.code, { helpers: env.helpers });
    this.interpreter = new Interpreter(prepared, { memory: env.memory, instructionLimit, trace: (e) => this.step(e) });
    this.jit = new JitProgram(prepared, { memory: env.memory, instructionLimit }).compile();
    this.interpStack = this.interpreter.framePointer - STACK_SIZE;
    this.jitStack = this.jit.region;
    this.mapValues = program.maps.flatMap((m) => m.values.map((region) => ({ region, map: m })));
    this.arrValues = env.maps.get(1)?.values ?? [];
    this.windows = env.addressWindows([{ start: this.interpStack, end: this.interpStack + STACK_BYTES }, { start: this.jitStack, end: this.jitStack + STACK_BYTES }]);
    this.usesLocks = program.fields.some((f) => f.spec.form === 'call' && (f.imm === H.lock || f.imm === H.unlock));
  }

  /** Why the JIT runs this program on its interpreter fallback, if it does. */
  get jitFallback(): string | undefined {
    return this.jit.interpretedBecause;
  }

  dispose(): void {
    this.env.memory.release(this.mark);
  }

  /** Runs `input` on both engines: the first problem found, or undefined. */
  check(input: Input): Finding | undefined {
    this.input = input;
    this.prepare(input);
    this.written.fill(0);
    this.held.clear();
    this.pending = undefined;
    this.finding = undefined;
    const interpreted = this.runEngine('interpreter');
    if (this.finding !== undefined) return this.finding;
    if (interpreted.fault !== undefined) return interpreted.fault;
    if (this.held.size > 0) return { kind: 'spin-lock', pc: -1, detail: `exited holding the lock at 0x${[...this.held][0].toString(16)}` };
    const a = this.sideEffects(interpreted.outcome);
    const leak = this.leakAfterRun(input, a);
    if (leak !== undefined) return leak;
    this.prepare(input);
    const compiled = this.runEngine('jit');
    const b = this.sideEffects(compiled.outcome);
    const differs = a.outcome !== b.outcome ? `outcome: interpreter ${a.outcome}, jit ${b.outcome}`
      : !equalBytes(a.area, b.area) ? 'packet area bytes differ'
      : !equalBytes(a.arrays, b.arrays) ? 'array map values differ'
      : a.queue.join() !== b.queue.join() ? `queue contents: interpreter [${a.queue.join()}], jit [${b.queue.join()}]` : undefined;
    if (differs !== undefined) return { kind: 'engine-mismatch', pc: -1, detail: differs };
    return compiled.fault;
  }

  // ---- the world before a run ----

  private prepare(input: Input): void {
    const env = this.env;
    const bytes = env.memory.bytes;
    bytes.fill(GUARD_BYTE, env.area, env.area + env.areaSize);
    bytes.set(input.bytes, env.data);
    this.meta = env.data - input.metaLength;
    this.dataEnd = env.data + input.length;
    bytes.fill(0, this.meta, env.data);
    const view = env.memory.view;
    view.setUint32(env.ctx, env.data, true);
    view.setUint32(env.ctx + 4, this.dataEnd, true);
    view.setUint32(env.ctx + 8, this.meta, true);
    for (let i = 0; i < 3; i++) view.setUint32(env.ctx + 12 + 4 * i, input.ctxWords[i] >>> 0, true);
    let at = 0;
    for (const fd of [1, 2]) {
      for (const v of env.maps.get(fd)?.values ?? []) {
        const size = v.end - v.start;
        bytes.set(input.arrays.subarray(at, at + size), v.start);
        at += size;
      }
    }
    // Lock words must start released: a lock held at entry is not the program's doing.
    if (this.usesLocks) for (const v of this.arrValues) bytes.fill(0, v.start, v.end);
    const q = env.queue;
    while (q.count > 0) q.popFromProgram(env.scratch);
    for (const value of input.queue) {
      view.setBigUint64(env.scratch, value, true);
      q.pushFromProgram(env.scratch, 0);
    }
    bytes.fill(POISON, this.interpStack, this.interpStack + STACK_BYTES);
    bytes.fill(POISON, this.jitStack, this.jitStack + STACK_BYTES);
  }

  private runEngine(kind: 'interpreter' | 'jit'): { outcome: string; fault: Finding | undefined } {
    this.executions++;
    try {
      const r0 = kind === 'interpreter' ? this.interpreter.run({ r1: this.env.ctx }) : this.jit.run({ r1: this.env.ctx });
      if (kind === 'interpreter' && this.finding === undefined && this.inWindow(r0)) {
        this.report('pointer-leak', -1, `r0 at exit is 0x${r0.toString(16)}, an address`);
      }
      return { outcome: `r0=0x${r0.toString(16)}`, fault: undefined };
    } catch (e) {
      if (!(e instanceof BpfRuntimeError)) throw e;
      const kindOf = e.fault === 'instruction-limit' ? 'hang' : 'fault';
      return { outcome: `fault ${e.fault} at pc ${e.pc}`, fault: { kind: kindOf, pc: e.pc, detail: `${kind}: ${e.message}` } };
    }
  }

  private sideEffects(outcome: string): SideEffects {
    const env = this.env;
    const arrays = new Uint8Array(ARRAY_BYTES);
    let at = 0;
    for (const fd of [1, 2]) {
      for (const v of env.maps.get(fd)?.values ?? []) {
        arrays.set(env.memory.bytes.subarray(v.start, v.end), at);
        at += v.end - v.start;
      }
    }
    const queue: bigint[] = [];
    while (env.queue.count > 0) {
      env.queue.popFromProgram(env.scratch);
      queue.push(env.memory.view.getBigUint64(env.scratch, true));
    }
    return { outcome, area: env.memory.read(env.area, env.areaSize), arrays, queue };
  }

  /**
   * Words of the maps that a run wrote (helpers included) and now hold an address. A word counts
   * as written when at least three of its four bytes changed: an unaligned word that straddles one
   * changed byte and three bytes of the random input is input data, not a stored pointer (a seed
   * found `lock *(u32 *)(r0 + 4) &= 1` making bytes 1..4 read 0x1001870). A stored address keeps
   * two or more bytes of what was there with odds of about 1 in 10,000.
   */
  private leakAfterRun(input: Input, after: SideEffects): Finding | undefined {
    const view = new DataView(after.arrays.buffer);
    for (let i = 0; i + 4 <= ARRAY_BYTES; i++) {
      const word = view.getUint32(i, true);
      let changed = 0;
      for (let b = i; b < i + 4; b++) if (after.arrays[b] !== input.arrays[b]) changed++;
      if (changed >= 3 && this.inWindow(BigInt(word))) {
        return { kind: 'pointer-leak', pc: -1, detail: `array map bytes ${i}..${i + 3} now hold 0x${word.toString(16)}, an address` };
      }
    }
    for (const v of after.queue) if (!input.queue.includes(v) && this.inWindow(v)) return { kind: 'pointer-leak', pc: -1, detail: `the queue holds 0x${v.toString(16)}, an address` };
    return undefined;
  }

  // ---- the instrumented interpreter ----

  private report(kind: FindingKind, pc: number, detail: string): void {
    if (this.finding === undefined) this.finding = { kind, pc, detail };
  }

  private inWindow(v: bigint): boolean {
    if (v >= 0x100000000n) return false;
    const n = Number(v);
    for (const w of this.windows) if (n >= w.start && n < w.end) return true;
    return false;
  }

  private step(e: TraceEvent): void {
    if (this.finding !== undefined) return;
    const { pc, instruction: insn, registers: R, depth } = e;
    if (this.pending !== undefined) this.finishHelper(R[0]);
    if (!this.reachable.has(pc)) this.report('unverified-code', pc, `pc ${pc} runs, but the verifier found it unreachable`);
    const width = insn.spec.width / 8;
    switch (insn.spec.form) {
      case 'ldx':
        this.access(pc, R[insn.src] + BigInt(insn.offset), width, 'read', depth);
        break;
      case 'st':
      case 'stx': {
        const at = this.access(pc, R[insn.dst] + BigInt(insn.offset), width, 'write', depth);
        if (insn.spec.form === 'stx' && width >= 4 && at !== undefined && !this.onStack(at, depth)) {
          const value = width === 4 ? R[insn.src] & 0xffffffffn : R[insn.src];
          if (this.inWindow(value)) this.report('pointer-leak', pc, `stores 0x${value.toString(16)} (an address) at 0x${at.toString(16)}`);
        }
        break;
      }
      case 'atomic': {
        const at = R[insn.dst] + BigInt(insn.offset);
        this.access(pc, at, width, 'read', depth);
        this.access(pc, at, width, 'write', depth);
        break;
      }
      case 'call-local': {
        const frame = (depth + 1) * STACK_SIZE;
        this.written.fill(0, frame, frame + STACK_SIZE);
        break;
      }
      case 'call':
        this.startHelper(pc, insn.imm, R, depth);
        break;
      case 'exit':
        if (depth === 0 && this.held.size > 0) this.report('spin-lock', pc, `exit while holding the lock at 0x${[...this.held][0].toString(16)}`);
        break;
      default:
    }
  }

  private onStack(at: number, depth: number): boolean {
    return at >= this.interpStack && at < this.interpStack + (depth + 1) * STACK_SIZE;
  }

  /** Checks [address, address + size); returns the address when it is a 32-bit one. */
  private access(pc: number, address: bigint, size: number, how: 'read' | 'write', depth: number): number | undefined {
    const a = BigInt.asUintN(64, address);
    if (a + BigInt(size) > 0x100000000n) {
      this.report('out-of-bounds', pc, `${size}-byte ${how} at 0x${a.toString(16)}, outside every object`);
      return undefined;
    }
    const at = Number(a);
    const end = at + size;
    const env = this.env;
    if (size === 0) return at;
    if (this.onStack(at, depth) && end <= this.interpStack + (depth + 1) * STACK_SIZE) {
      const o = at - this.interpStack;
      if (how === 'write') this.written.fill(1, o, o + size);
      else {
        for (let i = o; i < o + size; i++) {
          if (this.written[i] === 0) {
            const frame = Math.floor(i / STACK_SIZE);
            this.report('uninitialized-stack', pc, `${size}-byte stack read: byte r10${i - (frame + 1) * STACK_SIZE} of frame ${frame} was not written in this run`);
            break;
          }
        }
      }
      return at;
    }
    if (at >= this.meta && end <= this.dataEnd) return at;
    if (at >= env.ctx && end <= env.ctx + CTX_SIZE) {
      if (how === 'write') this.report('read-only-write', pc, `${size}-byte write into the context at +${at - env.ctx}`);
      return at;
    }
    for (const { region, map } of this.mapValues) {
      if (at >= region.start && end <= region.end) {
        if (how === 'write' && map.readOnly) this.report('read-only-write', pc, `${size}-byte write into read-only map ${map.info.name}`);
        if (how === 'write') this.lockStore(pc, at, end);
        return at;
      }
    }
    this.report('out-of-bounds', pc, `${size}-byte ${how} at 0x${at.toString(16)} ${this.describe(at)}`);
    return at;
  }

  /** Where an address is, for the report: relative to the packet, a map value or a stack. */
  private describe(at: number): string {
    const env = this.env;
    if (at >= env.area && at < env.area + env.areaSize) return `(data${at - env.data >= 0 ? '+' : ''}${at - env.data}; packet length ${this.dataEnd - env.data})`;
    for (const m of env.maps.values()) {
      for (const [i, v] of m.values.entries()) if (at >= v.start - 8 && at < v.end + 8) return `(map ${m.info.name} value ${i} ${at >= v.start ? '+' : ''}${at - v.start}${this.program.maps.includes(m) ? '' : ', a map the program does not name'})`;
    }
    if (at >= this.interpStack && at < this.interpStack + STACK_BYTES) return `(stack byte ${at - this.interpStack}, beyond the live frames)`;
    return '(no object the program may use)';
  }

  private lockStore(pc: number, at: number, end: number): void {
    for (const lock of this.held) if (at < lock + 4 && end > lock) this.report('spin-lock', pc, `plain store into the held lock word at 0x${lock.toString(16)}`);
  }

  // ---- helpers: their memory arguments and what they really wrote ----

  private startHelper(pc: number, id: number, R: readonly bigint[], depth: number): void {
    const a = [0, u32(R[1]), u32(R[2]), u32(R[3]), u32(R[4]), u32(R[5])];
    const mapOf = (addr: number): FuzzMap | undefined => this.env.byAddress.get(addr);
    const read = (at: number, n: number): void => {
      if (n > 0) this.access(pc, BigInt(at), n, 'read', depth);
    };
    switch (id) {
      case H.lookup: case H.remove: read(a[2], mapOf(a[1])?.info.keySize ?? 0); break;
      case H.update: read(a[2], mapOf(a[1])?.info.keySize ?? 0); read(a[3], mapOf(a[1])?.info.valueSize ?? 0); break;
      case H.push: read(a[2], mapOf(a[1])?.info.valueSize ?? 0); break;
      case H.pop: case H.peek: this.checkWritable(pc, a[2], mapOf(a[1])?.info.valueSize ?? 0, depth); break;
      case MEMSET: this.checkWritable(pc, a[1], a[3], depth); break;
      case MEMCPY: case MEMMOVE: read(a[2], a[3]); this.checkWritable(pc, a[1], a[3], depth); break;
      case MEMCMP: read(a[1], a[3]); read(a[2], a[3]); break;
      case H.printk: read(a[1], a[2]); break;
      case H.csumDiff: read(a[1], a[2]); read(a[3], a[4]); break;
      case H.snprintf: this.checkWritable(pc, a[1], a[2], depth); read(a[4], a[5]); break;
      case H.lock:
        if (this.held.has(a[1])) this.report('spin-lock', pc, `bpf_spin_lock of 0x${a[1].toString(16)}, already held`);
        this.held.add(a[1]);
        break;
      case H.unlock:
        if (!this.held.has(a[1])) this.report('spin-lock', pc, `bpf_spin_unlock of 0x${a[1].toString(16)}, which is not held${this.held.size > 0 ? ` (0x${[...this.held][0].toString(16)} is)` : ''}`);
        this.held.delete(a[1]);
        break;
      default:
    }
    this.pending = { id, pc, args: a, before: this.env.memory.read(this.interpStack, STACK_BYTES) };
  }

  /** A destination the helper may write: checked like a store, but marked written only afterwards. */
  private checkWritable(pc: number, at: number, n: number, depth: number): void {
    if (n === 0) return;
    const saved = this.written.slice();
    this.access(pc, BigInt(at), n, 'write', depth);
    this.written = saved;
  }

  private finishHelper(r0: bigint): void {
    const p = this.pending as PendingHelper;
    this.pending = undefined;
    const a = p.args;
    const ok = r0 === 0n;
    const mark = (at: number, n: number): void => {
      const o = at - this.interpStack;
      if (n > 0 && o >= 0 && o < STACK_BYTES) this.written.fill(1, o, Math.min(STACK_BYTES, o + n));
    };
    switch (p.id) {
      case H.pop: case H.peek: if (ok) mark(a[2], this.env.byAddress.get(a[1])?.info.valueSize ?? 0); break;
      case MEMSET: case MEMCPY: case MEMMOVE: mark(a[1], a[3]); break;
      case H.snprintf: {
        const needed = Number(BigInt.asIntN(64, r0));
        if (needed > 0 && a[2] > 0) mark(a[1], Math.min(needed, a[2]));
        break;
      }
      default:
    }
    // Whatever else changed was written too (a byte rewritten with the poison's value is missed,
    // which the model above covers for the helpers the generators use most).
    const now = this.env.memory.bytes.subarray(this.interpStack, this.interpStack + STACK_BYTES);
    for (let i = 0; i < STACK_BYTES; i++) if (now[i] !== p.before[i]) this.written[i] = 1;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
