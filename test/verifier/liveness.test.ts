// Branch liveness (cfg.ts) is computed by a worklist; these tests compare it with the plain
// definition (whole-program backward passes until nothing changes) on random CFGs and on the
// interleaved loops of red-team case C1, and check that it takes time linear in the program.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleBytes } from '../../src/isa/assemble.js';
import { decode } from '../../src/isa/decode.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { buildCfg, liveBefore } from '../../src/verifier/cfg.js';
import { seedFrom, seededRandom } from '../support/random.js';
import { SHARED, missingShared } from '../support/shared.js';
import { shapeProgram } from '../support/shapes.js';

const NONE = { get: () => undefined };

/** The definition: backward passes over the whole program until no mask changes. */
function referenceLiveness(insns: readonly Instruction[], succ: ReadonlyMap<number, readonly number[]>): Map<number, number> {
  // Arrays rather than maps: on C1 this makes one pass per loop, thousands of passes.
  const size = Math.max(...insns.map((i) => i.pc + i.spec.slots)) + 1;
  const live = new Int32Array(size);
  const next = insns.map((i) => succ.get(i.pc) ?? []);
  for (let changed = true; changed;) {
    changed = false;
    for (let k = insns.length - 1; k >= 0; k--) {
      let out = 0;
      for (const t of next[k]) out |= live[t];
      const value = liveBefore(insns[k], out);
      if (value !== live[insns[k].pc]) {
        live[insns[k].pc] = value;
        changed = true;
      }
    }
  }
  return new Map(insns.filter((i) => live[i.pc] !== 0).map((i) => [i.pc, live[i.pc]]));
}

function liveness(insns: readonly Instruction[]): { actual: Map<number, number>; expected: Map<number, number> } {
  const cfg = buildCfg(insns, NONE);
  return { actual: new Map(cfg.branchLive), expected: referenceLiveness(insns, cfg.succ) };
}

/** A random program of `n` instructions with jumps anywhere (loops, diamonds, dead code). */
function randomProgram(random: () => number, n: number): string {
  const reg = (): string => `%r${Math.floor(random() * 10)}`;
  const label = (): string => `L${Math.floor(random() * (n + 1))}`;
  const forms: (() => string)[] = [
    () => `mov ${reg()}, ${reg()}`, () => `mov ${reg()}, 7`, () => `add ${reg()}, ${reg()}`, () => `lsh ${reg()}, 3`,
    () => `mov32 ${reg()}, ${reg()}`, () => `neg ${reg()}`, () => `be16 ${reg()}`, () => `lddw ${reg()}, 0x100000002`,
    () => `ldxdw ${reg()}, [${reg()}+8]`, () => `stxw [${reg()}-8], ${reg()}`, () => `stw [${reg()}+0], 1`,
    () => `lock add [${reg()}-8], ${reg()}`, () => 'call 5', () => 'exit',
    () => `ja ${label()}`, () => `jeq ${reg()}, 3, ${label()}`, () => `jgt ${reg()}, ${reg()}, ${label()}`,
    () => `jset32 ${reg()}, 1, ${label()}`,
  ];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`L${i}:`, forms[Math.floor(random() * forms.length)]());
  lines.push(`L${n}:`, 'exit');
  return lines.join('\n');
}

test('branch liveness equals the fixpoint of whole-program backward passes on random CFGs', () => {
  const seed = seedFrom('LIVENESS_SEED', 0x5eed11);
  const random = seededRandom(seed);
  let live = 0;
  for (let round = 0; round < 300; round++) {
    const insns = decode(assembleBytes(randomProgram(random, 2 + Math.floor(random() * 60))));
    const { actual, expected } = liveness(insns);
    assert.deepEqual(actual, expected, `seed ${seed}, round ${round}`);
    live += expected.size;
  }
  assert.ok(live > 1000, `seed ${seed}: the random programs have only ${live} points with live registers`);
});

test('branch liveness equals the reference on interleaved loops (red-team C1 shape, 2k instructions)', () => {
  const { actual, expected } = liveness(shapeProgram('loops', 2000));
  assert.ok(expected.size > 1000, 'the C1 shape has live registers almost everywhere');
  assert.deepEqual(actual, expected);
});

const C1 = join(SHARED, 'verifier-tests', 'redteam', 'c1_liveness_8k.s');
test('branch liveness of red-team c1_liveness_8k.s equals the reference and is computed in under two seconds', { skip: missingShared(C1) }, () => {
  assert.ok(existsSync(C1));
  const insns = decode(assembleBytes(readFileSync(C1, 'utf8')));
  const t = performance.now();
  const cfg = buildCfg(insns, NONE);
  const ms = performance.now() - t;
  assert.deepEqual(new Map(cfg.branchLive), referenceLiveness(insns, cfg.succ));
  assert.ok(ms < 2000, `building the CFG of ${insns.length} instructions took ${ms.toFixed(0)} ms`);
});

test('branch liveness takes time linear in the size of interleaved loops', () => {
  const ms = (size: number): number => {
    const insns = shapeProgram('loops', size);
    const t = performance.now();
    buildCfg(insns, NONE);
    return performance.now() - t;
  };
  ms(16_000);
  const small = Math.max(ms(16_000), 1);
  const large = ms(64_000);
  // Quadratic would be 16 times; allow noise on a loaded machine.
  assert.ok(large < small * 10 + 200, `16k instructions: ${small.toFixed(0)} ms, 64k: ${large.toFixed(0)} ms`);
});
