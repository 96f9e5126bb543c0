// Helper calls: each argument is checked against the kind its prototype gives, memory arguments
// are checked like accesses of the size the next argument says, and r0-r5 get their new values.

import { type Itv, constNum, isConst, itv, showItv, topNum } from './domain/interval.js';
import {
  type MapInfo, type Reg, type State, T, UNINIT, forgetDelta, has, numberReg, only, pointerReg, showReg,
  STACK_NUMBER, STACK_UNINIT, alternativesOf, POINTER_TYPES, roomOf, PACKET_MAX, pktTotal, mapValues, lockOf, NO_LOCK, MIXED_LOCK,
} from './domain/state.js';
import { fail } from './errors.js';
import { slackToEnd } from './domain/relational.js';
import { checkLockUntouched, checkStackRange, requireInit } from './memory.js';
import { checkStringArgument, formatConversions } from './printf.js';
import type { HelperRule } from './program-type.js';
import type { Env } from './transfer.js';

const MAP_OF_MAPS = new Set([12, 13]);

/**
 * Whether the size in register `sizeAt` is proven to fit the packet from the pointer in register
 * `at`: a data-based packet pointer at offset o (o >= 0) and a non-negative number n with
 * o_max + n <= packet_size in the zone, as `data_end - data` passed with `data` (PREVAIL proves
 * these the same way). Such a size needs no constant bound of its own: the packet bounds it.
 */
function sizeFitsPacket(s: State, at: number, sizeAt: number): boolean {
  const p = s.regs[at];
  const n = s.regs[sizeAt];
  if (!only(p, T.packet) || p.pktBase !== 'data' || !only(n, T.number) || n.num.s.lo < 0n) return false;
  const offset = pktTotal(s, p);
  return offset.lo >= 0n && slackToEnd(s, sizeAt) + Number(offset.hi) <= 0;
}

/** Pointer types a plain-value argument may not carry: all of them unless leaks are allowed. */
function leakable(env: Env): number {
  return env.allowPointerLeaks === true ? 0 : POINTER_TYPES;
}

/**
 * `written`: for a write, the bytes from the pointer the helper writes on every outcome (the
 * rest of the range may or may not be overwritten).
 */
function checkRegion(s: State, env: Env, r: number, size: Itv, mode: 'read' | 'write', helper: string, allowNull: boolean, written = 0n, fitsPacket = false): void {
  let reg = requireInit(s, r);
  const where = `${helper}: argument r${r}`;
  // A nullable argument may be 0 on some paths: every other possibility must be valid memory.
  const mayBeNull = allowNull && has(reg, T.number) && isConst(reg.num.u) && reg.num.u.lo === 0n;
  if (mayBeNull) {
    if (only(reg, T.number)) return;
    reg = { ...reg, types: reg.types & ~T.number };
  }
  if (has(reg, T.number | T.map_fd | T.map_fd_programs | T.func | T.ctx)) {
    fail('bad-helper-argument', `${where} must point to stack, packet or map-value memory (it is ${showReg(reg)})`);
  }
  const n = size.hi;
  if (has(reg, T.stack)) {
    const lo = reg.stack.lo;
    const hi = reg.stack.hi + n;
    checkStackRange(s, env, reg, reg.stack, n, `${where}: ${n} bytes`);
    if (mode === 'read') {
      for (let i = Number(lo); i < Number(hi); i++) {
        if (s.bytes[i] === STACK_UNINIT) fail('uninitialized-stack', `${where}: stack byte ${i} may be uninitialised`);
        if (s.bytes[i] !== STACK_NUMBER && env.allowPointerLeaks !== true) fail('pointer-leak', `${where}: stack byte ${i} holds part of a pointer, not a number`);
      }
    } else {
      // The helper may overwrite any byte of the range with plain data: what was spilled there
      // can no longer be reloaded as what it was (its bytes keep their kind: a pointer's stay
      // unreadable as numbers). Only what it writes on every outcome, at a known place, becomes
      // initialised.
      const a = Number(lo);
      const b = Number(hi);
      for (const [at, cell] of s.cells) if (at < b && at + cell.width > a) s.cells.delete(at);
      if (isConst(reg.stack) && only(reg, T.stack) && !mayBeNull && written > 0n) s.bytes.fill(STACK_NUMBER, a, a + Number(written));
    }
  }
  if (has(reg, T.packet)) {
    const total = pktTotal(s, reg);
    const v = reg.pktVar === 0 ? undefined : s.pktVars.get(reg.pktVar);
    // The whole range within the proven size, or covered by a check on its variable, or by the
    // zone (offset(r) + n <= packet_size).
    const ok = reg.pktBase === 'data' && total.lo >= 0n &&
      (fitsPacket || total.hi + n <= s.pktLo || (v !== undefined && reg.pkt.hi + n <= v.end) || (only(reg, T.packet) && slackToEnd(s, r) + Number(n) <= 0));
    if (!ok) fail('out-of-bounds-packet', `${where}: ${n} bytes at packet offset ${showItv(total)} are not proven to be within the packet (proven size ${s.pktLo})`);
  }
  if (has(reg, T.shared)) {
    if (reg.nullable && !allowNull) fail('null-dereference', `${where} may be null`);
    // What is left after the pointer counts (pointers into values of different sizes joined).
    if (reg.shared.lo < 0n || (reg.shared.hi + n > reg.sharedSize && n > roomOf(reg))) {
      fail('out-of-bounds-map-value', `${where}: ${n} bytes at map-value offset ${showItv(reg.shared)} exceed the value size ${reg.sharedSize}`);
    }
    if (mode === 'write' && reg.sharedRO) fail('write-to-read-only', `${where} points to read-only memory`);
    checkLockUntouched(reg, reg.shared, n, where);
  }
  if (has(reg, T.alloc_mem)) {
    if (reg.allocSize < 0n) fail('invalid-memory-access', `${where}: the record may already have been submitted or discarded`);
    if (reg.nullable && !allowNull) fail('null-dereference', `${where} may be null`);
    if (reg.alloc.lo < 0n || reg.alloc.hi + n > reg.allocSize) {
      fail('out-of-bounds-alloc-mem', `${where}: ${n} bytes at offset ${showItv(reg.alloc)} exceed the allocation size ${reg.allocSize}`);
    }
  }
}

/**
 * The registers a printf-style helper's format makes it read as %s strings. Its conversions
 * must not outnumber the arguments it passes (the helper would fault).
 */
function printfStrings(s: State, env: Env, p: NonNullable<HelperRule['printf']>, argCount: number, helper: string): Set<number> {
  // The format is read up to its NUL or its size (the helpers' own 4096-byte limit otherwise).
  const size = p.formatSize === undefined ? undefined : s.regs[p.formatSize];
  const limit = size !== undefined && only(size, T.number) && size.num.u.hi < 4096n ? Number(size.num.u.hi) : 4096;
  const conversions = formatConversions(s, env, p.format, limit, helper);
  if (p.array === true) {
    if (conversions.includes('s')) fail('bad-helper-argument', `${helper}: %s is not supported: its address would come from the data array, where the verifier cannot type it`);
    const size = s.regs[p.args + 1];
    const bytes = only(size, T.number) ? size.num.u.lo : 0n;
    if (BigInt(conversions.length) * 8n > bytes) fail('bad-helper-argument', `${helper}: the format has ${conversions.length} conversions, but the data array in r${p.args} may hold only ${bytes / 8n} values`);
    return new Set();
  }
  const available = argCount - p.args + 1;
  if (conversions.length > available) fail('bad-helper-argument', `${helper}: the format has ${conversions.length} conversions, but the helper passes ${available} arguments`);
  const out = new Set<number>();
  conversions.forEach((c, i) => {
    if (c === 's') out.add(p.args + i);
  });
  return out;
}

function sizeArg(s: State, r: number, helper: string, allowZero: boolean, fitsPacket = false): Itv {
  const reg = requireInit(s, r);
  if (!only(reg, T.number)) fail('bad-helper-argument', `${helper}: the size in r${r} must be a number (${showReg(reg)})`);
  const u = reg.num.u;
  if (!allowZero && u.lo === 0n) fail('bad-helper-argument', `${helper}: the size in r${r} may be zero (${showItv(u)})`);
  if (u.hi > 1n << 29n && !fitsPacket) fail('bad-helper-argument', `${helper}: the size in r${r} is not bounded (${showItv(u)})`);
  return u;
}

function mapArg(s: State, r: number, helper: string, programs: boolean): MapInfo {
  const reg = requireInit(s, r);
  const t = programs ? T.map_fd_programs : T.map_fd;
  if (!only(reg, t)) fail('bad-helper-argument', `${helper}: r${r} must be a ${programs ? 'program-array ' : ''}map (it is ${showReg(reg)})`);
  if (reg.map === undefined) fail('bad-helper-argument', `${helper}: the map in r${r} differs between paths`);
  return reg.map;
}

/** A callback the helper just called will run: where it starts and its r1-r5 on each run. */
export interface CallbackRun {
  readonly target: number;
  readonly args: readonly Reg[];
}

/**
 * A helper call by id: checks the arguments and sets r0, clobbering r1-r5. Returns the callback
 * the helper runs (zero or more times), if it takes one.
 */
export function callHelper(s: State, env: Env, id: number, pc: number): CallbackRun | undefined {
  const rule = env.rules.helpers.get(id);
  if (rule === undefined) fail('unknown-helper', `helper ${id} is not available to ${env.rules.name} programs`);
  if (rule.name === 'tail_call' && s.refs.size > 0 && env.rules.checkReleased !== false) fail('pointer-leak', 'tail_call: a reserved ring-buffer record may still be held; submit or discard it first');
  if (s.lock !== '' && rule.name !== 'spin_unlock') fail('spin-lock', `${rule.name}: no helper other than bpf_spin_unlock may be called while a bpf_spin_lock ${s.lock === '?' ? 'may be' : 'is'} held`);
  let map: MapInfo | undefined;
  let allocSize = 0n;
  let callbackTarget: number | undefined;
  const before = s.regs.slice(0, 6);
  const kinds = rule.args;
  const sizeRegister = rule.sizeRegister;
  // The arguments a printf-style helper dereferences as %s strings.
  const strings = rule.printf === undefined ? new Set<number>() : printfStrings(s, env, rule.printf, kinds.length, rule.name);
  // Buffers the helper writes are checked after every argument it reads, so a write cannot make
  // a region it also reads (memmove's overlapping source, say) look initialised.
  const writes: { r: number; size: Itv; allowNull: boolean; written: bigint; fitsPacket: boolean }[] = [];
  const guaranteed = (size: Itv): bigint => {
    const w = rule.writes;
    if (w === undefined) return size.lo;
    if (w === 'nothing') return 0n;
    const n = s.regs[w.size];
    const limit = s.regs[w.ifAtMost];
    if (!only(n, T.number) || !only(limit, T.number) || n.num.u.hi > limit.num.u.lo) return 0n;
    return n.num.u.lo < size.lo ? n.num.u.lo : size.lo;
  };
  for (let i = 0; i < kinds.length; i++) {
    const r = i + 1;
    const kind = kinds[i];
    const next = kinds[i + 1];
    const name = rule.name;
    switch (kind) {
      case 'anything': {
        const reg = requireInit(s, r);
        if (has(reg, leakable(env) | T.func | T.map_fd | T.map_fd_programs)) fail('pointer-leak', `${name}: r${r} would pass a pointer where a plain value is expected (${showReg(reg)})`);
        break;
      }
      case 'anything_or_pointer':
        requireInit(s, r);
        break;
      case 'unused_or_value': {
        if (strings.has(r)) {
          checkStringArgument(s, env, r, name);
          break;
        }
        const reg = s.regs[r];
        if (has(reg, leakable(env) | T.func | T.map_fd | T.map_fd_programs)) fail('pointer-leak', `${name}: r${r} would pass a pointer where a plain value is expected (${showReg(reg)})`);
        break;
      }
      case 'const_map_ptr': {
        map = mapArg(s, r, name, false);
        const allowed = rule.mapTypes;
        const bad = allowed === undefined ? undefined : alternativesOf(map).find((m) => !allowed.includes(m.type));
        if (bad !== undefined) fail('bad-helper-argument', `${name}: map ${bad.name} has type ${bad.type}; this helper needs type ${allowed?.join(' or ')}`);
        if (rule.changesMap === true) {
          const ro = alternativesOf(map).find((m) => m.readOnly);
          if (ro !== undefined) fail('write-to-read-only', `${name}: map ${ro.name} is read-only for programs (BPF_F_RDONLY_PROG, or .rodata)`);
          // A helper that copies a whole value in would overwrite the lock word with whatever the
          // new value holds there (a "held" lock hangs the next bpf_spin_lock).
          const locked = kinds.includes('ptr_to_map_value') ? alternativesOf(map).find((m) => m.spinLock !== undefined) : undefined;
          if (locked !== undefined) fail('spin-lock', `${name}: map ${locked.name}'s values hold a bpf_spin_lock; programs change them in place (under the lock), not with map_update_elem`);
        }
        break;
      }
      case 'const_prog_array_ptr':
        map = mapArg(s, r, name, true);
        break;
      case 'ptr_to_map_key':
      case 'ptr_to_map_value':
      case 'ptr_to_uninit_map_value': {
        if (map === undefined) fail('bad-helper-argument', `${name}: no map argument precedes r${r}`);
        const n = BigInt(kind === 'ptr_to_map_key' ? map.keySize : map.valueSize);
        if (kind === 'ptr_to_uninit_map_value') writes.push({ r, size: itv(n), allowNull: false, written: guaranteed(itv(n)), fitsPacket: false });
        else checkRegion(s, env, r, itv(n), 'read', name, false);
        break;
      }
      case 'ptr_to_const_str': {
        // The helper reads up to a NUL within a read-only map value (.rodata), as Linux demands.
        const reg = requireInit(s, r);
        if (!only(reg, T.shared) || reg.nullable || !reg.sharedRO || !isConst(reg.shared) || reg.shared.lo < 0n || reg.shared.lo >= reg.sharedSize) {
          fail('bad-helper-argument', `${name}: r${r} must point to a constant string in a read-only map value such as .rodata (it is ${showReg(reg)})`);
        }
        break;
      }
      case 'ptr_to_mem':
      case 'ptr_to_mem_or_null':
      case 'ptr_to_uninit_mem': {
        const sizeAt = sizeRegister ?? r + 1;
        const sizeKind = sizeRegister === undefined ? next : kinds[sizeRegister - 1];
        let size = itv(1n);
        const sized = sizeKind === 'const_size' || sizeKind === 'const_size_or_zero';
        const fitsPacket = sized && sizeFitsPacket(s, r, sizeAt);
        if (sized) size = sizeArg(s, sizeAt, name, sizeKind === 'const_size_or_zero', fitsPacket);
        if (kind === 'ptr_to_uninit_mem') writes.push({ r, size, allowNull: false, written: guaranteed(size), fitsPacket });
        else checkRegion(s, env, r, size, 'read', name, kind === 'ptr_to_mem_or_null', 0n, fitsPacket);
        break;
      }
      case 'const_size':
      case 'const_size_or_zero': {
        // A size that follows its pointer was checked with it (and may be bounded by the packet).
        const pointer = kinds[i - 1];
        const checked = sizeRegister === undefined && (pointer === 'ptr_to_mem' || pointer === 'ptr_to_mem_or_null' || pointer === 'ptr_to_uninit_mem');
        if (!checked) sizeArg(s, r, name, kind === 'const_size_or_zero');
        break;
      }
      case 'const_alloc_size_or_zero': {
        const u = sizeArg(s, r, name, true);
        if (!isConst(u)) fail('bad-helper-argument', `${name}: the size in r${r} must be a constant (${showItv(u)})`);
        allocSize = u.lo;
        break;
      }
      case 'ptr_to_ctx':
      case 'ptr_to_ctx_or_null': {
        const reg = requireInit(s, r);
        const isNull = only(reg, T.number) && isConst(reg.num.u) && reg.num.u.lo === 0n;
        if (kind === 'ptr_to_ctx_or_null' && isNull) break;
        if (!only(reg, T.ctx) || reg.ctx.lo !== 0n || reg.ctx.hi !== 0n) {
          fail('bad-helper-argument', `${name}: r${r} must be the context pointer itself${kind === 'ptr_to_ctx_or_null' ? ' or 0' : ''} (it is ${showReg(reg)})`);
        }
        break;
      }
      case 'ptr_to_stack_or_null': {
        const reg = requireInit(s, r);
        const isNull = only(reg, T.number) && isConst(reg.num.u) && reg.num.u.lo === 0n;
        if (!isNull && !only(reg, T.stack)) fail('bad-helper-argument', `${name}: r${r} must be a stack pointer or 0 (it is ${showReg(reg)})`);
        break;
      }
      case 'ptr_to_alloc_mem': {
        const reg = requireInit(s, r);
        if (has(reg, T.alloc_mem) && reg.allocSize < 0n) fail('invalid-memory-access', `${name}: the record in r${r} may already have been submitted or discarded`);
        if (!only(reg, T.alloc_mem) || reg.nullable || reg.alloc.lo !== 0n || reg.alloc.hi !== 0n) {
          fail('bad-helper-argument', `${name}: r${r} must be the unmodified, null-checked result of an allocating helper (it is ${showReg(reg)})`);
        }
        if (reg.nullId === 0 || !s.refs.has(reg.nullId)) {
          fail('bad-helper-argument', `${name}: r${r} is not known to be one reservation that is still held (it is ${showReg(reg)})`);
        }
        releaseRef(s, reg.nullId);
        break;
      }
      case 'ptr_to_spin_lock': {
        const reg = requireInit(s, r);
        if (!only(reg, T.shared) || reg.nullable || reg.sharedRO || !isConst(reg.shared)) {
          fail('bad-helper-argument', `${name}: r${r} must point to the bpf_spin_lock inside a null-checked, writable map value (it is ${showReg(reg)})`);
        }
        if (reg.sharedLock < 0n || reg.shared.lo !== reg.sharedLock) {
          const where = reg.sharedLock === NO_LOCK ? 'the map value has no struct bpf_spin_lock (the map needs BTF that declares one)'
            : reg.sharedLock === MIXED_LOCK ? 'the map value may be of maps whose locks lie in different places' : `the value's bpf_spin_lock is at offset ${reg.sharedLock}`;
          fail('spin-lock', `${name}: r${r} points to offset ${reg.shared.lo} of a map value, but ${where}`);
        }
        if (reg.nullId === 0) fail('spin-lock', `${name}: which map value r${r} points to differs between paths (it must be the result of one map lookup)`);
        const lock = `v${reg.nullId}+${reg.sharedLock}`;
        if (name === 'spin_lock') {
          if (s.lock !== '') fail('spin-lock', `${name}: a bpf_spin_lock ${s.lock === '?' ? 'may already be' : 'is already'} held here; taking another one could deadlock`);
          s.lock = lock;
        } else {
          if (s.lock === '') fail('spin-lock', `${name}: no bpf_spin_lock is held here`);
          if (s.lock !== lock) fail('spin-lock', `${name}: ${s.lock === '?' ? 'which bpf_spin_lock is held differs between paths' : 'this is not the bpf_spin_lock that is held (the map value of another lookup, or another offset)'}`);
          s.lock = '';
        }
        break;
      }
      case 'ptr_to_func': {
        const reg = requireInit(s, r);
        if (!only(reg, T.func) || !isConst(reg.func) || rule.callback === undefined) {
          fail('bad-helper-argument', `${name}: r${r} must be one known function (it is ${showReg(reg)})`);
        }
        callbackTarget = Number(reg.func.lo);
        break;
      }
    }
  }
  for (const w of writes) checkRegion(s, env, w.r, w.size, 'write', rule.name, w.allowNull, w.written, w.fitsPacket);
  let r0: Reg;
  const nullId = pc + 1;
  switch (rule.ret) {
    case 'void':
      r0 = UNINIT;
      break;
    case 'integer':
      r0 = numberReg(rule.retRange === undefined ? topNum(64) : { s: itv(rule.retRange[0], rule.retRange[1]), u: itv(rule.retRange[0], rule.retRange[1]) });
      break;
    case 'ptr_to_map_value_or_null':
      if (map === undefined) return fail('bad-helper-argument', `${rule.name}: no map argument`);
      if (alternativesOf(map).some((m) => MAP_OF_MAPS.has(m.type)) && !MAP_OF_MAPS.has(map.type)) {
        fail('bad-helper-argument', `${rule.name}: r1 may be a map of maps or a plain map (${map.name})`);
      }
      if (MAP_OF_MAPS.has(map.type)) {
        // The inner map or null: a map reference that is still mixed with the number 0.
        r0 = { ...pointerReg('map_fd', { map: map.innerMap }), types: T.map_fd | T.number, num: constNum(0n) };
      } else {
        // With several possible maps the value is as large as the smallest of them.
        const size = Math.min(...alternativesOf(map).map((m) => m.valueSize));
        r0 = pointerReg('shared', { shared: itv(0n), sharedSize: BigInt(size), sharedRO: map.readOnly, sharedLock: lockOf(map), sharedMap: map, nullable: true, nullId });
      }
      break;
    case 'ptr_to_alloc_mem_or_null':
      if (s.refs.has(nullId) && env.rules.checkReleased !== false) fail('pointer-leak', `${rule.name}: the record reserved here on an earlier pass may still be held (submit or discard it first)`);
      r0 = pointerReg('alloc_mem', { alloc: itv(0n), allocSize, nullable: true, nullId });
      s.refs = new Set([...s.refs, nullId]);
      break;
  }
  // A fresh possibly-null pointer: older values from this call site are no longer the same one.
  const strip = (x: Reg): Reg => (x.nullId === nullId ? { ...x, nullId: 0 } : x);
  for (let r = 6; r <= 9; r++) s.regs[r] = strip(s.regs[r]);
  s.frames = s.frames.map((f) => ({ ...f, saved: f.saved.map(strip) }));
  for (const [off, c] of s.cells) if (c.reg.nullId === nullId) s.cells.set(off, { width: c.width, reg: strip(c.reg) });
  if (rule.changesPacket) invalidatePacket(s);
  s.regs[0] = r0;
  for (let r = 1; r <= 5; r++) s.regs[r] = UNINIT;
  for (let r = 0; r <= 5; r++) forgetDelta(s, r);
  if (callbackTarget === undefined) return undefined;
  const ctxArg = before[3];
  if (rule.callback === 'loop') {
    return { target: callbackTarget, args: [numberReg({ s: itv(0n, 0xffffffffn), u: itv(0n, 0xffffffffn) }), ctxArg, UNINIT, UNINIT, UNINIT] };
  }
  if (map === undefined) return fail('bad-helper-argument', `${rule.name}: no map argument`);
  // Key and value of the element visited: the key is read-only; sizes are the smallest possible.
  const alts = alternativesOf(map);
  const keySize = BigInt(Math.min(...alts.map((m) => m.keySize)));
  const valueSize = BigInt(Math.min(...alts.map((m) => m.valueSize)));
  return {
    target: callbackTarget,
    args: [
      before[1],
      pointerReg('shared', { shared: itv(0n), sharedSize: keySize, sharedRO: true }),
      pointerReg('shared', { shared: itv(0n), sharedSize: valueSize, sharedRO: map.readOnly, sharedLock: lockOf(map) }),
      ctxArg,
      UNINIT,
    ],
  };
}

/**
 * Submitting or discarding reservation `id` ends it: every copy of its pointer (and any record
 * pointer whose reservation is unknown) is marked released, so using it later is an error.
 */
function releaseRef(s: State, id: number): void {
  const next = new Set(s.refs);
  next.delete(id);
  s.refs = next;
  mapValues(s, (r) => (has(r, T.alloc_mem) && (r.nullId === id || r.nullId === 0) ? { ...r, allocSize: -1n } : r));
}

/**
 * After the packet moved: nothing is known about its size, and old packet pointers no longer
 * have a known base, so every access through them fails.
 */
function invalidatePacket(s: State): void {
  mapValues(s, (r) => (has(r, T.packet) ? { ...r, pktBase: 'mixed', pktVar: 0 } : r));
  s.pktLo = 0n;
  s.pktHi = PACKET_MAX;
  s.metaLo = 0n;
  s.metaHi = PACKET_MAX;
  s.pktVars.clear();
}

/** callx: the register must hold one known helper id. */
export function helperIdOf(s: State, r: number): number {
  const reg = requireInit(s, r);
  if (!only(reg, T.number) || !isConst(reg.num.u) || reg.num.u.hi > 0x7fffffffn) {
    fail('bad-helper-argument', `callx: r${r} must hold a single known helper id (it is ${showReg(reg)})`);
  }
  return Number(reg.num.u.lo);
}

export { numberReg };
