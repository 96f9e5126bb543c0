// The abstract state at one program point: per register a set of possible types with one
// component per type (offsets for pointers, a signed/unsigned interval pair for numbers), the
// stack (per-byte initialisation plus typed cells for what was stored), packet-size facts, the
// caller frames of inlined local calls and, for the termination check, per-loop register deltas.
//
// A register that may have several types keeps one component per type, so `r1 += 4` on
// `{ctx, packet}` moves both offsets; every check then has to hold for each possible type.

import {
  type Itv, type Num, eqItv, hull, itv, meet, normalize, showItv, topNum, widen, S64_MAX, S64_MIN,
} from './interval.js';
import { NULL_GUARD as ADDRESS_SPACE_NULL_GUARD } from '../../abi/address-space.js';
import { dropUntracked, withUnaryFacts } from './relational.js';
import { type Zone, N as ZONE_N, PKT as ZONE_PKT, eqZone, joinZone } from './zone.js';

export const T = {
  uninit: 1,
  number: 2,
  ctx: 4,
  packet: 8,
  stack: 16,
  shared: 32,
  map_fd: 64,
  map_fd_programs: 128,
  func: 256,
  alloc_mem: 512,
} as const;
export type TypeName = keyof typeof T;
export const TYPE_NAMES = Object.keys(T) as TypeName[];
export const POINTER_TYPES = T.ctx | T.packet | T.stack | T.shared | T.alloc_mem;
export const ALL_TYPES = (1 << TYPE_NAMES.length) - 1;

export interface MapInfo {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly readOnly: boolean;
  readonly innerMap?: MapInfo;
  /** Offset of the value's `struct bpf_spin_lock` (from BTF); absent: the value has none. */
  readonly spinLock?: number;
  /** The single value's contents, when they can never change (.rodata, frozen at load). */
  readonly frozen?: Uint8Array;
}

/** What a packet pointer's offset is relative to: packet start, packet end, or metadata start. */
export type PacketBase = 'data' | 'end' | 'meta' | 'mixed';

export interface Reg {
  readonly types: number;
  readonly num: Num;
  readonly ctx: Itv;
  readonly stack: Itv;
  readonly shared: Itv;
  readonly pkt: Itv;
  readonly alloc: Itv;
  readonly func: Itv;
  readonly pktBase: PacketBase;
  /**
   * Non-zero: the packet offset is `V + pkt` for the variable V of this id (State.pktVars), so
   * pointers derived from one variable offset share what a bounds check proved about V.
   */
  readonly pktVar: number;
  /**
   * Frame a stack pointer was derived from (the stack offset of that frame's r10), or -1 when
   * it may come from several. Accesses must stay within that frame: engines may lay frames out
   * in any order, so crossing from one frame into another is never allowed.
   */
  readonly stackFrame: bigint;
  /** Lower bound of the size of the shared region (map value). */
  readonly sharedSize: bigint;
  /**
   * A lower bound of (region size - offset): the bytes from the pointer to the end of its map
   * value. Joining pointers into values of different sizes at different offsets keeps it, where
   * the smallest size and the largest offset alone would not fit. NO_ROOM: only what sharedSize
   * and the offset say (see roomOf).
   */
  readonly sharedRoom: bigint;
  readonly sharedRO: boolean;
  /**
   * Where the bpf_spin_lock of the map value lies (its offset in the value): NO_LOCK when the
   * value has none, MIXED_LOCK when it may lie in different places (pointers into values of
   * different maps joined). The lock word is the helpers': the program may not touch it.
   */
  readonly sharedLock: bigint;
  /** The map a map-value pointer points into, when it is one known map (its frozen contents say what a string there holds). */
  readonly sharedMap?: MapInfo;
  readonly allocSize: bigint;
  /** The shared/alloc_mem pointer may be null. */
  readonly nullable: boolean;
  /** Registers with the same non-zero id hold the same possibly-null pointer. */
  readonly nullId: number;
  /**
   * Registers (and 8-byte spills) with the same non-zero id hold the same value, so what a
   * branch learns about one holds for all (a copy is checked, the original is used). Given to
   * numbers and to values that may be null pointers, by copies and by reloads of a spill.
   */
  readonly eqId: number;
  /**
   * A number's known low bits: the value is congruent to `lowVal` modulo 2^lowBits (0: nothing
   * known, 64: the exact value). Lets a loop counter stepping by 2 stop at `!= 64`.
   */
  readonly lowBits: number;
  readonly lowVal: bigint;
  readonly map?: MapInfo;
}

const OFF_TOP = itv(S64_MIN, S64_MAX);

export const NO_ROOM = -(1n << 64n);
export const NO_LOCK = -1n;
export const MIXED_LOCK = -2n;

/** The lock offset of a value of map `m` (a union of maps: theirs if all agree). */
export function lockOf(m: MapInfo): bigint {
  const alts = alternativesOf(m);
  const first = alts[0].spinLock;
  if (alts.some((x) => x.spinLock !== first)) return MIXED_LOCK;
  return first === undefined ? NO_LOCK : BigInt(first);
}

/** The bytes a map-value pointer is proven to have before the end of its value (may be negative). */
export function roomOf(r: Reg): bigint {
  const direct = r.sharedSize - r.shared.hi;
  return r.sharedRoom > direct ? r.sharedRoom : direct;
}

const BASE: Reg = {
  types: 0, num: topNum(64), ctx: itv(0n), stack: itv(0n), shared: itv(0n), pkt: itv(0n), alloc: itv(0n),
  func: itv(0n), pktBase: 'data', pktVar: 0, stackFrame: -1n, sharedSize: 0n, sharedRoom: NO_ROOM, sharedRO: false, sharedLock: NO_LOCK, allocSize: 0n, nullable: false, nullId: 0, eqId: 0,
  lowBits: 0, lowVal: 0n,
};

export const UNINIT: Reg = { ...BASE, types: T.uninit };
/** Anything at all (including uninitialised). */
export const TOP: Reg = { ...BASE, types: ALL_TYPES, ctx: OFF_TOP, stack: OFF_TOP, shared: OFF_TOP, pkt: OFF_TOP, alloc: OFF_TOP, func: OFF_TOP, pktBase: 'mixed', nullable: true };

const U64 = (1n << 64n) - 1n;

export function numberReg(num: Num = topNum(64)): Reg {
  if (num.u.lo === num.u.hi) return { ...BASE, types: T.number, num, lowBits: 64, lowVal: num.u.lo };
  return { ...BASE, types: T.number, num };
}

/** A number with known low bits (value = lowVal mod 2^lowBits), its intervals tightened to match. */
export function withLowBits(num: Num, lowBits: number, lowVal: bigint): Reg | undefined {
  if (lowBits <= 0) return numberReg(num);
  const m = lowBits >= 64 ? 1n << 64n : 1n << BigInt(lowBits);
  const r = lowVal & (m - 1n);
  const fit = (x: Itv): Itv | undefined => {
    const lo = x.lo + ((((r - x.lo) % m) + m) % m);
    const hi = x.hi - ((((x.hi - r) % m) + m) % m);
    return lo > hi ? undefined : itv(lo, hi);
  };
  const u = fit(num.u);
  const sv = fit(num.s);
  if (u === undefined || sv === undefined) return undefined;
  const n = normalize({ s: sv, u });
  if (n === undefined) return undefined;
  return { ...numberReg(n), lowBits: Math.min(lowBits, 64), lowVal: r & U64 };
}

function trailingZeros(x: bigint): number {
  if (x === 0n) return 64;
  let n = 0;
  while ((x & 1n) === 0n && n < 64) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** Known low bits common to two numbers. */
export function joinLowBits(a: Reg, b: Reg): { lowBits: number; lowVal: bigint } {
  const k = Math.min(a.lowBits, b.lowBits, trailingZeros((a.lowVal ^ b.lowVal) & U64));
  return { lowBits: k, lowVal: k === 0 ? 0n : a.lowVal & ((1n << BigInt(k)) - 1n) };
}

export function pointerReg(type: TypeName, fields: Partial<Reg>): Reg {
  return { ...BASE, ...fields, types: T[type] };
}

export const has = (r: Reg, t: number): boolean => (r.types & t) !== 0;
export const only = (r: Reg, t: number): boolean => r.types !== 0 && (r.types & ~t) === 0;

export function typeNames(types: number): TypeName[] {
  return TYPE_NAMES.filter((n) => (types & T[n]) !== 0);
}

/** A register that may refer to one of several maps: checks use the most demanding of them. */
export interface MapUnion extends MapInfo {
  readonly alternatives: readonly MapInfo[];
}

const mapIds = new WeakMap<MapInfo, number>();
let nextMapId = 1;
const unions = new Map<string, MapUnion>();

export function alternativesOf(m: MapInfo): readonly MapInfo[] {
  return 'alternatives' in m ? (m as MapUnion).alternatives : [m];
}

function mapId(m: MapInfo): number {
  let id = mapIds.get(m);
  if (id === undefined) {
    id = nextMapId++;
    mapIds.set(m, id);
  }
  return id;
}

/** Joins map references into one canonical union object (so that equality stays identity). */
export function joinMap(a: MapInfo | undefined, b: MapInfo | undefined): MapInfo | undefined {
  if (a === b) return a;
  if (a === undefined || b === undefined) return undefined;
  const all = [...new Set([...alternativesOf(a), ...alternativesOf(b)])].sort((x, y) => mapId(x) - mapId(y));
  if (all.length > 16) return undefined;
  const key = all.map(mapId).join(',');
  let u = unions.get(key);
  if (u === undefined) {
    const inners = all.map((m) => m.innerMap);
    let inner: MapInfo | undefined = inners[0];
    for (const m of inners.slice(1)) inner = joinMap(inner, m);
    u = {
      name: all.map((m) => m.name).join('|'),
      type: all.every((m) => m.type === all[0].type) ? all[0].type : -1,
      keySize: Math.max(...all.map((m) => m.keySize)),
      valueSize: Math.max(...all.map((m) => m.valueSize)),
      maxEntries: Math.min(...all.map((m) => m.maxEntries)),
      readOnly: all.some((m) => m.readOnly),
      ...(inner === undefined ? {} : { innerMap: inner }),
      alternatives: all,
    };
    unions.set(key, u);
  }
  return u;
}

/**
 * How a join at a loop head widens: not at all (false), to the limits of each type (true), or to
 * the nearest of the given thresholds (sorted ascending) before those limits.
 */
export type Widening = boolean | readonly bigint[];

const thresholdsOf = (w: Widening): readonly bigint[] | undefined => (typeof w === 'boolean' ? undefined : w);

/** Least upper bound of two registers; `w` widens the intervals instead. */
export function joinReg(a: Reg, b: Reg, w: Widening = false): Reg {
  if (a === b) return a;
  if (a.types === 0) return b;
  if (b.types === 0) return a;
  const comp = (t: number, key: 'ctx' | 'stack' | 'shared' | 'pkt' | 'alloc' | 'func'): Itv => {
    if (!has(a, t)) return b[key];
    if (!has(b, t)) return a[key];
    return w !== false ? widen(a[key], b[key], OFF_TOP, thresholdsOf(w)) : hull(a[key], b[key]);
  };
  let num = a.num;
  if (!has(a, T.number)) num = b.num;
  else if (has(b, T.number)) {
    num = w !== false
      ? { s: widen(a.num.s, b.num.s, itv(S64_MIN, S64_MAX), thresholdsOf(w)), u: widen(a.num.u, b.num.u, itv(0n, (1n << 64n) - 1n), thresholdsOf(w)) }
      : { s: hull(a.num.s, b.num.s), u: hull(a.num.u, b.num.u) };
    num = normalize(num) ?? topNum(64);
  }
  const shared = T.shared | T.alloc_mem;
  const bothShared = has(a, shared) && has(b, shared);
  const mapTypes = T.map_fd | T.map_fd_programs;
  const bothMap = has(a, mapTypes) && has(b, mapTypes);
  const low = !has(a, T.number) ? b : !has(b, T.number) ? a : joinLowBits(a, b);
  return {
    types: a.types | b.types,
    num,
    lowBits: low.lowBits,
    lowVal: low.lowVal,
    ctx: comp(T.ctx, 'ctx'),
    stack: comp(T.stack, 'stack'),
    shared: comp(T.shared, 'shared'),
    pkt: comp(T.packet, 'pkt'),
    alloc: comp(T.alloc_mem, 'alloc'),
    func: comp(T.func, 'func'),
    stackFrame: !has(a, T.stack) ? b.stackFrame : !has(b, T.stack) ? a.stackFrame : a.stackFrame === b.stackFrame ? a.stackFrame : -1n,
    pktVar: !has(a, T.packet) ? b.pktVar : !has(b, T.packet) ? a.pktVar : a.pktVar === b.pktVar ? a.pktVar : 0,
    pktBase: !has(a, T.packet) ? b.pktBase : !has(b, T.packet) ? a.pktBase : a.pktBase === b.pktBase ? a.pktBase : 'mixed',
    sharedSize: !has(a, T.shared) ? b.sharedSize : !has(b, T.shared) ? a.sharedSize : a.sharedSize < b.sharedSize ? a.sharedSize : b.sharedSize,
    sharedRoom: !has(a, T.shared) ? b.sharedRoom : !has(b, T.shared) ? a.sharedRoom : minRoom(roomOf(a), roomOf(b), w),
    sharedRO: a.sharedRO || b.sharedRO,
    sharedMap: !has(a, T.shared) ? b.sharedMap : !has(b, T.shared) ? a.sharedMap : a.sharedMap === b.sharedMap ? a.sharedMap : undefined,
    sharedLock: !has(a, T.shared) ? b.sharedLock : !has(b, T.shared) ? a.sharedLock : a.sharedLock === b.sharedLock ? a.sharedLock : MIXED_LOCK,
    allocSize: !has(a, T.alloc_mem) ? b.allocSize : !has(b, T.alloc_mem) ? a.allocSize : a.allocSize < b.allocSize ? a.allocSize : b.allocSize,
    nullable: bothShared ? a.nullable || b.nullable : has(a, shared) ? a.nullable : b.nullable,
    // On each path the registers with this id hold one value; after the join, only those that
    // had it on both paths keep it.
    eqId: a.eqId === b.eqId ? a.eqId : 0,
    nullId: bothShared ? (a.nullId === b.nullId ? a.nullId : 0) : has(a, shared) ? a.nullId : b.nullId,
    map: bothMap ? joinMap(a.map, b.map) : has(a, mapTypes) ? a.map : b.map,
  };
}

function minRoom(a: bigint, b: bigint, w: Widening): bigint {
  if (w !== false && b < a) return NO_ROOM;
  return a < b ? a : b;
}

export function eqReg(a: Reg, b: Reg): boolean {
  if (a.types !== b.types || a.eqId !== b.eqId) return false;
  if (has(a, T.number) && !(eqItv(a.num.s, b.num.s) && eqItv(a.num.u, b.num.u) && a.eqId === b.eqId && a.lowBits === b.lowBits && a.lowVal === b.lowVal)) return false;
  if (has(a, T.ctx) && !eqItv(a.ctx, b.ctx)) return false;
  if (has(a, T.stack) && !(eqItv(a.stack, b.stack) && a.stackFrame === b.stackFrame)) return false;
  if (has(a, T.shared) && !(eqItv(a.shared, b.shared) && a.sharedSize === b.sharedSize && a.sharedRoom === b.sharedRoom && a.sharedRO === b.sharedRO && a.sharedLock === b.sharedLock && a.sharedMap === b.sharedMap)) return false;
  if (has(a, T.packet) && !(eqItv(a.pkt, b.pkt) && a.pktBase === b.pktBase && a.pktVar === b.pktVar)) return false;
  if (has(a, T.alloc_mem) && !(eqItv(a.alloc, b.alloc) && a.allocSize === b.allocSize)) return false;
  if (has(a, T.func) && !eqItv(a.func, b.func)) return false;
  if (has(a, T.shared | T.alloc_mem) && (a.nullable !== b.nullable || a.nullId !== b.nullId)) return false;
  if (has(a, T.map_fd | T.map_fd_programs) && a.map !== b.map) return false;
  return true;
}

export function showReg(r: Reg): string {
  const parts: string[] = [];
  const names = typeNames(r.types);
  parts.push(names.length === 1 ? names[0] : `{${names.join(', ')}}`);
  if (has(r, T.number)) parts.push(`s=${showItv(r.num.s)} u=${showItv(r.num.u)}`);
  if (has(r, T.ctx)) parts.push(`ctx+${showItv(r.ctx)}`);
  if (has(r, T.stack)) parts.push(`stack+${showItv(r.stack)}`);
  if (has(r, T.packet)) parts.push(`${r.pktBase === 'data' ? 'packet' : r.pktBase === 'end' ? 'packet_end' : r.pktBase === 'meta' ? 'packet_meta' : 'packet?'}+${r.pktVar === 0 ? '' : `v${r.pktVar}+`}${showItv(r.pkt)}`);
  if (has(r, T.shared)) parts.push(`map_value+${showItv(r.shared)} size=${r.sharedSize}${r.sharedRO ? ' ro' : ''}`);
  if (has(r, T.alloc_mem)) parts.push(r.allocSize < 0n ? `alloc_mem+${showItv(r.alloc)} released` : `alloc_mem+${showItv(r.alloc)} size=${r.allocSize}`);
  if (has(r, T.shared | T.alloc_mem) && r.nullable) parts.push('or_null');
  if (has(r, T.map_fd | T.map_fd_programs)) parts.push(r.map === undefined ? 'map=?' : `map=${r.map.name}`);
  if (has(r, T.func)) parts.push(`func=${showItv(r.func)}`);
  return parts.join(' ');
}

// --- stack -------------------------------------------------------------------------------------

export const STACK_UNINIT = 0;
export const STACK_NUMBER = 1;
/** Initialised, but holds (part of) something other than a number. */
export const STACK_OTHER = 2;

export interface Cell {
  readonly width: number;
  readonly reg: Reg;
}

export interface Frame {
  /** r6-r10 of the caller. */
  readonly saved: readonly Reg[];
  readonly frameTop: bigint;
  /** Loop deltas of the caller at the call (r6-r10 keep theirs across the call). */
  readonly deltas: ReadonlyMap<string, readonly (Delta | undefined)[]>;
  /** A callback's frame: r1-r5 it gets on each run (the helper may run it again). */
  readonly args?: readonly Reg[];
}

/**
 * How far a register moved since a loop head: its value now is `from`'s value at the head plus
 * `by` (a copy `r1 = r2` takes r2's origin; only a register whose origin is itself counts loop
 * passes).
 */
export interface Delta {
  readonly from: number;
  readonly by: Itv;
}

export interface PacketVar {
  readonly range: Itv;
  readonly end: bigint;
  /**
   * Non-zero: V = x + eqOffset, where x is the value of the number registers with this eqId
   * (the register that was added to the pointer), so a bound learned on V bounds them too.
   */
  readonly eqId?: number;
  readonly eqOffset?: bigint;
}

/** No fact V + k <= packet_size is known. */
export const NO_END = -(1n << 64n);

/** The offset of a packet pointer relative to its base, with its variable part folded in. */
export function pktTotal(s: State, r: Reg): Itv {
  if (r.pktVar === 0) return r.pkt;
  const v = s.pktVars.get(r.pktVar);
  if (v === undefined) return itv(S64_MIN, S64_MAX);
  return itv(v.range.lo + r.pkt.lo, v.range.hi + r.pkt.hi);
}

/**
 * Whether the machine value of packet pointer `r` is its exact address: data + offset (or
 * data_end + offset, data_meta + offset) with no 64-bit wrap-around. The analysis knows offsets as
 * exact integers, but the register holds (base address + offset) mod 2^64: an offset below the
 * memory known to precede its base could reach below address 0 and wrap to a huge value. Bases
 * are 32-bit addresses, so offsets up to 2^32 past them cannot wrap at the top.
 */
export function packetAddressExact(s: State, r: Reg): boolean {
  if (!only(r, T.packet)) return false;
  const off = pktTotal(s, r);
  const TOP_ROOM = 1n << 32n;
  switch (r.pktBase) {
    case 'data': return off.lo >= -s.metaLo && off.hi <= TOP_ROOM;
    case 'end': return off.lo >= -(s.pktLo + s.metaLo) && off.hi <= TOP_ROOM;
    case 'meta': return off.lo >= 0n && off.hi <= TOP_ROOM;
    default: return false;
  }
}

/** Objects start at or above this address (src/abi/address-space.ts). */
const NULL_GUARD = BigInt(ADDRESS_SPACE_NULL_GUARD);

/**
 * Whether pointer `r` may hold the address 0: a possibly-null map value or record, or an offset
 * that may reach NULL_GUARD bytes below its object (or wrap round from the top), cancelling the
 * object's address. Otherwise `r == 0` cannot hold.
 */
export function pointerMayBeZero(s: State, r: Reg): boolean {
  if (has(r, T.shared | T.alloc_mem) && r.nullable) return true;
  const reaches = (x: Itv): boolean => x.lo <= -NULL_GUARD || x.hi >= 1n << 63n;
  if (has(r, T.ctx) && reaches(r.ctx)) return true;
  if (has(r, T.stack) && reaches(r.stack)) return true;
  if (has(r, T.shared) && reaches(r.shared)) return true;
  if (has(r, T.alloc_mem) && reaches(r.alloc)) return true;
  if (has(r, T.packet) && (r.pktBase === 'mixed' || reaches(pktTotal(s, r)))) return true;
  return false;
}

/** The same pointer without its link to a packet variable. */
export function dropPktVar(s: State, r: Reg): Reg {
  return r.pktVar === 0 || !has(r, T.packet) ? r : { ...r, pkt: pktTotal(s, r), pktVar: 0 };
}

/** Forgets packet variable `id` everywhere (a new value with this id is being created). */
export function retirePktVar(s: State, id: number): void {
  const fix = (r: Reg): Reg => (r.pktVar === id ? dropPktVar(s, r) : r);
  for (let i = 0; i < s.regs.length; i++) s.regs[i] = fix(s.regs[i]);
  for (const [at, c] of s.cells) if (c.reg.pktVar === id) s.cells.set(at, { width: c.width, reg: fix(c.reg) });
  s.frames = s.frames.map((f) => ({ ...f, saved: f.saved.map(fix), ...(f.args === undefined ? {} : { args: f.args.map(fix) }) }));
  s.pktVars.delete(id);
}

export interface State {
  readonly regs: Reg[];
  readonly bytes: Uint8Array;
  readonly cells: Map<number, Cell>;
  /** Proven bounds of packet_size. */
  pktLo: bigint;
  pktHi: bigint;
  /** Proven bounds of the metadata size (data - data_meta, i.e. -meta_offset). */
  metaLo: bigint;
  metaHi: bigint;
  /** Stack offset of r10 in the current frame: accesses below frameTop - frameSize are out of bounds. */
  frameTop: bigint;
  frames: Frame[];
  /** Variable packet offsets: possible values and the largest k proven to satisfy V + k <= packet_size. */
  pktVars: Map<number, PacketVar>;
  /** For each loop head on the current path: how far each register moved since the head. */
  deltas: Map<string, (Delta | undefined)[]>;
  /**
   * Acquired references that may still be held (ring-buffer reservations, by the nullId of the
   * pointer the reserving call returned). Each must be submitted or discarded before the exit.
   */
  refs: ReadonlySet<number>;
  /**
   * The bpf_spin_lock held: '' none, else `v<id>+<offset>` (the map value, by the id of the lookup
   * that returned it, and the lock's offset), '?' when paths that joined differ.
   */
  lock: string;
  /** Relations between register values and the packet size (zone.ts, relational.ts). */
  zone: Zone;
}

export function cloneState(s: State): State {
  return {
    regs: s.regs.slice(),
    bytes: s.bytes.slice(),
    cells: new Map(s.cells),
    pktLo: s.pktLo,
    pktHi: s.pktHi,
    metaLo: s.metaLo,
    metaHi: s.metaHi,
    frameTop: s.frameTop,
    frames: s.frames.slice(),
    deltas: new Map(s.deltas),
    pktVars: new Map(s.pktVars),
    refs: s.refs,
    lock: s.lock,
    zone: s.zone.slice(),
  };
}

function joinDeltas(
  a: ReadonlyMap<string, readonly (Delta | undefined)[]>, b: ReadonlyMap<string, readonly (Delta | undefined)[]>, w: Widening,
): Map<string, (Delta | undefined)[]> {
  const deltas = new Map<string, (Delta | undefined)[]>();
  for (const [head, da] of a) {
    const db = b.get(head);
    if (db === undefined) continue;
    deltas.set(head, da.map((x, i) => {
      const y = db[i];
      if (x === undefined || y === undefined || x.from !== y.from) return undefined;
      if (w !== false) return eqItv(x.by, y.by) ? x : undefined;
      return { from: x.from, by: hull(x.by, y.by) };
    }));
  }
  return deltas;
}

const joinByte = (a: number, b: number): number => (a === b ? a : a === STACK_UNINIT || b === STACK_UNINIT ? STACK_UNINIT : STACK_OTHER);

/** Per-byte join of two stack maps, a word at a time where they agree (most of the stack). */
function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  const wa = words(a);
  const wb = words(b);
  if (wa === undefined || wb === undefined) {
    for (let i = 0; i < out.length; i++) out[i] = joinByte(a[i], b[i]);
    return out;
  }
  const wo = new Uint32Array(out.buffer);
  for (let k = 0; k < wa.length; k++) {
    if (wa[k] === wb[k]) {
      wo[k] = wa[k];
      continue;
    }
    for (let i = k * 4; i < k * 4 + 4; i++) out[i] = joinByte(a[i], b[i]);
  }
  return out;
}

/** The bytes as 32-bit words, when they can be viewed so. */
function words(x: Uint8Array): Uint32Array | undefined {
  return x.byteOffset % 4 === 0 && x.length % 4 === 0 ? new Uint32Array(x.buffer, x.byteOffset, x.length / 4) : undefined;
}

export function joinState(a: State, b: State, w: Widening = false): State {
  // Registers linked to different packet variables on the two sides fall back to plain offsets.
  const pair = (x: Reg, y: Reg): [Reg, Reg] => (x.pktVar === y.pktVar ? [x, y] : [dropPktVar(a, x), dropPktVar(b, y)]);
  const regs = a.regs.map((r, i) => joinReg(...pair(r, b.regs[i]), w));
  const bytes = joinBytes(a.bytes, b.bytes);
  const cells = new Map<number, Cell>();
  for (const [off, c] of a.cells) {
    const d = b.cells.get(off);
    if (d !== undefined && d.width === c.width) cells.set(off, { width: c.width, reg: joinReg(...pair(c.reg, d.reg), w) });
  }
  const deltas = joinDeltas(a.deltas, b.deltas, w);
  const frames = a.frames.map((f, i) => ({
    saved: f.saved.map((r, k) => joinReg(...pair(r, b.frames[i].saved[k]), w)),
    frameTop: f.frameTop,
    deltas: joinDeltas(f.deltas, b.frames[i].deltas, w),
    ...(f.args === undefined ? {} : { args: f.args.map((r, k) => joinReg(...pair(r, b.frames[i].args?.[k] ?? r), w)) }),
  }));
  const pktVars = new Map<number, PacketVar>();
  for (const [id, va] of a.pktVars) {
    const vb = b.pktVars.get(id);
    // A variable known on one side only is referenced only by values from that side.
    if (vb === undefined) {
      pktVars.set(id, va);
      continue;
    }
    const end = va.end < vb.end ? va.end : vb.end;
    const link = va.eqId !== undefined && va.eqId === vb.eqId && va.eqOffset === vb.eqOffset ? { eqId: va.eqId, eqOffset: va.eqOffset } : {};
    pktVars.set(id, {
      range: w !== false ? widen(va.range, vb.range, itv(S64_MIN, S64_MAX), thresholdsOf(w)) : hull(va.range, vb.range),
      end: w !== false && end < va.end ? NO_END : end,
      ...link,
    });
  }
  for (const [id, vb] of b.pktVars) if (!a.pktVars.has(id)) pktVars.set(id, vb);
  const min = (x: bigint, y: bigint): bigint => (x < y ? x : y);
  const max = (x: bigint, y: bigint): bigint => (x > y ? x : y);
  const joined: State = {
    regs, bytes, cells, frames, deltas, pktVars, frameTop: a.frameTop,
    zone: joinZone(withUnaryFacts(a), withUnaryFacts(b), w !== false),
    refs: a.refs === b.refs ? a.refs : new Set([...a.refs, ...b.refs]),
    lock: a.lock === b.lock ? a.lock : '?',
    pktLo: w !== false && b.pktLo < a.pktLo ? 0n : min(a.pktLo, b.pktLo),
    pktHi: w !== false && b.pktHi > a.pktHi ? PACKET_MAX : max(a.pktHi, b.pktHi),
    metaLo: w !== false && b.metaLo < a.metaLo ? 0n : min(a.metaLo, b.metaLo),
    metaHi: w !== false && b.metaHi > a.metaHi ? PACKET_MAX : max(a.metaHi, b.metaHi),
  };
  dropUntracked(joined);
  return joined;
}

export const PACKET_MAX = (1n << 32n) - 1n;

export function eqState(a: State, b: State): boolean {
  if (a.pktLo !== b.pktLo || a.pktHi !== b.pktHi || a.metaLo !== b.metaLo || a.metaHi !== b.metaHi) return false;
  if (!eqZone(a.zone, b.zone)) return false;
  for (let i = 0; i < a.regs.length; i++) if (!eqReg(a.regs[i], b.regs[i])) return false;
  const wa = words(a.bytes);
  const wb = words(b.bytes);
  if (wa !== undefined && wb !== undefined) {
    for (let k = 0; k < wa.length; k++) if (wa[k] !== wb[k]) return false;
  } else {
    for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  }
  if (a.cells.size !== b.cells.size) return false;
  for (const [off, c] of a.cells) {
    const d = b.cells.get(off);
    if (d === undefined || d.width !== c.width || !eqReg(c.reg, d.reg)) return false;
  }
  if (!eqDeltas(a.deltas, b.deltas)) return false;
  if (a.pktVars.size !== b.pktVars.size) return false;
  if (a.lock !== b.lock) return false;
  if (a.refs.size !== b.refs.size || [...a.refs].some((r) => !b.refs.has(r))) return false;
  for (const [id, va] of a.pktVars) {
    const vb = b.pktVars.get(id);
    if (vb === undefined || vb.end !== va.end || !eqItv(va.range, vb.range) || va.eqId !== vb.eqId || va.eqOffset !== vb.eqOffset) return false;
  }
  for (let i = 0; i < a.frames.length; i++) {
    if (!eqDeltas(a.frames[i].deltas, b.frames[i].deltas)) return false;
    for (let k = 0; k < a.frames[i].saved.length; k++) if (!eqReg(a.frames[i].saved[k], b.frames[i].saved[k])) return false;
    const aa = a.frames[i].args;
    const ba = b.frames[i].args;
    if (aa !== undefined && ba !== undefined && aa.some((r, k) => !eqReg(r, ba[k]))) return false;
  }
  return true;
}

function eqDeltas(a: ReadonlyMap<string, readonly (Delta | undefined)[]>, b: ReadonlyMap<string, readonly (Delta | undefined)[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [head, da] of a) {
    const db = b.get(head);
    if (db === undefined) return false;
    for (let i = 0; i < da.length; i++) {
      const x = da[i];
      const y = db[i];
      if (x === undefined || y === undefined) {
        if (x !== y) return false;
      } else if (x.from !== y.from || !eqItv(x.by, y.by)) {
        return false;
      }
    }
  }
  return true;
}

/** Applies `f` to every register, spill and saved caller register. */
export function mapValues(s: State, f: (r: Reg) => Reg): void {
  for (let i = 0; i < s.regs.length; i++) s.regs[i] = f(s.regs[i]);
  for (const [at, c] of s.cells) {
    const r = f(c.reg);
    if (r !== c.reg) s.cells.set(at, { width: c.width, reg: r });
  }
  s.frames = s.frames.map((fr) => ({ ...fr, saved: fr.saved.map(f), ...(fr.args === undefined ? {} : { args: fr.args.map(f) }) }));
}

/** Copy group `id` starts anew: nothing that had it (values, packet-variable links) keeps it. */
export function recycleEqId(s: State, id: number): void {
  mapValues(s, (x) => (x.eqId === id ? { ...x, eqId: 0 } : x));
  for (const [k, v] of s.pktVars) if (v.eqId === id) s.pktVars.set(k, { range: v.range, end: v.end });
}

/**
 * Register `r` was just set to a copy of number register `q`: both join q's group of copies, or
 * start a new group `id` (older values that had that id are no longer the same value).
 */
export function linkCopies(s: State, r: number, q: number, id: number): void {
  const group = s.regs[q].eqId;
  if (group !== 0) {
    s.regs[r] = { ...s.regs[r], eqId: group };
    return;
  }
  recycleEqId(s, id);
  s.regs[r] = { ...s.regs[r], eqId: id };
  s.regs[q] = { ...s.regs[q], eqId: id };
}

/** A branch refined register r to `num`: every copy of it learns the same. */
export function refineCopies(s: State, r: number, num: Num): void {
  const id = s.regs[r].eqId;
  s.regs[r] = { ...s.regs[r], num };
  if (id === 0) return;
  mapValues(s, (x) => (x.eqId === id && only(x, T.number) ? { ...x, num } : x));
}

/** Drops the delta information of a register (its value changed in a way we do not follow). */
export function forgetDelta(s: State, reg: number): void {
  for (const [head, d] of s.deltas) {
    if (d[reg] === undefined) continue;
    const copy = d.slice();
    copy[reg] = undefined;
    s.deltas.set(head, copy);
  }
}

/**
 * Register `reg` now holds the value `from` (default: itself) held, moved by `by`: it keeps that
 * register's origin at each loop head.
 */
export function shiftDelta(s: State, reg: number, by: Itv | undefined, from?: number): void {
  for (const [head, d] of s.deltas) {
    const base = d[from ?? reg];
    const copy = d.slice();
    copy[reg] = base === undefined || by === undefined ? undefined : { from: base.from, by: itv(base.by.lo + by.lo, base.by.hi + by.hi) };
    s.deltas.set(head, copy);
  }
}

export function showState(s: State): string {
  const parts: string[] = [];
  s.regs.forEach((r, i) => {
    if (r.types !== T.uninit) parts.push(`r${i}: ${showReg(r)}`);
  });
  parts.push(`packet_size=[${s.pktLo}, ${s.pktHi}]`);
  // What the zone relates to the packet size beyond what the bounds alone say:
  // value(r) + k <= packet_size (for a packet pointer, its offset).
  const z = withUnaryFacts(s);
  for (let r = 0; r < 11; r++) {
    const c = z[r * ZONE_N + ZONE_PKT];
    const reg = s.regs[r];
    const upper = only(reg, T.number) ? reg.num.s.hi : only(reg, T.packet) && reg.pktBase === 'data' ? pktTotal(s, reg).hi : undefined;
    if (c === Infinity || upper === undefined || BigInt(c) >= upper - s.pktLo) continue;
    parts.push(`r${r}${c === 0 ? '' : ` + ${-c}`} <= packet_size`);
  }
  if (s.refs.size > 0) parts.push(`held=[${[...s.refs].join(', ')}]`);
  if (s.lock !== '') parts.push(`spin_lock=${s.lock}`);
  for (const [id, v] of s.pktVars) parts.push(`v${id}=${showItv(v.range)}${v.end === NO_END ? '' : ` v${id}+${v.end}<=packet_size`}`);
  const init: string[] = [];
  let i = 0;
  while (i < s.bytes.length) {
    if (s.bytes[i] === STACK_UNINIT) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < s.bytes.length && s.bytes[j + 1] === s.bytes[i]) j++;
    init.push(`s[${i}...${j}]=${s.bytes[i] === STACK_NUMBER ? 'number' : 'other'}`);
    i = j + 1;
  }
  if (init.length > 0) parts.push(init.join(' '));
  for (const [off, c] of [...s.cells].sort((x, y) => x[0] - y[0])) {
    if (!has(c.reg, T.number) || c.reg.types !== T.number || c.reg.num.u.lo !== 0n || c.reg.num.u.hi !== (1n << BigInt(c.width * 8)) - 1n) {
      parts.push(`cell[${off}:${c.width}]: ${showReg(c.reg)}`);
    }
  }
  return parts.join('; ');
}

export { meet };
