// Callbacks (bpf_loop, bpf_for_each_map_elem): the callback is analysed as a call from the helper
// site, any number of times, and what it does through its ctx pointer reaches the caller.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { LddwSrc } from '../../src/isa/opcodes.js';
import { type MapDescriptor, type MapRef, type VerificationReport, formatReport, verify } from '../../src/verifier/index.js';
import { LINUX_XDP } from '../../src/program-types/base-rules.js';

const ARRAY: MapDescriptor = { name: 'values', type: 2, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false };

/** `main` with `CB` standing for the callback's address; the callback follows the main code. */
function run(main: string, callback: string): VerificationReport {
  const first = decode(encode(assembleLlvm(main.replace('CB', 'code[pc+0]')).instructions));
  const end = Math.max(...first.map((i) => i.pc + i.spec.slots));
  const at = first.find((i) => i.spec.form === 'lddw' && i.src === LddwSrc.CODE_ADDR);
  assert.ok(at !== undefined);
  const instructions = decode(encode(assembleLlvm(`${main.replace('CB', `code[pc+${end - at.pc - 1}]`)}\n${callback}`).instructions));
  const maps = new Map<number, MapRef>();
  for (const i of instructions) if (i.spec.form === 'lddw' && i.src === LddwSrc.MAP_FD) maps.set(i.pc, { kind: 'map', offset: 0, map: ARRAY });
  return verify({ instructions, maps, programType: LINUX_XDP }, { termination: true });
}

function accepted(main: string, callback: string): void {
  const r = run(main, callback);
  assert.ok(r.ok, formatReport(r));
}

function rejected(main: string, callback: string, code: string): VerificationReport {
  const r = run(main, callback);
  assert.ok(!r.ok, 'accepted');
  if (!r.ok) assert.equal(r.errors[0].code, code, formatReport(r));
  return r;
}

// The caller keeps a u64 at fp-8, passes it as ctx, then uses it as a stack offset.
const LOOP = `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r1 = 4
  r2 = CB ll
  r3 = r10
  r3 += -8
  r4 = 0
  call 181
  r1 = *(u64 *)(r10 - 8)
  r2 = r10
  r2 += r1
  r3 = 0
  *(u8 *)(r2 - 16) = r3
  r0 = 2
  exit`;

test('bpf_loop: a callback that leaves its ctx alone is accepted', () => {
  accepted(LOOP, 'r0 = 0\nexit');
});

test('bpf_loop: what the callback writes through ctx, over any number of runs, reaches the caller', () => {
  // The callback adds the index: after the loop the value is unbounded, so the store may leave the frame.
  rejected(LOOP, 'r3 = *(u64 *)(r2 + 0)\nr3 += r1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit', 'out-of-bounds-stack');
  // One run adds 1 (still inside the frame); many runs do not.
  rejected(LOOP, 'r3 = *(u64 *)(r2 + 0)\nr3 += 1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit', 'out-of-bounds-stack');
  // Even a constant written by the callback is seen.
  rejected(LOOP, 'r3 = 600\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit', 'out-of-bounds-stack');
});

test('bpf_loop: the callback may not run at all', () => {
  const main = `
    r1 = 4
    r2 = CB ll
    r3 = r10
    r3 += -8
    r4 = 0
    call 181
    r0 = *(u64 *)(r10 - 8)
    r0 = 2
    exit`;
  rejected(main, '*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit', 'uninitialized-stack');
});

test('bpf_loop: the callback is checked like a function', () => {
  // Out of the caller's buffer and frame.
  rejected(LOOP, 'r3 = 0\n*(u64 *)(r2 + 8) = r3\nr0 = 0\nexit', 'out-of-bounds-stack');
  // Its return value must be 0 or 1.
  rejected(LOOP, 'r0 = 2\nexit', 'bad-return-value');
  rejected(LOOP, 'r0 = r1\nexit', 'bad-return-value');
  // The caller's r6-r9 are not its own.
  rejected(LOOP, 'r0 = r6\nexit', 'uninitialized-register');
  // r1 is a u32 index: not a safe offset.
  rejected(LOOP, 'r2 += r1\nr3 = 0\n*(u8 *)(r2 + 0) = r3\nr0 = 0\nexit', 'out-of-bounds-stack');
  // No recursion.
  rejected(LOOP, 'r1 = 1\nr2 = code[pc-2] ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit', 'invalid-call');
});

const FOR_EACH = `
  r1 = map_fd 1
  r2 = CB ll
  r3 = 0
  r4 = 0
  call 164
  r0 = 2
  exit`;

test('bpf_for_each_map_elem: the callback gets the map, a read-only key and the value', () => {
  accepted(FOR_EACH, 'r0 = *(u32 *)(r2 + 0)\nr0 = *(u64 *)(r3 + 0)\nr0 += 1\n*(u64 *)(r3 + 0) = r0\nr0 = 0\nexit');
  rejected(FOR_EACH, 'r0 = 0\n*(u32 *)(r2 + 0) = r0\nexit', 'write-to-read-only');
  rejected(FOR_EACH, 'r0 = *(u64 *)(r3 + 8)\nr0 = 0\nexit', 'out-of-bounds-map-value');
  rejected(FOR_EACH, 'r0 = *(u64 *)(r2 + 0)\nr0 = 0\nexit', 'out-of-bounds-map-value');
});

test('a function pointer is only accepted where a helper takes a callback', () => {
  const main = `
    r1 = CB ll
    r0 = r1
    exit`;
  rejected(main, 'r0 = 0\nexit', 'pointer-leak');
});
