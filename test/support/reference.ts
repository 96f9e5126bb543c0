// An independent model of RFC 9669 arithmetic and comparisons on BigInt, written from the RFC's
// text (not from the interpreter), for differential tests at edge values.

const mask = (bits: number): bigint => (1n << BigInt(bits)) - 1n;
const u = (v: bigint, bits: number): bigint => BigInt.asUintN(bits, v);
const s = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);

/** Truncating signed division, as C does. */
function sdivTrunc(a: bigint, b: bigint): bigint {
  return a / b; // BigInt division truncates toward zero
}

/**
 * Result (unsigned 64-bit) of ALU operation `op` of `width` bits on dst and the second operand
 * `x` (for immediates, the caller passes imm sign-extended to 64 bits, as RFC 9669 §4.1 says).
 */
export function referenceAlu(op: string, width: 32 | 64, dst: bigint, x: bigint): bigint {
  const a = u(dst, width);
  const b = u(x, width);
  const n = width;
  let r: bigint;
  switch (op) {
    case 'add': r = a + b; break;
    case 'sub': r = a - b; break;
    case 'mul': r = a * b; break;
    case 'div': r = b === 0n ? 0n : a / b; break;
    case 'sdiv': r = b === 0n ? 0n : sdivTrunc(s(a, n), s(b, n)); break;
    case 'mod': r = b === 0n ? a : a % b; break;
    case 'smod': r = b === 0n ? a : s(a, n) - sdivTrunc(s(a, n), s(b, n)) * s(b, n); break;
    case 'or': r = a | b; break;
    case 'and': r = a & b; break;
    case 'xor': r = a ^ b; break;
    case 'lsh': r = a << (b & BigInt(n - 1)); break;
    case 'rsh': r = a >> (b & BigInt(n - 1)); break;
    case 'arsh': r = s(a, n) >> (b & BigInt(n - 1)); break;
    case 'neg': r = -a; break;
    case 'mov': r = b; break;
    case 'movsx8': r = s(x, 8); break;
    case 'movsx16': r = s(x, 16); break;
    case 'movsx32': r = s(x, 32); break;
    default: throw new Error(`no reference for ${op}`);
  }
  return u(u(r, n) & mask(n), 64);
}

function bswap(v: bigint, bits: number): bigint {
  let out = 0n;
  for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Byte-order operations on a little-endian machine. */
export function referenceEndian(op: string, bits: number, dst: bigint): bigint {
  const low = u(dst, bits);
  return op === 'le' ? low : bswap(low, bits);
}

/** Whether a conditional jump is taken. */
export function referenceJump(op: string, width: 32 | 64, dst: bigint, x: bigint): boolean {
  const a = u(dst, width);
  const b = u(x, width);
  const sa = s(a, width);
  const sb = s(b, width);
  switch (op) {
    case 'jeq': return a === b;
    case 'jne': return a !== b;
    case 'jgt': return a > b;
    case 'jge': return a >= b;
    case 'jlt': return a < b;
    case 'jle': return a <= b;
    case 'jsgt': return sa > sb;
    case 'jsge': return sa >= sb;
    case 'jslt': return sa < sb;
    case 'jsle': return sa <= sb;
    case 'jset': return (a & b) !== 0n;
    default: throw new Error(`no reference for ${op}`);
  }
}

/** 64-bit edge values: zero, ±1, the 32- and 64-bit signed limits and the 2^32 boundary. */
export const EDGE64: readonly bigint[] = [
  0n, 1n, 2n, 7n, 31n, 32n, 33n, 63n, 64n, 65n, 0x7fffn, 0x8000n, 0xffffn,
  0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1ffffffffn,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffff00000000n, 0xffffffff80000000n,
  0xfffffffffffffffen, 0xffffffffffffffffn, 0x123456789abcdef0n, 0xfedcba9876543210n,
];

/** 32-bit immediate edge values (signed, as stored in the imm field). */
export const EDGE_IMM: readonly number[] = [
  0, 1, -1, 2, -2, 7, 31, 32, 33, 63, 64, 65, 0x7fff, -0x8000, 0xffff, 0x7fffffff, -0x80000000, -0x7fffffff, 0x12345678,
];
