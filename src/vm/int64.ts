// 64-bit arithmetic on (lo, hi) pairs of int32, for the interpreter's register file. BigInt is
// only touched on rare paths (64-bit division with operands beyond 32 bits).

/** Result pair of the last operation (module-level to avoid allocating per instruction). */
export const pair = new Int32Array(2);

const TWO32 = 4294967296;

export function toBigUint(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function toBigInt(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, toBigUint(lo, hi));
}

/** Splits any bigint (taken mod 2^64) into `pair`. */
export function fromBig(value: bigint): void {
  const u = BigInt.asUintN(64, value);
  pair[0] = Number(u & 0xffffffffn) | 0;
  pair[1] = Number(u >> 32n) | 0;
}

/** Splits a JS integer into `pair`: safe integers exactly, negatives sign-extended. */
export function fromNumber(value: number): void {
  if (value === (value | 0)) {
    pair[0] = value;
    pair[1] = value >> 31;
  } else if (Number.isSafeInteger(value)) {
    if (value >= 0) {
      pair[0] = value % TWO32 | 0;
      pair[1] = Math.floor(value / TWO32) | 0;
    } else {
      fromBig(BigInt(value));
    }
  } else {
    throw new RangeError(`${value} is not a safe integer`);
  }
}

/** Low 64 bits of a * b. */
export function mul64(alo: number, ahi: number, blo: number, bhi: number): void {
  const a0 = alo & 0xffff;
  const a1 = alo >>> 16;
  const b0 = blo & 0xffff;
  const b1 = blo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  pair[0] = Math.imul(alo, blo);
  pair[1] = (carry + Math.imul(ahi, blo) + Math.imul(alo, bhi)) | 0;
}

/** Unsigned a / b, b != 0. */
export function udiv64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (ahi === 0 && bhi === 0) {
    pair[0] = Math.floor((alo >>> 0) / (blo >>> 0)) | 0;
    pair[1] = 0;
  } else {
    fromBig(toBigUint(alo, ahi) / toBigUint(blo, bhi));
  }
}

/** Unsigned a % b, b != 0. */
export function umod64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (ahi === 0 && bhi === 0) {
    pair[0] = (alo >>> 0) % (blo >>> 0) | 0;
    pair[1] = 0;
  } else {
    fromBig(toBigUint(alo, ahi) % toBigUint(blo, bhi));
  }
}

/** Signed a / b truncated toward zero, b != 0; INT64_MIN / -1 = INT64_MIN. */
export function sdiv64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (ahi === alo >> 31 && bhi === blo >> 31) {
    const q = Math.trunc(alo / blo); // may be 2^31 (INT32_MIN / -1): still exact as a 64-bit value
    pair[0] = q | 0;
    pair[1] = q < 0 ? -1 : 0;
  } else {
    fromBig(toBigInt(alo, ahi) / toBigInt(blo, bhi));
  }
}

/** Signed a % b with the sign of a, b != 0. */
export function smod64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (ahi === alo >> 31 && bhi === blo >> 31) {
    const r = alo % blo;
    pair[0] = r | 0;
    pair[1] = r < 0 ? -1 : 0;
  } else {
    fromBig(toBigInt(alo, ahi) % toBigInt(blo, bhi));
  }
}

export function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

export function bswap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

/** a << n for n in 0..63. */
export function lsh64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    pair[0] = lo;
    pair[1] = hi;
  } else if (n < 32) {
    pair[1] = (hi << n) | (lo >>> (32 - n));
    pair[0] = lo << n;
  } else {
    pair[1] = lo << (n - 32);
    pair[0] = 0;
  }
}

/** Logical a >> n for n in 0..63. */
export function rsh64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    pair[0] = lo;
    pair[1] = hi;
  } else if (n < 32) {
    pair[0] = (lo >>> n) | (hi << (32 - n));
    pair[1] = hi >>> n;
  } else {
    pair[0] = hi >>> (n - 32);
    pair[1] = 0;
  }
}

/** Arithmetic a >> n for n in 0..63. */
export function arsh64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    pair[0] = lo;
    pair[1] = hi;
  } else if (n < 32) {
    pair[0] = (lo >>> n) | (hi << (32 - n));
    pair[1] = hi >> n;
  } else {
    pair[0] = hi >> (n - 32);
    pair[1] = hi >> 31;
  }
}

/** Unsigned a > b. */
export function ugt64(alo: number, ahi: number, blo: number, bhi: number): boolean {
  return ahi !== bhi ? ahi >>> 0 > bhi >>> 0 : alo >>> 0 > blo >>> 0;
}

/** Signed a > b. */
export function sgt64(alo: number, ahi: number, blo: number, bhi: number): boolean {
  return ahi !== bhi ? ahi > bhi : alo >>> 0 > blo >>> 0;
}
