import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTRUCTIONS, assemble, decode, disassemble, encode, formatInstruction, insn, type InstructionFields } from '../../src/isa/index.js';
import { assertGolden } from '../support/golden.js';

/** One instance of every table entry, with distinct non-zero field values. */
function everyInstruction(): InstructionFields[] {
  return INSTRUCTIONS.map((spec, i) => {
    const pick = (rule: (typeof spec)['dst'], value: number): number | undefined => (rule === 'any' || rule === 'reg' ? value : undefined);
    return {
      spec,
      dst: pick(spec.dst, (i % 9) + 1),
      src: pick(spec.src, ((i + 4) % 9) + 1),
      offset: pick(spec.offset, i % 2 === 0 ? -(i + 1) : i + 1),
      imm: pick(spec.imm, spec.form === 'call-local' || spec.form === 'ja32' ? -1 : i % 3 === 0 ? -i : i * 0x1001),
      nextImm: spec.slots === 2 ? i : undefined,
    };
  });
}

test('disassembly of every instruction in the llvm-objdump syntax matches the golden file', () => {
  const code = encode(everyInstruction());
  assertGolden('isa/every-instruction.llvm.txt', disassemble(decode(code), { syntax: 'llvm', bytes: code }).join('\n') + '\n');
});

test('disassembly of every instruction in the conformance dialect matches the golden file', () => {
  const code = encode(everyInstruction());
  assertGolden('isa/every-instruction.conformance.txt', disassemble(decode(code), { syntax: 'conformance', pcs: false }).join('\n') + '\n');
});

test('llvm syntax reads as llvm-objdump and the Linux verifier print it', () => {
  const text = (fields: InstructionFields) => formatInstruction(decode(encode([fields]))[0], 'llvm');
  assert.equal(text(insn('ldxw', { dst: 0, src: 1, offset: 4 })), 'r0 = *(u32 *)(r1 + 4)');
  assert.equal(text(insn('stxdw', { dst: 10, src: 1, offset: -8 })), '*(u64 *)(r10 - 8) = r1');
  assert.equal(text(insn('jgt_reg', { dst: 1, src: 2, offset: 3 })), 'if r1 > r2 goto +3');
  assert.equal(text(insn('jslt32_imm', { dst: 1, imm: 5, offset: -2 })), 'if w1 s< 5 goto -2');
  assert.equal(text(insn('add32_imm', { dst: 1, imm: 1 })), 'w1 += 1');
  assert.equal(text(insn('arsh64_reg', { dst: 2, src: 3 })), 'r2 s>>= r3');
  assert.equal(text(insn('lddw', { dst: 0, imm: 0x55667788, nextImm: 0x11223344 })), 'r0 = 0x1122334455667788 ll');
  assert.equal(text(insn('be16', { dst: 0 })), 'r0 = be16 r0');
  assert.equal(text(insn('lock_add64', { dst: 10, src: 1, offset: -8 })), 'lock *(u64 *)(r10 - 8) += r1');
  assert.equal(text(insn('movsx8_64_reg', { dst: 0, src: 1 })), 'r0 = (s8)r1');
  assert.equal(text(insn('ja', { offset: -1 })), 'goto -1');
  assert.equal(text(insn('exit')), 'exit');
  const withName = formatInstruction(decode(encode([insn('call', { imm: 1 })]))[0], 'llvm', { helperName: (id) => (id === 1 ? 'bpf_map_lookup_elem' : undefined) });
  assert.equal(withName, 'call bpf_map_lookup_elem#1');
});

test('the conformance dialect disassembles back to what the assembler reads, for every instruction', () => {
  const code = encode(everyInstruction());
  const text = disassemble(decode(code), { syntax: 'conformance', pcs: false }).join('\n');
  assert.deepEqual(encode(assemble(text)), code);
});
