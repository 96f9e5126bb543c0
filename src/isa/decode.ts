import { DecodeError } from './errors.js';
import type { Instruction, RawSlot } from './instruction.js';
import { INSN_SIZE, NUM_REGISTERS } from './opcodes.js';
import { discriminant, specsForOpcode, type FieldRule, type InstructionSpec } from './table.js';

const hex = (n: number, width = 2): string => '0x' + (n >>> 0).toString(16).padStart(width, '0');

/** Reads the raw fields of slot `slot` (no validation). */
export function readSlot(view: DataView, slot: number): RawSlot {
  const base = slot * INSN_SIZE;
  const regs = view.getUint8(base + 1);
  return {
    opcode: view.getUint8(base),
    dst: regs & 0x0f,
    src: regs >> 4,
    offset: view.getInt16(base + 2, true),
    imm: view.getInt32(base + 4, true),
  };
}

function checkField(slot: number, spec: InstructionSpec, field: 'dst' | 'src' | 'offset' | 'imm', value: number): void {
  const rule: FieldRule = spec[field];
  if (rule === 'any') return;
  if (rule === 'reg') {
    if (value >= NUM_REGISTERS) {
      throw new DecodeError(slot, `invalid ${field} register r${value} in ${spec.name} (registers are r0-r10)`);
    }
    return;
  }
  const expected = rule === 'zero' ? 0 : rule.eq;
  if (value !== expected) {
    throw new DecodeError(slot, `reserved field ${field} is ${value}, must be ${expected} in ${spec.name} (opcode ${hex(spec.opcode)})`);
  }
}

/** Picks the table entry for a slot's fields, or explains why none fits. */
export function selectSpec(slot: number, raw: RawSlot): InstructionSpec {
  const candidates = specsForOpcode(raw.opcode);
  if (candidates.length === 0) throw new DecodeError(slot, `unknown opcode ${hex(raw.opcode)}`);
  if (candidates.length === 1) return candidates[0];
  // Several entries share the opcode byte: one field (src, offset or imm) selects among them.
  let plain: InstructionSpec | undefined;
  for (const spec of candidates) {
    const d = discriminant(spec);
    if (d === undefined) plain = spec;
    else if (raw[d.field] === d.value) return spec;
  }
  if (plain !== undefined) {
    const field = candidates.map(discriminant).find((d) => d !== undefined)?.field ?? 'imm';
    if (raw[field] === 0) return plain;
  }
  const d = discriminant(candidates.find((s) => discriminant(s) !== undefined) ?? candidates[0]);
  const field = d?.field ?? 'imm';
  const allowed = candidates.map((s) => {
    const ds = discriminant(s);
    const value = ds === undefined ? 0 : ds.value;
    return `${field === 'imm' ? hex(value, 1) : value} (${s.name})`;
  });
  throw new DecodeError(
    slot,
    `invalid ${field} ${field === 'imm' ? hex(raw.imm, 1) : raw[field]} for opcode ${hex(raw.opcode)}; allowed: ${allowed.join(', ')}`,
  );
}

/**
 * Decodes a program's bytes into instructions, checking every field against the ISA table:
 * unknown opcodes, bad registers, reserved fields that are set and truncated lddw are errors.
 */
export function decode(bytes: Uint8Array): Instruction[] {
  if (bytes.byteLength % INSN_SIZE !== 0) {
    throw new DecodeError(
      Math.floor(bytes.byteLength / INSN_SIZE),
      `truncated instruction: program length ${bytes.byteLength} is not a multiple of ${INSN_SIZE}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = bytes.byteLength / INSN_SIZE;
  const out: Instruction[] = [];
  for (let pc = 0; pc < slots; pc++) {
    const raw = readSlot(view, pc);
    const spec = selectSpec(pc, raw);
    checkField(pc, spec, 'dst', raw.dst);
    checkField(pc, spec, 'src', raw.src);
    checkField(pc, spec, 'offset', raw.offset);
    checkField(pc, spec, 'imm', raw.imm);
    if (spec.slots === 2) {
      if (pc + 1 >= slots) throw new DecodeError(pc, `truncated lddw: the second slot is missing`);
      const next = readSlot(view, pc + 1);
      if (next.opcode !== 0 || next.dst !== 0 || next.src !== 0 || next.offset !== 0) {
        throw new DecodeError(pc + 1, `second slot of lddw must have opcode, registers and offset 0 (found opcode ${hex(next.opcode)}, dst ${next.dst}, src ${next.src}, offset ${next.offset})`);
      }
      out.push({ spec, pc, ...raw, nextImm: next.imm });
      pc++;
    } else {
      out.push({ spec, pc, ...raw });
    }
  }
  return out;
}
