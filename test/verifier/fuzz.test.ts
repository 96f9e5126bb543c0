// Hostile bytecode must never make the verifier throw: random well-formed instruction streams
// (every table entry, random registers, offsets and immediates) are verified under a small budget.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTRUCTIONS } from '../../src/isa/table.js';
import { encode, type InstructionFields } from '../../src/isa/encode.js';
import { decode } from '../../src/isa/decode.js';
import { type MapRef, verify } from '../../src/verifier/index.js';
import { LINUX_XDP } from '../../src/program-types/base-rules.js';
import { seededRandom } from '../support/random.js';

const SEED = Number(process.env.VERIFIER_SEED ?? 7);

const rng = seededRandom;

test(`verify never throws on random programs (seed ${SEED})`, () => {
  const r = rng(SEED);
  const int = (n: number): number => Math.floor(r() * n);
  const map = { name: 'm', type: 2, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false };
  let accepted = 0;
  for (let iter = 0; iter < 400; iter++) {
    const n = 2 + int(12);
    const fields: InstructionFields[] = [];
    for (let i = 0; i < n; i++) {
      const spec = INSTRUCTIONS[int(INSTRUCTIONS.length)];
      const pick = (rule: typeof spec.dst, value: number): number | undefined => (rule === 'reg' || rule === 'any' ? value : undefined);
      fields.push({
        spec,
        dst: pick(spec.dst, int(11)),
        src: pick(spec.src, int(11)),
        offset: pick(spec.offset, spec.form.startsWith('j') ? int(2 * n) - n : int(64) - 32),
        imm: pick(spec.imm, r() < 0.5 ? int(16) : int(0x100000000) - 0x80000000),
        nextImm: spec.slots === 2 ? int(4) : undefined,
      });
    }
    fields.push({ spec: INSTRUCTIONS.find((s) => s.name === 'exit') ?? INSTRUCTIONS[0] });
    const instructions = decode(encode(fields));
    const maps = new Map<number, MapRef>();
    for (const i of instructions) if (i.spec.form === 'lddw') maps.set(i.pc, { kind: 'map', offset: 0, map });
    let report;
    try {
      report = verify({ instructions, maps, programType: LINUX_XDP }, { termination: r() < 0.5, maxSteps: 5000 });
    } catch (e) {
      assert.fail(`seed ${SEED} iter ${iter}: verify threw ${String(e)}`);
    }
    if (report.ok) accepted++;
    else assert.notEqual(report.errors[0].message.startsWith('internal error'), true, `seed ${SEED} iter ${iter}: ${report.errors[0].message}`);
  }
  assert.ok(accepted < 400);
});
