// Every ALU, byte-order and conditional-jump instruction of the table, on edge values, against
// the BigInt reference model of RFC 9669 in test/support/reference.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTRUCTIONS, insn, type InstructionSpec } from '../../src/isa/index.js';
import { EDGE64, EDGE_IMM, referenceAlu, referenceEndian, referenceJump } from '../support/reference.js';
import { hex, runInsns } from '../support/run.js';

const lddw = (dst: number, value: bigint) => {
  const v = BigInt.asUintN(64, value);
  return insn('lddw', { dst, imm: Number(BigInt.asIntN(32, v)), nextImm: Number(BigInt.asIntN(32, v >> 32n)) });
};
const exit = insn('exit');
const signExtend = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm));

function aluProgram(spec: InstructionSpec, a: bigint, b: bigint | number) {
  const op = typeof b === 'number' ? { spec, dst: 1, imm: b } : { spec, dst: 1, src: 2 };
  return [lddw(1, a), lddw(2, typeof b === 'bigint' ? b : 0n), op, insn('mov64_reg', { dst: 0, src: 1 }), exit];
}

for (const spec of INSTRUCTIONS.filter((s) => s.form === 'alu-reg' || s.form === 'alu-imm')) {
  test(`${spec.name} matches RFC 9669 on edge values`, () => {
    const width = spec.width as 32 | 64;
    for (const a of EDGE64) {
      if (spec.form === 'alu-reg') {
        for (const b of EDGE64) {
          const got = runInsns(aluProgram(spec, a, b));
          const want = referenceAlu(spec.op, width, a, b);
          assert.equal(got, want, `${spec.name} ${hex(a)}, ${hex(b)}: expected ${hex(want)}, got ${hex(got)}`);
        }
      } else {
        for (const imm of EDGE_IMM) {
          const got = runInsns(aluProgram(spec, a, imm));
          const want = referenceAlu(spec.op, width, a, signExtend(imm));
          assert.equal(got, want, `${spec.name} ${hex(a)}, imm ${imm}: expected ${hex(want)}, got ${hex(got)}`);
        }
      }
    }
  });
}

for (const spec of INSTRUCTIONS.filter((s) => s.form === 'neg' || s.form === 'endian')) {
  test(`${spec.name} matches RFC 9669 on edge values`, () => {
    for (const a of EDGE64) {
      const got = runInsns([lddw(1, a), { spec, dst: 1 }, insn('mov64_reg', { dst: 0, src: 1 }), exit]);
      const want = spec.form === 'neg' ? referenceAlu('neg', spec.width as 32 | 64, a, 0n) : referenceEndian(spec.op, spec.width, a);
      assert.equal(got, want, `${spec.name} ${hex(a)}: expected ${hex(want)}, got ${hex(got)}`);
    }
  });
}

for (const spec of INSTRUCTIONS.filter((s) => s.form === 'jmp-reg' || s.form === 'jmp-imm')) {
  test(`${spec.name} branches as RFC 9669 says on edge values`, () => {
    const width = spec.width as 32 | 64;
    // if (cond) goto taken; r0 = 0; exit; taken: r0 = 1; exit
    const program = (a: bigint, b: bigint | number) => [
      lddw(1, a),
      lddw(2, typeof b === 'bigint' ? b : 0n),
      typeof b === 'number' ? { spec, dst: 1, imm: b, offset: 2 } : { spec, dst: 1, src: 2, offset: 2 },
      insn('mov64_imm', { dst: 0, imm: 0 }),
      exit,
      insn('mov64_imm', { dst: 0, imm: 1 }),
      exit,
    ];
    for (const a of EDGE64) {
      const seconds: (bigint | number)[] = spec.form === 'jmp-reg' ? [...EDGE64] : [...EDGE_IMM];
      for (const b of seconds) {
        const got = runInsns(program(a, b)) === 1n;
        const want = referenceJump(spec.op, width, a, typeof b === 'number' ? signExtend(b) : b);
        assert.equal(got, want, `${spec.name} ${hex(a)}, ${typeof b === 'number' ? `imm ${b}` : hex(b)}: expected ${want ? '' : 'not '}taken`);
      }
    }
  });
}
