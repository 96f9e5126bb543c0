// A zone (difference-bound matrix) over the values the registers hold, the packet size and zero:
// facts of the form x - y <= c. Intervals alone lose what ties an offset to the packet size
// once two paths join (nh_off is 14 or 18, and on each path data + nh_off <= data_end) or once
// a check is made through a copy (r5 = r3 + 4; data + r5 <= data_end proves data + r3 + 4 <=
// data_end). The zone keeps those facts, as PREVAIL's does.
//
// Variables: 0-10 the registers, PKT the packet size (data_end - data), ZERO the constant 0
// (so x - ZERO <= c is an upper bound). A register's variable means
// - for a number: its value read as signed 64-bit;
// - for a packet pointer based on data or data_end: its offset from data.
// Any other register content has no variable (its row and column are unbounded). Whoever changes
// a register's value updates or forgets its variable (see relational.ts); refining what is known
// of an unchanged value keeps it.
//
// Bounds are doubles: a bound is kept only while it is an integer of magnitude below 2^50, else it
// is dropped (made +Infinity), which only forgets facts. The matrix is kept closed (every entry is
// the tightest bound the others imply) by incremental closure after each change.

export const REGS = 11;
export const PKT = 11;
export const ZERO = 12;
export const N = 13;

// With every bound below 2^50 in magnitude, sums of three bounds are exact doubles.
const LIMIT = 2 ** 50;

export type Zone = Float64Array;

export function newZone(): Zone {
  const z = new Float64Array(N * N).fill(Infinity);
  for (let i = 0; i < N; i++) z[i * N + i] = 0;
  return z;
}

/** A bigint bound as a double, or undefined when it is too large to keep. */
export function toBound(x: bigint): number | undefined {
  const n = Number(x);
  return n > -LIMIT && n < LIMIT ? n : undefined;
}

const clamp = (c: number): number => (c >= LIMIT || c !== c ? Infinity : c <= -LIMIT ? -LIMIT : c);

/** The tightest known c with x_i - x_j <= c (Infinity: none). */
export function bound(z: Zone, i: number, j: number): number {
  return z[i * N + j];
}

/** Drops every fact about variable v. */
export function forget(z: Zone, v: number): void {
  for (let k = 0; k < N; k++) {
    z[v * N + k] = Infinity;
    z[k * N + v] = Infinity;
  }
  z[v * N + v] = 0;
}

/** x_d := x_s. */
export function copyVar(z: Zone, d: number, s: number): void {
  if (d === s) return;
  for (let k = 0; k < N; k++) {
    z[d * N + k] = z[s * N + k];
    z[k * N + d] = z[k * N + s];
  }
  z[d * N + d] = 0;
  z[d * N + s] = 0;
  z[s * N + d] = 0;
}

/** x_v := x_v + c. */
export function shiftVar(z: Zone, v: number, c: number): void {
  for (let k = 0; k < N; k++) {
    if (k === v) continue;
    z[v * N + k] = clamp(z[v * N + k] + c);
    z[k * N + v] = clamp(z[k * N + v] - c);
  }
}

/**
 * x_d := x_d + x_s, where x_d was in [dLo, dHi] and x_s in [sLo, sHi] (bounds may be infinite).
 * With `negate`, x_d := x_d - x_s.
 */
export function addVar(z: Zone, d: number, s: number, dLo: number, dHi: number, sLo: number, sHi: number, negate: boolean): void {
  if (d === s) {
    forget(z, d);
    return;
  }
  const row = new Float64Array(N);
  const col = new Float64Array(N);
  for (let x = 0; x < N; x++) {
    if (x === d) continue;
    if (!negate) {
      // d' - x = (d - x) + s = (s - x) + d.
      row[x] = Math.min(z[d * N + x] + sHi, x === s ? dHi : z[s * N + x] + dHi);
      col[x] = Math.min(z[x * N + d] - sLo, x === s ? -dLo : z[x * N + s] - dLo);
    } else {
      // d' - x = (d - x) - s.
      row[x] = z[d * N + x] - sLo;
      col[x] = z[x * N + d] + sHi;
    }
  }
  if (negate) {
    // d' - 0 = d - s; 0 - d' = s - d.
    row[ZERO] = Math.min(row[ZERO], z[d * N + s]);
    col[ZERO] = Math.min(col[ZERO], z[s * N + d]);
  }
  for (let x = 0; x < N; x++) {
    if (x === d) continue;
    z[d * N + x] = clamp(row[x]);
    z[x * N + d] = clamp(col[x]);
  }
  closeOver(z, d);
}

/** Restores closure after the row and column of v changed (the rest was closed). */
export function closeOver(z: Zone, v: number): void {
  for (let x = 0; x < N; x++) {
    let r = z[v * N + x];
    let c = z[x * N + v];
    for (let y = 0; y < N; y++) {
      const a = z[v * N + y] + z[y * N + x];
      if (a < r) r = a;
      const b = z[x * N + y] + z[y * N + v];
      if (b < c) c = b;
    }
    z[v * N + x] = clamp(r);
    z[x * N + v] = clamp(c);
  }
  for (let a = 0; a < N; a++) {
    const av = z[a * N + v];
    if (av === Infinity) continue;
    for (let b = 0; b < N; b++) {
      const t = clamp(av + z[v * N + b]);
      if (t < z[a * N + b]) z[a * N + b] = t;
    }
  }
}

/** Adds x_i - x_j <= c; false when that contradicts what is known (the path is infeasible). */
export function addConstraint(z: Zone, i: number, j: number, c: number): boolean {
  if (i === j) return c >= 0;
  if (!(c < z[i * N + j])) return true;
  if (c + z[j * N + i] < 0) return false;
  for (let a = 0; a < N; a++) {
    const ai = z[a * N + i];
    if (ai === Infinity) continue;
    for (let b = 0; b < N; b++) {
      const t = clamp(ai + c + z[j * N + b]);
      if (t < z[a * N + b]) z[a * N + b] = t;
    }
  }
  return true;
}

/** Full closure (Floyd-Warshall); false when the facts are contradictory. */
export function close(z: Zone): boolean {
  for (let k = 0; k < N; k++) {
    for (let a = 0; a < N; a++) {
      const ak = z[a * N + k];
      if (ak === Infinity) continue;
      for (let b = 0; b < N; b++) {
        const t = clamp(ak + z[k * N + b]);
        if (t < z[a * N + b]) z[a * N + b] = t;
      }
    }
  }
  for (let a = 0; a < N; a++) if (z[a * N + a] < 0) return false;
  return true;
}

/** Least upper bound of two closed zones (or, with `widen`, a's bounds that b did not loosen). */
export function joinZone(a: Zone, b: Zone, widen: boolean): Zone {
  const out = new Float64Array(N * N);
  for (let k = 0; k < N * N; k++) out[k] = widen ? (b[k] > a[k] ? Infinity : a[k]) : a[k] > b[k] ? a[k] : b[k];
  return out;
}

export function eqZone(a: Zone, b: Zone): boolean {
  for (let k = 0; k < N * N; k++) if (a[k] !== b[k]) return false;
  return true;
}
