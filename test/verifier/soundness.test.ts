// Variants of the red-team programs (../shared/verifier-tests/redteam), two or more per root
// cause: each unsafe shape is refused, and the safe shape next to it is still accepted, so the
// fix is the rule itself and not a match on one program.

import { test } from 'node:test';
import { LINUX_SCHED_CLS, LINUX_SOCKET_FILTER } from '../../src/program-types/base-rules.js';
import { verifierRules } from '../../src/program-types/rules.js';
import type { MapDescriptor, ProgramTypeRules, VerifierOptions } from '../../src/verifier/index.js';
import assert from 'node:assert/strict';
import { formatReport } from '../../src/verifier/index.js';
import { type MapsByFd, acceptsText, verifyText } from './assembled.js';

/** The rules programs load with (the built-in memset and friends included). */
const LINUX_XDP = verifierRules('xdp', 'linux') as ProgramTypeRules;
const EFW_XDP = verifierRules('xdp', 'efw') as ProgramTypeRules;

const accepts = (src: string, rules: ProgramTypeRules = LINUX_XDP, options?: VerifierOptions, mapOf?: MapsByFd): void => acceptsText(src, rules, options, mapOf);

/** Refused, the first error with `code` at the instruction whose text starts with `at`. */
function rejects(src: string, code: string, at: string, rules: ProgramTypeRules = LINUX_XDP, options?: VerifierOptions, mapOf?: MapsByFd): void {
  const report = verifyText(src, rules, options, mapOf);
  assert.ok(!report.ok, `expected ${code} at '${at}', but the program was accepted`);
  const first = report.errors[0];
  assert.ok(first.code === code && first.instruction.startsWith(at), `expected ${code} at '${at}':\n${formatReport(report)}`);
}

const XDP_HEAD = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r4 = r2
  r4 += 24
  if r4 > r3 goto <out>`;
const OUT = `
<out>:
  r0 = 2
  exit`;
const TERM = { termination: true } as const;

// ---- B1: 32-bit moves of pointers ---------------------------------------------------------------

test('B1: a 32-bit move keeps a packet pointer only while its offset is proven near the packet', () => {
  // data + V with V a u32 from the packet: may be 2^32 - 8 away, which the truncation wraps.
  rejects(`${XDP_HEAD}
  r5 = *(u32 *)(r2 + 16)
  r6 = r2
  r6 += r5
  w6 = w6${OUT}`, 'invalid-pointer-arithmetic', 'w6 = w6');
  // The same with V a byte: data + 255 is still an address, the move keeps it.
  accepts(`${XDP_HEAD}
  r5 = *(u8 *)(r2 + 16)
  r6 = r2
  r6 += r5
  w6 = w6
  r7 = r6
  r7 += 8
  if r7 > r3 goto <out>
  r0 = *(u64 *)(r6 + 0)${OUT}`);
  // A pointer before its object (data - 16) may be below address 0: truncation would wrap it.
  rejects(`${XDP_HEAD}
  r6 = r2
  r6 += -16
  w6 = w6${OUT}`, 'invalid-pointer-arithmetic', 'w6 = w6');
  // A stack pointer far below its frame.
  rejects(`
  r6 = r10
  r6 += -100000
  w6 = w6
  r0 = 2
  exit`, 'invalid-pointer-arithmetic', 'w6 = w6');
});

// ---- B2, B3: the zone and 32-bit pointer differences ---------------------------------------------

test('B2: w(data) - w(data_end) wraps to 2^32 - len; the zone does not record it as -len', () => {
  // Branch on it: both edges are analysed, so the store through a number is found.
  rejects(`${XDP_HEAD}
  r5 = r2
  w5 -= w3
  if r5 < 1500 goto <out>
  r1 = 4096
  *(u64 *)(r1 + 0) = r5${OUT}`, 'invalid-memory-access', '*(u64 *)(r1 + 0) = r5');
  // Used as an offset from data: not proven to lie in the packet.
  rejects(`${XDP_HEAD}
  r5 = r2
  w5 -= w3
  r6 = r2
  r6 += r5
  r0 = *(u8 *)(r6 + 0)${OUT}`, 'out-of-bounds-packet', 'r0 = *(u8 *)(r6 + 0)');
  // The other way round (data_end - data, the packet length) is an ordinary offset.
  accepts(`${XDP_HEAD}
  r5 = r3
  w5 -= w2
  r6 = r2
  r6 += r5
  r6 += -1
  r0 = *(u8 *)(r6 + 0)${OUT}`);
});

test('B3: contradictions between the zone and the intervals are never taken as proofs', () => {
  // Joins after the 32-bit difference: no packet size beyond the checked 24 bytes appears.
  let joins = '';
  for (let k = 1; k <= 6; k++) joins += `\n  if r6 == ${k} goto <j${k}>\n  r6 = 1\n<j${k}>:`;
  rejects(`${XDP_HEAD}
  r5 = r2
  w5 -= w3
  r6 = *(u32 *)(r2 + 0)${joins}
  r0 = *(u8 *)(r2 + 40)${OUT}`, 'out-of-bounds-packet', 'r0 = *(u8 *)(r2 + 40)');
  accepts(`${XDP_HEAD}
  r5 = r2
  w5 -= w3
  r6 = *(u32 *)(r2 + 0)${joins}
  r0 = *(u8 *)(r2 + 20)${OUT}`);
});

// ---- B6: comparisons of packet pointers that may wrap ---------------------------------------------

test('B6: packet pointers are ordered only when neither address can wrap below 0', () => {
  // data - 2^31 + 1 < data - 16 "always", but below address 0 it wraps: the other edge runs.
  rejects(`
  r2 = *(u32 *)(r1 + 0)
  r4 = r2
  r4 += -2147483647
  r5 = r2
  r5 += -16
  if r4 < r5 goto <out>
  r1 = 4096
  *(u64 *)(r1 + 0) = r4${OUT}`, 'invalid-memory-access', '*(u64 *)(r1 + 0) = r4');
  // Near the top: data + 0x7fffffff > data_end proves nothing about the packet's size either.
  rejects(`
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r4 = r3
  r4 += -8
  r5 = r2
  r5 += -2147483647
  if r5 > r4 goto <out>
  r0 = *(u8 *)(r2 + 0)${OUT}`, 'out-of-bounds-packet', 'r0 = *(u8 *)(r2 + 0)');
  // The ordinary bounds check still proves the packet's size.
  accepts(`${XDP_HEAD}
  r0 = *(u64 *)(r2 + 16)${OUT}`);
});

// ---- B4: atomics --------------------------------------------------------------------------------

const ARRAY: MapDescriptor = { name: 'counters', type: 2, keySize: 4, valueSize: 16, maxEntries: 1, readOnly: false };
const LOOKUP = `
  r1 = 0
  *(u32 *)(r10 - 4) = r1
  r2 = r10
  r2 += -4
  r1 = map_fd 1
  call 1
  if r0 == 0 goto <out>`;

test('B4: atomic operations need natural alignment on the stack and in map values', () => {
  rejects(`
  r1 = 0
  *(u64 *)(r10 - 16) = r1
  *(u64 *)(r10 - 8) = r1
  r1 = 1
  lock *(u64 *)(r10 - 12) += r1
  r0 = 2
  exit`, 'misaligned-access', 'lock *(u64 *)(r10 - 12)');
  rejects(`${LOOKUP}
  r1 = 1
  lock *(u32 *)(r0 + 2) += r1${OUT}`, 'misaligned-access', 'lock *(u32 *)(r0 + 2)', LINUX_XDP, {}, () => ARRAY);
  accepts(`${LOOKUP}
  r1 = 1
  lock *(u64 *)(r0 + 8) += r1
  lock *(u32 *)(r0 + 4) += r1${OUT}`, LINUX_XDP, {}, () => ARRAY);
});

// ---- B5, B12, B13: what helpers write ----------------------------------------------------------

const SPILL_CTX = `
  r6 = r1
  *(u64 *)(r10 - 8) = r1`;

test('B5: a helper write of variable size initialises only the bytes it always writes', () => {
  const memset = (n: string, read: string): string => `${SPILL_CTX}
  r1 = r10
  r1 += -8
  r2 = 0
  ${n}
  call 2147418113
  r0 = *(${read} *)(r10 - 8)
  r0 = 2
  exit`;
  // n is 0 or 8: the spilled pointer may still be there.
  rejects(memset('r3 = *(u8 *)(r6 + 12)\n  r3 &= 8', 'u64'), 'pointer-leak', 'r0 = *(u64 *)(r10 - 8)');
  // n in [4, 8]: the low 4 bytes are written on every outcome, the rest may keep the pointer.
  rejects(memset('r3 = *(u8 *)(r6 + 12)\n  r3 &= 4\n  r3 += 4', 'u64'), 'pointer-leak', 'r0 = *(u64 *)(r10 - 8)');
  accepts(memset('r3 = *(u8 *)(r6 + 12)\n  r3 &= 4\n  r3 += 4', 'u32').replace('r0 = *(u32 *)(r10 - 8)', 'r0 = *(u32 *)(r10 - 8)'));
  // An uninitialised buffer filled by a variable size is not all initialised either.
  rejects(`
  r3 = *(u8 *)(r1 + 12)
  r3 &= 8
  r1 = r10
  r1 += -16
  r2 = 0
  call 2147418113
  r0 = *(u64 *)(r10 - 16)
  r0 = 2
  exit`, 'uninitialized-stack', 'r0 = *(u64 *)(r10 - 16)');
});

const QUEUE: MapDescriptor = { name: 'q', type: 22, keySize: 0, valueSize: 8, maxEntries: 4, readOnly: false };

test('B13: map_pop_elem and map_peek_elem may write nothing (an empty queue)', () => {
  for (const helper of [87 + 1, 87 + 2]) {
    rejects(`
  r1 = map_fd 1
  r2 = r10
  r2 += -8
  call ${helper}
  r0 = *(u64 *)(r10 - 8)
  r0 = 2
  exit`, 'uninitialized-stack', 'r0 = *(u64 *)(r10 - 8)', LINUX_XDP, {}, () => QUEUE);
  }
  // Initialised first, read afterwards: fine whatever the queue holds.
  accepts(`
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r1 = map_fd 1
  r2 = r10
  r2 += -8
  call 88
  r0 = *(u64 *)(r10 - 8)
  r0 = 2
  exit`, LINUX_XDP, {}, () => QUEUE);
});


test('B12: ebpf-for-windows memcpy_s writes src_size bytes only when they fit in dst_size', () => {
  const copy = (dstSize: number, srcSize: number, read: number): string => `
  r1 = 0
  *(u64 *)(r10 - 32) = r1
  *(u64 *)(r10 - 24) = r1
  r1 = r10
  r1 += -16
  r2 = ${dstSize}
  r3 = r10
  r3 += -32
  r4 = ${srcSize}
  call 22
  r0 = *(u${read * 8} *)(r10 - 16)
  r0 = 1
  exit`;
  rejects(copy(8, 16, 8), 'uninitialized-stack', 'r0 = *(u64 *)(r10 - 16)', EFW_XDP);
  // 4 of 8 bytes copied: the other 4 are not written.
  rejects(copy(8, 4, 8), 'uninitialized-stack', 'r0 = *(u64 *)(r10 - 16)', EFW_XDP);
  accepts(copy(8, 8, 8), EFW_XDP);
  accepts(copy(16, 4, 4), EFW_XDP);
});

/** map_update_elem(map_fd 1, &0, 16 zero bytes, BPF_ANY). */
const UPDATE = `
  r1 = 0
  *(u32 *)(r10 - 4) = r1
  *(u64 *)(r10 - 24) = r1
  *(u64 *)(r10 - 16) = r1
  r1 = map_fd 1
  r2 = r10
  r2 += -4
  r3 = r10
  r3 += -24
  r4 = 0
  call 2
  r0 = 2
  exit`;

// ---- B8: spin locks ------------------------------------------------------------------------------

const LOCKED: MapDescriptor = { name: 'locked', type: 2, keySize: 4, valueSize: 16, maxEntries: 1, readOnly: false, spinLock: 4 };
const LOCKED_PLAIN: MapDescriptor = { ...LOCKED, name: 'plain', spinLock: undefined };
const lockMaps = (fd: number): MapDescriptor => (fd === 1 ? LOCKED : LOCKED_PLAIN);
const LOCK = `${LOOKUP}
  r6 = r0
  r1 = r6
  r1 += 4
  call 93`;
const UNLOCK = `
  r1 = r6
  r1 += 4
  call 94`;

test('B8: a bpf_spin_lock is the BTF-declared lock of one map value, and only the lock helpers touch it', () => {
  accepts(`${LOCK}
  r1 = *(u64 *)(r6 + 8)
  r1 += 1
  *(u64 *)(r6 + 8) = r1${UNLOCK}${OUT}`, LINUX_XDP, {}, lockMaps);
  // A store to the lock word (held or not).
  rejects(`${LOOKUP}
  r6 = r0
  r1 = 1
  *(u32 *)(r6 + 4) = r1${OUT}`, 'spin-lock', '*(u32 *)(r6 + 4) = r1', LINUX_XDP, {}, lockMaps);
  rejects(`${LOCK}
  r1 = 0
  *(u64 *)(r6 + 0) = r1${UNLOCK}${OUT}`, 'spin-lock', '*(u64 *)(r6 + 0) = r1', LINUX_XDP, {}, lockMaps);
  // Locking at another offset, or in a value without a declared lock.
  rejects(`${LOCK.replace('r1 += 4', 'r1 += 8')}${UNLOCK}${OUT}`, 'spin-lock', 'call 93', LINUX_XDP, {}, lockMaps);
  rejects(`${LOCK.replace('map_fd 1', 'map_fd 2')}${UNLOCK}${OUT}`, 'spin-lock', 'call 93', LINUX_XDP, {}, lockMaps);
  rejects(`${LOCK}
  call 5${UNLOCK}${OUT}`, 'spin-lock', 'call 5', LINUX_XDP, {}, lockMaps);
  // A helper buffer over the lock word.
  rejects(`${LOOKUP}
  r1 = r0
  r2 = 0
  r3 = 16
  call 2147418113${OUT}`, 'spin-lock', 'call 2147418113', LINUX_XDP, {}, lockMaps);
  // Updating a locked map's value with map_update_elem would overwrite the lock word.
  rejects(UPDATE, 'spin-lock', 'call 2', LINUX_XDP, {}, lockMaps);
});

test('B8: unlocking the lock of another lookup\'s value, or calling a function while locked, is refused', () => {
  // Two lookups of the same map: lock the first value, unlock the second's lock (same offset).
  rejects(`${LOOKUP}
  r7 = r0${LOOKUP}
  r6 = r0
  r1 = r7
  r1 += 4
  call 93${UNLOCK}${OUT}`, 'spin-lock', 'call 94', LINUX_XDP, {}, lockMaps);
  rejects(`${LOCK}
  call <f>${UNLOCK}${OUT}
<f>:
  r0 = 0
  exit`, 'spin-lock', 'call', LINUX_XDP, {}, lockMaps);
});

// ---- B9: loop deltas through copies --------------------------------------------------------------

test('B9: a copy of a register does not carry that register\'s progress since the loop head', () => {
  rejects(`
  r1 = 0
  r2 = 0
<loop>:
  r1 = r2
  r1 += 1
  if r1 > 100 goto <done>
  goto <loop>
<done>:
  r0 = 2
  exit`, 'unbounded-loop', 'r1 = r2', LINUX_XDP, TERM);
  // Two registers swapped every pass: neither moves towards a bound on every pass, so the ranking
  // proof (the summary after unrolling, here from the first pass) must fail. The loop does end
  // (r2 grows every other pass), and unrolled it is explored to its end and accepted.
  const swapped = `
  r1 = 0
  r2 = 1
<loop>:
  r3 = r1
  r1 = r2
  r2 = r3
  r2 += 1
  if r2 > 100 goto <done>
  goto <loop>
<done>:
  r0 = 2
  exit`;
  rejects(swapped, 'unbounded-loop', 'r3 = r1', LINUX_XDP, { ...TERM, unroll: { maxIterations: 1, maxSlots: 1 } });
  accepts(swapped, LINUX_XDP, TERM);
});

// ---- B10: format strings --------------------------------------------------------------------------

const FMT_S = `
  r1 = 29477
  *(u32 *)(r10 - 8) = r1
  r1 = r10
  r1 += -8
  r2 = 4`;

test('B10: %s needs a string whose NUL the verifier proves inside its object', () => {
  // %s with a number (an address read from the packet).
  rejects(`${XDP_HEAD}
  r3 = *(u32 *)(r2 + 0)${FMT_S}
  call 6${OUT}`, 'bad-helper-argument', 'call 6');
  // %s with a stack buffer the verifier knows nothing of (no NUL proven).
  rejects(`${XDP_HEAD}
  r3 = *(u64 *)(r2 + 0)
  *(u64 *)(r10 - 16) = r3
  r3 = r10
  r3 += -16${FMT_S}
  call 6${OUT}`, 'bad-helper-argument', 'call 6');
  // %s with a constant string on the stack: "hi\\0".
  accepts(`${XDP_HEAD}
  r4 = 0
  r3 = 26984
  *(u64 *)(r10 - 16) = r3
  r3 = r10
  r3 += -16${FMT_S}
  call 6${OUT}`);
  // A format that is not constant, and one with more conversions than arguments.
  rejects(`${XDP_HEAD}
  r3 = *(u32 *)(r2 + 0)
  *(u32 *)(r10 - 8) = r3
  r1 = r10
  r1 += -8
  r2 = 4
  call 6${OUT}`, 'bad-helper-argument', 'call 6');
  rejects(`${XDP_HEAD}
  r1 = 0x6425642564256425 ll
  *(u64 *)(r10 - 16) = r1
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r1 = r10
  r1 += -16
  r2 = 16
  r3 = 1
  r4 = 2
  r5 = 3
  call 6${OUT}`, 'bad-helper-argument', 'call 6');
});

// ---- B11: instruction classes ---------------------------------------------------------------------

test('B11: legacy packet loads only in socket filters and tc programs', () => {
  const ldabs = 'r6 = r1\n  r0 = *(u8 *)skb[0]\n  r0 = *(u16 *)skb[r0]\n  r0 = 0\n  exit';
  rejects(ldabs, 'instruction-not-allowed', 'r0 = *(u8 *)skb[0]', LINUX_XDP);
  rejects(ldabs, 'instruction-not-allowed', 'r0 = *(u8 *)skb[0]', verifierRules('cgroup_skb', 'linux'));
  accepts(ldabs, LINUX_SOCKET_FILTER);
  accepts(ldabs, LINUX_SCHED_CLS);
});

// ---- map permissions and pointer order --------------------------------------------------------------

test('read-only maps cannot be changed by helpers, and map-value pointers are not ordered', () => {
  const ro: MapDescriptor = { ...ARRAY, name: 'ro', readOnly: true };
  rejects(UPDATE, 'write-to-read-only', 'call 2', LINUX_XDP, {}, () => ro);
  rejects(`${LOOKUP}
  r6 = r0${LOOKUP}
  if r6 > r0 goto <out>${OUT}`, 'invalid-pointer-comparison', 'if r6 > r0', LINUX_XDP, {}, () => ARRAY);
  accepts(`${LOOKUP}
  r6 = r0${LOOKUP}
  if r6 > r0 goto <out>${OUT}`, LINUX_SCHED_CLS, { allowPointerLeaks: true }, () => ARRAY);
});

// ---- found while writing docs/verifier-soundness.md ------------------------------------------------

test('the distance between two packet pointers is a number only while it fits in 64 signed bits', () => {
  // p = data + a, q = data - b (a, b up to 2^63 - 1): p - q may wrap, so `p - q s<= 10` says
  // nothing about p's offset.
  rejects(`${XDP_HEAD}
  r5 = *(u64 *)(r2 + 0)
  r5 >>= 1
  r9 = *(u64 *)(r2 + 8)
  r9 >>= 1
  r6 = r2
  r6 += r5
  r7 = r2
  r7 -= r9
  r8 = r6
  r6 -= r7
  if r6 s> 10 goto <out>
  r0 = *(u64 *)(r8 + 0)${OUT}`, 'out-of-bounds-packet', 'r0 = *(u64 *)(r8 + 0)');
  // With small offsets the distance is exact and bounds the pointer.
  accepts(`${XDP_HEAD}
  r5 = *(u8 *)(r2 + 0)
  r6 = r2
  r6 += r5
  r8 = r6
  r6 -= r2
  if r6 s> 10 goto <out>
  r0 = *(u8 *)(r8 + 0)${OUT}`);
});

test('a pointer whose offset may cancel its object\'s address can be 0: both edges of `== 0` are analysed', () => {
  const bad = `
<bad>:
  r1 = 4096
  *(u64 *)(r1 + 0) = r1
  r0 = 2
  exit`;
  rejects(`${XDP_HEAD}
  r5 = *(u64 *)(r2 + 0)
  r6 = r2
  r6 += r5
  if r6 == 0 goto <bad>${OUT}${bad}`, 'invalid-memory-access', '*(u64 *)(r1 + 0) = r1');
  rejects(`
  r6 = r10
  r5 = *(u32 *)(r1 + 16)
  r6 -= r5
  if r6 == 0 goto <bad>${OUT}${bad}`, 'invalid-memory-access', '*(u64 *)(r1 + 0) = r1');
  // data + a byte is never 0: the edge cannot be taken.
  accepts(`${XDP_HEAD}
  r5 = *(u8 *)(r2 + 0)
  r6 = r2
  r6 += r5
  if r6 == 0 goto <bad>${OUT}${bad}`);
});

test('a legacy packet load may end the program, so none is allowed while a lock or a reservation is held', () => {
  const rules = verifierRules('socket_filter', 'linux') as ProgramTypeRules;
  const locked = `
  r6 = r1${LOCK}
  r0 = *(u8 *)skb[0]${UNLOCK}
  r0 = 0
  exit
<out>:
  r0 = 0
  exit`;
  rejects(locked, 'spin-lock', 'r0 = *(u8 *)skb[0]', rules, {}, lockMaps);
  const RINGBUF: MapDescriptor = { name: 'rb', type: 27, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false };
  rejects(`
  r6 = r1
  r1 = map_fd 1
  r2 = 8
  r3 = 0
  call 131
  if r0 == 0 goto <out>
  r7 = r0
  r0 = *(u8 *)skb[0]
  r1 = r7
  r2 = 0
  call 133
<out>:
  r0 = 0
  exit`, 'pointer-leak', 'r0 = *(u8 *)skb[0]', rules, {}, () => RINGBUF);
});
