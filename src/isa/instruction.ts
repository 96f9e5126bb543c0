import type { InstructionSpec } from './table.js';

/** One decoded instruction: its table entry plus the raw field values. */
export interface Instruction {
  readonly spec: InstructionSpec;
  /** Slot index of the instruction in its program (an lddw takes two slots). */
  readonly pc: number;
  readonly opcode: number;
  readonly dst: number;
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly offset: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
  /** lddw only: the signed 32-bit imm of the second slot. */
  readonly nextImm?: number;
}

/** The raw fields of one 8-byte slot. */
export interface RawSlot {
  opcode: number;
  dst: number;
  src: number;
  offset: number;
  imm: number;
}

/** The 64-bit value an lddw instruction loads (as unsigned). */
export function lddwValue(insn: Pick<Instruction, 'imm' | 'nextImm'>): bigint {
  return (BigInt((insn.nextImm ?? 0) >>> 0) << 32n) | BigInt(insn.imm >>> 0);
}

/** Target slot of a jump (ja32 uses imm, the others the offset). */
export function jumpTarget(insn: Instruction): number {
  return insn.spec.form === 'ja32' ? insn.pc + 1 + insn.imm : insn.pc + 1 + insn.offset;
}

/** Target slot of a program-local call. */
export function callTarget(insn: Instruction): number {
  return insn.pc + 1 + insn.imm;
}
