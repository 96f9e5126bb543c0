// Seeded property tests: every concrete result of an operation on values drawn from two abstract
// numbers must lie in the abstract result (both the signed and the unsigned view).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BinOp, type Num, binop, itv, normalize, signExtend, truncate, wrap } from '../../src/verifier/domain/interval.js';
import { type Rel, numericRefine } from '../../src/verifier/transfer.js';
import { seededRandom } from '../support/random.js';

const rng = seededRandom;

const SEED = Number(process.env.VERIFIER_SEED ?? 20261123);
const EDGES = [0n, 1n, 2n, 7n, 255n, 256n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

function randomValue(r: () => number, bits: number): bigint {
  const pick = r();
  if (pick < 0.4) return BigInt.asUintN(bits, EDGES[Math.floor(r() * EDGES.length)] + BigInt(Math.floor(r() * 5)) - 2n);
  if (pick < 0.7) return BigInt.asUintN(bits, BigInt(Math.floor(r() * 200)) - 100n);
  let v = 0n;
  for (let i = 0; i < bits / 16; i++) v = (v << 16n) | BigInt(Math.floor(r() * 65536));
  return v;
}

/** An abstract number containing the given concrete (unsigned) values. */
function around(values: bigint[], bits: number): Num {
  let lo = values[0];
  let hi = values[0];
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const s = values.map((v) => BigInt.asIntN(bits, v));
  let slo = s[0];
  let shi = s[0];
  for (const v of s) {
    if (v < slo) slo = v;
    if (v > shi) shi = v;
  }
  const n = normalize({ s: itv(slo, shi), u: itv(lo, hi) }, bits);
  assert.ok(n !== undefined);
  return n;
}

function concrete(op: BinOp, a: bigint, b: bigint, bits: number): bigint {
  const mask = BigInt(bits - 1);
  const sa = BigInt.asIntN(bits, a);
  const sb = BigInt.asIntN(bits, b);
  switch (op) {
    case 'add': return BigInt.asUintN(bits, a + b);
    case 'sub': return BigInt.asUintN(bits, a - b);
    case 'mul': return BigInt.asUintN(bits, a * b);
    case 'div': return b === 0n ? 0n : a / b;
    case 'mod': return b === 0n ? a : a % b;
    case 'sdiv': return b === 0n ? 0n : BigInt.asUintN(bits, sa / sb);
    case 'smod': return b === 0n ? a : BigInt.asUintN(bits, sa % sb);
    case 'and': return a & b;
    case 'or': return a | b;
    case 'xor': return a ^ b;
    case 'lsh': return BigInt.asUintN(bits, a << (b & mask));
    case 'rsh': return a >> (b & mask);
    case 'arsh': return BigInt.asUintN(bits, sa >> (b & mask));
  }
}

const contains = (n: Num, v: bigint, bits: number): boolean => {
  const s = BigInt.asIntN(bits, v);
  return n.u.lo <= v && v <= n.u.hi && n.s.lo <= s && s <= n.s.hi;
};

const OPS: BinOp[] = ['add', 'sub', 'mul', 'div', 'mod', 'sdiv', 'smod', 'and', 'or', 'xor', 'lsh', 'rsh', 'arsh'];

test(`interval arithmetic contains every concrete result (seed ${SEED})`, () => {
  const r = rng(SEED);
  for (let iter = 0; iter < 3000; iter++) {
    const bits = r() < 0.5 ? 32 : 64;
    const op = OPS[iter % OPS.length];
    const as = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, bits));
    const bs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, bits));
    const a = around(as, bits);
    const b = around(bs, bits);
    const out = binop(op, a, b, bits);
    for (const x of as) {
      for (const y of bs) {
        const v = concrete(op, x, y, bits);
        assert.ok(contains(out, v, bits), `seed ${SEED} iter ${iter}: ${x} ${op} ${y} = ${v} not in s=[${out.s.lo}, ${out.s.hi}] u=[${out.u.lo}, ${out.u.hi}] (${bits}-bit)`);
      }
    }
  }
});

test('truncation and wrapping keep the low bits', () => {
  const r = rng(SEED + 1);
  for (let iter = 0; iter < 2000; iter++) {
    const vs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, 64));
    const n = truncate(around(vs, 64), 32);
    for (const v of vs) assert.ok(contains(n, BigInt.asUintN(32, v), 32), `truncate ${v}`);
  }
  assert.deepEqual(wrap(-3n, -1n, 64).u, itv((1n << 64n) - 3n, (1n << 64n) - 1n));
});

const RELS: Rel[] = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset', 'jnset'];

function holds(rel: Rel, a: bigint, b: bigint, bits: number): boolean {
  const x = BigInt.asUintN(bits, a);
  const y = BigInt.asUintN(bits, b);
  const sx = BigInt.asIntN(bits, x);
  const sy = BigInt.asIntN(bits, y);
  switch (rel) {
    case 'jeq': return x === y;
    case 'jne': return x !== y;
    case 'jgt': return x > y;
    case 'jge': return x >= y;
    case 'jlt': return x < y;
    case 'jle': return x <= y;
    case 'jsgt': return sx > sy;
    case 'jsge': return sx >= sy;
    case 'jslt': return sx < sy;
    case 'jsle': return sx <= sy;
    case 'jset': return (x & y) !== 0n;
    case 'jnset': return (x & y) === 0n;
  }
}

test(`branch refinement keeps every pair of values that satisfies the condition (seed ${SEED})`, () => {
  const r = rng(SEED + 2);
  for (let iter = 0; iter < 4000; iter++) {
    const bits = r() < 0.5 ? 32 : 64;
    const rel = RELS[iter % RELS.length];
    // 64-bit values even for 32-bit comparisons: only their low halves are compared.
    const as = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, 64));
    const bs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, 64));
    const a = around(as, 64);
    const b = around(bs, 64);
    const out = numericRefine(rel, a, b, bits);
    for (const x of as) {
      for (const y of bs) {
        if (!holds(rel, x, y, bits)) continue;
        assert.ok(out !== undefined, `seed ${SEED} iter ${iter}: ${x} ${rel} ${y} (${bits}) holds but the edge was pruned`);
        assert.ok(contains(out[0], x, 64) && contains(out[1], y, 64), `seed ${SEED} iter ${iter}: ${x} ${rel} ${y} (${bits}) lost`);
      }
    }
  }
});

test('sign extension of the low 8, 16 and 32 bits contains every concrete result', () => {
  const r = rng(SEED + 3);
  for (let iter = 0; iter < 2000; iter++) {
    const k = [8, 16, 32][iter % 3];
    const vs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, 64));
    const n = signExtend(truncate(around(vs, 64), k), k);
    for (const v of vs) {
      const want = BigInt.asUintN(64, BigInt.asIntN(k, v));
      assert.ok(contains(n, want, 64), `(s${k})${v}`);
    }
  }
});
