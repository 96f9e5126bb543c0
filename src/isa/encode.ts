import { EncodeError } from './errors.js';
import { INSN_SIZE, NUM_REGISTERS } from './opcodes.js';
import { specByName, type FieldRule, type InstructionSpec } from './table.js';

/** What is needed to encode one instruction; fields a table entry fixes may be left out. */
export interface InstructionFields {
  readonly spec: InstructionSpec;
  readonly dst?: number;
  readonly src?: number;
  readonly offset?: number;
  readonly imm?: number;
  readonly nextImm?: number;
}

/** Builds instruction fields from a table entry name, e.g. `insn('add64_imm', { dst: 0, imm: 1 })`. */
export function insn(name: string, fields: Omit<InstructionFields, 'spec'> = {}): InstructionFields {
  return { spec: specByName(name), ...fields };
}

function fieldValue(spec: InstructionSpec, field: 'dst' | 'src' | 'offset' | 'imm', given: number | undefined): number {
  const rule: FieldRule = spec[field];
  const fixed = rule === 'zero' ? 0 : typeof rule === 'object' ? rule.eq : undefined;
  const value = given ?? fixed ?? 0;
  if (fixed !== undefined && value !== fixed) {
    throw new EncodeError(`${spec.name}: field ${field} must be ${fixed}, got ${value}`);
  }
  if (!Number.isInteger(value)) throw new EncodeError(`${spec.name}: field ${field} is not an integer: ${value}`);
  switch (field) {
    case 'dst':
    case 'src':
      if (value < 0 || value >= (rule === 'reg' ? NUM_REGISTERS : 16)) {
        throw new EncodeError(`${spec.name}: invalid ${field} register r${value} (registers are r0-r10)`);
      }
      break;
    case 'offset':
      if (value < -0x8000 || value > 0x7fff) throw new EncodeError(`${spec.name}: offset ${value} does not fit in 16 bits`);
      break;
    case 'imm':
      if (value < -0x80000000 || value > 0xffffffff) throw new EncodeError(`${spec.name}: imm ${value} does not fit in 32 bits`);
      break;
  }
  return value;
}

/** Number of 8-byte slots the instructions take. */
export function slotCount(insns: readonly InstructionFields[]): number {
  let n = 0;
  for (const i of insns) n += i.spec.slots;
  return n;
}

/** Encodes instructions into the little-endian byte form of RFC 9669 §3. */
export function encode(insns: readonly InstructionFields[]): Uint8Array {
  const bytes = new Uint8Array(slotCount(insns) * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const i of insns) {
    const { spec } = i;
    const dst = fieldValue(spec, 'dst', i.dst);
    const src = fieldValue(spec, 'src', i.src);
    view.setUint8(at, spec.opcode);
    view.setUint8(at + 1, (src << 4) | dst);
    view.setInt16(at + 2, fieldValue(spec, 'offset', i.offset), true);
    view.setInt32(at + 4, fieldValue(spec, 'imm', i.imm) | 0, true);
    at += INSN_SIZE;
    if (spec.slots === 2) {
      const next = i.nextImm ?? 0;
      if (!Number.isInteger(next) || next < -0x80000000 || next > 0xffffffff) {
        throw new EncodeError(`${spec.name}: second imm ${next} does not fit in 32 bits`);
      }
      view.setInt32(at + 4, next | 0, true);
      at += INSN_SIZE;
    }
  }
  return bytes;
}
