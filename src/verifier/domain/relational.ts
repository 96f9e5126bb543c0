// Keeps the zone (zone.ts) in step with the registers: what each instruction does to the
// variables, what a branch teaches, and the unary facts (intervals, packet-size bounds) that are
// copied in before two states join. The rule that keeps it sound: an instruction that writes a
// register updates that register's variable exactly (copies, additions and subtractions without
// wrap-around) or forgets it; every register the eBPF semantics let an instruction write is
// named here, whatever the transfer function did.

import type { Instruction } from '../../isa/instruction.js';
import { type Itv, S64_MAX, S64_MIN } from './interval.js';
import { type Reg, type State, T, only, packetAddressExact, pktTotal } from './state.js';
import {
  type Zone, PKT, REGS, ZERO, N, addConstraint, addVar, bound, close, copyVar, forget, newZone, shiftVar, toBound,
} from './zone.js';

type Kind = 'num' | 'data' | 'end';

/** What a register's zone variable stands for, or undefined when it has none. */
function kindOf(r: Reg): Kind | undefined {
  if (only(r, T.number)) return 'num';
  if (only(r, T.packet)) return r.pktBase === 'data' ? 'data' : r.pktBase === 'end' ? 'end' : undefined;
  return undefined;
}

/** The variable's range: a number's signed value, a data pointer's offset, a data_end pointer's offset from data_end. */
function rangeOf(s: State, r: Reg, kind: Kind): Itv {
  return kind === 'num' ? r.num.s : pktTotal(s, r);
}

const lo = (x: bigint): number => toBound(x) ?? -Infinity;
const hi = (x: bigint): number => toBound(x) ?? Infinity;

/**
 * The values a variable may have, as the machine sees them: a data_end pointer's offset from
 * data, not from data_end (its range alone is relative to the packet size).
 */
function absoluteRangeOf(s: State, r: Reg, kind: Kind): Itv {
  const x = rangeOf(s, r, kind);
  return kind === 'end' ? { lo: s.pktLo + x.lo, hi: s.pktHi + x.hi } : x;
}

/**
 * What an ALU instruction's operands were, taken before it runs. The ranges are absolute (see
 * absoluteRangeOf): they decide whether the operation may wrap.
 */
export interface AluBefore {
  readonly dst: Kind | undefined;
  readonly dstRange: Itv;
  readonly src: Kind | undefined;
  readonly srcRange: Itv;
}

const NONE: Itv = { lo: 0n, hi: 0n };

export function beforeAlu(s: State, insn: Instruction): AluBefore {
  const d = s.regs[insn.dst];
  const dk = kindOf(d);
  const reg = insn.spec.form === 'alu-reg';
  const sr = reg ? s.regs[insn.src] : undefined;
  const sk = sr === undefined ? undefined : kindOf(sr);
  return {
    dst: dk, dstRange: dk === undefined ? NONE : absoluteRangeOf(s, d, dk),
    src: sk, srcRange: sk === undefined || sr === undefined ? NONE : absoluteRangeOf(s, sr, sk),
  };
}

const U32 = 1n << 32n;
const inU32 = (x: Itv): boolean => x.lo >= 0n && x.hi < U32;

/** The zone after an ALU instruction (the registers already hold its result). */
export function afterAlu(s: State, insn: Instruction, b: AluBefore): void {
  updateAlu(s, insn, b);
  learnBounds(s, insn.dst);
}

function updateAlu(s: State, insn: Instruction, b: AluBefore): void {
  const z = s.zone;
  const d = insn.dst;
  const kind = kindOf(s.regs[d]);
  const { op, form } = insn.spec;
  const bits = insn.spec.width === 32 ? 32 : 64;
  if (kind === undefined || b.dst === undefined && !(op === 'mov' || op === 'add')) return forget(z, d);
  if (op === 'mov') {
    if (form !== 'alu-reg' || b.src === undefined || b.src !== kind || (bits === 32 && !inU32(b.srcRange))) return forget(z, d);
    return copyVar(z, d, insn.src);
  }
  if (op !== 'add' && op !== 'sub') return forget(z, d);
  if (form === 'alu-imm') {
    const c = BigInt(op === 'add' ? insn.imm : -insn.imm);
    if (b.dst === undefined || b.dst !== kind) return forget(z, d);
    const r = b.dstRange;
    if (bits === 64 ? kind === 'num' && (r.lo + c < S64_MIN || r.hi + c > S64_MAX) : kind !== 'num' || !inU32(r) || r.lo + c < 0n || r.hi + c >= U32) return forget(z, d);
    return shiftVar(z, d, Number(c));
  }
  if (b.src === undefined) return forget(z, d);
  // The kinds must combine as offsets do: number +/- number, pointer +/- number, number + pointer,
  // and a difference of two packet pointers (a number).
  const expect: Kind | undefined = op === 'add'
    ? (b.dst === 'num' ? b.src : b.src === 'num' ? b.dst : undefined)
    : (b.src === 'num' ? b.dst : b.dst !== 'num' && b.dst !== undefined ? 'num' : undefined);
  if (b.dst === undefined || expect !== kind) return forget(z, d);
  const dr = b.dstRange;
  const sr = b.srcRange;
  if (bits === 32) {
    if (kind !== 'num' || !inU32(dr) || !inU32(sr)) return forget(z, d);
    if (op === 'add' ? dr.hi + sr.hi >= U32 : dr.lo - sr.hi < 0n) return forget(z, d);
  } else if (kind === 'num') {
    // A number (a sum or difference of numbers, or the distance between two packet pointers)
    // is the exact result only while that stays a signed 64-bit value; the machine wraps.
    const l = op === 'add' ? dr.lo + sr.lo : dr.lo - sr.hi;
    const h = op === 'add' ? dr.hi + sr.hi : dr.hi - sr.lo;
    if (l < S64_MIN || h > S64_MAX) return forget(z, d);
  }
  // A data_end pointer's variable is its offset from data: its range is relative to PKT, so only
  // its relations (not its unary range) can be used.
  const endD = b.dst === 'end';
  const endS = b.src === 'end';
  addVar(z, d, insn.src, endD ? -Infinity : lo(dr.lo), endD ? Infinity : hi(dr.hi), endS ? -Infinity : lo(sr.lo), endS ? Infinity : hi(sr.hi), op === 'sub');
}

/** Forgets the registers an instruction other than an ALU one may write, and the packet size if it may move. */
export function afterOther(s: State, insn: Instruction, packetMoves: boolean): void {
  const z = s.zone;
  switch (insn.spec.form) {
    case 'ldx': case 'lddw':
      forget(z, insn.dst);
      learnBounds(s, insn.dst);
      break;
    case 'atomic':
      forget(z, insn.src);
      forget(z, 0);
      break;
    case 'ldabs': case 'ldind': case 'call': case 'callx':
      for (let r = 0; r <= 5; r++) forget(z, r);
      break;
    default:
      break;
  }
  if (packetMoves) forget(z, PKT);
  dropUntracked(s);
}

/**
 * Writes what register r's bounds say into the zone (its value against zero; a data_end
 * pointer's offset against the packet size), so relations learned later combine with them.
 */
function learnBounds(s: State, r: number): void {
  const reg = s.regs[r];
  const kind = kindOf(reg);
  if (kind === undefined) return;
  const x = rangeOf(s, reg, kind);
  const base = kind === 'end' ? PKT : ZERO;
  const h = hi(x.hi);
  const l = lo(x.lo);
  // A contradiction cannot arise from a register's own bounds; ignore the result.
  if (h !== Infinity) addConstraint(s.zone, r, base, h);
  if (l !== -Infinity) addConstraint(s.zone, base, r, -l);
}

/** Registers whose content has no variable lose their facts (e.g. packet pointers a helper invalidated). */
export function dropUntracked(s: State): void {
  for (let r = 0; r < REGS; r++) if (kindOf(s.regs[r]) === undefined && !unbounded(s.zone, r)) forget(s.zone, r);
}

function unbounded(z: Zone, v: number): boolean {
  for (let k = 0; k < N; k++) if (k !== v && (z[v * N + k] !== Infinity || z[k * N + v] !== Infinity)) return false;
  return true;
}

type Rel = 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jset' | 'jnset' | 'jsgt' | 'jsge' | 'jslt' | 'jsle';

/**
 * What a branch edge teaches: `rel` holds between dst and src (or the immediate). False when the
 * zone shows the edge cannot be taken. Called after the intervals were refined for the edge.
 */
export function assumeRelation(s: State, insn: Instruction, rel: Rel): boolean {
  const z = s.zone;
  const a = insn.dst;
  const ka = kindOf(s.regs[a]);
  if (ka === undefined) return true;
  const bits = insn.spec.width === 32 ? 32 : 64;
  const signed = rel.startsWith('js');
  let bv: number;
  let kb: Kind | undefined;
  if (insn.spec.form === 'jmp-imm') {
    if (ka !== 'num') return true;
    bv = ZERO;
    kb = 'num';
  } else {
    bv = insn.src;
    kb = kindOf(s.regs[bv]);
    if (kb === undefined || bv === a) return true;
  }
  const imm = insn.spec.form === 'jmp-imm' ? BigInt(bits === 32 ? insn.imm >>> 0 : insn.imm) : 0n;
  if (ka === 'num' || kb === 'num') {
    if (ka !== kb) return true;
    const ra = s.regs[a].num.s;
    const rb = bv === ZERO ? { lo: imm, hi: imm } : s.regs[bv].num.s;
    // Where the comparison's reading of the values agrees with their signed 64-bit values.
    const fits = (x: Itv): boolean => (bits === 64 ? (signed ? true : x.lo >= 0n) : x.lo >= 0n && x.hi < 1n << 31n);
    if (!fits(ra) || !fits(rb)) return true;
  } else if (signed || bits !== 64 || !packetAddressExact(s, s.regs[a]) || !packetAddressExact(s, s.regs[bv])) {
    // Pointers are ordered by the unsigned 64-bit comparison of their addresses, which agrees
    // with the order of their offsets only where neither address wraps.
    return true;
  }
  // x_a - x_b <= c facts, with the immediate folded into c.
  const k = bv === ZERO ? toBound(imm) : 0;
  if (k === undefined) return true;
  let feasible: boolean;
  switch (rel) {
    case 'jle': case 'jsle': feasible = addConstraint(z, a, bv, k); break;
    case 'jlt': case 'jslt': feasible = addConstraint(z, a, bv, k - 1); break;
    case 'jge': case 'jsge': feasible = addConstraint(z, bv, a, -k); break;
    case 'jgt': case 'jsgt': feasible = addConstraint(z, bv, a, -k - 1); break;
    case 'jeq': feasible = addConstraint(z, a, bv, k) && addConstraint(z, bv, a, -k); break;
    default: return true;
  }
  if (feasible) return true;
  // The zone says this edge cannot be taken. That is a proof only if the state before the edge
  // was itself consistent (the zone agrees with the intervals); otherwise the zone's facts are
  // dropped and the edge is analysed with what the intervals say.
  if (close(unaryFactsInto(s, z.slice()))) return false;
  s.zone = withUnaryFacts({ ...s, zone: newZone() });
  return true;
}

/** The largest c the zone proves for (register r's offset) - packet_size <= c. */
export function slackToEnd(s: State, r: number): number {
  return bound(s.zone, r, PKT);
}

/** The largest c the zone proves for 0 - (register r's offset) <= c (so the offset is at least -c). */
export function belowZero(s: State, r: number): number {
  return bound(s.zone, ZERO, r);
}

/**
 * A copy of the zone with every interval and packet-size bound written in, closed. When the two
 * contradict each other, the relations are not trusted (a contradiction is never taken as a
 * proof of anything): only what the intervals say is kept.
 */
export function withUnaryFacts(s: State): Zone {
  const z = unaryFactsInto(s, s.zone.slice());
  if (close(z)) return z;
  const fresh = unaryFactsInto(s, newZone());
  close(fresh);
  return fresh;
}

function unaryFactsInto(s: State, z: Zone): Zone {
  const tighten = (i: number, j: number, c: number): void => {
    if (c < z[i * N + j]) z[i * N + j] = c;
  };
  for (let r = 0; r < REGS; r++) {
    const reg = s.regs[r];
    const kind = kindOf(reg);
    if (kind === undefined) {
      forget(z, r);
      continue;
    }
    const x = rangeOf(s, reg, kind);
    const base = kind === 'end' ? PKT : ZERO;
    tighten(r, base, hi(x.hi));
    tighten(base, r, -lo(x.lo));
  }
  tighten(PKT, ZERO, hi(s.pktHi));
  tighten(ZERO, PKT, -lo(s.pktLo));
  return z;
}
