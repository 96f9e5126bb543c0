// Transfer functions: the effect of one instruction on an abstract state, with its safety checks.
// A failed check throws a Violation; the caller records it and stops exploring that path.

import type { Instruction } from '../isa/instruction.js';
import { lddwValue } from '../isa/instruction.js';
import { LddwSrc } from '../isa/opcodes.js';
import {
  type BinOp, type Itv, type Num, S64_MAX, S64_MIN, binop, byteSwap, constNum, containsItv, isConst, itv, meet,
  normalize, signExtend, topNum, truncate, uRange, unsignedTop, zeroExtend,
} from './domain/interval.js';
import {
  type MapInfo, type Reg, type State, NO_END, POINTER_TYPES, T, UNINIT, dropPktVar, forgetDelta, has, numberReg,
  linkCopies, lockOf, mapValues, only, packetAddressExact, pointerMayBeZero, pktTotal, roomOf, recycleEqId, withLowBits, pointerReg, refineCopies, retirePktVar, shiftDelta, showReg,
} from './domain/state.js';
import { codeAddress } from './cfg.js';
import { fail } from './errors.js';
import { type MemEnv, access, insideObject, requireInit } from './memory.js';

export interface MapRef {
  readonly kind: 'map' | 'map-value';
  readonly offset: number;
  readonly map: MapInfo;
}

export interface Env extends MemEnv {
  readonly allowDivisionByZero: boolean;
  readonly bigEndian: boolean;
  readonly maps: ReadonlyMap<number, MapRef>;
  /** Function-pointer lddw pc -> target pc, when the loader says (else pc + 1 + imm). */
  readonly funcTargets?: ReadonlyMap<number, number>;
}

/** Copy ids are `EQ_ID_BASE + pc` of the move that made the first copy. */
const EQ_ID_BASE = 1;

const PTR = POINTER_TYPES | T.map_fd | T.map_fd_programs | T.func;

function setReg(s: State, r: number, v: Reg): void {
  s.regs[r] = v;
}

function operand(s: State, insn: Instruction, bits: number): Reg {
  if (insn.spec.form === 'alu-imm' || insn.spec.form === 'jmp-imm') {
    return numberReg(bits === 32 ? zeroExtend(constNum(BigInt(insn.imm >>> 0), 32), 32) : constNum(BigInt(insn.imm)));
  }
  return requireInit(s, insn.src);
}

const DIVS = new Set(['div', 'sdiv', 'mod', 'smod']);

/** ALU instructions (alu-imm, alu-reg, neg, endian). */
export function alu(s: State, insn: Instruction, env: Env): void {
  const { spec } = insn;
  const bits = spec.width === 32 ? 32 : 64;
  const d = insn.dst;
  if (d === 10) fail('invalid-memory-access', 'r10 is read-only');
  // Copies keep everything, even an uninitialised value (using it later is what fails). A 32-bit
  // move of a number that fits in 32 bits is a copy too, so the copies stay linked (the
  // zero-extended counter a loop tests and the counter itself).
  const copied = spec.op === 'mov' && spec.form === 'alu-reg' ? s.regs[insn.src] : undefined;
  if (copied !== undefined && (bits === 64 || (only(copied, T.number) && copied.num.u.hi < 1n << 32n))) {
    const src = copied;
    setReg(s, d, src);
    if (linkable(src) && d !== insn.src) linkCopies(s, d, insn.src, EQ_ID_BASE + insn.pc);
    shiftDelta(s, d, itv(0n), insn.src);
    return;
  }
  if (spec.op === 'mov' && spec.form === 'alu-imm') {
    setReg(s, d, numberReg(bits === 32 ? constNum(BigInt(insn.imm >>> 0)) : constNum(BigInt(insn.imm))));
    forgetDelta(s, d);
    return;
  }
  if (spec.op === 'mov' || spec.op.startsWith('movsx')) {
    const src = requireInit(s, insn.src);
    if (spec.op === 'mov' && bits === 32 && env.addresses32 === true && insideObject(s, env, src)) {
      // ebpf-ts addresses are 32-bit (DESIGN.md's memory model): the address of a byte of an
      // object is below 2^32, so the move keeps the pointer whole.
      setReg(s, d, { ...src, eqId: 0 });
      forgetDelta(s, d);
      return;
    }
    if (!only(src, T.number)) {
      if (!leaksAllowed(env, src)) {
        const why = env.addresses32 === true && only(src, POINTER_TYPES) ? ': only a pointer proven to point inside its object keeps its address in 32 bits' : '';
        fail('invalid-pointer-arithmetic', `a ${bits}-bit move of a pointer (r${insn.src} is ${showReg(src)})${why}`);
      }
      // The low bits of an address: some number.
      setReg(s, d, numberReg(bits === 32 ? unsignedTop(32) : topNum(64)));
      forgetDelta(s, d);
      return;
    }
    let n: Num = src.num;
    if (spec.op.startsWith('movsx')) n = signExtend(truncate(n, Number(spec.op.slice(5))), Number(spec.op.slice(5)));
    if (bits === 32) n = zeroExtend(truncate(n, 32), 32);
    setReg(s, d, numberReg(n));
    forgetDelta(s, d);
    return;
  }
  const dst = requireInit(s, d);
  if (spec.form === 'neg' || spec.form === 'endian') {
    if (!only(dst, T.number)) fail('invalid-pointer-arithmetic', `${spec.op} of a pointer (r${d} is ${showReg(dst)})`);
    let n: Num;
    if (spec.form === 'neg') {
      n = zeroExtend(binop('sub', constNum(0n, bits), truncate(dst.num, bits), bits), bits);
    } else {
      const w = spec.width;
      const swap = spec.op === 'bswap' || (spec.op === 'be') !== env.bigEndian;
      const low = truncate(dst.num, w);
      n = zeroExtend(swap ? byteSwap(low, w) : low, w);
    }
    setReg(s, d, numberReg(n));
    forgetDelta(s, d);
    return;
  }
  const src = operand(s, insn, bits);
  const op = spec.op as BinOp;
  if (DIVS.has(op)) {
    if (!only(src, T.number)) fail('invalid-divisor', `only numbers can be used as divisors (r${insn.src} is ${showReg(src)})`);
    if (!env.allowDivisionByZero && containsItv(truncate(src.num, bits).u, 0n)) {
      fail('division-by-zero', `the divisor ${spec.form === 'alu-imm' ? insn.imm : `r${insn.src}`} may be zero (${showReg(src)})`);
    }
  }
  if (only(dst, T.number) && only(src, T.number)) {
    const before = dst.num;
    const n = zeroExtend(binop(op, truncate(dst.num, bits), truncate(src.num, bits), bits), bits);
    setReg(s, d, (op === 'add' || op === 'sub') ? lowBitsOf(n, op, dst, src, bits) : numberReg(n));
    trackDelta(s, d, op, before, src.num, bits);
    return;
  }
  pointerArithmetic(s, insn, dst, src, op, bits, env);
}

/** Whether `r`, which holds a pointer, may be turned into a plain number (never an uninitialised one). */
function leaksAllowed(env: Env, r: Reg): boolean {
  return env.allowPointerLeaks === true && !has(r, T.uninit);
}

/** The result of an addition or subtraction keeps the low bits both operands know. */
function lowBitsOf(n: Num, op: 'add' | 'sub', a: Reg, b: Reg, bits: number): Reg {
  const k = Math.min(a.lowBits, b.lowBits, bits);
  if (k === 0) return numberReg(n);
  const m = (1n << BigInt(k)) - 1n;
  const v = ((op === 'add' ? a.lowVal + b.lowVal : a.lowVal - b.lowVal) % (m + 1n) + (m + 1n)) & m;
  return withLowBits(n, k, v) ?? numberReg(n);
}

/** Keeps the distance a loop counter moved since the loop head, when the step did not wrap. */
function trackDelta(s: State, d: number, op: BinOp, before: Num, by: Num, bits: number): void {
  if (s.deltas.size === 0) return;
  if (op !== 'add' && op !== 'sub') return forgetDelta(s, d);
  const step = op === 'add' ? by.s : itv(-by.s.hi, -by.s.lo);
  if (bits === 64) {
    if (before.s.lo + step.lo < S64_MIN || before.s.hi + step.hi > S64_MAX) return forgetDelta(s, d);
    return shiftDelta(s, d, step);
  }
  // A 32-bit step moves the 64-bit value by the same amount only when nothing wraps.
  const u32 = (1n << 32n) - 1n;
  const stepU = op === 'add' ? by.u : undefined;
  if (before.u.hi > u32 || by.u.hi > u32) return forgetDelta(s, d);
  if (stepU !== undefined ? before.u.hi + stepU.hi > u32 : before.u.lo - by.u.hi < 0n) return forgetDelta(s, d);
  return shiftDelta(s, d, op === 'add' ? by.u : itv(-by.u.hi, -by.u.lo));
}

function shift(x: Itv, by: Itv, sign: 1n | -1n): Itv {
  return sign === 1n ? itv(x.lo + by.lo, x.hi + by.hi) : itv(x.lo - by.hi, x.hi - by.lo);
}

/**
 * Links a new packet variable V = base + x to the number register x that was added (a copy
 * group, created here when x has none), so that bounds learned on V later bound x too.
 */
function linkOffset(s: State, insn: Instruction, sign: bigint, base: Itv, reg = insn.src): { eqId?: number; eqOffset?: bigint } {
  if (sign !== 1n || insn.spec.form !== 'alu-reg' || base.lo !== base.hi || reg === insn.dst && insn.src === insn.dst) return {};
  const x = s.regs[reg];
  if (!only(x, T.number)) return {};
  let id = x.eqId;
  if (id === 0) {
    id = EQ_ID_BASE + insn.pc;
    recycleEqId(s, id);
    s.regs[reg] = { ...s.regs[reg], eqId: id };
  }
  return { eqId: id, eqOffset: base.lo };
}

function pointerArithmetic(s: State, insn: Instruction, dst: Reg, src: Reg, op: BinOp, bits: number, env: Env): void {
  const d = insn.dst;
  const where = `r${d} ${op === 'add' ? '+=' : op === 'sub' ? '-=' : op} ${insn.spec.form === 'alu-imm' ? insn.imm : `r${insn.src}`}`;
  const pointers = (has(dst, PTR) ? 1 : 0) + (has(src, PTR) ? 1 : 0);
  if (op === 'sub' && leaksAllowed(env, dst) && leaksAllowed(env, src) && (bits === 32 ? pointers > 0 : pointers === 2 && !sameRegion(dst, src))) {
    // The distance between two addresses, or a 32-bit difference involving one: some number.
    setReg(s, d, numberReg(bits === 32 ? unsignedTop(32) : topNum(64)));
    forgetDelta(s, d);
    return;
  }
  if (op === 'sub' && bits === 32 && only(dst, T.packet) && only(src, T.packet) && insn.spec.form === 'alu-reg') {
    // The low 32 bits of the distance between two packet pointers: an offset, not an address.
    const diff = packetDifference(s, dst, src);
    const n = diff === undefined ? unsignedTop(32) : zeroExtend(truncate(normalize(wrapSigned(diff)) ?? topNum(64), 32), 32);
    setReg(s, d, numberReg(n));
    forgetDelta(s, d);
    return;
  }
  if (bits !== 64 || (op !== 'add' && op !== 'sub')) {
    fail('invalid-pointer-arithmetic', `${where}: only 64-bit addition and subtraction are allowed on pointers (r${d} is ${showReg(dst)}, operand ${showReg(src)})`);
  }
  if (has(dst, T.map_fd | T.map_fd_programs | T.func) || has(src, T.map_fd | T.map_fd_programs | T.func)) {
    fail('invalid-pointer-arithmetic', `${where}: no arithmetic on map or function references`);
  }
  const nullable = (r: Reg): boolean => has(r, T.shared | T.alloc_mem) && r.nullable;
  if (op === 'add' && has(dst, PTR) && has(src, PTR)) fail('invalid-pointer-arithmetic', `${where}: only numbers can be added to pointers`);
  if (only(src, T.number)) {
    if (nullable(dst)) fail('null-dereference', `${where}: arithmetic on a pointer that may be null`);
    const sign = op === 'add' ? 1n : -1n;
    const by = src.num.s;
    if (only(dst, T.packet) && dst.pktBase === 'data' && (!isConst(by) || insn.spec.form === 'alu-reg')) {
      // A variable offset becomes a packet variable, so a later bounds check on any pointer
      // derived from it by constants also covers this one. A register offset does so even when
      // it is known, so that the pointers of successive loop passes keep one variable.
      const id = insn.pc + 1;
      const base = pktTotal(s, dst);
      const total = shift(base, by, sign);
      retirePktVar(s, id);
      s.pktVars.set(id, { range: total, end: NO_END, ...linkOffset(s, insn, sign, base) });
      setReg(s, d, { ...dst, pkt: itv(0n), pktVar: id });
      forgetDelta(s, d);
      return;
    }
    let num = dst.num;
    if (has(dst, T.number)) num = binop(op, dst.num, src.num, 64);
    setReg(s, d, {
      ...dst, num, lowBits: 0, lowVal: 0n, eqId: 0, ctx: shift(dst.ctx, by, sign), stack: shift(dst.stack, by, sign), shared: shift(dst.shared, by, sign),
      sharedRoom: has(dst, T.shared) ? (sign === 1n ? roomOf(dst) - by.hi : roomOf(dst) + by.lo) : dst.sharedRoom,
      pkt: shift(dst.pkt, by, sign), alloc: shift(dst.alloc, by, sign),
    });
    shiftDelta(s, d, sign === 1n ? by : itv(-by.hi, -by.lo));
    return;
  }
  if (op === 'add' && only(dst, T.number)) {
    if (nullable(src)) fail('null-dereference', `${where}: arithmetic on a pointer that may be null`);
    const by = dst.num.s;
    if (only(src, T.packet) && src.pktBase === 'data') {
      const id = insn.pc + 1;
      const base = pktTotal(s, src);
      const total = shift(base, by, 1n);
      retirePktVar(s, id);
      s.pktVars.set(id, { range: total, end: NO_END, ...linkOffset(s, insn, 1n, base, insn.dst) });
      setReg(s, d, { ...src, pkt: itv(0n), pktVar: id });
      forgetDelta(s, d);
      return;
    }
    setReg(s, d, {
      ...src, num: has(src, T.number) ? binop('add', dst.num, src.num, 64) : src.num, lowBits: 0, lowVal: 0n, eqId: 0, ctx: shift(src.ctx, by, 1n), stack: shift(src.stack, by, 1n), shared: shift(src.shared, by, 1n),
      sharedRoom: has(src, T.shared) ? roomOf(src) - by.hi : src.sharedRoom,
      pkt: shift(src.pkt, by, 1n), alloc: shift(src.alloc, by, 1n),
    });
    forgetDelta(s, d);
    return;
  }
  // Pointer difference: both must point into one region whose offsets we can relate.
  if (op === 'sub' && has(dst, PTR) && has(src, PTR)) {
    for (const t of [T.stack, T.packet, T.ctx]) {
      if (!(only(dst, t) && only(src, t))) continue;
      let diff: Itv | undefined;
      if (t === T.stack) {
        checkStackPointer(dst, d);
        checkStackPointer(src, insn.src);
        diff = shift(dst.stack, src.stack, -1n);
      }
      else if (t === T.ctx) diff = shift(dst.ctx, src.ctx, -1n);
      else diff = packetDifference(s, dst, src);
      const n = diff === undefined ? topNum(64) : normalize(wrapSigned(diff)) ?? topNum(64);
      setReg(s, d, numberReg(n));
      forgetDelta(s, d);
      return;
    }
    if (only(dst, T.shared) && only(src, T.shared)) fail('invalid-pointer-arithmetic', `${where}: cannot subtract pointers to non-singleton regions`);
    fail('invalid-pointer-arithmetic', `${where}: cannot subtract pointers to different regions (${showReg(dst)} and ${showReg(src)})`);
  }
  fail('invalid-pointer-arithmetic', `${where}: mixes a pointer with something that is not a number (${showReg(dst)}, ${showReg(src)})`);
}

/** Both registers point into the same kind of region, whose offsets can be related. */
function sameRegion(a: Reg, b: Reg): boolean {
  return [T.stack, T.packet, T.ctx].some((t) => only(a, t) && only(b, t));
}

/** Comparing or subtracting stack pointers is only meaningful within the stack. */
function checkStackPointer(r: Reg, n: number): void {
  if (r.stack.lo < 0n || r.stack.hi > BigInt(STACK_LIMIT)) {
    fail('out-of-bounds-stack', `r${n} points outside the stack (offset ${r.stack.lo === r.stack.hi ? r.stack.lo : `[${r.stack.lo}, ${r.stack.hi}]`})`);
  }
}

const STACK_LIMIT = 4096;

function wrapSigned(x: Itv): Num {
  if (x.lo < S64_MIN || x.hi > S64_MAX) return topNum(64);
  return { s: x, u: uRange(64) };
}

/** Position of a packet pointer's base relative to packet start, as an interval. */
function basePos(s: State, base: Reg['pktBase']): Itv | undefined {
  if (base === 'data') return itv(0n);
  if (base === 'end') return itv(s.pktLo, s.pktHi);
  if (base === 'meta') return itv(-s.metaHi, -s.metaLo);
  return undefined;
}

function packetDifference(s: State, a: Reg, b: Reg): Itv | undefined {
  if (a.pktBase === b.pktBase && a.pktBase !== 'mixed' && a.pktVar === b.pktVar) return shift(a.pkt, b.pkt, -1n);
  const pa = basePos(s, a.pktBase);
  const pb = basePos(s, b.pktBase);
  if (pa === undefined || pb === undefined) return undefined;
  return shift(shift(pa, pktTotal(s, a), 1n), shift(pb, pktTotal(s, b), 1n), -1n);
}

/** lddw: constants, maps, map values, function addresses. */
export function lddw(s: State, insn: Instruction, env: Env): void {
  const d = insn.dst;
  if (d === 10) fail('invalid-memory-access', 'r10 is read-only');
  forgetDelta(s, d);
  if (insn.src === LddwSrc.IMM64) {
    setReg(s, d, numberReg(constNum(lddwValue(insn))));
    return;
  }
  if (insn.src === LddwSrc.CODE_ADDR) {
    setReg(s, d, pointerReg('func', { func: itv(BigInt(codeAddress(insn, env.funcTargets))) }));
    return;
  }
  if (insn.src === LddwSrc.VAR_ADDR) fail('unsupported', 'global variable addresses (lddw src=3) are not supported yet');
  const ref = env.maps.get(insn.pc);
  if (ref === undefined) fail('invalid-map', `the lddw at ${insn.pc} names map ${insn.imm}, which the program does not have`);
  if (insn.src === LddwSrc.MAP_VALUE || insn.src === LddwSrc.MAP_IDX_VALUE) {
    const off = BigInt(ref.kind === 'map-value' ? ref.offset : (insn.nextImm ?? 0));
    setReg(s, d, pointerReg('shared', { shared: itv(off), sharedSize: BigInt(ref.map.valueSize), sharedRO: ref.map.readOnly, sharedLock: lockOf(ref.map), sharedMap: ref.map }));
    return;
  }
  setReg(s, d, pointerReg(ref.map.type === PROG_ARRAY ? 'map_fd_programs' : 'map_fd', { map: ref.map }));
}

const PROG_ARRAY = 3;

/** ldx / ldxs. */
export function load(s: State, insn: Instruction, env: Env): void {
  if (insn.dst === 10) fail('invalid-memory-access', 'r10 is read-only');
  const base = s.regs[insn.src];
  const v = access(s, env, insn.src, insn.offset, insn.spec.width / 8, 'read', undefined, insn.spec.op === 'ldxs');
  setReg(s, insn.dst, v);
  forgetDelta(s, insn.dst);
  // A whole spill reloaded: the register and the slot hold the same value from now on.
  if (insn.spec.width === 64 && only(base, T.stack) && isConst(base.stack)) {
    const at = Number(base.stack.lo) + insn.offset;
    const cell = s.cells.get(at);
    if (cell !== undefined && cell.reg === v && linkable(v)) {
      let linked = v;
      if (v.eqId === 0) {
        const id = EQ_ID_BASE + insn.pc;
        recycleEqId(s, id);
        linked = { ...v, eqId: id };
        s.cells.set(at, { width: cell.width, reg: linked });
      }
      setReg(s, insn.dst, linked);
    }
  }
}

/** Values that copy groups (eqId) may cover: numbers, and values that may be null pointers. */
function linkable(r: Reg): boolean {
  return !has(r, T.uninit) && (only(r, T.number) || has(r, T.shared | T.alloc_mem));
}

/** st / stx. */
export function store(s: State, insn: Instruction, env: Env): void {
  const value = insn.spec.form === 'st' ? numberReg(constNum(BigInt(insn.imm))) : s.regs[insn.src];
  access(s, env, insn.dst, insn.offset, insn.spec.width / 8, 'write', value);
}

/** Atomic read-modify-write: the memory and the operand must hold numbers. */
export function atomic(s: State, insn: Instruction, env: Env): void {
  const width = insn.spec.width / 8;
  const src = requireInit(s, insn.src);
  if (!only(src, T.number)) fail('pointer-leak', `atomic operand r${insn.src} must be a number (${showReg(src)})`);
  const base = requireInit(s, insn.dst);
  if (has(base, T.ctx | T.packet)) fail('invalid-memory-access', `atomic operations need stack or map-value memory (r${insn.dst} is ${showReg(base)})`);
  if (env.rules.misalignedAtomics !== true) checkAtomicAlignment(base, insn, width);
  const old = access(s, env, insn.dst, insn.offset, width, 'read');
  if (!only(old, T.number)) fail('uninitialized-stack', `atomic operation on memory that does not hold a number (${showReg(old)})`);
  const bits = width * 8;
  access(s, env, insn.dst, insn.offset, width, 'write', numberReg(unsignedTop(bits)));
  const fetched = numberReg(unsignedTop(bits));
  if (insn.spec.op === 'atomic_cmpxchg') {
    const r0 = requireInit(s, 0);
    if (!only(r0, T.number)) fail('pointer-leak', `cmpxchg compares with r0, which must be a number (${showReg(r0)})`);
    setReg(s, 0, fetched);
    forgetDelta(s, 0);
  } else if (insn.spec.op.startsWith('atomic_fetch') || insn.spec.op === 'atomic_xchg') {
    setReg(s, insn.src, fetched);
    forgetDelta(s, insn.src);
  }
}

/**
 * Atomic operations need natural alignment (WebAssembly's atomics trap otherwise, as some CPUs
 * do). Stack frames, map values and ring-buffer records start 8-byte aligned, so an offset that
 * is a known multiple of the width gives an aligned address.
 */
function checkAtomicAlignment(base: Reg, insn: Instruction, width: number): void {
  const w = BigInt(width);
  for (const [t, off] of [[T.stack, base.stack], [T.shared, base.shared], [T.alloc_mem, base.alloc]] as const) {
    if (!has(base, t)) continue;
    const lo = off.lo + BigInt(insn.offset);
    if (!isConst(off)) fail('misaligned-access', `a ${width}-byte atomic operation at a variable offset ${off.lo === off.hi ? off.lo : `[${lo}, ${off.hi + BigInt(insn.offset)}]`}: its alignment is not proven (r${insn.dst} is ${showReg(base)})`);
    if (((lo % w) + w) % w !== 0n) fail('misaligned-access', `a ${width}-byte atomic operation at offset ${lo} is not ${width}-byte aligned (r${insn.dst} is ${showReg(base)})`);
  }
}

/** Legacy packet loads: r6 must be the context; the runtime bounds-checks and r1-r5 are clobbered. */
export function legacyLoad(s: State, insn: Instruction, env: Env): void {
  if (env.rules.legacyPacketLoads !== true) {
    fail('instruction-not-allowed', `legacy packet loads (ld_abs/ld_ind) read an skb's packet: ${env.rules.name} programs cannot use them`);
  }
  // One that falls outside the packet ends the program (r0 = 0): nothing may be held then.
  if (s.lock !== '') fail('spin-lock', 'a legacy packet load may end the program while a bpf_spin_lock is held');
  if (s.refs.size > 0 && env.rules.checkReleased !== false) fail('pointer-leak', 'a legacy packet load may end the program while a reserved ring-buffer record is held');
  const ctx = requireInit(s, 6);
  if (!only(ctx, T.ctx)) fail('invalid-memory-access', `legacy packet loads need the context in r6 (${showReg(ctx)})`);
  if (insn.spec.form === 'ldind') {
    const idx = requireInit(s, insn.src);
    if (!only(idx, T.number)) fail('invalid-pointer-arithmetic', `the index r${insn.src} of a legacy packet load must be a number`);
  }
  const bits = insn.spec.width;
  for (let r = 1; r <= 5; r++) {
    setReg(s, r, UNINIT);
    forgetDelta(s, r);
  }
  setReg(s, 0, numberReg(unsignedTop(bits)));
  forgetDelta(s, 0);
}

// --- conditions ----------------------------------------------------------------------------------

export type Rel = 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jsgt' | 'jsge' | 'jslt' | 'jsle' | 'jset' | 'jnset';

const NEGATE: Record<Rel, Rel> = {
  jeq: 'jne', jne: 'jeq', jgt: 'jle', jle: 'jgt', jge: 'jlt', jlt: 'jge', jsgt: 'jsle', jsle: 'jsgt',
  jsge: 'jslt', jslt: 'jsge', jset: 'jnset', jnset: 'jset',
};

/** The relation a conditional jump's edge (taken or not) establishes between its operands. */
export function edgeRelation(insn: Instruction, taken: boolean): Rel {
  return taken ? (insn.spec.op as Rel) : NEGATE[insn.spec.op as Rel];
}

/** Refines two numbers (at one width) by `a REL b`; undefined when the relation cannot hold. */
function refineNums(rel: Rel, a: Num, b: Num, bits: number): [Num, Num] | undefined {
  let [as, au, bs, bu] = [a.s, a.u, b.s, b.u];
  const lower = (x: Itv, lo: bigint): Itv | undefined => (lo > x.hi ? undefined : itv(lo > x.lo ? lo : x.lo, x.hi));
  const upper = (x: Itv, hi: bigint): Itv | undefined => (hi < x.lo ? undefined : itv(x.lo, hi < x.hi ? hi : x.hi));
  let r: (Itv | undefined)[] = [as, au, bs, bu];
  switch (rel) {
    case 'jeq': r = [meet(as, bs), meet(au, bu), meet(as, bs), meet(au, bu)]; break;
    case 'jne':
      if (isConst(au) && isConst(bu) && au.lo === bu.lo) return undefined;
      if (isConst(bu)) r = [as, au.lo === bu.lo ? itv(au.lo + 1n, au.hi) : au.hi === bu.lo ? itv(au.lo, au.hi - 1n) : au, bs, bu];
      if (isConst(au)) r = [r[0], r[1], bs, bu.lo === au.lo ? itv(bu.lo + 1n, bu.hi) : bu.hi === au.lo ? itv(bu.lo, bu.hi - 1n) : bu];
      if (r[1] !== undefined && r[1].lo > r[1].hi) return undefined;
      if (r[3] !== undefined && r[3].lo > r[3].hi) return undefined;
      break;
    case 'jgt': r = [as, lower(au, bu.lo + 1n), bs, upper(bu, au.hi - 1n)]; break;
    case 'jge': r = [as, lower(au, bu.lo), bs, upper(bu, au.hi)]; break;
    case 'jlt': r = [as, upper(au, bu.hi - 1n), bs, lower(bu, au.lo + 1n)]; break;
    case 'jle': r = [as, upper(au, bu.hi), bs, lower(bu, au.lo)]; break;
    case 'jsgt': r = [lower(as, bs.lo + 1n), au, upper(bs, as.hi - 1n), bu]; break;
    case 'jsge': r = [lower(as, bs.lo), au, upper(bs, as.hi), bu]; break;
    case 'jslt': r = [upper(as, bs.hi - 1n), au, lower(bs, as.lo + 1n), bu]; break;
    case 'jsle': r = [upper(as, bs.hi), au, lower(bs, as.lo), bu]; break;
    case 'jset':
      if ((isConst(au) && au.lo === 0n) || (isConst(bu) && bu.lo === 0n)) return undefined;
      if (isConst(au) && isConst(bu) && (au.lo & bu.lo) === 0n) return undefined;
      r = [as, au.lo === 0n ? itv(1n, au.hi) : au, bs, bu];
      break;
    case 'jnset':
      if (isConst(au) && isConst(bu) && (au.lo & bu.lo) !== 0n) return undefined;
      break;
  }
  [as, au, bs, bu] = r as Itv[];
  if (r.some((x) => x === undefined)) return undefined;
  const na = normalize({ s: as, u: au }, bits);
  const nb = normalize({ s: bs, u: bu }, bits);
  if (na === undefined || nb === undefined) return undefined;
  return [na, nb];
}

/** A 64-bit number after learning something about its low 32 bits. */
function fromLow32(full: Num, low: Num): Num | undefined {
  if (full.u.hi >= 1n << 32n) return full;
  return normalize({ s: meet(full.s, low.u) ?? itv(1n, 0n), u: meet(full.u, low.u) ?? itv(1n, 0n) });
}

export type Operand = { reg: number } | { imm: number };

function validItv(x: Itv): boolean {
  return x.lo <= x.hi;
}

/**
 * The state on one edge of a conditional jump (`taken` or not), or undefined when that edge
 * cannot be followed. Comparisons that would leak pointers are violations.
 */
export function assume(s: State, insn: Instruction, taken: boolean, allowPointerLeaks = false): State | undefined {
  const rel = edgeRelation(insn, taken);
  const bits = insn.spec.width === 32 ? 32 : 64;
  const a = requireInit(s, insn.dst);
  const isImm = insn.spec.form === 'jmp-imm';
  const b = isImm ? numberReg(bits === 32 ? constNum(BigInt(insn.imm >>> 0)) : constNum(BigInt(insn.imm))) : requireInit(s, insn.src);
  const text = `r${insn.dst} ${insn.spec.op} ${isImm ? insn.imm : `r${insn.src}`}`;
  if (only(a, T.number) && only(b, T.number)) {
    const refined = numericRefine(rel, a.num, b.num, bits);
    if (refined === undefined) return undefined;
    // What the low bits say trims the bounds further (x even, x != 64, x <= 64: x <= 62).
    const ta = withLowBits(refined[0], a.lowBits, a.lowVal);
    const tb = withLowBits(refined[1], b.lowBits, b.lowVal);
    if (ta === undefined || tb === undefined) return undefined;
    refineCopies(s, insn.dst, ta.num);
    if (!isImm && insn.src !== insn.dst) refineCopies(s, insn.src, tb.num);
    return s;
  }
  const eqOps: Rel[] = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle'];
  const nullCheck = isImm && insn.imm === 0 && bits === 64 && eqOps.includes(insn.spec.op as Rel);
  // Where addresses may be disclosed, comparing one with a number teaches nothing but is allowed.
  if (allowPointerLeaks && !nullCheck && !has(a, T.uninit) && !has(b, T.uninit) && (has(a, T.number) || has(b, T.number) || isImm)) return s;
  if (isImm || only(b, T.number)) {
    // Only `ptr ==/!=/</<=/>/>= 0` (64-bit): a null check. Anything else would reveal the address.
    if (!nullCheck) {
      fail('invalid-pointer-comparison', `${text}: a pointer may only be compared with the immediate 0 (r${insn.dst} is ${showReg(a)})`);
    }
    return nullRefine(s, insn.dst, rel);
  }
  if (only(a, T.number) || has(a, T.number) || has(b, T.number)) {
    fail('invalid-pointer-comparison', `${text}: compares a pointer with a number (${showReg(a)} and ${showReg(b)})`);
  }
  if (!isImm && insn.spec.op !== 'jset' && bits === 64) {
    if (only(a, T.packet) && only(b, T.packet)) {
      // The machine compares the registers' 64-bit values: only where both are the exact
      // addresses (no wrap-around below 0) does the order of the offsets say which edge runs.
      return packetAddressExact(s, a) && packetAddressExact(s, b) ? packetRefine(s, a, b, rel, insn) : s;
    }
    if (only(a, T.stack) && only(b, T.stack)) {
      checkStackPointer(a, insn.dst);
      checkStackPointer(b, insn.src);
      return s;
    }
    // Two context pointers point into one object. Two map-value pointers may point into different
    // values, whose order would disclose where the maps lie: only with leaks allowed (below).
    if (only(a, T.ctx) && only(b, T.ctx)) return s;
    // Map references may be tested for identity, never ordered.
    const maps = T.map_fd | T.map_fd_programs;
    if (only(a, maps) && only(b, maps) && (insn.spec.op === 'jeq' || insn.spec.op === 'jne')) return s;
  }
  if (allowPointerLeaks && !has(a, T.uninit) && !has(b, T.uninit)) return s;
  return fail('invalid-pointer-comparison', `${text}: compares pointers into different regions (${showReg(a)} and ${showReg(b)})`);
}

/** Exported for the property tests. */
export function numericRefine(rel: Rel, a: Num, b: Num, bits: number): [Num, Num] | undefined {
  if (bits === 64) return refineNums(rel, a, b, 64);
  const r = refineNums(rel, truncate(a, 32), truncate(b, 32), 32);
  if (r === undefined) return undefined;
  const na = fromLow32(a, r[0]);
  const nb = fromLow32(b, r[1]);
  if (na === undefined || nb === undefined) return undefined;
  return [na, nb];
}

/** `ptr REL 0`: on the null side a nullable pointer becomes the number 0, others disappear. */
function nullRefine(s: State, r: number, rel: Rel): State | undefined {
  const a = s.regs[r];
  const isNull = rel === 'jeq' || rel === 'jle' ? true : rel === 'jne' || rel === 'jgt' ? false : rel === 'jge' ? undefined : null;
  if (isNull === null) return undefined; // ptr < 0 is never true
  if (isNull === undefined) return s;
  const nullable = has(a, T.shared | T.alloc_mem) && a.nullable;
  const next = nullSide(s, a, isNull);
  if (next === undefined) return undefined;
  s.regs[r] = next;
  // A reservation that failed holds nothing.
  if (isNull && nullable && a.nullId !== 0 && only(a, T.alloc_mem) && s.refs.has(a.nullId)) {
    const refs = new Set(s.refs);
    refs.delete(a.nullId);
    s.refs = refs;
  }
  // Copies of the same possibly-null pointer learn the same thing.
  if (nullable && a.nullId !== 0 && only(a, T.shared | T.alloc_mem)) {
    for (let i = 0; i < s.regs.length; i++) {
      const x = s.regs[i];
      if (i !== r && has(x, T.shared | T.alloc_mem) && x.nullId === a.nullId && only(x, T.shared | T.alloc_mem)) s.regs[i] = nullSide(s, x, isNull) ?? x;
    }
    for (const [off, c] of s.cells) {
      if (has(c.reg, T.shared | T.alloc_mem) && c.reg.nullId === a.nullId && only(c.reg, T.shared | T.alloc_mem)) {
        s.cells.set(off, { width: c.width, reg: nullSide(s, c.reg, isNull) ?? c.reg });
      }
    }
  }
  // So do registers and spills that hold the same value (a pointer or null, reloaded from the
  // slot it was spilled to, is tested in one register and used from another).
  if (a.eqId !== 0) mapValues(s, (x) => (x.eqId === a.eqId && x !== next ? nullSide(s, x, isNull) ?? x : x));
  return s;
}

/** What `x == 0` (isNull) or `x != 0` leaves of x; undefined when that cannot hold. */
function nullSide(s: State, x: Reg, isNull: boolean): Reg | undefined {
  // A pointer whose address may be 0 (possibly null, or an offset that may cancel its object's
  // address) is the number 0 on the null side; any other pointer cannot be 0 there.
  const zero = has(x, POINTER_TYPES) && pointerMayBeZero(s, x);
  const numPart = has(x, T.number) ? refineNums(isNull ? 'jeq' : 'jne', x.num, constNum(0n), 64)?.[0] : undefined;
  if (isNull) {
    if (!zero && numPart === undefined) return undefined;
    return { ...numberReg(zero ? constNum(0n) : numPart), eqId: x.eqId };
  }
  const types = numPart === undefined ? x.types & ~T.number : x.types;
  if (types === 0) return undefined;
  return { ...x, types, num: numPart ?? x.num, nullable: false };
}

/** Comparisons between packet pointers teach packet_size (and metadata size) bounds. */
function packetRefine(s: State, a: Reg, b: Reg, rel: Rel, insn: Instruction): State | undefined {
  const facts: [Reg, Reg, bigint][] = []; // L + c <= R
  // Only unsigned comparisons order addresses; signed ones teach nothing.
  switch (rel) {
    case 'jle': facts.push([a, b, 0n]); break;
    case 'jlt': facts.push([a, b, 1n]); break;
    case 'jge': facts.push([b, a, 0n]); break;
    case 'jgt': facts.push([b, a, 1n]); break;
    case 'jeq': facts.push([a, b, 0n], [b, a, 0n]); break;
    default: return s;
  }
  for (const fact of facts) {
    let [l, r] = fact;
    const c = fact[2];
    const lb = l.pktBase;
    const rb = r.pktBase;
    if (lb === 'mixed' || rb === 'mixed') continue;
    if (lb === 'data' && rb === 'end' && l.pktVar !== 0) {
      // V + l.pkt + c <= P + r.pkt: V + (l.pkt.lo + c - r.pkt.hi) <= P.
      const v = s.pktVars.get(l.pktVar);
      const k = l.pkt.lo + c - r.pkt.hi;
      if (v !== undefined && k > v.end) {
        // V + k <= packet_size <= pktHi: V, and the registers it was made from, are at most pktHi - k.
        const hi = s.pktHi - k;
        s.pktVars.set(l.pktVar, { ...v, end: k, range: v.range.hi > hi && v.range.lo <= hi ? itv(v.range.lo, hi) : v.range });
        if (v.eqId !== undefined && v.eqId !== 0) boundCopies(s, v.eqId, hi - (v.eqOffset ?? 0n));
      }
    }
    if (l.pktVar !== r.pktVar) {
      // Offsets relative to different variables cannot be ordered directly.
      if (lb === rb) continue;
      l = dropPktVar(s, l);
      r = dropPktVar(s, r);
    }
    if (lb === rb) {
      // Same base: the offsets are ordered.
      const nl = itv(l.pkt.lo, l.pkt.hi < r.pkt.hi - c ? l.pkt.hi : r.pkt.hi - c);
      const nr = itv(r.pkt.lo > l.pkt.lo + c ? r.pkt.lo : l.pkt.lo + c, r.pkt.hi);
      if (!validItv(nl) || !validItv(nr)) return undefined;
      if (l === a) {
        s.regs[insn.dst] = { ...a, pkt: nl };
        s.regs[insn.src] = { ...b, pkt: nr };
      } else {
        s.regs[insn.src] = { ...b, pkt: nl };
        s.regs[insn.dst] = { ...a, pkt: nr };
      }
      continue;
    }
    const need = l.pkt.lo + c - r.pkt.hi;
    if (lb === 'data' && rb === 'end') s.pktLo = need > s.pktLo ? need : s.pktLo;
    else if (lb === 'end' && rb === 'data') {
      const hi = r.pkt.hi - l.pkt.lo - c;
      s.pktHi = hi < s.pktHi ? hi : s.pktHi;
    } else if (lb === 'meta' && rb === 'data') s.metaLo = need > s.metaLo ? need : s.metaLo;
    else if (lb === 'data' && rb === 'meta') {
      const hi = r.pkt.hi - l.pkt.lo - c;
      s.metaHi = hi < s.metaHi ? hi : s.metaHi;
    }
  }
  if (s.pktLo > s.pktHi || s.metaLo > s.metaHi) return undefined;
  return s;
}

/** Every number in copy group `id` is at most `hi` (signed). */
function boundCopies(s: State, id: number, hi: bigint): void {
  mapValues(s, (x) => {
    if (x.eqId !== id || !only(x, T.number) || x.num.s.hi <= hi || x.num.s.lo > hi) return x;
    const num = normalize({ s: itv(x.num.s.lo, hi), u: x.num.u });
    return num === undefined ? x : { ...x, num };
  });
}

/** Checks r0 at the program's exit. */
export function checkExit(s: State, env: Env): void {
  if (s.lock !== '') fail('spin-lock', 'the program may exit while a bpf_spin_lock is held');
  if (s.refs.size > 0 && env.rules.checkReleased !== false) {
    fail('pointer-leak', `the program may exit while a reserved ring-buffer record is still held (reserved by the call at ${[...s.refs].map((id) => id - 1).join(', ')}): submit or discard it on every path`);
  }
  if (env.rules.checkReturn === false) return;
  const r0 = requireInit(s, 0);
  const range = env.rules.returnRange;
  // A returned address is a disclosed number; where the type constrains the value it must be a number in range.
  if (!only(r0, T.number) && (range !== undefined || !leaksAllowed(env, r0))) fail('pointer-leak', `the program returns a pointer (r0 is ${showReg(r0)})`);
  if (!only(r0, T.number)) return;
  if (range !== undefined && (r0.num.s.lo < range[0] || r0.num.s.hi > range[1])) {
    fail('bad-return-value', `r0 may be ${r0.num.s.lo === r0.num.s.hi ? r0.num.s.lo : `in [${r0.num.s.lo}, ${r0.num.s.hi}]`} at exit; ${env.rules.name} programs must return a value in [${range[0]}, ${range[1]}]`);
  }
}
