// Random XDP programs in llvm-style assembly, built from snippets, one per area where the verifier
// has had soundness bugs (see ../shared/verifier-tests/redteam/README.md): packet pointers with
// offsets near 0 and ±2^31/2^32, 32-bit sub-registers of pointers, pointer differences used as
// offsets, comparisons of packet pointers, helpers that write a variable number of bytes (then
// stack reads, spilled pointers included), loops with copied counters, bounded packet loops, spin locks, misaligned
// atomics, legacy packet loads, and the patterns of test/verifier/differential.test.ts.
// Snippets are mixed at random and some are wrapped in a branch on a packet-derived number, so
// the verifier's joins, zone (relational domain) and path partitions get exercised.
// Conventions: r6 = the context for the whole program; every snippet starts with r2 = data and
// r3 = data_end and leaves them so (reloading after helper calls); `<out>` ends the program.

import type { Rng } from './rng.js';

/** The generator of one snippet: lines of assembly; `u` makes its labels unique. */
type Snippet = (r: Rng, u: number, g: Program) => string[];

interface Program {
  /** Set when a snippet calls the local function `<f>` (emitted after main). */
  calls: boolean;
}

const RELOAD = ['r2 = *(u32 *)(r6 + 0)', 'r3 = *(u32 *)(r6 + 4)'];
const SIZES = [8, 16, 32, 64];
/** Offsets near the places where 32- and 64-bit arithmetic wraps. */
const EDGE_IMMS = [0, 1, 8, 16, 24, -1, -8, -16, -24, 0x7fffffff, -0x7fffffff, -0x80000000, 0x7ffffff0, -0x7ffffff0, 0x40000000, -0x40000000];
const EDGE_WIDE = ['0xffffffff', '0xfffffff0', '0x100000000', '0x80000000', '0xffffffff00000000', '0x7fffffffffffffff', '0xfffffffffffffff0'];
const UNSIGNED_JUMPS = ['>', '>=', '<', '<='];
const ALL_JUMPS = ['>', '>=', '<', '<=', 's>', 's>=', 's<', 's<=', '==', '!='];

const width = (r: Rng): number => r.pick(SIZES);
const signedImm = (n: number): string => (n < 0 ? `-${-n}` : `${n}`);
/** `rD += K` for a constant K, through lddw when it does not fit an imm. */
function addConst(r: Rng, dst: string, tmp: string): string[] {
  if (r.chance(0.3)) return [`${tmp} = ${r.pick(EDGE_WIDE)} ll`, `${dst} += ${tmp}`];
  return [`${dst} += ${signedImm(r.pick(EDGE_IMMS))}`];
}
/** Ensure `n` packet bytes (jump to out otherwise), through r7. */
const ensure = (n: number): string[] => ['r7 = r2', `r7 += ${n}`, 'if r7 > r3 goto <out>'];
/** An access (read or write, any width) through `base` at a small offset. */
function access(r: Rng, base: string, maxOffset = 8): string {
  const w = width(r);
  const off = r.int(maxOffset + 1) - (r.chance(0.1) ? 4 : 0);
  const at = `*(u${w} *)(${base} ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
  return r.chance(0.6) ? `r0 = ${at}` : r.chance(0.5) ? `${at} = r0` : `${at} = r4`;
}
/** Code that must never run unchecked: accesses that are only safe on some packets. */
function unsafeBody(r: Rng): string[] {
  return [r.pick([
    'r0 = *(u8 *)(r2 + 40)', '*(u64 *)(r2 + 0) = r0', 'r0 = *(u64 *)(r4 + 0)', 'r0 = *(u64 *)(r5 - 8)',
    '*(u32 *)(r3 + 0) = r0', 'r0 = *(u64 *)(r9 + 0)', 'r0 = *(u64 *)(r10 - 504)', '*(u64 *)(r2 - 16) = r6',
  ])];
}

// ---- packet pointers with edge offsets, 32-bit sub-registers (B1) ----
const pointerOffset: Snippet = (r) => {
  const lines = ensure(r.pick([8, 16, 24, 32]));
  const src = r.int(4);
  if (src === 0) lines.push('r8 = r2', ...addConst(r, 'r8', 'r5'));
  else if (src === 1) {
    lines.push(`r5 = *(u${r.pick([8, 16, 32])} *)(r2 + ${r.int(5)})`);
    if (r.chance(0.3)) lines.push(r.pick(['r5 <<= 32', 'r5 s>>= 1', 'r5 |= 0x7fffff00', 'w5 += 0x7fffffff', 'r5 &= 0x7fffffff', 'r5 = -r5']));
    lines.push(r.chance(0.8) ? 'r8 = r2' : 'r8 = r3', 'r8 += r5');
  } else if (src === 2) lines.push('r5 = *(u32 *)(r6 + 12)', 'r8 = r2', 'r8 += r5');
  else lines.push('r8 = r2', `r8 += ${signedImm(r.pick(EDGE_IMMS))}`, ...addConst(r, 'r8', 'r5'));
  const trunc = r.int(6);
  if (trunc <= 1) lines.push('w8 = w8');
  else if (trunc === 2) lines.push(`w8 += ${signedImm(r.pick([0, 1, 16, -16, 0x7fffffff, -0x80000000]))}`);
  else if (trunc === 3) lines.push('r8 <<= 32', 'r8 >>= 32');
  if (r.chance(0.3)) lines.push(`if r8 ${r.pick(['<', 's<'])} r2 goto <out>`);
  const w = r.pick([1, 2, 4, 8, 16]);
  lines.push('r9 = r8', `r9 += ${w}`);
  if (r.chance(0.75)) lines.push(`if r9 ${r.pick(['>', 's>'])} r3 goto <out>`);
  else lines.push(`if r3 ${r.pick(['<', 's<'])} r9 goto <out>`);
  lines.push(access(r, 'r8', Math.max(0, w - 1)));
  return lines;
};

// ---- pointer differences, 32 and 64 bits, used as offsets or compared (B2) ----
const pointerDifference: Snippet = (r) => {
  const lines = ensure(r.pick([16, 24, 8]));
  lines.push(r.pick(['r5 = r2\nw5 -= w3', 'r5 = r3\nw5 -= w2', 'r5 = r2\nr5 -= r3', 'r5 = r3\nr5 -= r2', 'w5 = w3\nw5 -= w2']));
  if (r.chance(0.3)) lines.push(r.pick(['w5 += 16', 'r5 += 16', 'w5 += 0x7fffffff', 'r5 &= 0xff', 'r5 >>= 1', 'w5 = -w5', 'r5 = -r5']));
  if (r.chance(0.3)) lines.push(`if ${r.pick(['r', 'w'])}5 ${r.pick(ALL_JUMPS)} ${r.pick([0, 8, 16, 64, -16])} goto <out>`);
  lines.push(r.chance(0.7) ? 'r8 = r2' : 'r8 = r3', 'r8 += r5');
  if (r.chance(0.5)) lines.push('w8 = w8');
  if (r.chance(0.4)) lines.push('r9 = r8', `r9 += ${r.pick([1, 8, 16])}`, `if r9 > r3 goto <out>`);
  if (r.chance(0.25)) lines.push('if r8 < r2 goto <out>');
  lines.push(r.chance(0.85) ? access(r, 'r8', 8) : '*(u64 *)(r2 + 0) = r5');
  return lines.flatMap((l) => l.split('\n'));
};

// ---- comparisons between pointers into the packet with wrapped offsets (B6) ----
const pointerCompare: Snippet = (r, u) => {
  const lines: string[] = [];
  lines.push(r.chance(0.8) ? 'r4 = r2' : 'r4 = r3', ...addConst(r, 'r4', 'r9'));
  lines.push(r.chance(0.6) ? 'r5 = r2' : 'r5 = r3', `r5 += ${signedImm(r.pick(EDGE_IMMS))}`);
  if (r.chance(0.2)) lines.push(r.pick(['w4 = w4', 'w5 = w5']));
  const cmp = r.chance(0.3) ? 'w' : 'r';
  lines.push(`if ${cmp}4 ${r.pick(ALL_JUMPS)} ${cmp}5 goto <c${u}>`);
  const body = unsafeBody(r);
  if (r.chance(0.5)) {
    lines.push(...body, 'goto <out>', `<c${u}>:`);
  } else {
    lines.push(`goto <d${u}>`, `<c${u}>:`, ...body, 'goto <out>', `<d${u}>:`);
  }
  return lines;
};

// ---- helpers that write a variable number of bytes, then stack reads (B5, B5b) ----
const variableHelper: Snippet = (r) => {
  const lines = [...ensure(16), 'r8 = r2'];
  const slot = r.pick([8, 16]);
  const spill = r.int(4);
  if (spill === 0) lines.push(`*(u64 *)(r10 - ${slot}) = r6`);
  else if (spill === 1) lines.push(`*(u64 *)(r10 - ${slot}) = r8`);
  else if (spill === 2) lines.push('r4 = 0', `*(u64 *)(r10 - ${slot}) = r4`);
  lines.push(r.pick(['r3 = *(u8 *)(r8 + 0)\nr3 &= 8', 'r3 = *(u8 *)(r8 + 1)\nr3 &= 7', `r3 = ${r.pick([0, 8, slot])}`, 'r3 = *(u8 *)(r8 + 2)\nif r3 > 8 goto <out>']));
  lines.push('r1 = r10', `r1 += -${slot}`);
  const which = r.int(3);
  if (which === 0) lines.push(`r2 = ${r.int(256)}`, 'call 2147418113');
  else if (which === 1) lines.push('r4 = 0', '*(u64 *)(r10 - 32) = r4', '*(u64 *)(r10 - 24) = r4', 'r2 = r10', 'r2 += -32', `call ${r.pick([2147418114, 2147418115])}`);
  else lines.push('r2 = r8', 'call 2147418114');
  lines.push(`r0 = *(u${r.pick([64, 64, 32, 8])} *)(r10 - ${slot})`);
  lines.push(r.pick(['*(u64 *)(r8 + 8) = r0', '*(u32 *)(r8 + 4) = r0', 'r0 &= 1']));
  return [...lines.flatMap((l) => l.split('\n')), ...RELOAD];
};

// ---- queue pop/peek into the stack, the queue maybe empty (B13) ----
const queueHelper: Snippet = (r, u) => {
  const lines = [...ensure(16), 'r8 = r2'];
  const spill = r.int(3);
  if (spill === 0) lines.push('*(u64 *)(r10 - 8) = r6');
  else if (spill === 1) lines.push('r4 = 7', '*(u64 *)(r10 - 8) = r4');
  if (r.chance(0.2)) lines.push('r4 = 9', '*(u64 *)(r10 - 16) = r4', 'r1 = map_fd 3 ll', 'r2 = r10', 'r2 += -16', 'r3 = 0', 'call 87');
  lines.push('r1 = map_fd 3 ll', 'r2 = r10', 'r2 += -8', `call ${r.pick([88, 89])}`);
  const checked = r.chance(0.4);
  if (checked) lines.push(`if r0 != 0 goto <q${u}>`);
  lines.push('r1 = *(u64 *)(r10 - 8)', r.pick(['*(u64 *)(r8 + 8) = r1', 'r0 = r1\nr0 &= 3']));
  if (checked) lines.push(`<q${u}>:`);
  return [...lines.flatMap((l) => l.split('\n')), ...RELOAD];
};

// ---- bpf_snprintf into the stack with a format from the read-only map ----
const snprintf: Snippet = (r) => {
  const lines = [...ensure(8), 'r8 = r2', 'r4 = *(u32 *)(r8 + 0)', '*(u64 *)(r10 - 24) = r4', '*(u64 *)(r10 - 32) = r4'];
  const size = r.pick([0, 1, 4, 8, 16]);
  // rodata: "%llx-%d" at 0 takes 16 bytes of arguments, "%llx" at 8 takes 8; rarely mismatched.
  const [format, data] = r.chance(0.9) ? r.pick([[0, 16], [8, 8], [8, 16]]) : r.pick([[0, 8], [8, 0], [0, 0]]);
  lines.push('r1 = r10', `r1 += -${size > 8 ? 16 : 8}`, `r2 = ${size}`, `r3 = map_value[fd:4] + ${format} ll`, 'r4 = r10', 'r4 += -32', `r5 = ${data}`, 'call 165');
  lines.push(`r0 = *(u${r.pick([8, 64])} *)(r10 - ${size > 8 ? 16 : 8})`, r.pick(['*(u64 *)(r8 + 0) = r0', 'r0 &= 1']));
  return [...lines, ...RELOAD];
};

// ---- loops whose counter is a copy (B9) ----
const copiedCounter: Snippet = (r, u) => {
  const lines = [r.chance(0.7) ? 'r8 = 0' : 'r8 = *(u32 *)(r6 + 12)', 'r7 = 0', `<l${u}>:`];
  const form = r.int(5);
  if (form === 0) lines.push('r7 = r8', 'r7 += 1');
  else if (form === 1) lines.push('r7 = r8', 'r7 += 1', 'r8 = r7');
  else if (form === 2) lines.push('r8 += 1', 'r7 = r8');
  else if (form === 3) lines.push('r7 = r8', 'r8 += 1', 'r7 += 1');
  else lines.push('w7 = w8', 'w7 += 1', ...(r.chance(0.5) ? ['w8 = w7'] : []));
  lines.push(`if ${r.chance(0.8) ? 'r' : 'w'}7 ${r.pick(['>', '>=', 's>', '=='])} ${r.pick([2, 10, 100])} goto <e${u}>`, `goto <l${u}>`, `<e${u}>:`);
  return lines;
};

// ---- bounded loops over the packet, as clang emits them (unrolled or summarised, issue 10) ----
const packetLoop: Snippet = (r, u) => {
  const step = r.pick([1, 1, 2, 3, -1, 16]);
  const start = step > 0 ? r.int(4) : 20 + r.int(40);
  const op = step > 0 ? r.pick(['<', '<=', '!=', 's<']) : r.pick(['>', '>=', '!=', 's>']);
  const bound = op === '!=' ? start + step * (1 + r.int(40)) : step > 0 ? start + 1 + r.int(80) : r.int(8);
  const w = r.pick([1, 2, 4, 8]);
  const off = r.int(3);
  // Usually the check covers the access; sometimes it is one short (then the loop must be refused).
  const checked = off + w - (r.chance(0.2) ? 1 : 0);
  const lines = [`r8 = ${start}`, 'r9 = r2', `<l${u}>:`];
  if (r.chance(0.5)) lines.push('r9 = r8', `r9 &= ${r.pick([63, 127])}`, 'r9 += r2');
  lines.push('r7 = r9', `r7 += ${checked}`, 'if r7 > r3 goto <out>', r.chance(0.7) ? `r0 = *(u${8 * w} *)(r9 + ${off})` : `*(u${8 * w} *)(r9 + ${off}) = r8`);
  if (r.chance(0.5)) lines.push(`r9 += ${1 + r.int(4)}`);
  lines.push(`r8 += ${step}`, `if ${r.chance(0.3) ? 'w' : 'r'}8 ${op} ${bound} goto <l${u}>`);
  return lines;
};

// ---- spin locks on a map value: plain stores to the lock word, unlocking another word (B8) ----
const spinLock: Snippet = (r, u) => {
  const lines = ['r1 = 0', '*(u32 *)(r10 - 4) = r1', 'r2 = r10', 'r2 += -4', 'r1 = map_fd 1 ll', 'call 1', `if r0 == 0 goto <s${u}>`, 'r7 = r0'];
  const lock = r.pick([0, 0, 4, 8]);
  const at = (o: number): string[] => (o === 0 ? ['r1 = r7'] : ['r1 = r7', `r1 += ${o}`]);
  if (r.chance(0.25)) lines.push('r1 = 1', `*(u32 *)(r7 + ${lock}) = r1`);
  lines.push(...at(lock), 'call 93');
  if (r.chance(0.5)) lines.push(r.pick(['r1 = *(u64 *)(r7 + 8)\nr1 += 1\n*(u64 *)(r7 + 8) = r1', `r1 = 0\n*(u32 *)(r7 + ${lock}) = r1`, `r1 = 1\n*(u32 *)(r7 + ${lock}) = r1`]));
  lines.push(...at(r.chance(0.75) ? lock : r.pick([0, 4, 8, 12])), 'call 94');
  if (r.chance(0.3)) lines.push(...at(lock), 'call 93', ...at(lock), 'call 94');
  lines.push(`<s${u}>:`);
  return [...lines.flatMap((l) => l.split('\n')), ...RELOAD];
};

// ---- atomics, aligned or not, on the stack, a map value or the packet (B4) ----
const atomic: Snippet = (r, u) => {
  const w = r.pick([32, 64]);
  const off = r.pick([0, 0, 1, 2, 4, 6]);
  const op = r.pick(['+=', '|=', '&=', '^=']);
  const fetch = r.chance(0.3) ? ' fetch' : '';
  const where = r.int(3);
  if (where === 0) {
    return ['r4 = 0', '*(u64 *)(r10 - 16) = r4', '*(u64 *)(r10 - 8) = r4', 'r1 = 1', `lock *(u${w} *)(r10 - ${16 - off}) ${op} r1${fetch}`];
  }
  if (where === 1) {
    return ['r1 = 0', '*(u32 *)(r10 - 4) = r1', 'r2 = r10', 'r2 += -4', 'r1 = map_fd 1 ll', 'call 1', `if r0 == 0 goto <a${u}>`,
      'r1 = 1', `lock *(u${w} *)(r0 + ${off}) ${op} r1${fetch}`, `<a${u}>:`, ...RELOAD];
  }
  return [...ensure(16), 'r1 = 1', `lock *(u${w} *)(r2 + ${off}) ${op} r1${fetch}`];
};

// ---- legacy packet loads in XDP (B11) ----
const legacyLoad: Snippet = (r) => [r.chance(0.5) ? `r0 = *(u${r.pick([8, 16, 32])} *)skb[${r.int(16)}]` : `r7 = ${r.int(8)}\nr0 = *(u8 *)skb[r7 + ${r.int(8)}]`, ...RELOAD]
  .flatMap((l) => l.split('\n'));

// ---- map values: lookups with a packet-chosen key, constant and variable offsets ----
const mapValue: Snippet = (r, u) => {
  const lines = [...ensure(8), 'r8 = r2', `r1 = ${r.chance(0.5) ? r.int(6) : '*(u8 *)(r8 + 0)'}`];
  if (lines[lines.length - 1].includes('r8')) lines.push('r1 &= 7');
  lines.push('*(u32 *)(r10 - 4) = r1', 'r2 = r10', 'r2 += -4', `r1 = map_fd ${r.pick([1, 1, 2])} ll`, 'call 1', `if r0 == 0 goto <m${u}>`);
  if (r.chance(0.4)) lines.push('r5 = *(u8 *)(r8 + 1)', `r5 &= ${r.pick([7, 15, 31])}`, 'r0 += r5');
  lines.push(access(r, 'r0', 16), `<m${u}>:`);
  if (r.chance(0.2)) lines.push(`r9 = map_value[fd:${r.pick([1, 2])}] + ${r.pick([0, 8, 12])} ll`, access(r, 'r9', 8));
  return [...lines, ...RELOAD];
};

// ---- the patterns of test/verifier/differential.test.ts ----
const boundedAccess: Snippet = (r) => {
  const n = r.int(40);
  return ['r7 = r2', `r7 += ${n}`, `if r7 ${r.pick(['>', '>=', 's>'])} r3 goto <out>`, access(r, 'r2', Math.max(0, n - 1))];
};
const variableOffset: Snippet = (r) => [...ensure(20), `r4 = *(u8 *)(r2 + ${r.int(20)})`, `r4 &= ${r.pick([7, 15, 63])}`, 'r8 = r2', 'r8 += r4',
  'r9 = r8', `r9 += ${r.int(12)}`, `if r9 ${r.pick(UNSIGNED_JUMPS.slice(0, 2))} r3 goto <out>`, access(r, 'r8', 9)];
const fromEnd: Snippet = (r) => ['r7 = r3', `r7 -= ${r.int(30)}`, `if r7 < r2 goto <out>`, `r0 = *(u8 *)(r7 + ${r.int(4)})`];
const stackSpill: Snippet = (r) => {
  const w = width(r) / 8;
  const slot = w * (1 + r.int(8));
  if (r.chance(0.5)) return [`*(u${8 * w} *)(r10 - ${slot}) = r0`, `r5 = *(u${8 * width(r)} *)(r10 - ${r.chance(0.8) ? slot : slot + w})`];
  return [...ensure(8), '*(u64 *)(r10 - 8) = r2', 'r8 = *(u64 *)(r10 - 8)', access(r, 'r8', 7)];
};
const scalarStackOffset: Snippet = (r) => {
  const w = r.chance(0.5) ? 'r' : 'w';
  const lines = ['r0 = *(u32 *)(r6 + 12)', `r5 = *(u${r.pick([8, 16, 32])} *)(r6 + 16)`];
  for (let k = 0; k < 1 + r.int(3); k++) lines.push(`${w}0 ${r.pick(['+=', '-=', '*=', '&=', '|=', '^=', '<<=', '>>=', 's>>=', '/=', '%='])} ${r.chance(0.5) ? `${w}5` : r.int(70) - 5}`);
  lines.push(`if ${w}0 ${r.pick(ALL_JUMPS)} ${r.int(80) - 10} goto <out>`);
  if (r.chance(0.5)) lines.push(`if ${w}0 ${r.pick(ALL_JUMPS.slice(0, 8))} ${r.int(80) - 10} goto <out>`);
  lines.push('r4 = 0');
  for (let k = 0; k < 8; k++) lines.push(`*(u64 *)(r10 - ${8 * (k + 1)}) = r4`);
  lines.push('r8 = r10', 'r8 += -64', 'r8 += r0', 'r5 = *(u8 *)(r8 + 0)');
  return lines;
};
const flagJoin: Snippet = (r, u) => ['r7 = r2', `r7 += ${r.int(40)}`, `if r7 > r3 goto <b${u}>`, 'r9 = 0', `goto <j${u}>`, `<b${u}>:`, `r9 = ${r.pick([-22, 1, 0])}`,
  `<j${u}>:`, `if ${r.pick(['r', 'w'])}9 ${r.pick(['!=', '==', 's<'])} 0 goto <out>`, access(r, 'r2', 38)];
const localCall: Snippet = (r, _u, g) => {
  g.calls = true;
  return ['r4 = 0', '*(u64 *)(r10 - 16) = r4', '*(u64 *)(r10 - 8) = r4', 'r1 = r10', `r1 += -${8 * (1 + r.int(2))}`, 'call <f>', ...RELOAD];
};
const scalarNoise: Snippet = (r) => [r.chance(0.5) ? `r0 ${r.pick(['+=', '-=', '*=', '&=', '|=', '^=', '<<=', '>>='])} ${r.int(100)}` : `if r0 ${r.pick(['==', '>', '<'])} ${r.int(8)} goto <out>`];

const SNIPPETS: readonly (readonly [Snippet, number])[] = [
  [pointerOffset, 5], [pointerDifference, 5], [pointerCompare, 5], [variableHelper, 4], [queueHelper, 3], [snprintf, 1],
  [copiedCounter, 2], [packetLoop, 2], [spinLock, 2], [atomic, 1], [legacyLoad, 0.3], [mapValue, 3], [boundedAccess, 2], [variableOffset, 2],
  [fromEnd, 1], [stackSpill, 2], [scalarStackOffset, 1], [flagJoin, 1], [localCall, 1], [scalarNoise, 2],
];
const TOTAL_WEIGHT = SNIPPETS.reduce((s, [, w]) => s + w, 0);

function pickSnippet(r: Rng): Snippet {
  let x = r.u32() / 2 ** 32 * TOTAL_WEIGHT;
  for (const [s, w] of SNIPPETS) {
    x -= w;
    if (x < 0) return s;
  }
  return SNIPPETS[0][0];
}

/** A condition on a packet- or context-derived number, for wrapping a snippet in a branch. */
function branchOn(r: Rng, u: number): string[] {
  if (r.chance(0.5)) return ['r9 = *(u32 *)(r6 + 12)', `if r9 ${r.pick(ALL_JUMPS)} ${r.int(8)} goto <k${u}>`];
  return [...ensure(1), 'r9 = *(u8 *)(r2 + 0)', `if r9 ${r.pick(ALL_JUMPS)} ${r.pick([0, 1, 0x7f, 0x80, 0xff])} goto <k${u}>`];
}

/** One random program: a prologue, 1-4 snippets (some inside branches), `<out>`, maybe `<f>`. */
export function randomProgram(r: Rng): string {
  const g: Program = { calls: false };
  const lines = ['r6 = r1', ...RELOAD, 'r0 = 0', 'r4 = 0', 'r5 = 0'];
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const body = pickSnippet(r)(r, i, g);
    if (r.chance(0.25)) lines.push(...branchOn(r, i), ...body, `<k${i}>:`);
    else lines.push(...body);
  }
  lines.push('<out>:', 'r0 = 2', 'exit');
  if (g.calls) {
    lines.push('<f>:', `r0 = *(u${width(r)} *)(r1 + ${r.int(16) - 8})`, 'r2 = 7', `*(u64 *)(r10 - ${8 * (1 + r.int(4))}) = r2`,
      `r0 = *(u64 *)(r10 - ${8 * (1 + r.int(4))})`, 'exit');
  }
  return lines.join('\n');
}
