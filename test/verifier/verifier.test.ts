import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { type MapDescriptor, type MapRef, type ProgramTypeRules, type VerificationReport, type VerifierOptions, formatReport, verify } from '../../src/verifier/index.js';
import { EFW_XDP, GENERIC, LINUX_SCHED_CLS, LINUX_SOCKET_FILTER, LINUX_XDP } from '../../src/program-types/base-rules.js';
import { acceptsText, rejectsText, verifyText } from './assembled.js';

const HASH: MapDescriptor = { name: 'counters', type: 1, keySize: 4, valueSize: 8, maxEntries: 16, readOnly: false };

/** Every `map_fd` names `map` (HASH unless told). */
function run(src: string, rules: ProgramTypeRules = LINUX_XDP, options: VerifierOptions = {}, map: MapDescriptor = HASH): VerificationReport {
  return verifyText(src, rules, options, () => map);
}

const withHash = (): MapDescriptor => HASH;
const accepts = (src: string, rules?: ProgramTypeRules, options?: VerifierOptions): void => acceptsText(src, rules, options, withHash);
const rejects = (src: string, code: string, pc: number, rules?: ProgramTypeRules, options?: VerifierOptions): void => rejectsText(src, code, pc, rules, options, withHash);

const PARSE_ETH = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r4 = r2
  r4 += 14
  if r4 > r3 goto <drop>
  r0 = *(u16 *)(r2 + 12)
  if r0 != 8 goto <pass>
  r0 = 2
  exit
<pass>:
  r0 = 2
  exit
<drop>:
  r0 = 1
  exit`;

test('an XDP program that checks data + 14 <= data_end before reading the ethertype is accepted', () => {
  accepts(PARSE_ETH);
});

test('the same XDP program without the bounds check is rejected with out-of-bounds-packet', () => {
  const unchecked = PARSE_ETH.replace('  r4 = r2\n  r4 += 14\n  if r4 > r3 goto <drop>\n', '');
  rejects(unchecked, 'out-of-bounds-packet', 2);
  const report = run(unchecked);
  assert.ok(!report.ok);
  assert.match(report.errors[0].message, /2 bytes at offset 12 needs data \+ 14 <= data_end, but the bounds checks on this path only prove data \+ 0 <= data_end/);
  assert.equal(report.errors[0].instruction, 'r0 = *(u16 *)(r2 + 12)');
  assert.match(report.errors[0].registers.r2, /packet/);
});

test('a read one byte past the checked packet range is rejected', () => {
  rejects(PARSE_ETH.replace('*(u16 *)(r2 + 12)', '*(u16 *)(r2 + 13)'), 'out-of-bounds-packet', 5);
});

test('a register that was never written is rejected when used', () => {
  rejects('r0 = 0\nr0 += r2\nexit', 'uninitialized-register', 1);
});

test('reading stack bytes that were never written is rejected', () => {
  rejects('r2 = r10\nr2 += -8\nr0 = *(u64 *)(r2 + 0)\nexit', 'uninitialized-stack', 2);
  // Also directly through r10 (only PREVAIL's model lets that yield an unusable value).
  rejects('r0 = *(u64 *)(r10 - 8)\nexit', 'uninitialized-stack', 0);
});

test('stack accesses outside the 512-byte frame are rejected', () => {
  rejects('r0 = 0\n*(u64 *)(r10 - 520) = r0\nexit', 'out-of-bounds-stack', 1);
  rejects('r0 = 0\n*(u64 *)(r10 - 4) = r0\nexit', 'out-of-bounds-stack', 1);
  accepts('r0 = 0\n*(u64 *)(r10 - 512) = r0\nr0 = *(u64 *)(r10 - 512)\nexit');
});

test('a spilled pointer keeps its type when it is filled back', () => {
  accepts('*(u64 *)(r10 - 8) = r1\nr1 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r1 + 16)\nr0 = 2\nexit');
  // A 4-byte reload of half the pointer is not a number.
  rejects('*(u64 *)(r10 - 8) = r1\nr2 = r10\nr0 = *(u32 *)(r2 - 8)\nr0 = 2\nexit', 'pointer-leak', 2);
});

const LOOKUP = `
  r1 = map_fd 1
  r2 = r10
  r2 += -4
  r3 = 0
  *(u32 *)(r10 - 4) = r3
  call 1
  if r0 == 0 goto <out>
  r0 = *(u64 *)(r0 + OFF)
<out>:
  r0 = 2
  exit`;

test('a map value is read after a null check within its size', () => {
  accepts(LOOKUP.replace('OFF', '0'));
});

test('a map value read past value_size is rejected', () => {
  rejects(LOOKUP.replace('OFF', '4'), 'out-of-bounds-map-value', 8);
});

test('a map lookup result used without a null check is rejected', () => {
  rejects(LOOKUP.replace('  if r0 == 0 goto <out>\n', '').replace('OFF', '0'), 'null-dereference', 7);
});

test('a null check on a copy of the lookup result also covers the original', () => {
  accepts(LOOKUP.replace('  if r0 == 0 goto <out>\n', '  r6 = r0\n  if r6 == 0 goto <out>\n').replace('OFF', '0'));
});

test('a map key that is not initialised is rejected', () => {
  rejects(LOOKUP.replace('  *(u32 *)(r10 - 4) = r3\n', '').replace('OFF', '0'), 'uninitialized-stack', 5);
});

test('helper arguments of the wrong kind are rejected', () => {
  rejects('r1 = 5\nr2 = r10\ncall 1\nr0 = 2\nexit', 'bad-helper-argument', 2);
});

test('an unknown helper is rejected', () => {
  rejects('call 9999\nr0 = 2\nexit', 'unknown-helper', 0);
});

test('context accesses must hit a field; packet pointers in the context are read-only', () => {
  rejects('r0 = *(u32 *)(r1 + 24)\nr0 = 2\nexit', 'out-of-bounds-context', 0);
  rejects('r0 = 0\n*(u32 *)(r1 + 0) = r0\nr0 = 2\nexit', 'write-to-read-only', 1);
  rejects('r0 = 0\n*(u32 *)(r1 + 12) = r0\nr0 = 2\nexit', 'write-to-read-only', 1);
  accepts('r0 = *(u32 *)(r1 + 12)\nr0 = 2\nexit');
});

test('division by a possibly-zero register is rejected only when the option forbids it', () => {
  const src = 'r2 = *(u32 *)(r1 + 12)\nr0 = 10\nr0 /= r2\nr0 = 2\nexit';
  accepts(src);
  rejects(src, 'division-by-zero', 2, LINUX_XDP, { allowDivisionByZero: false });
  accepts(src.replace('r0 /= r2', 'r2 |= 1\nr0 /= r2'), LINUX_XDP, { allowDivisionByZero: false });
});

test('the return value must be in the program type range', () => {
  rejects('r0 = 7\nexit', 'bad-return-value', 1);
  accepts('r0 = 4\nexit');
  rejects('r0 = 0\nexit', 'bad-return-value', 1, EFW_XDP);
  rejects('r0 = r1\nexit', 'pointer-leak', 1);
});

test('arithmetic other than add/sub on a pointer is rejected', () => {
  rejects('r1 *= 2\nr0 = 2\nexit', 'invalid-pointer-arithmetic', 0);
  rejects('w1 += 2\nr0 = 2\nexit', 'invalid-pointer-arithmetic', 0);
});

test('pointers may only be compared with 0 or with pointers into the same region', () => {
  rejects('if r1 > 5 goto <x>\n<x>:\nr0 = 2\nexit', 'invalid-pointer-comparison', 0);
  rejects('if r1 > r10 goto <x>\n<x>:\nr0 = 2\nexit', 'invalid-pointer-comparison', 0);
});

test('with termination checking, a loop with a constant bound is accepted and reports its bound', () => {
  const report = run('r0 = 0\nr2 = 0\n<l>:\nr2 += 1\nif r2 < 10 goto <l>\nexit', LINUX_XDP, { termination: true });
  assert.ok(report.ok, formatReport(report));
  // Unrolled: r2 = 1 .. 10, so the back edge is taken 9 times.
  assert.deepEqual(report.loopBounds, [{ pc: 2, iterations: 9, proof: 'explored' }]);
  // Summarised from the second pass: the ranking proof bounds the rest by r2.
  const ranked = run('r0 = 0\nr2 = 0\n<l>:\nr2 += 1\nif r2 < 10 goto <l>\nexit', LINUX_XDP, { termination: true, unroll: { maxIterations: 2, maxSlots: 100 } });
  assert.ok(ranked.ok, formatReport(ranked));
  assert.deepEqual(ranked.loopBounds, [{ pc: 2, iterations: 10, proof: 'ranking', register: 'r2' }]);
});

test('with termination checking, a loop without a bound is rejected', () => {
  const src = 'r2 = *(u32 *)(r1 + 12)\n<l>:\nif r2 == 0 goto <out>\nr2 += 1\ngoto <l>\n<out>:\nr0 = 2\nexit';
  rejects(src, 'unbounded-loop', 1, LINUX_XDP, { termination: true });
  accepts(src);
  rejects('r0 = 2\n<l>:\ngoto <l>', 'unbounded-loop', 1, LINUX_XDP, { termination: true });
});

test('jumps outside the program and running off its end are rejected', () => {
  rejects('goto +5\nexit', 'invalid-jump', 0);
  rejects('r0 = 2', 'no-exit', 1);
});

test('a budget overrun is a rejection, never an acceptance', () => {
  rejects('r2 = 0\n<l>:\nr2 += 1\nif r2 < 1000 goto <l>\nr0 = 2\nexit', 'verifier-limit', -1, LINUX_XDP, { maxSteps: 20 });
});

test('local calls are inlined with their own stack frame', () => {
  accepts('call <f>\nr0 = 2\nexit\n<f>:\nr0 = 0\n*(u64 *)(r10 - 8) = r0\nexit');
  rejects('call <f>\nexit\n<f>:\ncall <f>\nexit', 'invalid-call', 2);
});

test('socket filters read __sk_buff fields and packet pointers at 76/80', () => {
  accepts('r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 1\nif r4 > r3 goto <x>\nr0 = *(u8 *)(r2 + 0)\n<x>:\nr0 = *(u32 *)(r1 + 0)\nexit', LINUX_SOCKET_FILTER);
});

test('verbose mode reports the invariant before each instruction', () => {
  const report = run('r0 = 2\nexit', GENERIC, { verbose: true });
  assert.ok(report.ok);
  assert.match(report.invariants?.get(1) ?? '', /r0: number s=2 u=2/);
});

test('errors carry the source line when line info is given', () => {
  const asm = assembleLlvm('r0 = 7\nexit');
  const instructions = decode(encode(asm.instructions));
  const report = verify({
    instructions, maps: new Map(), programType: LINUX_XDP,
    lineInfo: [undefined, { fileName: 'xdp.c', line: 12, column: 5, lineText: '    return 7;' }],
  });
  assert.ok(!report.ok);
  assert.deepEqual(report.errors[0].source, { file: 'xdp.c', line: 12, column: 5, text: '    return 7;' });
});

const VARIABLE_OFFSET = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r5 = *(u32 *)(r1 + 12)
  r5 &= 0xff
  r2 += r5
  r4 = r2
  r4 += 4
  if r4 > r3 goto <out>
  r0 = *(u32 *)(r2 + OFF)
<out>:
  r0 = 2
  exit`;

test('a bounds check on a pointer with a variable offset covers the pointer it was derived from', () => {
  accepts(VARIABLE_OFFSET.replace('OFF', '0'));
  rejects(VARIABLE_OFFSET.replace('OFF', '1'), 'out-of-bounds-packet', 8);
});

test('packet pointers checked before bpf_xdp_adjust_head cannot be used after it', () => {
  const src = PARSE_ETH.replace('  r0 = *(u16 *)(r2 + 12)\n', '  r6 = r2\n  r2 = 14\n  call 44\n  r0 = *(u16 *)(r6 + 12)\n');
  rejects(src, 'out-of-bounds-packet', 8);
});

test('a register that may hold one of two maps is checked against both', () => {
  const small: MapDescriptor = { name: 'small', type: 2, keySize: 4, valueSize: 4, maxEntries: 1, readOnly: false };
  const src = `
    r6 = *(u32 *)(r1 + 12)
    r1 = map_fd 1
    if r6 == 0 goto <lookup>
    r1 = map_fd 2
  <lookup>:
    r2 = r10
    r2 += -4
    r3 = 0
    *(u32 *)(r10 - 4) = r3
    call 1
    if r0 == 0 goto <out>
    r0 = *(u64 *)(r0 + 0)
  <out>:
    r0 = 2
    exit`;
  const asm = assembleLlvm(src);
  const instructions = decode(encode(asm.instructions));
  const maps = new Map<number, MapRef>([[1, { kind: 'map', offset: 0, map: HASH }], [4, { kind: 'map', offset: 0, map: small }]]);
  const report = verify({ instructions, maps, programType: LINUX_XDP });
  assert.ok(!report.ok);
  assert.deepEqual([report.errors[0].code, report.errors[0].pc], ['out-of-bounds-map-value', 12]);
  const ok = verify({ instructions: decode(encode(assembleLlvm(src.replace('*(u64 *)(r0 + 0)', '*(u32 *)(r0 + 0)')).instructions)), maps, programType: LINUX_XDP });
  assert.ok(ok.ok, formatReport(ok));
});

test('tc programs may write mark and cb[] but not len', () => {
  accepts('r2 = 1\n*(u32 *)(r1 + 8) = r2\n*(u32 *)(r1 + 48) = r2\nr0 = 0\nexit', LINUX_SCHED_CLS);
  rejects('r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit', 'write-to-read-only', 1, LINUX_SCHED_CLS);
});

test('XDP metadata is readable only after data_meta + n <= data is checked', () => {
  const src = `
    r2 = *(u32 *)(r1 + 8)
    r3 = *(u32 *)(r1 + 0)
    r4 = r2
    r4 += 4
    if r4 > r3 goto <out>
    r0 = *(u32 *)(r2 + OFF)
  <out>:
    r0 = 2
    exit`;
  accepts(src.replace('OFF', '0'));
  rejects(src.replace('OFF', '2'), 'out-of-bounds-packet', 5);
});

test('a ring-buffer reservation cannot be used after it is submitted', () => {
  const src = `
    r1 = map_fd 1
    r2 = 8
    r3 = 0
    call 131
    if r0 == 0 goto <out>
    r6 = r0
    r1 = 0
    *(u64 *)(r6 + 0) = r1
    r1 = r6
    r2 = 0
    call 132
    AFTER
  <out>:
    r0 = 2
    exit`;
  const ringbuf: MapDescriptor = { name: 'events', type: 27, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false };
  assert.ok(run(src.replace('AFTER', ''), LINUX_XDP, {}, ringbuf).ok);
  const after = run(src.replace('AFTER', 'r0 = *(u64 *)(r6 + 0)'), LINUX_XDP, {}, ringbuf);
  assert.ok(!after.ok);
  assert.deepEqual([after.errors[0].code, after.errors[0].pc], ['invalid-memory-access', 12]);
  // Submitting twice is an error too.
  const twice = run(src.replace('AFTER', 'r1 = r6\nr2 = 0\ncall 132'), LINUX_XDP, {}, ringbuf);
  assert.deepEqual(twice.ok ? [] : [twice.errors[0].code, twice.errors[0].pc], ['invalid-memory-access', 14]);
  // A reservation that is never submitted or discarded leaks.
  const leak = run(src.replace('r1 = r6\n    r2 = 0\n    call 132', '').replace('AFTER', ''), LINUX_XDP, {}, ringbuf);
  assert.deepEqual(leak.ok ? [] : [leak.errors[0].code, leak.errors[0].pc], ['pointer-leak', 10]);
  // A hash map is not a ring buffer.
  rejects(src.replace('AFTER', ''), 'bad-helper-argument', 4);
});

test('a callee may use a pointer into its caller frame but not walk out of that frame', () => {
  const src = `
    r1 = 0
    *(u64 *)(r10 - 8) = r1
    r1 = r10
    r1 += -8
    call <f>
    r0 = 2
    exit
  <f>:
    r0 = *(u64 *)(r1 + OFF)
    exit`;
  accepts(src.replace('OFF', '0'));
  // Past the caller's frame (r10 of the caller) lies memory whose place depends on the engine.
  rejects(src.replace('OFF', '8'), 'out-of-bounds-stack', 7);
  // Above the callee's own r10: the caller's frame in one layout, another frame in the next.
  rejects('call <f>\nr0 = 2\nexit\n<f>:\nr0 = 0\n*(u64 *)(r10 + 8) = r0\nexit', 'out-of-bounds-stack', 4);
});

test('a bound proved on a copy of a register also holds for the register', () => {
  const src = `
    r2 = *(u32 *)(r1 + 12)
    r3 = r2
    if r3 > 7 goto <out>
    r0 = 0
    *(u64 *)(r10 - 8) = r0
    r4 = r10
    r4 += -8
    r4 += r2
    r0 = *(u8 *)(r4 + 0)
  <out>:
    r0 = 2
    exit`;
  accepts(src);
  rejects(src.replace('r3 = r2', 'r3 = r2\n    r2 += 1'), 'out-of-bounds-stack', 9);
});

test('an 8-byte load can be negative: a signed upper bound alone does not bound an offset', () => {
  const src = LOOKUP.replace('OFF', '0').replace('<out>:', `if r0 s> 2 goto <out>
  r6 = r0
  r0 = 0
  *(u64 *)(r10 - 16) = r0
  r2 = r10
  r2 += -16
  r2 += CHECKED
  r0 = *(u8 *)(r2 + 0)
<out>:`);
  rejects(src.replace('CHECKED', 'r6'), 'out-of-bounds-stack', 16);
  accepts(src.replace('if r0 s> 2', 'if r0 > 2').replace('CHECKED', 'r6'));
});

// A pointer or null (a lookup result joined with an explicit NULL) is spilled; one reload is
// tested, another is used (compiled code does this under register pressure).
const SPILLED_MAYBE_NULL = `
  r6 = 0
  r1 = *(u32 *)(r1 + 0)
  if r1 == 0 goto <join>
  r1 = map_fd 1
  r2 = r10
  r2 += -4
  r3 = 0
  *(u32 *)(r10 - 4) = r3
  call 1
  if r0 == 0 goto <out>
  r6 = r0
<join>:
  *(u64 *)(r10 - 16) = r6
  r2 = *(u64 *)(r10 - 16)
  if r2 == 0 goto <out>
  r1 = *(u64 *)(r10 - 16)
  r0 = *(u64 *)(r1 + 0)
<out>:
  r0 = 2
  exit`;

test('a value that is a map pointer or null, tested through one reload of its spill, may be used through another', () => {
  accepts(SPILLED_MAYBE_NULL);
});

test('a reload from another slot (holding null) is not covered by that test', () => {
  const other = SPILLED_MAYBE_NULL.replace('  r1 = *(u64 *)(r10 - 16)\n', '  r1 = *(u64 *)(r10 - 24)\n').replace('  *(u64 *)(r10 - 16) = r6\n', '  *(u64 *)(r10 - 16) = r6\n  r7 = 0\n  *(u64 *)(r10 - 24) = r7\n');
  rejects(other, 'invalid-memory-access', 18);
});
