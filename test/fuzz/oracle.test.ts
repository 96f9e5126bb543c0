// The fuzzer's oracle on hand-written programs: a changed map word is a leak only when the run
// wrote it, and a pointer copied into a map value by a helper is found after the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Environment } from './environment.js';
import { ARRAY_BYTES, type Input } from './inputs.js';
import { Oracle } from './oracle.js';
import { build, reachablePcs } from './program.js';

function input(arrays: Uint8Array): Input {
  return { length: 64, bytes: new Uint8Array(64), metaLength: 0, ctxWords: [0, 0, 0], arrays, queue: [] };
}

function check(text: string, arrays: Uint8Array, verified: boolean) {
  const env = new Environment();
  const built = build(text, env);
  assert.ok(built, 'the program assembles');
  // An unsafe program has no verifier-reachable set: every pc counts as reached.
  const reachable = verified ? reachablePcs(built, env) : new Set(Array.from({ length: built.instructionCount }, (_, i) => i));
  assert.ok(reachable, 'the verifier accepts the program');
  const oracle = new Oracle(env, built, reachable, 10_000);
  try {
    return oracle.check(input(arrays));
  } finally {
    oracle.dispose();
  }
}

const LOOKUP = 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd 1 ll\ncall 1\n';

test('an atomic and that changes one byte of an unaligned word of random input is not a leak', () => {
  // Seed 1189256856's false finding: bytes 1..4 read 0x1001870 after byte 4 became 0x01.
  const arrays = new Uint8Array(ARRAY_BYTES);
  arrays.set([0x61, 0x70, 0x18, 0x00, 0xfb, 0x2b, 0xc6, 0x95]);
  const finding = check(`${LOOKUP}if r0 == 0 goto +2\nr1 = 1\nlock *(u32 *)(r0 + 4) &= r1\nr0 = 2\nexit`, arrays, true);
  assert.equal(finding, undefined);
});

test('a stack address copied into a map value by map_update_elem is a pointer leak', () => {
  // Both halves of the 16-byte value are the stack address, then the value goes in at key 0.
  const text = 'r1 = 0\n*(u32 *)(r10 - 4) = r1\n*(u64 *)(r10 - 24) = r10\n*(u64 *)(r10 - 16) = r10\nr2 = r10\nr2 += -4\n'
    + 'r3 = r10\nr3 += -24\nr1 = map_fd 1 ll\nr4 = 0\ncall 2\nr0 = 2\nexit';
  const finding = check(text, new Uint8Array(ARRAY_BYTES), false);
  assert.equal(finding?.kind, 'pointer-leak');
  assert.match(finding?.detail ?? '', /array map bytes 0\.\.3 now hold 0x[0-9a-f]+, an address/);
});
