import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssemblyError, assemble, assembleBytes, decode, disassemble, encode, insn } from '../../src/isa/index.js';
import { parseDataFile } from '../../src/conformance/data-file.js';
import { CONFORMANCE_NEGATIVE, CONFORMANCE_TESTS, missingShared } from '../support/shared.js';

function assemblyError(source: string): AssemblyError {
  try {
    assemble(source);
  } catch (e) {
    assert.ok(e instanceof AssemblyError, `expected AssemblyError, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected '${source}' to be refused`);
}

test('labels, the implicit exit label, comments and relative targets', () => {
  const code = assembleBytes(`
    # comment line
    mov %r0, 1      # trailing comment
    jeq %r0, 1, done
    ja exit
  done:
    lddw %r1, 0x1122334455667788
    jne %r1, 0, -3
    exit`);
  const insns = decode(code);
  assert.deepEqual(insns.map((i) => i.spec.name), ['mov64_imm', 'jeq_imm', 'ja', 'lddw', 'jne_imm', 'exit']);
  assert.equal(insns[1].offset, 1); // to `done` (slot 3)
  assert.equal(insns[2].offset, 3); // to the first exit (slot 6, after the two-slot lddw)
  assert.equal(insns[4].offset, -3);
});

test('mnemonic spellings the dialect allows give the same instruction', () => {
  assert.deepEqual(assembleBytes('add64 %r1, 2'), assembleBytes('add %r1, 2'));
  assert.deepEqual(assembleBytes('swap32 %r1'), assembleBytes('bswap32 %r1'));
  assert.deepEqual(assembleBytes('neg64 %r1'), assembleBytes('neg %r1'));
  assert.deepEqual(assembleBytes('MOV %R1, 0X10'), assembleBytes('mov %r1, 16'));
});

test('sdiv/smod and movsx are encoded with their selecting offset, calls with their src', () => {
  assert.equal(decode(assembleBytes('sdiv32 %r1, %r2'))[0].offset, 1);
  assert.equal(decode(assembleBytes('smod %r1, 3'))[0].offset, 1);
  assert.equal(decode(assembleBytes('movsx1664 %r1, %r2'))[0].offset, 16);
  assert.equal(decode(assembleBytes('call local f\nexit\nf:\nexit'))[0].src, 1);
  assert.equal(decode(assembleBytes('call local f\nexit\nf:\nexit'))[0].imm, 1);
  assert.equal(decode(assembleBytes('call runtime 7'))[0].src, 2);
  assert.equal(decode(assembleBytes('call %r3'))[0].spec.name, 'callx');
  assert.equal(decode(assembleBytes('ja32 +70000\n'))[0].imm, 70000);
});

test('lddw pseudo sources have their own operand syntax', () => {
  assert.deepEqual(encode(assemble('lddw %r1, map_value(4, 16)')), encode([insn('lddw_map_value', { dst: 1, imm: 4, nextImm: 16 })]));
  assert.deepEqual(encode(assemble('lddw %r2, map_idx(0)')), encode([insn('lddw_map_idx', { dst: 2, imm: 0 })]));
  assert.match(assemblyError('lddw %r1, map_value(4)').message, /1:11: map_value\(\) takes 2 arguments, found 1/);
  assert.match(assemblyError('lddw %r1, stack(1)').message, /unknown lddw operand 'stack'/);
});

test('errors point at line and column and say what is wrong', () => {
  const cases: [string, number, number, RegExp][] = [
    ['mov %r0, 1\nfrob %r0', 2, 1, /unknown mnemonic 'frob'/],
    ['mov %r11, 1', 1, 5, /invalid register '%r11'/],
    ['  add %r1', 1, 3, /invalid number of operands for add: expected 2, found 1/],
    ['mov32 %r0, 2147483648', 1, 12, /does not fit in 32 bits \(signed\)/],
    ['mov32 %r0, 0x100000000', 1, 12, /does not fit in 32 bits/],
    ['ldxb %r0, [%r1+0x10000]', 1, 11, /offset \+0x10000 does not fit in 16 bits/],
    ['ldxb %r0, %r1', 1, 11, /expected a memory operand/],
    ['ja nowhere\nexit', 1, 4, /undefined label 'nowhere'/],
    ['a:\na:\nexit', 2, 1, /duplicate label 'a'/],
    ['lddw %r0', 1, 1, /invalid number of operands for lddw/],
    ['lock', 1, 1, /invalid number of operands for lock/],
    ['lock or [%r10-8]', 1, 1, /invalid number of operands for lock or/],
    ['lddw %r0, 0x10000000000000000', 1, 11, /does not fit in 64 bits/],
  ];
  for (const [source, line, column, reason] of cases) {
    const e = assemblyError(source);
    assert.equal(e.line, line, `${source}: line`);
    assert.equal(e.column, column, `${source}: column of ${e.message}`);
    assert.match(e.reason, reason, source);
  }
});

test('every invalid_* program of bpf_conformance/negative is refused', (t) => {
  const skip = missingShared(CONFORMANCE_NEGATIVE);
  if (skip !== undefined) return t.skip(skip);
  const files = readdirSync(CONFORMANCE_NEGATIVE).filter((f) => f.startsWith('invalid_'));
  assert.ok(files.length >= 11);
  for (const file of files) {
    const parsed = parseDataFile(readFileSync(join(CONFORMANCE_NEGATIVE, file), 'utf8'));
    if (parsed.kind === 'skip') {
      assert.match(parsed.reason, /unknown section header/, file); // invalid_unknown_directive
      continue;
    }
    assert.throws(() => assemble(parsed.test.asm ?? ''), AssemblyError, file);
  }
});

test('round trip over the whole conformance suite: assemble, encode, disassemble, assemble again', (t) => {
  const skip = missingShared(CONFORMANCE_TESTS);
  if (skip !== undefined) return t.skip(skip);
  const files = readdirSync(CONFORMANCE_TESTS).filter((f) => f.endsWith('.data'));
  assert.equal(files.length, 313);
  for (const file of files) {
    const parsed = parseDataFile(readFileSync(join(CONFORMANCE_TESTS, file), 'utf8'));
    assert.equal(parsed.kind, 'test', file);
    if (parsed.kind !== 'test') continue;
    const { asm, raw } = parsed.test;
    assert.ok(asm !== undefined, file);
    const bytes = encode(assemble(asm));
    if (raw !== undefined) assert.deepEqual(bytes, raw, `${file}: asm and raw sections differ`);
    for (const syntax of ['conformance'] as const) {
      const text = disassemble(decode(bytes), { syntax, pcs: false }).join('\n');
      assert.deepEqual(assembleBytes(text), bytes, `${file}: disassembly does not assemble back`);
    }
  }
});
