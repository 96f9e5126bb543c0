// Checked loads and stores through a pointer register, for each type the register may have.

import { type Itv, constNum, itv, normalize, sRange, topNum, uRange, showItv, unsignedTop } from './domain/interval.js';
import {
  type Reg, type State, MIXED_LOCK, NO_END, NO_LOCK, POINTER_TYPES, T, TOP, has, roomOf, joinReg, numberReg, pointerReg, pktTotal, STACK_NUMBER, STACK_OTHER, STACK_UNINIT,
  only, showReg,
} from './domain/state.js';
import { TOP_MARGIN as ADDRESS_SPACE_TOP_MARGIN } from '../abi/address-space.js';
import { fail } from './errors.js';
import { belowZero, slackToEnd } from './domain/relational.js';
import type { ProgramTypeRules } from './program-type.js';

export interface MemEnv {
  readonly rules: ProgramTypeRules;
  /** Bytes one frame may use below its r10. */
  readonly frameSize: number;
  /** Size of the whole stack region (all frames). */
  readonly stackSize: number;
  /** PREVAIL's model: all frames are one region, accesses may cross into callers' frames. */
  readonly sharedStack?: boolean;
  /**
   * Pointers may become numbers that leave the program (stored in maps or packets, returned,
   * moved to 32 bits, subtracted across regions, compared with numbers, passed in helper
   * buffers), as Linux allows a privileged loader (allow_ptr_leaks). Such a number can never be
   * used as a pointer again; only the address's value is disclosed.
   */
  readonly allowPointerLeaks?: boolean;
  /**
   * Pointers are 32-bit linear-memory addresses (ebpf-ts' memory model), so a 32-bit move keeps a
   * pointer whole. Off for PREVAIL's suite, whose platform has 64-bit pointers.
   */
  readonly addresses32?: boolean;
}

/** Bytes past the end of an object that are still below 2^32 (src/abi/address-space.ts). */
const TOP_MARGIN = BigInt(ADDRESS_SPACE_TOP_MARGIN);

/**
 * Whether every address pointer `reg` may hold lies within its object or at most TOP_MARGIN
 * bytes past its end: then the address is below 2^32 (ebpf-ts addresses are 32-bit linear-memory
 * offsets) and a 32-bit move leaves it unchanged. A pointer further away (data + V with V up to
 * 2^32, say), or before its object, may wrap when truncated.
 */
export function insideObject(s: State, env: MemEnv, reg: Reg): boolean {
  if (!only(reg, POINTER_TYPES)) return false;
  const within = (x: Itv, lo: bigint, hi: bigint): boolean => x.lo >= lo && x.hi <= hi + TOP_MARGIN;
  if (has(reg, T.ctx) && !within(reg.ctx, 0n, BigInt(env.rules.context.size))) return false;
  if (has(reg, T.stack) && !within(reg.stack, 0n, BigInt(env.stackSize))) return false;
  if (has(reg, T.packet)) {
    const off = pktTotal(s, reg);
    const ok = reg.pktBase === 'data' ? within(off, -s.metaLo, s.pktLo)
      : reg.pktBase === 'end' ? within(off, -(s.pktLo + s.metaLo), 0n)
        : reg.pktBase === 'meta' ? within(off, 0n, s.metaLo + s.pktLo) : false;
    if (!ok) return false;
  }
  // A possibly-null pointer is 0 or the pointer: at its start either way.
  const nullOrStart = (x: Itv): boolean => x.lo === 0n && x.hi === 0n;
  if (has(reg, T.shared) && !(reg.nullable ? nullOrStart(reg.shared) : reg.shared.lo >= 0n && roomOf(reg) >= -TOP_MARGIN)) return false;
  if (has(reg, T.alloc_mem) && (reg.allocSize < 0n || !(reg.nullable ? nullOrStart(reg.alloc) : within(reg.alloc, 0n, reg.allocSize)))) return false;
  return true;
}

/**
 * The bpf_spin_lock word of a map value belongs to the lock helpers: no load, store, atomic or
 * helper buffer may touch the 4 bytes at its offset.
 */
export function checkLockUntouched(reg: Reg, off: Itv, n: bigint, what: string): void {
  const lock = reg.sharedLock;
  if (lock === NO_LOCK) return;
  if (lock === MIXED_LOCK) fail('spin-lock', `${what}: the map value may hold a bpf_spin_lock at an unknown place, which the program may not touch`);
  if (off.lo < lock + 4n && off.hi + n > lock) fail('spin-lock', `${what}: bytes [${showItv(off)}, +${n}) of the map value overlap its bpf_spin_lock at offset ${lock}, which only bpf_spin_lock/unlock may touch`);
}

export type AccessKind = 'read' | 'write';

/**
 * `n` bytes at stack offsets `off` must lie in the frame the pointer comes from. With
 * `sharedStack` (PREVAIL's test model) frames form one region: from the current frame's bottom
 * up to the top of the stack.
 */
export function checkStackRange(s: State, env: MemEnv, reg: Reg, off: Itv, n: bigint, what: string): void {
  let lo: bigint;
  let hi: bigint;
  if (env.sharedStack) {
    lo = s.frameTop - BigInt(env.frameSize);
    hi = BigInt(env.stackSize);
  } else {
    if (reg.stackFrame < 0n) fail('out-of-bounds-stack', `${what}: the stack pointer may come from different call frames`);
    lo = reg.stackFrame - BigInt(env.frameSize);
    hi = reg.stackFrame;
  }
  if (off.lo < lo || off.hi + n > hi) fail('out-of-bounds-stack', `${what} at offset ${showItv(off)} is outside the frame [${lo}, ${hi})`);
}

const bytes = (w: number): string => `${w} byte${w === 1 ? '' : 's'}`;

export function requireInit(s: State, r: number): Reg {
  const reg = s.regs[r];
  if (has(reg, T.uninit)) fail('uninitialized-register', `r${r} may be uninitialised here (${showReg(reg)})`);
  return reg;
}

/** The number a load of `width` bytes yields when nothing more is known (`signed`: ldxs). */
function loadedNumber(width: number, signed: boolean): Reg {
  const bits = width * 8;
  if (!signed) return numberReg(unsignedTop(bits));
  return numberReg(normalize({ s: sRange(bits), u: uRange(64) }) ?? topNum(64));
}

/** A cell value re-read with the same width: numbers are zero- or sign-extended again. */
function reread(cell: Reg, width: number, signed: boolean): Reg {
  if (!only(cell, T.number) || width === 8) return cell;
  const bits = BigInt(width * 8);
  const u = cell.num.u;
  if (!signed) return numberReg({ s: u, u });
  const half = 1n << (bits - 1n);
  if (u.hi < half) return numberReg({ s: u, u });
  if (u.lo >= half) return numberReg(normalize({ s: itv(u.lo - (half << 1n), u.hi - (half << 1n)), u: uRange(64) }) ?? topNum(64));
  return loadedNumber(width, true);
}

/** Truncates a number to what a `width`-byte store keeps. */
function stored(value: Reg, width: number): Reg {
  if (!only(value, T.number) || width === 8) return value;
  const bits = BigInt(width * 8);
  const u = value.num.u;
  if (u.hi < 1n << bits) return numberReg({ s: u, u });
  if (u.lo === u.hi) return numberReg(constNum(u.lo & ((1n << bits) - 1n)));
  return numberReg(unsignedTop(width * 8));
}

function checkRange(off: Itv, width: number, lo: bigint, hi: bigint, code: Parameters<typeof fail>[0], what: string): void {
  if (off.lo < lo || off.hi + BigInt(width) > hi) {
    fail(code, `${what} access of ${bytes(width)} at offset ${showItv(off)} is outside [${lo}, ${hi})`);
  }
}

function ctxAccess(env: MemEnv, off: Itv, width: number, kind: AccessKind, value: Reg | undefined, signed: boolean): Reg {
  if (off.lo !== off.hi) fail('out-of-bounds-context', `context access at a variable offset ${showItv(off)}`);
  const o = Number(off.lo);
  if (o < 0 || o + width > env.rules.context.size) {
    fail('out-of-bounds-context', `context access of ${bytes(width)} at offset ${o} is outside the ${env.rules.name} context (size ${env.rules.context.size})`);
  }
  if (o % width !== 0 && env.rules.misalignedContext !== true) {
    fail('out-of-bounds-context', `context access of ${bytes(width)} at offset ${o} is misaligned: it must start at a multiple of its size within a field of the ${env.rules.name} context`);
  }
  const field = env.rules.context.fields.find((f) => o >= f.offset && o + width <= f.offset + f.size);
  const overlapsPointer = env.rules.context.fields.some((f) => f.kind !== 'scalar' && o < f.offset + f.size && f.offset < o + width);
  if (kind === 'read' && overlapsPointer && (field === undefined || o !== field.offset || width !== field.size || signed)) {
    // Part of a packet pointer: the bits are readable but must never be usable as a number.
    return TOP;
  }
  if (field === undefined) {
    fail('out-of-bounds-context', `context access of ${bytes(width)} at offset ${o} does not fall within one field of the ${env.rules.name} context (size ${env.rules.context.size})`);
  }
  if (field.kind !== 'scalar') {
    if (kind === 'write') fail('write-to-read-only', `the context field at offset ${field.offset} is a packet pointer and cannot be written`);
    const base = field.kind === 'packet' ? 'data' : field.kind === 'packet_end' ? 'end' : 'meta';
    return pointerReg('packet', { pkt: itv(0n), pktBase: base });
  }
  if (kind === 'write') {
    if (field.readOnly) fail('write-to-read-only', `the context field at offset ${field.offset} is read-only`);
    if (value !== undefined && !only(value, T.number)) fail('pointer-leak', `only numbers can be stored in the context (the value is ${showReg(value)})`);
  }
  return loadedNumber(width, signed);
}

/**
 * An access of `width` bytes at `offset` from the packet pointer `reg` (offset already added);
 * `r` is the register it is in, whose zone variable is the pointer's own offset (-1: none).
 */
function packetAccess(s: State, reg: Reg, width: number, kind: AccessKind, value: Reg | undefined, signed: boolean, r: number, offset: bigint, leaks: boolean): Reg {
  const off = pktTotal(s, reg);
  const w = BigInt(width);
  let ok: boolean;
  let why: string;
  const v = reg.pktVar === 0 ? undefined : s.pktVars.get(reg.pktVar);
  // What the zone proves: offset(r) - packet_size <= slack, and offset(r) >= -below.
  const slack = r < 0 ? Infinity : slackToEnd(s, r);
  const below = r < 0 ? Infinity : belowZero(s, r);
  const o = Number(offset);
  switch (reg.pktBase) {
    case 'data':
      // Either the whole range fits in the proven size, or a check on the variable covers it,
      // or the zone relates the pointer to the packet size.
      ok = off.lo >= -s.metaLo && (off.hi + w <= s.pktLo || (v !== undefined && reg.pkt.hi + w <= v.end) || slack + o + width <= 0);
      why = off.lo < -s.metaLo
        ? `packet access of ${bytes(width)} at offset ${showItv(off)} may start before the packet (or its metadata)`
        : `packet access of ${bytes(width)} at offset ${showItv(off)} needs data + ${off.hi + w} <= data_end, but the bounds checks on this path only prove data + ${s.pktLo} <= data_end${v !== undefined && v.end !== NO_END ? ` (with the variable offset v: data + v + ${reg.pkt.hi + w} <= data_end is needed, data + v + ${v.end} <= data_end is proven)` : ''}`;
      break;
    case 'end':
      ok = off.hi + w <= 0n && (off.lo >= -s.pktLo || below - o <= 0);
      why = `packet access of ${bytes(width)} at data_end${off.lo < 0n ? '' : '+'}${showItv(off)} is not proven to lie within the packet (proven size ${s.pktLo})`;
      break;
    case 'meta':
      ok = off.lo >= 0n && off.hi + w <= s.metaLo + s.pktLo;
      why = `packet access of ${bytes(width)} at data_meta+${showItv(off)} is not proven to be before data_end: proven metadata size ${s.metaLo}, packet size ${s.pktLo}`;
      break;
    default:
      ok = false;
      why = 'packet pointer of unknown origin: data, data_end or data_meta differ between paths, or a helper that may move the packet (such as bpf_xdp_adjust_head) was called after it was derived; reload it from the context';
  }
  if (!ok) fail('out-of-bounds-packet', why);
  if (kind === 'write' && value !== undefined && !only(value, T.number) && !(leaks && !has(value, T.uninit))) {
    fail('pointer-leak', `only numbers can be stored in packet memory (the value is ${showReg(value)})`);
  }
  return loadedNumber(width, signed);
}

function regionAccess(
  released: boolean, nullable: boolean, off: Itv, size: bigint, readOnly: boolean, width: number, kind: AccessKind,
  value: Reg | undefined, signed: boolean, what: string, code: 'out-of-bounds-map-value' | 'out-of-bounds-alloc-mem', leaks: boolean,
): Reg {
  if (released) fail('invalid-memory-access', `the ${what} may already have been submitted or discarded: it cannot be used any more`);
  if (nullable) fail('null-dereference', `the ${what} pointer may be null: compare it with 0 first`);
  checkRange(off, width, 0n, size, code, `${what} (size ${size})`);
  if (kind === 'write') {
    if (readOnly) fail('write-to-read-only', `the ${what} is read-only`);
    if (value !== undefined && !only(value, T.number) && !(leaks && !has(value, T.uninit))) fail('pointer-leak', `only numbers can be stored in a ${what} (the value is ${showReg(value)})`);
  }
  return loadedNumber(width, signed);
}

function stackRead(s: State, env: MemEnv, base: number, off: Itv, width: number, signed: boolean): Reg {
  if (off.lo === off.hi) {
    const cell = s.cells.get(Number(off.lo));
    if (cell !== undefined && cell.width === width) return reread(cell.reg, width, signed);
  }
  let uninit = false;
  let other = false;
  for (let i = Number(off.lo); i < Number(off.hi) + width; i++) {
    if (s.bytes[i] === STACK_UNINIT) uninit = true;
    else if (s.bytes[i] === STACK_OTHER) other = true;
  }
  if (!uninit && !other) return loadedNumber(width, signed);
  // PREVAIL's model: a direct read through r10 may see garbage; the result is simply unusable.
  if (base === 10 && env.sharedStack === true) return TOP;
  if (uninit) fail('uninitialized-stack', `stack bytes [${off.lo}, ${off.hi + BigInt(width)}) may be uninitialised`);
  if (env.allowPointerLeaks === true) return loadedNumber(width, signed);
  return fail('pointer-leak', `stack bytes [${off.lo}, ${off.hi + BigInt(width)}) hold part of a pointer, not a number`);
}

export function stackWrite(s: State, off: Itv, width: number, value: Reg, strong: boolean): void {
  // Only whole 8-byte spills can be reloaded as what they were; anything else reads back as
  // bytes that are not a number (or, for a possibly uninitialised value, as uninitialised).
  const kind = has(value, T.uninit) ? STACK_UNINIT : only(value, T.number) ? STACK_NUMBER : STACK_OTHER;
  const keep = kind !== STACK_UNINIT && (width === 8 || only(value, T.number));
  const lo = Number(off.lo);
  const hi = Number(off.hi) + width;
  for (const [at, cell] of s.cells) if (at < hi && at + cell.width > lo) s.cells.delete(at);
  if (strong && off.lo === off.hi) {
    s.bytes.fill(kind, lo, hi);
    if (keep) s.cells.set(lo, { width, reg: stored(value, width) });
    return;
  }
  for (let i = lo; i < hi; i++) {
    if (kind === STACK_UNINIT) s.bytes[i] = STACK_UNINIT;
    else if (s.bytes[i] !== kind && s.bytes[i] !== STACK_UNINIT) s.bytes[i] = STACK_OTHER;
  }
}

/**
 * Loads (`value` undefined) or stores `width` bytes at `regs[base] + offset`, checking the access
 * for every type the base may have. Returns what a load yields.
 */
/** A region size that never limits an access (the bound was proven otherwise). */
const BIG = 1n << 62n;

export function access(
  s: State, env: MemEnv, base: number, offset: number, width: number, kind: AccessKind, value?: Reg, signed = false,
): Reg {
  const reg = requireInit(s, base);
  if (has(reg, T.number | T.map_fd | T.map_fd_programs | T.func)) {
    fail('invalid-memory-access', `r${base} is not proven to be a pointer to memory (${showReg(reg)})`);
  }
  if (kind === 'write' && value !== undefined && has(value, T.uninit) && !only(reg, T.stack)) {
    fail('uninitialized-register', `the value stored may be uninitialised (${showReg(value)})`);
  }
  const o = BigInt(offset);
  const add = (x: Itv): Itv => itv(x.lo + o, x.hi + o);
  let out: Reg | undefined;
  const join = (r: Reg): void => {
    out = out === undefined ? r : joinReg(out, r);
  };
  if (has(reg, T.ctx)) join(ctxAccess(env, add(reg.ctx), width, kind, value, signed));
  if (has(reg, T.packet)) join(packetAccess(s, { ...reg, pkt: add(reg.pkt) }, width, kind, value, signed, only(reg, T.packet) ? base : -1, o, env.allowPointerLeaks === true));
  const leaks = env.allowPointerLeaks === true;
  if (has(reg, T.shared)) {
    // Values of different sizes at different offsets: what is left after the pointer decides.
    const room = roomOf(reg);
    const viaRoom = reg.shared.lo + o >= 0n && o + BigInt(width) <= room;
    checkLockUntouched(reg, add(reg.shared), BigInt(width), `map value access of ${bytes(width)}`);
    join(regionAccess(false, reg.nullable, add(reg.shared), viaRoom ? BIG : reg.sharedSize, reg.sharedRO, width, kind, value, signed, 'map value', 'out-of-bounds-map-value', leaks));
  }
  if (has(reg, T.alloc_mem)) join(regionAccess(reg.allocSize < 0n, reg.nullable, add(reg.alloc), reg.allocSize, false, width, kind, value, signed, 'allocated memory', 'out-of-bounds-alloc-mem', leaks));
  if (has(reg, T.stack)) {
    const off = add(reg.stack);
    checkStackRange(s, env, reg, off, BigInt(width), `stack access of ${bytes(width)}`);
    if (kind === 'read') join(stackRead(s, env, base, off, width, signed));
    else if (value !== undefined) stackWrite(s, off, width, value, only(reg, T.stack));
  }
  return out ?? TOP;
}
