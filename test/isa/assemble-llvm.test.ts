import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTRUCTIONS, type InstructionSpec } from '../../src/isa/table.js';
import { encode, type InstructionFields } from '../../src/isa/encode.js';
import { decode } from '../../src/isa/decode.js';
import { formatInstruction } from '../../src/isa/disassemble.js';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';

function sample(spec: InstructionSpec, variant: number): InstructionFields {
  const pick = (rule: InstructionSpec['dst'], value: number): number | undefined =>
    rule === 'any' || rule === 'reg' ? value : undefined;
  return {
    spec,
    dst: pick(spec.dst, variant === 0 ? 1 : 9),
    src: pick(spec.src, variant === 0 ? 2 : 10),
    offset: pick(spec.offset, variant === 0 ? 4 : -12),
    imm: pick(spec.imm, variant === 0 ? 7 : -100000),
    // The llvm printer shows the second imm only where it means something (constants, map values).
    nextImm: spec.slots === 2 && /^lddw(_map_value|_map_idx_value)?$/.test(spec.name) ? variant * 3 : undefined,
  };
}

test('every table entry round-trips through the llvm printer and the llvm assembler', () => {
  for (const spec of INSTRUCTIONS) {
    for (const variant of [0, 1]) {
      const fields = sample(spec, variant);
      const bytes = encode([fields]);
      const [decoded] = decode(bytes);
      const text = formatInstruction(decoded, 'llvm');
      const again = encode(assembleLlvm(text).instructions);
      assert.deepEqual(Array.from(again), Array.from(bytes), `${spec.name}: ${text}`);
    }
  }
});

test('labels resolve to slot-relative jump offsets across lddw', () => {
  const program = assembleLlvm('<start>:\n r1 = 0x100000000 ll\n if r1 > r2 goto <out>\n r0 = 1\n<out>:\n exit');
  const insns = decode(encode(program.instructions));
  assert.equal(insns[1].offset, 1);
  assert.equal(program.labels.get('out'), 4);
});

test('PREVAIL forms: assume, movsx, fetch atomics, map pseudo-loads, negated jset', () => {
  const program = assembleLlvm([
    'assume w1 < 5', 'r1 s8= r2', 'lock *(u64 *)(r10 - 8) += r1 fetch', 'lock *(u32 *)(r1 + 0) cx= w2',
    'r1 = map_fd 1', 'r2 = map_val(1) + 8', 'r3 = mva(map_by_idx(0)) + 4', 'if r1 &!= 0 goto <x>',
    'r0 = *(u16 *)skb[r7 + 4]', 'w1 = - w1', 'r0 = swap16 r0', '<x>:', 'exit',
  ].join('\n'));
  const text = decode(encode(program.instructions)).map((i) => formatInstruction(i, 'llvm'));
  assert.deepEqual(program.assumptions, [{ pc: 0, edge: 'taken' }]);
  assert.equal(text[0], 'if w1 < 5 goto +0');
  assert.equal(text[1], 'r1 = (s8)r2');
  assert.equal(text[2], 'r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)');
  assert.equal(text[3], 'w0 = cmpxchg32_32(r1 + 0, w0, w2)');
  assert.equal(text[4], 'r1 = map[fd:1] ll');
  assert.equal(text[5], 'r2 = map_value[fd:1] + 8 ll');
  assert.equal(text[6], 'r3 = map_value[idx:0] + 4 ll');
  assert.equal(text[7], 'if r1 & 0 goto +1');
  assert.equal(text[8], 'goto +3');
});
