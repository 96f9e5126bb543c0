import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError, EncodeError, INSTRUCTIONS, decode, encode, insn, type InstructionSpec } from '../../src/isa/index.js';
import { CONFORMANCE_NEGATIVE, missingShared } from '../support/shared.js';

/** A representative instance of an entry: every free field set to a non-trivial value. */
function sample(spec: InstructionSpec) {
  const free = (rule: InstructionSpec['dst'], value: number): number | undefined => (rule === 'any' || rule === 'reg' ? value : undefined);
  return {
    spec,
    dst: free(spec.dst, 3),
    src: free(spec.src, 7),
    offset: free(spec.offset, -2),
    imm: free(spec.imm, 0x12345678),
    nextImm: spec.slots === 2 ? -0x10 : undefined,
  };
}

test('every table entry encodes and decodes back to itself', () => {
  for (const spec of INSTRUCTIONS) {
    const fields = sample(spec);
    const bytes = encode([fields]);
    assert.equal(bytes.length, 8 * spec.slots, spec.name);
    assert.equal(bytes[0], spec.opcode, spec.name);
    const [decoded] = decode(bytes);
    assert.equal(decoded.spec.name, spec.name);
    assert.equal(decoded.dst, fields.dst ?? 0, `${spec.name} dst`);
    assert.equal(decoded.offset, fields.offset ?? (typeof spec.offset === 'object' ? spec.offset.eq : 0), `${spec.name} offset`);
    if (spec.imm === 'any') assert.equal(decoded.imm, 0x12345678, `${spec.name} imm`);
    if (spec.slots === 2) assert.equal(decoded.nextImm, -0x10, `${spec.name} nextImm`);
  }
});

test('encoding follows RFC 9669 §3: opcode, dst low nibble, src high nibble, offset, imm, little-endian', () => {
  const bytes = encode([insn('mov64_imm', { dst: 0, imm: 42 }), insn('ldxw', { dst: 2, src: 1, offset: -4 }), insn('exit')]);
  assert.deepEqual([...bytes], [
    0xb7, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00,
    0x61, 0x12, 0xfc, 0xff, 0x00, 0x00, 0x00, 0x00,
    0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]);
  const lddw = encode([insn('lddw', { dst: 0, imm: 0x55667788, nextImm: 0x11223344 })]);
  assert.deepEqual([...lddw], [0x18, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
});

function decodeError(bytes: number[]): DecodeError {
  try {
    decode(Uint8Array.from(bytes));
  } catch (e) {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a DecodeError');
}

const EXIT = [0x95, 0, 0, 0, 0, 0, 0, 0];

test('a program whose length is not a multiple of 8 is a truncated instruction', () => {
  const e = decodeError([...EXIT, 0xb7, 0, 0, 0]);
  assert.equal(e.slot, 1);
  assert.match(e.reason, /truncated instruction: program length 12/);
});

test('an lddw without its second slot is a truncated lddw', () => {
  const e = decodeError([0x18, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(e.slot, 0);
  assert.match(e.reason, /truncated lddw/);
});

test('the second slot of lddw must be zero except for its imm', () => {
  const e = decodeError([0x18, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(e.slot, 1);
  assert.match(e.reason, /second slot of lddw/);
});

test('an unknown opcode is named', () => {
  const e = decodeError([...EXIT, 0x8e, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(e.slot, 1);
  assert.match(e.reason, /unknown opcode 0x8e/);
});

test('register numbers above 10 are refused, naming the field', () => {
  assert.match(decodeError([0xb7, 0x0b, 0, 0, 0, 0, 0, 0]).reason, /invalid dst register r11 in mov64_imm/);
  assert.match(decodeError([0xbf, 0xc0, 0, 0, 0, 0, 0, 0]).reason, /invalid src register r12 in mov64_reg/);
});

test('reserved fields that are set are refused, naming field, value and instruction', () => {
  assert.match(decodeError([0x07, 0x10, 0, 0, 1, 0, 0, 0]).reason, /reserved field src is 1, must be 0 in add64_imm/);
  assert.match(decodeError([0x07, 0, 1, 0, 1, 0, 0, 0]).reason, /invalid offset 1|reserved field offset is 1/);
  assert.match(decodeError([0x95, 0, 0, 0, 1, 0, 0, 0]).reason, /reserved field imm is 1, must be 0 in exit/);
  assert.match(decodeError([0x05, 0x01, 1, 0, 0, 0, 0, 0]).reason, /reserved field dst is 1, must be 0 in ja/);
});

test('a selector field with no meaning lists the values that have one', () => {
  assert.match(decodeError([0x3f, 0x10, 2, 0, 0, 0, 0, 0]).reason, /invalid offset 2 for opcode 0x3f; allowed: 0 \(div64_reg\), 1 \(sdiv64_reg\)/);
  assert.match(decodeError([0xdb, 0x21, 0, 0, 0x02, 0, 0, 0]).reason, /invalid imm 0x2 for opcode 0xdb; allowed: 0x0 \(lock_add64\), 0x40 \(lock_or64\)/);
  assert.match(decodeError([0xd4, 0x01, 0, 0, 8, 0, 0, 0]).reason, /invalid imm 0x8 for opcode 0xd4/);
  assert.match(decodeError([0x85, 0x30, 0, 0, 1, 0, 0, 0]).reason, /invalid src 3 for opcode 0x85/);
});

test('encode refuses fields out of range or fixed by the instruction', () => {
  assert.throws(() => encode([insn('mov64_imm', { dst: 11 })]), EncodeError);
  assert.throws(() => encode([insn('ja', { offset: 40000 })]), /does not fit in 16 bits/);
  assert.throws(() => encode([insn('mov64_imm', { imm: 2 ** 32 })]), /does not fit in 32 bits/);
  assert.throws(() => encode([insn('exit', { imm: 1 })]), /field imm must be 0/);
});

test('every reserved-field case of bpf_conformance/negative is refused, naming that field', (t) => {
  const skip = missingShared(CONFORMANCE_NEGATIVE);
  if (skip !== undefined) return t.skip(skip);
  const files = readdirSync(CONFORMANCE_NEGATIVE).filter((f) => f.startsWith('unused-'));
  assert.ok(files.length >= 45, `found ${files.length} unused-* files`);
  for (const file of files) {
    const field = /-(offset|src|imm|dst)\.data$/.exec(file)?.[1];
    assert.ok(field !== undefined, file);
    const text = readFileSync(join(CONFORMANCE_NEGATIVE, file), 'utf8').replace(/#.*$/gm, '');
    const raw = text.split('-- raw')[1].split('--')[0];
    const bytes = raw.split(/\s+/).filter((w) => w.length > 0).map((w) => Number.parseInt(w, 16));
    const e = decodeError(bytes);
    assert.match(e.reason, new RegExp(`\\b${field}\\b`), `${file}: ${e.message}`);
  }
});
