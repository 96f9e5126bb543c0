// Turns bytes into a program an engine can run: decoded once, checked for what every engine
// relies on (jumps land on instructions, r10 is never written, helpers exist), and laid out as
// flat typed arrays indexed by slot so the interpreter's dispatch reads no objects.

import {
  CallSrc,
  DecodeError,
  FRAME_POINTER,
  LddwSrc,
  callTarget,
  decode,
  jumpTarget,
  type Instruction,
} from '../isa/index.js';
import { ProgramLoadError } from './errors.js';
import type { HelperDefinition, HelperRegistry } from './helpers.js';

/** Linux's limit for privileged programs. */
export const MAX_INSTRUCTIONS = 1_000_000;

export interface PreparedProgram {
  readonly instructions: readonly Instruction[];
  /** Number of 8-byte slots. */
  readonly slots: number;
  readonly opcode: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly offset: Int32Array;
  /** imm of each slot; the second slot of an lddw holds its upper half. */
  readonly imm: Int32Array;
  /** Helper bound to each `call imm` slot. */
  readonly helpers: readonly (HelperDefinition | undefined)[];
  readonly helperRegistry: HelperRegistry;
  /** Slots where functions start: 0, every local-call target and every function-pointer target. */
  readonly functionStarts: ReadonlySet<number>;
}

export interface PrepareOptions {
  readonly helpers: HelperRegistry;
}

/** Registers an instruction writes, for the r10 check. */
function writtenRegister(insn: Instruction): number | undefined {
  switch (insn.spec.form) {
    case 'alu-imm':
    case 'alu-reg':
    case 'neg':
    case 'endian':
    case 'lddw':
    case 'ldx':
      return insn.dst;
    case 'atomic':
      if (insn.spec.op === 'atomic_cmpxchg') return 0;
      return insn.spec.op.startsWith('atomic_fetch') || insn.spec.op === 'atomic_xchg' ? insn.src : undefined;
    default:
      return undefined;
  }
}

/** Decodes and checks `code`, then lays it out for execution. Throws ProgramLoadError. */
export function prepareProgram(code: Uint8Array | readonly Instruction[], options: PrepareOptions): PreparedProgram {
  let instructions: readonly Instruction[];
  if (code instanceof Uint8Array) {
    try {
      instructions = decode(code);
    } catch (e) {
      if (e instanceof DecodeError) throw new ProgramLoadError('decode', e.slot, e.reason);
      throw e;
    }
  } else {
    instructions = code;
  }
  if (instructions.length === 0) throw new ProgramLoadError('empty', undefined, 'the program has no instructions');
  const last = instructions[instructions.length - 1];
  const slots = last.pc + last.spec.slots;
  if (slots > MAX_INSTRUCTIONS) {
    throw new ProgramLoadError('too-large', undefined, `the program has ${slots} instructions; the limit is ${MAX_INSTRUCTIONS}`);
  }

  const starts = new Uint8Array(slots);
  for (const insn of instructions) starts[insn.pc] = 1;
  const landsOnInstruction = (target: number): boolean => target >= 0 && target < slots && starts[target] === 1;

  const opcode = new Uint8Array(slots);
  const dst = new Uint8Array(slots);
  const src = new Uint8Array(slots);
  const offset = new Int32Array(slots);
  const imm = new Int32Array(slots);
  const helpers: (HelperDefinition | undefined)[] = new Array(slots).fill(undefined);
  const functionStarts = new Set<number>([0]);

  for (const insn of instructions) {
    const { pc, spec } = insn;
    opcode[pc] = insn.opcode;
    dst[pc] = insn.dst;
    src[pc] = insn.src;
    offset[pc] = insn.offset;
    imm[pc] = insn.imm;
    if (spec.slots === 2) imm[pc + 1] = insn.nextImm ?? 0;

    if (writtenRegister(insn) === FRAME_POINTER) {
      throw new ProgramLoadError('frame-pointer-write', pc, `${spec.name} writes r10, the read-only frame pointer`);
    }
    switch (spec.form) {
      case 'jmp-imm':
      case 'jmp-reg':
      case 'ja':
      case 'ja32': {
        const target = jumpTarget(insn);
        if (!landsOnInstruction(target)) {
          throw new ProgramLoadError('bad-jump', pc, `jump to slot ${target} is ${target < 0 || target >= slots ? 'outside the program' : 'into the middle of an lddw'} (${slots} slots)`);
        }
        break;
      }
      case 'call-local': {
        const target = callTarget(insn);
        if (!landsOnInstruction(target)) {
          throw new ProgramLoadError('bad-jump', pc, `local call to slot ${target} does not land on an instruction (${slots} slots)`);
        }
        functionStarts.add(target);
        break;
      }
      case 'call': {
        const helper = options.helpers.get(insn.imm);
        if (helper === undefined) throw new ProgramLoadError('unknown-helper', pc, `call to unknown helper id ${insn.imm}`);
        helpers[pc] = helper;
        break;
      }
      case 'call-btf':
        if (insn.src === CallSrc.BTF_ID) {
          throw new ProgramLoadError('unsupported', pc, `calls to kernel functions by BTF id (${insn.imm}) are not supported`);
        }
        break;
      case 'lddw':
        if (insn.src === LddwSrc.CODE_ADDR) {
          // A function pointer (a callback for bpf_loop and friends): the register holds its slot.
          const target = pc + 1 + insn.imm;
          if (!landsOnInstruction(target)) {
            throw new ProgramLoadError('bad-jump', pc, `function pointer to slot ${target} does not land on an instruction (${slots} slots)`);
          }
          functionStarts.add(target);
          imm[pc] = target;
          imm[pc + 1] = 0;
        } else if (insn.src !== LddwSrc.IMM64) {
          throw new ProgramLoadError('unsupported', pc, `${spec.name} refers to a map or symbol that was not resolved; load the program from its object file`);
        }
        break;
      default:
        break;
    }
  }
  return { instructions, slots, opcode, dst, src, offset, imm, helpers, helperRegistry: options.helpers, functionStarts };
}
