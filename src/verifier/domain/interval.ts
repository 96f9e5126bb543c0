// Integer intervals over bigint, and the machine arithmetic of eBPF on a pair of views of one
// value: its signed and its unsigned reading. Each operation is computed on both views and the
// results are intersected, which keeps e.g. `x & 0xff` precise in both readings.

export interface Itv {
  readonly lo: bigint;
  readonly hi: bigint;
}

export const U64_MAX = (1n << 64n) - 1n;
export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;

export const itv = (lo: bigint, hi: bigint = lo): Itv => ({ lo, hi });
// Ranges are immutable: one object per width serves every caller.
const U_RANGES: Itv[] = Array.from({ length: 65 }, (_, bits) => itv(0n, (1n << BigInt(bits)) - 1n));
const S_RANGES: Itv[] = Array.from({ length: 65 }, (_, bits) => (bits === 0 ? itv(0n) : itv(-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n)));
export const uRange = (bits: number): Itv => U_RANGES[bits] ?? itv(0n, (1n << BigInt(bits)) - 1n);
export const sRange = (bits: number): Itv => S_RANGES[bits] ?? itv(-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n);

export function meet(a: Itv, b: Itv): Itv | undefined {
  const lo = a.lo > b.lo ? a.lo : b.lo;
  const hi = a.hi < b.hi ? a.hi : b.hi;
  return lo > hi ? undefined : { lo, hi };
}

export function hull(a: Itv, b: Itv): Itv {
  return { lo: a.lo < b.lo ? a.lo : b.lo, hi: a.hi > b.hi ? a.hi : b.hi };
}

/**
 * Widening with thresholds: a bound that grew jumps to the nearest of the program's own constants
 * beyond it (`thresholds`, sorted ascending), else to the given limit (values are machine words).
 * A loop counter tested against 64 thus stops at 63, 64 or 65 instead of running to the top of
 * its type, and the next iteration either confirms that bound or widens past it: the chain of
 * thresholds is finite, so the fixpoint iteration still ends.
 */
export function widen(old: Itv, next: Itv, limit: Itv, thresholds: readonly bigint[] = NO_THRESHOLDS): Itv {
  return {
    lo: next.lo < old.lo ? thresholdBelow(thresholds, next.lo, limit.lo) : old.lo,
    hi: next.hi > old.hi ? thresholdAbove(thresholds, next.hi, limit.hi) : old.hi,
  };
}

const NO_THRESHOLDS: readonly bigint[] = [];

/** The smallest threshold >= v and <= limit, else limit. */
function thresholdAbove(t: readonly bigint[], v: bigint, limit: bigint): bigint {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < t.length && t[lo] <= limit ? t[lo] : limit;
}

/** The largest threshold <= v and >= limit, else limit. */
function thresholdBelow(t: readonly bigint[], v: bigint, limit: bigint): bigint {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t[lo - 1] >= limit ? t[lo - 1] : limit;
}

export const eqItv = (a: Itv, b: Itv): boolean => a.lo === b.lo && a.hi === b.hi;
export const leqItv = (a: Itv, b: Itv): boolean => a.lo >= b.lo && a.hi <= b.hi;
export const isConst = (a: Itv): boolean => a.lo === a.hi;
export const containsItv = (a: Itv, v: bigint): boolean => a.lo <= v && v <= a.hi;

export function showItv(a: Itv): string {
  return a.lo === a.hi ? String(a.lo) : `[${a.lo}, ${a.hi}]`;
}

/** A number as both of its readings at one width (the width of the operation). */
export interface Num {
  readonly s: Itv;
  readonly u: Itv;
}

export function topNum(bits: number): Num {
  return { s: sRange(bits), u: uRange(bits) };
}

/** Any `bits`-wide value zero-extended to 64 bits (for 64 bits: any value at all). */
export function unsignedTop(bits: number): Num {
  return bits >= 64 ? topNum(64) : { s: uRange(bits), u: uRange(bits) };
}

export function constNum(v: bigint, bits = 64): Num {
  const u = BigInt.asUintN(bits, v);
  const s = BigInt.asIntN(bits, v);
  return { s: itv(s), u: itv(u) };
}

/** Makes the two views agree where they overlap; undefined when they contradict (bottom). */
export function normalize(n: Num, bits = 64): Num | undefined {
  const half = 1n << BigInt(bits - 1);
  const mod = 1n << BigInt(bits);
  let { s, u } = n;
  // Non-negative signed values read the same unsigned, negative ones read as v + 2^bits.
  const sPos = meet(s, itv(0n, half - 1n));
  const sNeg = meet(s, itv(-half, -1n));
  const uLow = meet(u, itv(0n, half - 1n));
  const uHigh = meet(u, itv(half, mod - 1n));
  const pos = sPos !== undefined && uLow !== undefined ? meet(sPos, uLow) : undefined;
  const neg = sNeg !== undefined && uHigh !== undefined ? meet(sNeg, itv(uHigh.lo - mod, uHigh.hi - mod)) : undefined;
  if (pos === undefined && neg === undefined) return undefined;
  if (pos !== undefined && neg !== undefined) {
    s = itv(neg.lo, pos.hi);
    u = itv(pos.lo, neg.hi + mod);
  } else if (pos !== undefined) {
    s = pos;
    u = pos;
  } else if (neg !== undefined) {
    s = neg;
    u = itv(neg.lo + mod, neg.hi + mod);
  }
  return { s, u };
}

/** The views of an exact mathematical range after wrapping to `bits`. */
export function wrap(lo: bigint, hi: bigint, bits: number): Num {
  const mod = 1n << BigInt(bits);
  const half = mod >> 1n;
  const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  let u: Itv = uRange(bits);
  if (floorDiv(lo, mod) === floorDiv(hi, mod)) u = itv(lo - floorDiv(lo, mod) * mod, hi - floorDiv(hi, mod) * mod);
  let s: Itv = sRange(bits);
  if (floorDiv(lo + half, mod) === floorDiv(hi + half, mod)) {
    const k = floorDiv(lo + half, mod) * mod;
    s = itv(lo - k, hi - k);
  }
  return { s, u };
}

function meetNum(a: Num, b: Num): Num {
  return { s: meet(a.s, b.s) ?? a.s, u: meet(a.u, b.u) ?? a.u };
}

/** The low `bits` of a 64-bit number. */
export function truncate(n: Num, bits: number): Num {
  if (bits === 64) return n;
  const fromU = wrap(n.u.lo, n.u.hi, bits);
  const fromS = wrap(n.s.lo, n.s.hi, bits);
  return normalize(meetNum(fromU, fromS), bits) ?? topNum(bits);
}

/** A `bits`-wide result as a 64-bit value (zero-extended). */
export function zeroExtend(n: Num, bits: number): Num {
  if (bits === 64) return n;
  return { s: n.u, u: n.u };
}

/** A `bits`-wide value sign-extended to 64 bits. */
export function signExtend(n: Num, bits: number): Num {
  if (bits === 64) return n;
  return normalize({ s: n.s, u: uRange(64) }) ?? topNum(64);
}

export type BinOp = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh' | 'arsh';

const corners = (a: Itv, b: Itv, f: (x: bigint, y: bigint) => bigint): Itv => {
  const v = [f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)];
  let lo = v[0];
  let hi = v[0];
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return itv(lo, hi);
};

function pow2Above(v: bigint): bigint {
  let p = 1n;
  while (p <= v) p <<= 1n;
  return p;
}

function fromBoth(views: (Num | undefined)[], bits: number): Num {
  let out = topNum(bits);
  for (const v of views) if (v !== undefined) out = meetNum(out, v);
  return normalize(out, bits) ?? topNum(bits);
}

/** `a OP b` on `bits`-wide operands (already truncated); the result is `bits` wide. */
export function binop(op: BinOp, a: Num, b: Num, bits: number): Num {
  const top = topNum(bits);
  const mask = BigInt(bits - 1);
  switch (op) {
    case 'add':
      return fromBoth([wrap(a.s.lo + b.s.lo, a.s.hi + b.s.hi, bits), wrap(a.u.lo + b.u.lo, a.u.hi + b.u.hi, bits)], bits);
    case 'sub':
      return fromBoth([wrap(a.s.lo - b.s.hi, a.s.hi - b.s.lo, bits), wrap(a.u.lo - b.u.hi, a.u.hi - b.u.lo, bits)], bits);
    case 'mul': {
      const s = corners(a.s, b.s, (x, y) => x * y);
      const u = corners(a.u, b.u, (x, y) => x * y);
      return fromBoth([wrap(s.lo, s.hi, bits), wrap(u.lo, u.hi, bits)], bits);
    }
    case 'div': {
      if (b.u.hi === 0n) return constNum(0n, bits);
      const lo = b.u.lo === 0n ? 0n : a.u.lo / b.u.hi;
      const hi = a.u.hi / (b.u.lo === 0n ? 1n : b.u.lo);
      return fromBoth([{ s: top.s, u: itv(lo, hi) }], bits);
    }
    case 'mod': {
      if (b.u.hi === 0n) return a;
      if (a.u.hi < b.u.lo) return a; // every divisor is larger (x % 0 = x keeps it too)
      // x % 0 = x, and x % b < b otherwise: either way never above x.
      const hi = b.u.lo === 0n || a.u.hi < b.u.hi - 1n ? a.u.hi : b.u.hi - 1n;
      return fromBoth([{ s: top.s, u: itv(0n, hi) }], bits);
    }
    case 'sdiv': {
      const min = -(1n << mask);
      if (containsItv(a.s, min) && containsItv(b.s, -1n)) return top;
      let out: Itv | undefined = containsItv(b.s, 0n) ? itv(0n) : undefined;
      for (const part of [meet(b.s, itv(min, -1n)), meet(b.s, itv(1n, -min))]) {
        if (part === undefined) continue;
        const r = corners(a.s, part, (x, y) => x / y);
        out = out === undefined ? r : hull(out, r);
      }
      return out === undefined ? top : fromBoth([wrap(out.lo, out.hi, bits)], bits);
    }
    case 'smod': {
      const abs = (x: bigint): bigint => (x < 0n ? -x : x);
      const nz = [meet(b.s, itv(-(1n << mask), -1n)), meet(b.s, itv(1n, 1n << mask))].filter((x) => x !== undefined);
      let m = 0n;
      for (const p of nz) for (const v of [p.lo, p.hi]) if (abs(v) - 1n > m) m = abs(v) - 1n;
      let r: Itv | undefined;
      if (nz.length > 0) {
        const lo = a.s.lo >= 0n ? 0n : a.s.lo > -m ? a.s.lo : -m;
        const hi = a.s.hi <= 0n ? 0n : a.s.hi < m ? a.s.hi : m;
        r = itv(lo, hi);
      }
      if (containsItv(b.s, 0n)) r = r === undefined ? a.s : hull(r, a.s);
      return r === undefined ? top : fromBoth([{ s: r, u: top.u }], bits);
    }
    case 'and': {
      if (isConst(a.u) && isConst(b.u)) return constNum(a.u.lo & b.u.lo, bits);
      const hi = a.u.hi < b.u.hi ? a.u.hi : b.u.hi;
      return fromBoth([{ s: top.s, u: itv(0n, hi) }], bits);
    }
    case 'or': {
      if (isConst(a.u) && isConst(b.u)) return constNum(a.u.lo | b.u.lo, bits);
      const lo = a.u.lo > b.u.lo ? a.u.lo : b.u.lo;
      const hi = pow2Above(a.u.hi > b.u.hi ? a.u.hi : b.u.hi) - 1n;
      return fromBoth([{ s: top.s, u: itv(lo, hi) }], bits);
    }
    case 'xor': {
      if (isConst(a.u) && isConst(b.u)) return constNum(a.u.lo ^ b.u.lo, bits);
      const hi = pow2Above(a.u.hi > b.u.hi ? a.u.hi : b.u.hi) - 1n;
      return fromBoth([{ s: top.s, u: itv(0n, hi) }], bits);
    }
    case 'lsh':
    case 'rsh':
    case 'arsh': {
      // The shift amount is taken modulo the width.
      const k = b.u.hi <= mask ? b.u : b.u.lo === b.u.hi ? itv(b.u.lo & mask) : itv(0n, mask);
      if (op === 'lsh') {
        const u = itv(a.u.lo << k.lo, a.u.hi << k.hi);
        const s = corners(a.s, k, (x, y) => x << y);
        return fromBoth([wrap(u.lo, u.hi, bits), wrap(s.lo, s.hi, bits)], bits);
      }
      if (op === 'rsh') return fromBoth([{ s: top.s, u: itv(a.u.lo >> k.hi, a.u.hi >> k.lo) }], bits);
      return fromBoth([{ s: corners(a.s, k, (x, y) => x >> y), u: top.u }], bits);
    }
  }
}

/** Reverses the bytes of a `bits`-wide value. */
export function byteSwap(n: Num, bits: number): Num {
  if (!isConst(n.u)) return topNum(bits);
  let v = n.u.lo;
  let out = 0n;
  for (let i = 0; i < bits / 8; i++) {
    out = (out << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return constNum(out, bits);
}
