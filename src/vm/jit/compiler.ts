// eBPF → WebAssembly: one wasm function per eBPF function (PreparedProgram.functionStarts), eBPF
// registers as i64 locals, one module per program.
//
// Control flow: structured wasm derived from each function's CFG (nested block/loop/if, no
// dispatch loop for reducible CFGs). The algorithm is the dominator-tree stackifier of Ramsey, "Beyond Relooper" (ICFP 2022):
//   1. Split the function into basic blocks (leaders: the entry, jump targets, the slot after a
//      jump or exit), number them in reverse postorder (RPO) and compute the dominator tree
//      (Cooper-Harvey-Kennedy iteration).
//   2. An edge u→v is a back edge when rpo(v) <= rpo(u). The CFG is reducible when every back
//      edge's target dominates its source; targets of back edges are loop headers. A block with two
//      or more forward in-edges is a merge node.
//   3. doTree(x) emits x and the part of the dominator tree below it. If x is a loop header it is
//      wrapped in `loop`. x's dominator-tree children that are merge nodes, in increasing RPO
//      y1 < y2 < … < yn, are placed after nested blocks:
//          block(yn) … block(y1)  <code of x>  end  doTree(y1) … end  doTree(yn)
//      so a forward branch to a merge node is a `br` out of the block that precedes it.
//   4. doBranch(x → t): to a loop header behind us → `br` to its `loop` (after charging the
//      instruction budget); to a merge node → `br` to the block it follows; otherwise t has x as
//      its only forward predecessor and is a dominator-tree child of x: emit doTree(t) in place.
//   Conditional jumps become `if … else … end` (or `br_if` when the taken side is a merge node).
// Irreducible CFGs (clang never produces them) fall back, per function, to one `loop` around a
// `br_table` over the blocks (emitDispatch). Control that crosses from one function's code into
// another's is not compiled: compileModule throws JitUnsupported and the JitProgram runs that
// program on the interpreter instead.
//
// Registers across bpf-to-bpf calls: the interpreter has one register file (r6-r10 saved and
// restored around a call), so a callee sees the caller's r0-r9 and the caller sees the callee's
// r0-r5. Each wasm function takes as parameters the registers it reads before writing (liveness)
// and returns r0 plus the r1-r5 it may change that a caller reads afterwards (an interprocedural
// fixed point, `signaturesOf`). For clang's code that is (r1…r5 it uses, depth) → r0.
//
// Memory: every access is checked as the interpreter checks it (upper half of the base register
// zero, address >= NULL_GUARD, address + size <= memory size, cached in locals and refreshed after
// helper calls); failures call the `memfault` import, which throws the interpreter's
// BpfRuntimeError. Accesses through r10 inside the current frame need no check.
//
// Instruction budget: a counter (a local, synchronised with the `fuel` global around calls) is
// charged at every back edge with the size of the block that takes it, and 1 per local call and
// per callback, so a program stops with 'instruction-limit' no earlier than the interpreter would
// (the charge is a lower bound of the instructions run) and never hangs.
//
// Semantics follow src/vm/interpreter.ts instruction by instruction; the comments name the cases
// where wasm would trap (division by zero, INT_MIN / -1) and how they are avoided.

import { LddwSrc, type Instruction } from '../../isa/index.js';
import { MAX_CALL_DEPTH, STACK_SIZE } from '../interpreter.js';
import { NULL_GUARD } from '../memory.js';
import type { PreparedProgram } from '../program.js';
import { ENTRY, FaultCode, IMPORT, SLOTS, SLOT_BYTES, callbackExport } from './layout.js';
import { AtomicRmw, FunctionBuilder, Load, ModuleBuilder, Op, Store, ValType } from './wasm-builder.js';
import { ArrayLayout, MapHeader, MapType } from '../../maps/index.js';
import { ASK_HELPER, INLINE_HASH_TYPES, emitHashLookup } from './inline-maps.js';

/** The program uses something this JIT does not compile; it runs on the interpreter instead. */
export class JitUnsupported extends Error {
  override readonly name = 'JitUnsupported';
}

// Function imports, in declaration order.
const F_HELPER = 0;
const F_DISPATCH = 1;
const F_FAULT = 2;
const F_MEMFAULT = 3;
const IMPORTED_FUNCS = 4;
// Globals: imported base, fuel, limit, cpu; then the module's own unwind flag.
const G_BASE = 0;
const G_FUEL = 1;
const G_LIMIT = 2;
const G_CPU = 3;
const G_UNWIND = 4;
// The run's packet for legacy loads (address, length; length -1 = no packet), set by the entry.
const G_PACKET_ADDRESS = 5;
const G_PACKET_LENGTH = 6;

/** Bit masks over r0-r10. */
const R1_5 = 0b111110;
const R0_9 = 0b1111111111;
const bit = (r: number): number => 1 << r;
const registersOf = (mask: number): number[] => {
  const out: number[] = [];
  for (let r = 0; r <= 10; r++) if ((mask & bit(r)) !== 0) out.push(r);
  return out;
};

/**
 * How a function is called: the registers it reads before writing them (its wasm parameters,
 * then the depth) and the registers it returns (r0, then the r1-r5 it may change that some caller
 * reads after the call). The interpreter shares one register file between caller and callee;
 * passing exactly the live registers both ways gives the same results with plain wasm calls.
 */
interface Signature {
  params: number;
  results: number;
}

const COMPARE64: Partial<Record<string, Op>> = {
  jeq: Op.i64_eq, jne: Op.i64_ne, jgt: Op.i64_gt_u, jge: Op.i64_ge_u, jlt: Op.i64_lt_u, jle: Op.i64_le_u,
  jsgt: Op.i64_gt_s, jsge: Op.i64_ge_s, jslt: Op.i64_lt_s, jsle: Op.i64_le_s,
};
const COMPARE32: Partial<Record<string, Op>> = {
  jeq: Op.i32_eq, jne: Op.i32_ne, jgt: Op.i32_gt_u, jge: Op.i32_ge_u, jlt: Op.i32_lt_u, jle: Op.i32_le_u,
  jsgt: Op.i32_gt_s, jsge: Op.i32_ge_s, jslt: Op.i32_lt_s, jsle: Op.i32_le_s,
};
/** eBPF atomic operation → [32-bit, 64-bit] wasm read-modify-write. */
const ATOMIC_RMW: Partial<Record<string, [AtomicRmw, AtomicRmw]>> = {
  atomic_add: [AtomicRmw.i32_atomic_rmw_add, AtomicRmw.i64_atomic_rmw_add],
  atomic_fetch_add: [AtomicRmw.i32_atomic_rmw_add, AtomicRmw.i64_atomic_rmw_add],
  atomic_or: [AtomicRmw.i32_atomic_rmw_or, AtomicRmw.i64_atomic_rmw_or],
  atomic_fetch_or: [AtomicRmw.i32_atomic_rmw_or, AtomicRmw.i64_atomic_rmw_or],
  atomic_and: [AtomicRmw.i32_atomic_rmw_and, AtomicRmw.i64_atomic_rmw_and],
  atomic_fetch_and: [AtomicRmw.i32_atomic_rmw_and, AtomicRmw.i64_atomic_rmw_and],
  atomic_xor: [AtomicRmw.i32_atomic_rmw_xor, AtomicRmw.i64_atomic_rmw_xor],
  atomic_fetch_xor: [AtomicRmw.i32_atomic_rmw_xor, AtomicRmw.i64_atomic_rmw_xor],
  atomic_xchg: [AtomicRmw.i32_atomic_rmw_xchg, AtomicRmw.i64_atomic_rmw_xchg],
};

/** An access through r10 inside the current frame: always valid, no check needed. */
const inOwnFrame = (reg: number, off: number, size: number): boolean => reg === 10 && off >= -STACK_SIZE && off + size <= 0;

/** Where a branch leads when it falls off the end of the program. */
const FALL_OFF = -1;
/** The loop of the dispatch fallback, in a Context. */
const DISPATCH = -2;

interface Block {
  readonly index: number;
  readonly insns: Instruction[];
  /** Successors: block indexes, or FALL_OFF. For a conditional jump: [taken, fallthrough]. */
  succ: number[];
}

type Context = ({ kind: 'loop' | 'block'; block: number } | { kind: 'if' })[];

export interface CompileStats {
  readonly functions: number;
  /** Functions with an irreducible CFG, compiled as a br_table dispatch loop. */
  readonly dispatchLoops: number;
  readonly instructions: number;
  readonly bytes: number;
}

/** Memories whose maximum stays below this get one comparison per bounds check. */
export const SMALL_MEMORY_LIMIT = 2 ** 32 - 2 ** 17;

/**
 * Compiles the program to a module binary (throws JitUnsupported for what it cannot compile), for
 * a shared or unshared memory; `smallMemory`: the memory's maximum is below SMALL_MEMORY_LIMIT.
 */
export function compileModule(
  program: PreparedProgram,
  shared: boolean,
  smallMemory = false,
): { bytes: Uint8Array<ArrayBuffer>; stats: CompileStats } {
  const byPc: (Instruction | undefined)[] = new Array(program.slots);
  for (const insn of program.instructions) byPc[insn.pc] = insn;
  const starts = [...program.functionStarts].sort((a, b) => a - b);
  const funcIndex = new Map<number, number>();
  starts.forEach((s, i) => funcIndex.set(s, IMPORTED_FUNCS + i));

  let canUnwind = false;
  let callsHelpers = false;
  for (const insn of program.instructions) {
    const f = insn.spec.form;
    if (f === 'call' || f === 'callx') callsHelpers = true;
    if (f === 'callx' || f === 'ldabs' || f === 'ldind') canUnwind = true;
    if (f === 'call' && program.helpers[insn.pc]?.kind === 'tail-call') canUnwind = true;
  }

  const m = new ModuleBuilder();
  m.importFunction('env', IMPORT.helper, [ValType.I32, ValType.I32], []);
  m.importFunction('env', IMPORT.dispatch, [ValType.I32, ValType.I32], [ValType.I32]);
  m.importFunction('env', IMPORT.fault, [ValType.I32, ValType.I32], []);
  m.importFunction('env', IMPORT.memoryFault, [ValType.I32, ValType.I64], []);
  m.importMemory('env', IMPORT.memory, shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1, shared: false });
  m.importGlobal('env', IMPORT.base, ValType.I32, false);
  m.importGlobal('env', IMPORT.fuel, ValType.I64, true);
  m.importGlobal('env', IMPORT.limit, ValType.I64, false);
  m.importGlobal('env', IMPORT.cpu, ValType.I32, false);
  m.global(ValType.I32, true, 0);
  m.global(ValType.I32, true, 0);
  m.global(ValType.I32, true, -1);

  const compilers = starts.map((start, i) => {
    const end = i + 1 < starts.length ? starts[i + 1] : program.slots;
    const fc = new FunctionCompiler(program, byPc, start, end, funcIndex, canUnwind, callsHelpers, smallMemory);
    fc.prepare();
    return fc;
  });
  const signatures = signaturesOf(starts, compilers);
  const touchesFuel = compilers.map((fc) => fc.touchesFuel());
  // hash_lookup comes right after the program's functions.
  const hashLookup = IMPORTED_FUNCS + starts.length;
  compilers.forEach((fc, i) => {
    fc.hashLookup = hashLookup;
    const sig = signatures[i];
    const params = [...registersOf(sig.params).map(() => ValType.I64), ValType.I32];
    const f = m.function(params, registersOf(sig.results).map(() => ValType.I64));
    fc.emit(f, signatures, touchesFuel);
  });
  emitHashLookup(m);

  // A call from outside into function `i`: r1-r5 from a helper slot, r0 and r6-r9 zero (as the
  // interpreter's register file at the start of a run); only r0 of the results is kept.
  const callFromHost = (f: FunctionBuilder, i: number, argument: (r: number) => void, depth: () => void): void => {
    const sig = signatures[i];
    for (const r of registersOf(sig.params)) {
      if ((bit(r) & R1_5) !== 0) argument(r);
      else f.i64Const(0);
    }
    depth();
    f.call(IMPORTED_FUNCS + i);
    for (let k = registersOf(sig.results).length; k > 1; k--) f.op(Op.drop);
  };
  // entry(fresh, r1…r5, fromSlot, packetAddress, packetLength): a run (fresh = 1) or the
  // continuation after a tail call (fresh = 0). r1-r5 come as int32 parameters (sign-extended),
  // or from slot 0 when fromSlot is set (64-bit arguments, tail calls): no BigInt crosses on the
  // common path. Returns the low half of r0 and stores all of it in slot 0.
  const entry = m.function([ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32], [ValType.I32]);
  const r0 = entry.local(ValType.I64);
  entry.localGet(0).if().globalGet(G_LIMIT).globalSet(G_FUEL).end();
  entry.i32Const(0).globalSet(G_UNWIND);
  entry.localGet(7).globalSet(G_PACKET_ADDRESS).localGet(8).globalSet(G_PACKET_LENGTH);
  const fromSlotOrParam = (r: number): void => {
    entry.localGet(6).if(ValType.I64).globalGet(G_BASE).load(Load.i64_load, SLOTS + 8 * r);
    entry.else().localGet(r).op(Op.i64_extend_i32_s).end();
  };
  callFromHost(entry, 0, fromSlotOrParam, () => entry.i32Const(0));
  entry.localSet(r0).globalGet(G_BASE).localGet(r0).store(Store.i64_store, SLOTS);
  entry.localGet(r0).op(Op.i32_wrap_i64);
  m.exportFunction(ENTRY, m.nextFunctionIndex - 1);
  // cb<slot>(depth): a callback from a helper, arguments in the helper slot of `depth`.
  starts.forEach((start, i) => {
    const cb = m.function([ValType.I32], [ValType.I64]);
    // Each callback is charged one instruction (helpers that loop over callbacks stay bounded).
    const left = cb.local(ValType.I64);
    cb.globalGet(G_FUEL).i64Const(1).op(Op.i64_sub).localTee(left).globalSet(G_FUEL);
    cb.localGet(left).i64Const(0).op(Op.i64_lt_s).if().i32Const(FaultCode.InstructionLimit).i32Const(start).call(F_FAULT).end();
    const fromSlot = (r: number): void => {
      cb.globalGet(G_BASE).localGet(0).i32Const(SLOT_BYTES).op(Op.i32_mul).op(Op.i32_add).load(Load.i64_load, SLOTS + 8 * r);
    };
    callFromHost(cb, i, fromSlot, () => cb.localGet(0));
    cb.i32Const(0).globalSet(G_UNWIND);
    m.exportFunction(callbackExport(start), m.nextFunctionIndex - 1);
  });
  const bytes = m.encode();
  const dispatchLoops = compilers.filter((fc) => fc.isIrreducible).length;
  return { bytes, stats: { functions: starts.length, dispatchLoops, instructions: program.instructions.length, bytes: bytes.length } };
}

/**
 * Signatures of all functions by an interprocedural fixed point: `mod` (r1-r5 a function or its
 * callees may write), then liveness in every function given the callees' current signatures,
 * until parameters and results stop growing.
 */
function signaturesOf(starts: readonly number[], compilers: readonly FunctionCompiler[]): Signature[] {
  const index = new Map<number, number>();
  starts.forEach((s, i) => index.set(s, i));
  const mod = compilers.map((fc) => fc.directWrites() & R1_5);
  for (let changed = true; changed; ) {
    changed = false;
    compilers.forEach((fc, i) => {
      let m = mod[i];
      for (const t of fc.callees()) m |= mod[index.get(t) ?? 0];
      if (m !== mod[i]) {
        mod[i] = m;
        changed = true;
      }
    });
  }
  const sigs: Signature[] = compilers.map(() => ({ params: 0, results: bit(0) }));
  const neededAfter = compilers.map(() => 0);
  const byStart = (t: number): { sig: Signature; mod: number } => {
    const i = index.get(t) ?? 0;
    return { sig: sigs[i], mod: mod[i] };
  };
  for (let changed = true; changed; ) {
    changed = false;
    compilers.forEach((fc, i) => {
      const { liveIn, callSites } = fc.liveness(byStart, sigs[i]);
      const params = liveIn & R0_9;
      if (params !== sigs[i].params) {
        sigs[i].params = params;
        changed = true;
      }
      for (const [target, liveAfter] of callSites) {
        const j = index.get(target) ?? 0;
        const needed = neededAfter[j] | (liveAfter & R1_5);
        if (needed !== neededAfter[j]) {
          neededAfter[j] = needed;
          changed = true;
        }
      }
    });
    compilers.forEach((_, i) => {
      const results = bit(0) | (mod[i] & neededAfter[i]);
      if (results !== sigs[i].results) {
        sigs[i].results = results;
        changed = true;
      }
    });
  }
  return sigs;
}

/** Registers an instruction reads and writes (call-local and exit depend on signatures). */
function usesAndDefs(insn: Instruction): { use: number; def: number } {
  const d = bit(insn.dst);
  const s = bit(insn.src);
  const spec = insn.spec;
  switch (spec.form) {
    case 'alu-imm':
      return { use: spec.op === 'mov' ? 0 : d, def: d };
    case 'alu-reg':
      return spec.op === 'mov' || spec.op.startsWith('movsx') ? { use: s, def: d } : { use: d | s, def: d };
    case 'neg':
    case 'endian':
      return { use: d, def: d };
    case 'lddw':
      return { use: 0, def: d };
    case 'ldx':
      return { use: s, def: d };
    case 'st':
      return { use: d, def: 0 };
    case 'stx':
      return { use: d | s, def: 0 };
    case 'atomic':
      if (spec.op === 'atomic_cmpxchg') return { use: d | s | bit(0), def: bit(0) };
      return { use: d | s, def: spec.op.startsWith('atomic_fetch') || spec.op === 'atomic_xchg' ? s : 0 };
    case 'ldabs':
      return { use: 0, def: bit(0) };
    case 'ldind':
      return { use: s, def: bit(0) };
    case 'call':
      return { use: R1_5, def: bit(0) };
    case 'callx':
      return { use: R1_5 | d, def: bit(0) };
    case 'jmp-imm':
      return { use: d, def: 0 };
    case 'jmp-reg':
      return { use: d | s, def: 0 };
    default:
      return { use: 0, def: 0 };
  }
}

class FunctionCompiler {
  private f!: FunctionBuilder;
  private signatures: readonly Signature[] = [];
  private results: number[] = [];
  private regLocal: number[] = [];
  private lDepth = 0;
  private lT1 = 0;
  private lSlot = 0;
  private lAddr = 0;
  private lFuel = 0;
  private usesFuel = false;
  /** Irreducible CFG: compiled as a br_table dispatch loop over the blocks instead. */
  private irreducible = false;
  private lLabel = 0;
  private calleeList: number[] | undefined;
  private calleeTouchesFuel: readonly boolean[] = [];
  private readonly effectCache = new Map<number, { use: number; def: number }>();
  private blocks: Block[] = [];
  private rpo: number[] = [];
  private rpoIndex: number[] = [];
  private idom: number[] = [];
  private children: number[][] = [];
  private loopHeader: boolean[] = [];
  private merge: boolean[] = [];
  private needsLimit = false;
  private callsHelpersHere = false;
  /** Access sizes (1|2|4|8 as bits) the function uses: one limit local each. */
  private accessSizes = 0;
  /** Per access size: local holding memory size - NULL_GUARD - size. */
  private limLocal: number[] = [];
  private needsSlot = false;

  constructor(
    private readonly p: PreparedProgram,
    private readonly byPc: readonly (Instruction | undefined)[],
    private readonly start: number,
    private readonly end: number,
    private readonly funcIndex: ReadonlyMap<number, number>,
    private readonly canUnwind: boolean,
    /** Only helpers grow memory (as far as the interpreter's cached size goes). */
    private readonly callsHelpers: boolean,
    /** The memory can never reach SMALL_MEMORY_LIMIT bytes. */
    private readonly smallMemory: boolean,
  ) {}

  /** Blocks, dominators, loops: everything that does not depend on other functions. */
  prepare(): void {
    this.buildBlocks();
    this.analyse();
  }

  get isIrreducible(): boolean {
    return this.irreducible;
  }

  /** Whether running this function can read or write the budget global (calls need a sync). */
  touchesFuel(): boolean {
    return this.irreducible || this.loopHeader.some((h) => h) || this.callees().length > 0 || this.callsHelpersHere;
  }

  /** r1-r5 written by this function's own instructions. */
  directWrites(): number {
    let m = 0;
    for (const b of this.blocks) for (const insn of b.insns) m |= this.effects(insn).def;
    return m;
  }

  /** Start slots of the functions this one calls. */
  callees(): number[] {
    if (this.calleeList === undefined) {
      this.calleeList = [];
      for (const b of this.blocks) for (const insn of b.insns) if (insn.spec.form === 'call-local') this.calleeList.push(insn.pc + 1 + insn.imm);
    }
    return this.calleeList;
  }

  /** usesAndDefs, computed once per instruction. */
  private effects(insn: Instruction): { use: number; def: number } {
    let e = this.effectCache.get(insn.pc);
    if (e === undefined) this.effectCache.set(insn.pc, (e = usesAndDefs(insn)));
    return e;
  }

  private effect(insn: Instruction, sig: (start: number) => { sig: Signature; mod: number }, own: Signature): { use: number; def: number } {
    if (insn.spec.form === 'call-local') {
      const callee = sig(insn.pc + 1 + insn.imm);
      return { use: callee.sig.params, def: bit(0) | (callee.mod & R1_5) };
    }
    if (insn.spec.form === 'exit') return { use: own.results, def: 0 };
    return this.effects(insn);
  }

  /** Live registers at entry, and after each local call (target, live set), given signatures. */
  liveness(sig: (start: number) => { sig: Signature; mod: number }, own: Signature): { liveIn: number; callSites: [number, number][] } {
    const n = this.blocks.length;
    const use = new Array<number>(n).fill(0);
    const def = new Array<number>(n).fill(0);
    for (const b of this.blocks) {
      let u = 0;
      let d = 0;
      for (let i = b.insns.length - 1; i >= 0; i--) {
        const e = this.effect(b.insns[i], sig, own);
        u = (u & ~e.def) | e.use;
        d |= e.def;
      }
      use[b.index] = u;
      def[b.index] = d;
    }
    const liveIn = new Array<number>(n).fill(0);
    const liveOut = (b: Block): number => {
      let out = 0;
      for (const s of b.succ) if (s !== FALL_OFF) out |= liveIn[s];
      return out;
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (let k = this.rpo.length - 1; k >= 0; k--) {
        const b = this.blocks[this.rpo[k]];
        const li = use[b.index] | (liveOut(b) & ~def[b.index]);
        if (li !== liveIn[b.index]) {
          liveIn[b.index] = li;
          changed = true;
        }
      }
    }
    const callSites: [number, number][] = [];
    for (const b of this.blocks) {
      let live = liveOut(b);
      for (let i = b.insns.length - 1; i >= 0; i--) {
        const insn = b.insns[i];
        if (insn.spec.form === 'call-local') callSites.push([insn.pc + 1 + insn.imm, live]);
        const e = this.effect(insn, sig, own);
        live = (live & ~e.def) | e.use;
      }
    }
    return { liveIn: liveIn[0], callSites };
  }

  emit(f: FunctionBuilder, signatures: readonly Signature[], touchesFuel: readonly boolean[]): void {
    this.f = f;
    this.signatures = signatures;
    this.calleeTouchesFuel = touchesFuel;
    const own = signatures[this.funcIndex.get(this.start) as number - IMPORTED_FUNCS];
    this.results = registersOf(own.results);
    // Parameters: the live-in registers, then depth. Locals: the other registers, temporaries.
    const params = registersOf(own.params);
    this.regLocal = new Array<number>(11).fill(-1);
    params.forEach((r, i) => (this.regLocal[r] = i));
    this.lDepth = params.length;
    for (let r = 0; r <= 10; r++) if (this.regLocal[r] < 0) this.regLocal[r] = f.local(ValType.I64);
    this.lT1 = f.local(ValType.I64);
    this.limLocal = [];
    for (const size of [1, 2, 4, 8]) if ((this.accessSizes & size) !== 0) this.limLocal[size] = f.local(ValType.I64);
    this.lSlot = f.local(ValType.I32);
    this.lAddr = f.local(ValType.I32);
    // The budget lives in a local while the function runs; the global is synchronised around calls.
    this.usesFuel = this.irreducible || this.loopHeader.some((h) => h) || this.callees().length > 0;
    this.lLabel = f.local(ValType.I32);
    if (this.usesFuel) {
      this.lFuel = f.local(ValType.I64);
      f.globalGet(G_FUEL).localSet(this.lFuel);
    }
    // r10 = base + (depth + 1) * 512
    f.globalGet(G_BASE).localGet(this.lDepth).i32Const(1).op(Op.i32_add).i32Const(STACK_SIZE).op(Op.i32_mul).op(Op.i32_add);
    f.op(Op.i64_extend_i32_u).localSet(this.regLocal[10]);
    if (this.needsSlot) {
      f.globalGet(G_BASE).localGet(this.lDepth).i32Const(SLOT_BYTES).op(Op.i32_mul).op(Op.i32_add).i32Const(SLOTS).op(Op.i32_add).localSet(this.lSlot);
    }
    if (this.needsLimit) this.refreshLimit();
    if (this.irreducible) this.emitDispatch();
    else this.doTree(0, []);
    f.op(Op.unreachable);
  }

  /** Returns (r0 and the result registers) — or zeros while unwinding. */
  private returnValues(zeros: boolean): void {
    this.fuelOut();
    for (const r of this.results) {
      if (zeros) this.f.i64Const(0);
      else this.get(r);
    }
    this.f.return();
  }

  // ---- CFG -------------------------------------------------------------------------------------

  private insnAt(pc: number): Instruction {
    const insn = this.byPc[pc];
    if (insn === undefined) throw new JitUnsupported(`no instruction at slot ${pc}`);
    return insn;
  }

  private jumpTarget(insn: Instruction): number {
    const t = insn.spec.form === 'ja32' ? insn.pc + 1 + insn.imm : insn.pc + 1 + insn.offset;
    if (t < this.start || t >= this.end) {
      throw new JitUnsupported(`pc ${insn.pc}: jump to slot ${t} leaves the function at ${this.start}`);
    }
    return t;
  }

  private buildBlocks(): void {
    const leaders = new Set<number>([this.start]);
    for (let pc = this.start; pc < this.end; ) {
      const insn = this.insnAt(pc);
      const next = pc + insn.spec.slots;
      const form = insn.spec.form;
      if (form === 'ja' || form === 'ja32' || form === 'jmp-imm' || form === 'jmp-reg') {
        leaders.add(this.jumpTarget(insn));
        if (next < this.end) leaders.add(next);
      } else if (form === 'exit' && next < this.end) {
        leaders.add(next);
      }
      if (form === 'ldx' || form === 'st' || form === 'stx' || form === 'atomic') {
        const size = insn.spec.width / 8;
        const base = form === 'ldx' ? insn.src : insn.dst;
        if (!inOwnFrame(base, insn.offset, size)) {
          this.needsLimit = true;
          this.accessSizes |= size;
        }
      }
      if (form === 'call' || form === 'callx') this.callsHelpersHere = true;
      if (form === 'call' || form === 'callx' || form === 'call-local') this.needsSlot = true;
      pc = next;
    }
    const sorted = [...leaders].sort((a, b) => a - b);
    const blockAt = new Map<number, number>();
    sorted.forEach((pc, i) => blockAt.set(pc, i));
    this.blocks = sorted.map((from, i) => {
      const to = i + 1 < sorted.length ? sorted[i + 1] : this.end;
      const insns: Instruction[] = [];
      for (let pc = from; pc < to; pc += this.insnAt(pc).spec.slots) insns.push(this.insnAt(pc));
      return { index: i, insns, succ: [] };
    });
    const fallthrough = (next: number, pc: number): number => {
      if (next < this.end) return blockAt.get(next) ?? 0;
      if (this.end === this.p.slots) return FALL_OFF;
      throw new JitUnsupported(`pc ${pc}: control falls from one function into the next`);
    };
    for (const b of this.blocks) {
      const last = b.insns[b.insns.length - 1];
      const next = last.pc + last.spec.slots;
      const form = last.spec.form;
      if (form === 'exit') b.succ = [];
      else if (form === 'ja' || form === 'ja32') b.succ = [blockAt.get(this.jumpTarget(last)) ?? 0];
      else if (form === 'jmp-imm' || form === 'jmp-reg') b.succ = [blockAt.get(this.jumpTarget(last)) ?? 0, fallthrough(next, last.pc)];
      else b.succ = [fallthrough(next, last.pc)];
    }
  }

  private analyse(): void {
    const n = this.blocks.length;
    // Reverse postorder by an iterative DFS from the entry.
    const visited = new Uint8Array(n);
    const post: number[] = [];
    const stack: [number, number][] = [[0, 0]];
    visited[0] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const succ = this.blocks[top[0]].succ;
      if (top[1] < succ.length) {
        const s = succ[top[1]++];
        if (s !== FALL_OFF && visited[s] === 0) {
          visited[s] = 1;
          stack.push([s, 0]);
        }
      } else {
        post.push(top[0]);
        stack.pop();
      }
    }
    this.rpo = post.reverse();
    this.rpoIndex = new Array<number>(n).fill(-1);
    this.rpo.forEach((b, i) => (this.rpoIndex[b] = i));
    const preds: number[][] = Array.from({ length: n }, () => []);
    for (const b of this.rpo) for (const s of this.blocks[b].succ) if (s !== FALL_OFF) preds[s].push(b);

    // Dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm").
    const idom = new Array<number>(n).fill(-1);
    idom[0] = 0;
    const intersect = (a: number, b: number): number => {
      while (a !== b) {
        while (this.rpoIndex[a] > this.rpoIndex[b]) a = idom[a];
        while (this.rpoIndex[b] > this.rpoIndex[a]) b = idom[b];
      }
      return a;
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (const b of this.rpo) {
        if (b === 0) continue;
        let d = -1;
        for (const q of preds[b]) {
          if (idom[q] === -1) continue;
          d = d === -1 ? q : intersect(q, d);
        }
        if (d !== idom[b]) {
          idom[b] = d;
          changed = true;
        }
      }
    }
    this.idom = idom;
    const dominates = (a: number, b: number): boolean => {
      for (;;) {
        if (a === b) return true;
        if (b === 0) return false;
        b = idom[b];
      }
    };

    this.loopHeader = new Array<boolean>(n).fill(false);
    this.merge = new Array<boolean>(n).fill(false);
    const forwardIn = new Array<number>(n).fill(0);
    for (const b of this.rpo) {
      for (const s of this.blocks[b].succ) {
        if (s === FALL_OFF) continue;
        if (this.rpoIndex[s] <= this.rpoIndex[b]) {
          if (!dominates(s, b)) this.irreducible = true;
          this.loopHeader[s] = true;
        } else {
          forwardIn[s]++;
        }
      }
    }
    for (let b = 0; b < n; b++) this.merge[b] = forwardIn[b] >= 2;
    this.children = Array.from({ length: n }, () => []);
    for (const b of this.rpo) if (b !== 0) this.children[idom[b]].push(b);
    for (const c of this.children) c.sort((a, b) => this.rpoIndex[a] - this.rpoIndex[b]);
  }

  // ---- Structure -------------------------------------------------------------------------------

  private doTree(x: number, ctx: Context): void {
    const merges = this.children[x].filter((c) => this.merge[c]);
    if (this.loopHeader[x]) {
      this.f.loop();
      this.nodeWithin(x, merges, [...ctx, { kind: 'loop', block: x }]);
      this.f.end();
    } else {
      this.nodeWithin(x, merges, ctx);
    }
  }

  private nodeWithin(x: number, ys: readonly number[], ctx: Context): void {
    if (ys.length === 0) {
      this.emitBlock(x, ctx);
      return;
    }
    const y = ys[ys.length - 1];
    this.f.block();
    this.nodeWithin(x, ys.slice(0, -1), [...ctx, { kind: 'block', block: y }]);
    this.f.end();
    this.doTree(y, ctx);
  }

  private label(ctx: Context, kind: 'loop' | 'block', block: number): number {
    for (let i = ctx.length - 1; i >= 0; i--) {
      const e = ctx[i];
      if (e.kind === kind && e.block === block) return ctx.length - 1 - i;
    }
    throw new Error(`jit: no enclosing ${kind} for block ${block}`);
  }

  private isBackward(from: number, to: number): boolean {
    return to !== FALL_OFF && this.rpoIndex[to] <= this.rpoIndex[from];
  }

  /**
   * The fallback for irreducible CFGs: one loop around a br_table over the blocks (in RPO); every
   * branch sets the label local and continues the loop, charging the budget for its block.
   */
  private emitDispatch(): void {
    const f = this.f;
    const order = this.rpo;
    const n = order.length;
    f.loop();
    for (let i = 0; i < n; i++) f.block();
    f.localGet(this.lLabel).brTable(order.map((_, k) => k), n - 1);
    for (let i = 0; i < n; i++) {
      f.end();
      const ctx: Context = [{ kind: 'loop', block: DISPATCH }];
      for (let k = i + 1; k < n; k++) ctx.push({ kind: 'if' });
      this.emitBlock(order[i], ctx);
    }
    f.end();
  }

  private doBranch(from: number, to: number, ctx: Context, pc: number): void {
    if (this.irreducible && to !== FALL_OFF) {
      this.f.i32Const(this.rpoIndex[to]).localSet(this.lLabel);
      this.chargeFuel(this.blocks[from].insns.length, pc);
      this.f.br(this.label(ctx, 'loop', DISPATCH));
      return;
    }
    if (to === FALL_OFF) {
      this.fault(FaultCode.BadJump, this.p.slots);
    } else if (this.isBackward(from, to)) {
      // Every pass round a loop runs at least the latch block: charge that much.
      this.chargeFuel(this.blocks[from].insns.length, pc);
      this.f.br(this.label(ctx, 'loop', to));
    } else if (this.merge[to]) {
      this.f.br(this.label(ctx, 'block', to));
    } else {
      this.doTree(to, ctx);
    }
  }

  private emitBlock(x: number, ctx: Context): void {
    const b = this.blocks[x];
    const last = b.insns[b.insns.length - 1];
    const form = last.spec.form;
    const isTerminator = form === 'exit' || form === 'ja' || form === 'ja32' || form === 'jmp-imm' || form === 'jmp-reg';
    const body = isTerminator ? b.insns.length - 1 : b.insns.length;
    for (let i = 0; i < body; i++) this.emitInstruction(b.insns[i]);
    const f = this.f;
    if (form === 'exit') {
      this.returnValues(false);
    } else if (form === 'ja' || form === 'ja32') {
      this.doBranch(x, b.succ[0], ctx, last.pc);
    } else if (form === 'jmp-imm' || form === 'jmp-reg') {
      const [taken, fall] = b.succ;
      this.emitCondition(last);
      if (!this.irreducible && taken !== FALL_OFF && !this.isBackward(x, taken) && this.merge[taken]) {
        f.brIf(this.label(ctx, 'block', taken));
        this.doBranch(x, fall, ctx, last.pc);
      } else {
        f.if();
        this.doBranch(x, taken, [...ctx, { kind: 'if' }], last.pc);
        f.else();
        this.doBranch(x, fall, [...ctx, { kind: 'if' }], last.pc);
        f.end();
      }
    } else {
      this.doBranch(x, b.succ[0], ctx, last.pc);
    }
  }

  // ---- Emission helpers ------------------------------------------------------------------------

  private get(r: number): FunctionBuilder {
    return this.f.localGet(this.regLocal[r]);
  }

  private set(r: number): FunctionBuilder {
    return this.f.localSet(this.regLocal[r]);
  }

  private fault(code: FaultCode, pc: number): void {
    this.f.i32Const(code).i32Const(pc).call(F_FAULT).op(Op.unreachable);
  }

  /** Before a call or return: the global gets the budget left. */
  private fuelOut(): void {
    if (this.usesFuel) this.f.localGet(this.lFuel).globalSet(G_FUEL);
  }

  /** After a call: the callee (or a callback) may have spent some. */
  private fuelIn(): void {
    if (this.usesFuel) this.f.globalGet(G_FUEL).localSet(this.lFuel);
  }

  private chargeFuel(amount: number, pc: number): void {
    const f = this.f;
    f.localGet(this.lFuel).i64Const(amount).op(Op.i64_sub).localTee(this.lFuel);
    f.i64Const(0).op(Op.i64_lt_s).if();
    this.fault(FaultCode.InstructionLimit, pc);
    f.end();
  }

  private refreshLimit(): void {
    const f = this.f;
    f.memorySize().op(Op.i64_extend_i32_u).i64Const(16).op(Op.i64_shl).i64Const(NULL_GUARD).op(Op.i64_sub).localSet(this.lT1);
    for (const size of [1, 2, 4, 8]) {
      if ((this.accessSizes & size) !== 0) f.localGet(this.lT1).i64Const(size).op(Op.i64_sub).localSet(this.limLocal[size]);
    }
  }

  /** After a call: stop if the callee started unwinding (tail call, packet abort); memory may have grown. */
  private afterCall(syncFuel: boolean): void {
    const f = this.f;
    if (syncFuel) this.fuelIn();
    if (this.canUnwind) {
      f.globalGet(G_UNWIND).if();
      this.returnValues(true);
      f.end();
    }
    if (this.needsLimit && this.callsHelpers) this.refreshLimit();
  }

  /**
   * Checks the access [reg + off, reg + off + size) like the interpreter (upper half zero, past
   * the null guard, inside memory), then pushes the i32 address; returns the memarg offset to use.
   */
  private address(pc: number, reg: number, off: number, size: number, atomic: boolean): number {
    const f = this.f;
    if (!inOwnFrame(reg, off, size)) {
      // t = reg + off - NULL_GUARD must be in [0, memory size - NULL_GUARD - size] (unsigned). With
      // a memory below 4 GiB - 128 KiB and off <= NULL_GUARD, no t with a non-zero upper half of
      // reg passes that one comparison; otherwise the upper half is checked too.
      const oneCompare = this.smallMemory && off <= NULL_GUARD;
      if (!oneCompare) this.get(reg).i64Const(0xffffffff).op(Op.i64_gt_u);
      this.get(reg).i64Const(off - NULL_GUARD).op(Op.i64_add).localGet(this.limLocal[size]).op(Op.i64_gt_u);
      if (!oneCompare) f.op(Op.i32_or);
      f.if();
      f.i32Const(pc);
      this.get(reg).call(F_MEMFAULT).op(Op.unreachable).end();
    }
    this.get(reg).op(Op.i32_wrap_i64);
    if (atomic) {
      if (off !== 0) f.i32Const(off).op(Op.i32_add);
      f.localTee(this.lAddr).i32Const(size - 1).op(Op.i32_and).if();
      f.i32Const(pc);
      this.get(reg).call(F_MEMFAULT).op(Op.unreachable).end();
      f.localGet(this.lAddr);
      return 0;
    }
    if (off >= 0) return off;
    f.i32Const(off).op(Op.i32_add);
    return 0;
  }

  /** Pushes the i32 condition of a conditional jump. */
  private emitCondition(insn: Instruction): void {
    const f = this.f;
    const wide = insn.spec.width === 64;
    const imm = insn.spec.form === 'jmp-imm';
    const lhs = (): void => {
      this.get(insn.dst);
      if (!wide) f.op(Op.i32_wrap_i64);
    };
    const rhs = (): void => {
      if (imm) {
        if (wide) f.i64Const(insn.imm);
        else f.i32Const(insn.imm);
      } else {
        this.get(insn.src);
        if (!wide) f.op(Op.i32_wrap_i64);
      }
    };
    lhs();
    rhs();
    if (insn.spec.op === 'jset') {
      if (wide) f.op(Op.i64_and).op(Op.i64_eqz).op(Op.i32_eqz);
      else f.op(Op.i32_and).op(Op.i32_eqz).op(Op.i32_eqz);
      return;
    }
    const c = (wide ? COMPARE64 : COMPARE32)[insn.spec.op];
    if (c === undefined) throw new Error(`jit: no comparison for ${insn.spec.name}`);
    f.op(c);
  }

  private emitInstruction(insn: Instruction): void {
    const spec = insn.spec;
    switch (spec.form) {
      case 'alu-imm':
      case 'alu-reg':
      case 'neg':
        if (spec.width === 64) this.alu64(insn);
        else this.alu32(insn);
        return;
      case 'endian':
        this.endian(insn);
        return;
      case 'lddw': {
        const lo = this.p.imm[insn.pc];
        const hi = insn.src === LddwSrc.CODE_ADDR ? 0 : this.p.imm[insn.pc + 1];
        // As a number when it is a safe integer (no BigInt on the common path), else a bigint.
        const value = hi * 4294967296 + (lo >>> 0);
        this.f.i64Const(Number.isSafeInteger(value) ? value : (BigInt(hi) << 32n) | BigInt(lo >>> 0));
        this.set(insn.dst);
        return;
      }
      case 'ldx':
        this.loadX(insn);
        return;
      case 'st':
      case 'stx':
        this.storeX(insn);
        return;
      case 'atomic':
        this.atomic(insn);
        return;
      case 'ldabs':
      case 'ldind':
        this.packetLoad(insn);
        return;
      case 'call':
      case 'callx':
        this.helperCall(insn);
        return;
      case 'call-local':
        this.localCall(insn);
        return;
      default:
        throw new JitUnsupported(`pc ${insn.pc}: ${spec.name} cannot be compiled here`);
    }
  }

  private alu64(insn: Instruction): void {
    const f = this.f;
    const d = insn.dst;
    const op = insn.spec.op;
    const imm = insn.spec.form === 'alu-imm';
    const x = (): void => {
      if (imm) f.i64Const(insn.imm);
      else this.get(insn.src);
    };
    const binary = (name: Op): void => {
      this.get(d);
      x();
      f.op(name);
      this.set(d);
    };
    switch (op) {
      case 'add': return binary(Op.i64_add);
      case 'sub': return binary(Op.i64_sub);
      case 'mul': return binary(Op.i64_mul);
      case 'or': return binary(Op.i64_or);
      case 'and': return binary(Op.i64_and);
      case 'xor': return binary(Op.i64_xor);
      case 'lsh':
      case 'rsh':
      case 'arsh': {
        // wasm shifts count modulo 64, like the interpreter's `& 63`.
        this.get(d);
        if (imm) f.i64Const(insn.imm & 63);
        else this.get(insn.src);
        f.op(op === 'lsh' ? Op.i64_shl : op === 'rsh' ? Op.i64_shr_u : Op.i64_shr_s);
        this.set(d);
        return;
      }
      case 'neg':
        f.i64Const(0);
        this.get(d);
        f.op(Op.i64_sub);
        this.set(d);
        return;
      case 'mov':
        x();
        this.set(d);
        return;
      case 'movsx8':
      case 'movsx16':
      case 'movsx32':
        this.get(insn.src);
        f.op(op === 'movsx8' ? Op.i64_extend8_s : op === 'movsx16' ? Op.i64_extend16_s : Op.i64_extend32_s);
        this.set(d);
        return;
      case 'div':
      case 'sdiv':
        this.divide64(insn, op === 'sdiv');
        return;
      case 'mod':
      case 'smod':
        this.modulo64(insn, op === 'smod');
        return;
      default:
        throw new JitUnsupported(`pc ${insn.pc}: ${insn.spec.name}`);
    }
  }

  /** dst / x, 0 when x is 0; signed: x = -1 gives -dst (wasm traps on INT64_MIN / -1). */
  private divide64(insn: Instruction, signed: boolean): void {
    const f = this.f;
    const d = insn.dst;
    if (insn.spec.form === 'alu-imm') {
      const k = insn.imm;
      if (k === 0) f.i64Const(0);
      else if (signed && k === -1) {
        f.i64Const(0);
        this.get(d);
        f.op(Op.i64_sub);
      } else {
        this.get(d);
        f.i64Const(k);
        f.op(signed ? Op.i64_div_s : Op.i64_div_u);
      }
      this.set(d);
      return;
    }
    const s = insn.src;
    this.get(s).op(Op.i64_eqz).if(ValType.I64).i64Const(0).else();
    if (signed) {
      this.get(s).i64Const(-1).op(Op.i64_eq).if(ValType.I64).i64Const(0);
      this.get(d).op(Op.i64_sub).else();
      this.get(d);
      this.get(s).op(Op.i64_div_s).end();
    } else {
      this.get(d);
      this.get(s).op(Op.i64_div_u);
    }
    f.end();
    this.set(d);
  }

  /** dst % x, dst unchanged when x is 0 (wasm's rem_s gives 0 for INT64_MIN % -1, as we want). */
  private modulo64(insn: Instruction, signed: boolean): void {
    const f = this.f;
    const d = insn.dst;
    const op: Op = signed ? Op.i64_rem_s : Op.i64_rem_u;
    if (insn.spec.form === 'alu-imm') {
      if (insn.imm === 0) return;
      this.get(d);
      f.i64Const(insn.imm).op(op);
      this.set(d);
      return;
    }
    this.get(insn.src).op(Op.i64_eqz).i32Const(0).op(Op.i32_eq).if();
    this.get(d);
    this.get(insn.src).op(op);
    this.set(d);
    f.end();
  }

  private alu32(insn: Instruction): void {
    const f = this.f;
    const d = insn.dst;
    const op = insn.spec.op;
    const imm = insn.spec.form === 'alu-imm';
    const dst32 = (): void => {
      this.get(d).op(Op.i32_wrap_i64);
    };
    const x = (): void => {
      if (imm) f.i32Const(insn.imm);
      else this.get(insn.src).op(Op.i32_wrap_i64);
    };
    const finish = (): void => {
      f.op(Op.i64_extend_i32_u);
      this.set(d);
    };
    const binary = (name: Op): void => {
      dst32();
      x();
      f.op(name);
      finish();
    };
    switch (op) {
      case 'add': return binary(Op.i32_add);
      case 'sub': return binary(Op.i32_sub);
      case 'mul': return binary(Op.i32_mul);
      case 'or': return binary(Op.i32_or);
      case 'and': return binary(Op.i32_and);
      case 'xor': return binary(Op.i32_xor);
      case 'lsh': return binary(Op.i32_shl); // wasm masks the count by 31, as JS's `<<=` does
      case 'rsh': return binary(Op.i32_shr_u);
      case 'arsh': return binary(Op.i32_shr_s);
      case 'neg':
        f.i32Const(0);
        dst32();
        f.op(Op.i32_sub);
        finish();
        return;
      case 'mov':
        if (imm) {
          f.i64Const(insn.imm >>> 0);
          this.set(d);
        } else {
          this.get(insn.src).i64Const(0xffffffff).op(Op.i64_and);
          this.set(d);
        }
        return;
      case 'movsx8':
      case 'movsx16':
        this.get(insn.src).op(Op.i32_wrap_i64).op(op === 'movsx8' ? Op.i32_extend8_s : Op.i32_extend16_s);
        finish();
        return;
      case 'div':
      case 'sdiv': {
        const signed = op === 'sdiv';
        if (imm) {
          const k = insn.imm;
          if (k === 0) f.i32Const(0);
          else if (signed && k === -1) {
            f.i32Const(0);
            dst32();
            f.op(Op.i32_sub);
          } else {
            dst32();
            f.i32Const(k).op(signed ? Op.i32_div_s : Op.i32_div_u);
          }
          finish();
          return;
        }
        x();
        f.localTee(this.lAddr).op(Op.i32_eqz).if(ValType.I32).i32Const(0).else();
        if (signed) {
          f.localGet(this.lAddr).i32Const(-1).op(Op.i32_eq).if(ValType.I32).i32Const(0);
          dst32();
          f.op(Op.i32_sub).else();
          dst32();
          f.localGet(this.lAddr).op(Op.i32_div_s).end();
        } else {
          dst32();
          f.localGet(this.lAddr).op(Op.i32_div_u);
        }
        f.end();
        finish();
        return;
      }
      case 'mod':
      case 'smod': {
        // x = 0 keeps dst's low half, zero-extended.
        const rem: Op = op === 'smod' ? Op.i32_rem_s : Op.i32_rem_u;
        if (imm) {
          dst32();
          if (insn.imm !== 0) f.i32Const(insn.imm).op(rem);
          finish();
          return;
        }
        x();
        f.localTee(this.lAddr).op(Op.i32_eqz).if(ValType.I32);
        dst32();
        f.else();
        dst32();
        f.localGet(this.lAddr).op(rem).end();
        finish();
        return;
      }
      default:
        throw new JitUnsupported(`pc ${insn.pc}: ${insn.spec.name}`);
    }
  }

  private bswap32(): void {
    // Top of stack: i32 x. (rotr(x, 8) & 0xff00ff00) | (rotl(x, 8) & 0x00ff00ff)
    const f = this.f;
    f.localTee(this.lAddr).i32Const(8).op(Op.i32_rotr).i32Const(0xff00ff00 | 0).op(Op.i32_and);
    f.localGet(this.lAddr).i32Const(8).op(Op.i32_rotl).i32Const(0x00ff00ff).op(Op.i32_and);
    f.op(Op.i32_or);
  }

  private endian(insn: Instruction): void {
    const f = this.f;
    const d = insn.dst;
    const bits = insn.spec.width;
    if (insn.spec.op === 'le') {
      if (bits === 16) this.get(d).i64Const(0xffff).op(Op.i64_and);
      else if (bits === 32) this.get(d).i64Const(0xffffffff).op(Op.i64_and);
      else return;
      this.set(d);
      return;
    }
    if (bits === 16) {
      // ((x & 0xff) << 8) | ((x >> 8) & 0xff)
      this.get(d).op(Op.i32_wrap_i64).localTee(this.lAddr).i32Const(0xff).op(Op.i32_and).i32Const(8).op(Op.i32_shl);
      f.localGet(this.lAddr).i32Const(8).op(Op.i32_shr_u).i32Const(0xff).op(Op.i32_and).op(Op.i32_or);
      f.op(Op.i64_extend_i32_u);
    } else if (bits === 32) {
      this.get(d).op(Op.i32_wrap_i64);
      this.bswap32();
      f.op(Op.i64_extend_i32_u);
    } else {
      // Swap bytes within 16-bit lanes, then 16-bit lanes within 32-bit halves, then the halves.
      const m8 = 0x00ff00ff00ff00ffn;
      const m16 = 0x0000ffff0000ffffn;
      this.get(d).localTee(this.lT1).i64Const(8).op(Op.i64_shr_u).i64Const(m8).op(Op.i64_and);
      f.localGet(this.lT1).i64Const(m8).op(Op.i64_and).i64Const(8).op(Op.i64_shl).op(Op.i64_or);
      f.localTee(this.lT1).i64Const(16).op(Op.i64_shr_u).i64Const(m16).op(Op.i64_and);
      f.localGet(this.lT1).i64Const(m16).op(Op.i64_and).i64Const(16).op(Op.i64_shl).op(Op.i64_or);
      f.i64Const(32).op(Op.i64_rotl);
    }
    this.set(d);
  }

  private loadX(insn: Instruction): void {
    const size = insn.spec.width / 8;
    const signed = insn.spec.op === 'ldxs';
    const offset = this.address(insn.pc, insn.src, insn.offset, size, false);
    const op: Load =
      size === 1 ? (signed ? Load.i64_load8_s : Load.i64_load8_u)
        : size === 2 ? (signed ? Load.i64_load16_s : Load.i64_load16_u)
          : size === 4 ? (signed ? Load.i64_load32_s : Load.i64_load32_u)
            : Load.i64_load;
    this.f.load(op, offset);
    this.set(insn.dst);
  }

  private storeX(insn: Instruction): void {
    const size = insn.spec.width / 8;
    const offset = this.address(insn.pc, insn.dst, insn.offset, size, false);
    if (insn.spec.form === 'st') this.f.i64Const(insn.imm);
    else this.get(insn.src);
    const op: Store = size === 1 ? Store.i64_store8 : size === 2 ? Store.i64_store16 : size === 4 ? Store.i64_store32 : Store.i64_store;
    this.f.store(op, offset);
  }

  private atomic(insn: Instruction): void {
    const f = this.f;
    const wide = insn.spec.width === 64;
    const size = wide ? 8 : 4;
    this.address(insn.pc, insn.dst, insn.offset, size, true);
    const value = (r: number): void => {
      this.get(r);
      if (!wide) f.op(Op.i32_wrap_i64);
    };
    const op = insn.spec.op;
    if (op === 'atomic_cmpxchg') {
      value(0);
      value(insn.src);
      f.atomic(wide ? AtomicRmw.i64_atomic_rmw_cmpxchg : AtomicRmw.i32_atomic_rmw_cmpxchg);
      if (!wide) f.op(Op.i64_extend_i32_u);
      this.set(0);
      return;
    }
    const rmw = ATOMIC_RMW[op];
    if (rmw === undefined) throw new Error(`jit: no atomic for ${insn.spec.name}`);
    value(insn.src);
    f.atomic(wide ? rmw[1] : rmw[0]);
    if (op.startsWith('atomic_fetch') || op === 'atomic_xchg') {
      if (!wide) f.op(Op.i64_extend_i32_u);
      this.set(insn.src);
    } else {
      f.op(Op.drop);
    }
  }

  /** Legacy ABS/IND loads: big-endian, from the run's packet; out of bounds ends the run with r0 = 0. */
  private packetLoad(insn: Instruction): void {
    const f = this.f;
    const size = insn.spec.width / 8;
    f.globalGet(G_PACKET_LENGTH).localTee(this.lAddr).i32Const(0).op(Op.i32_lt_s).if();
    this.fault(FaultCode.NoPacket, insn.pc);
    f.end();
    // where = imm (+ src, wrapping like the interpreter's `| 0`), as i64 to compare without overflow.
    f.i32Const(insn.imm);
    if (insn.spec.form === 'ldind') this.get(insn.src).op(Op.i32_wrap_i64).op(Op.i32_add);
    f.op(Op.i64_extend_i32_s).localTee(this.lT1).i64Const(0).op(Op.i64_lt_s);
    f.localGet(this.lT1).i64Const(size).op(Op.i64_add).localGet(this.lAddr).op(Op.i64_extend_i32_s).op(Op.i64_gt_s).op(Op.i32_or);
    f.if().i32Const(1).globalSet(G_UNWIND);
    this.returnValues(true);
    f.end();
    f.globalGet(G_PACKET_ADDRESS).localGet(this.lT1).op(Op.i32_wrap_i64).op(Op.i32_add);
    if (size === 1) {
      f.load(Load.i32_load8_u);
    } else if (size === 2) {
      f.load(Load.i32_load16_u).localTee(this.lAddr).i32Const(8).op(Op.i32_shr_u).localGet(this.lAddr).i32Const(0xff).op(Op.i32_and).i32Const(8).op(Op.i32_shl).op(Op.i32_or);
    } else {
      f.load(Load.i32_load);
      this.bswap32();
    }
    f.op(Op.i64_extend_i32_u);
    this.set(0);
  }

  private storeArguments(): void {
    for (let n = 1; n <= 5; n++) {
      this.f.localGet(this.lSlot);
      this.get(n);
      this.f.store(Store.i64_store, 8 * n);
    }
  }

  /**
   * bpf_map_lookup_elem inline for array, per-CPU array and the four hash map types (plain,
   * per-CPU, LRU, LRU per-CPU): the map's layout in linear memory (src/maps) gives the value
   * address without leaving WebAssembly. Other maps take the helper call.
   * Verified programs pass a map in r1 and a key on the stack in r2, so the loads are in bounds.
   */
  private inlineArrayLookup(insn: Instruction): void {
    const f = this.f;
    this.get(1).op(Op.i32_wrap_i64).localSet(this.lAddr);
    // ARRAY and PERCPU_ARRAY: values + (key * copies + cpu) * stride (copies is 1 for ARRAY, whose
    // cpu term is then multiplied by 0 below).
    f.localGet(this.lAddr).load(Load.i32_load, MapHeader.TYPE).i32Const(MapType.ARRAY).op(Op.i32_eq);
    f.localGet(this.lAddr).load(Load.i32_load, MapHeader.TYPE).i32Const(MapType.PERCPU_ARRAY).op(Op.i32_eq).op(Op.i32_or).if();
    this.get(2).op(Op.i32_wrap_i64).load(Load.i32_load, 0);
    f.localGet(this.lAddr).load(Load.i32_load, MapHeader.MAX_ENTRIES).op(Op.i32_lt_u).if();
    f.localGet(this.lAddr).load(Load.i32_load, ArrayLayout.VALUES);
    this.get(2).op(Op.i32_wrap_i64).load(Load.i32_load, 0);
    f.localGet(this.lAddr).load(Load.i32_load, ArrayLayout.COPIES).op(Op.i32_mul);
    f.globalGet(G_CPU).localGet(this.lAddr).load(Load.i32_load, MapHeader.TYPE).i32Const(MapType.PERCPU_ARRAY).op(Op.i32_eq).op(Op.i32_mul).op(Op.i32_add);
    f.localGet(this.lAddr).load(Load.i32_load, ArrayLayout.STRIDE).op(Op.i32_mul).op(Op.i32_add).op(Op.i64_extend_i32_u);
    this.set(0);
    f.else().i64Const(0);
    this.set(0);
    f.end();
    f.else();
    // The hash maps of src/maps/hash.ts: the module's own hash_lookup, or the helper when it
    // cannot be sure.
    INLINE_HASH_TYPES.forEach((type, i) => {
      f.localGet(this.lAddr).load(Load.i32_load, MapHeader.TYPE).i32Const(type).op(Op.i32_eq);
      if (i > 0) f.op(Op.i32_or);
    });
    f.if();
    f.localGet(this.lAddr);
    this.get(2).op(Op.i32_wrap_i64).globalGet(G_CPU).call(this.hashLookup).localTee(this.lAddr).i32Const(ASK_HELPER).op(Op.i32_eq).if();
    this.helperCallThroughImport(insn);
    f.else().localGet(this.lAddr).op(Op.i64_extend_i32_u);
    this.set(0);
    f.end();
    f.else();
    this.helperCallThroughImport(insn);
    f.end();
    f.end();
  }

  /** Function index of the module's hash_lookup (inline-maps.ts). */
  hashLookup = 0;

  private helperCall(insn: Instruction): void {
    const helper = this.p.helpers[insn.pc];
    if (insn.spec.form === 'call' && helper?.name === 'map_lookup_elem') this.inlineArrayLookup(insn);
    else if (insn.spec.form === 'call' && helper?.name === 'get_smp_processor_id') {
      this.f.globalGet(G_CPU).op(Op.i64_extend_i32_u);
      this.set(0);
    } else this.helperCallThroughImport(insn);
  }

  private helperCallThroughImport(insn: Instruction): void {
    const f = this.f;
    const helper = this.p.helpers[insn.pc];
    this.storeArguments();
    this.fuelOut();
    if (insn.spec.form === 'call' && helper !== undefined && helper.kind !== 'tail-call') {
      f.i32Const(insn.pc).localGet(this.lDepth).call(F_HELPER);
    } else {
      if (insn.spec.form === 'callx') {
        f.localGet(this.lSlot);
        this.get(insn.dst);
        f.store(Store.i64_store, 0);
      }
      f.i32Const(insn.pc).localGet(this.lDepth).call(F_DISPATCH);
      f.if().i32Const(1).globalSet(G_UNWIND);
      this.returnValues(true);
      f.end();
    }
    this.fuelIn();
    f.localGet(this.lSlot).load(Load.i64_load, 0);
    this.set(0);
    if (this.needsLimit) this.refreshLimit();
  }

  private localCall(insn: Instruction): void {
    const f = this.f;
    const target = insn.pc + 1 + insn.imm;
    const index = this.funcIndex.get(target);
    if (index === undefined) throw new JitUnsupported(`pc ${insn.pc}: local call to slot ${target}, not a function start`);
    f.localGet(this.lDepth).i32Const(MAX_CALL_DEPTH - 1).op(Op.i32_ge_s).if();
    this.fault(FaultCode.CallDepth, insn.pc);
    f.end();
    // Calls are charged like back edges, so recursion that fans out cannot escape the budget.
    this.chargeFuel(1, insn.pc);
    const callee = this.signatures[index - IMPORTED_FUNCS];
    const sync = this.calleeTouchesFuel[index - IMPORTED_FUNCS];
    if (sync) this.fuelOut();
    for (const r of registersOf(callee.params)) this.get(r);
    f.localGet(this.lDepth).i32Const(1).op(Op.i32_add).call(index);
    const results = registersOf(callee.results);
    for (let k = results.length - 1; k >= 0; k--) this.set(results[k]);
    this.afterCall(sync);
  }
}
