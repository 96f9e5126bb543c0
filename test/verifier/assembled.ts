// Verifying programs written in the llvm assembler syntax, for the verifier's tests: the program
// text, its type's rules, verifier options, and the map each `map_fd N` lddw names.
import assert from 'node:assert/strict';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { LddwSrc } from '../../src/isa/opcodes.js';
import { type MapDescriptor, type MapRef, type ProgramTypeRules, type VerificationReport, type VerifierOptions, formatReport, verify } from '../../src/verifier/index.js';
import { LINUX_XDP } from '../../src/program-types/base-rules.js';

/** The map behind `map_fd N` (undefined: the program has none). */
export type MapsByFd = (fd: number) => MapDescriptor | undefined;

const NO_MAPS: MapsByFd = () => undefined;

export function verifyText(src: string, rules: ProgramTypeRules = LINUX_XDP, options: VerifierOptions = {}, mapOf: MapsByFd = NO_MAPS): VerificationReport {
  const asm = assembleLlvm(src);
  const instructions = decode(encode(asm.instructions));
  const maps = new Map<number, MapRef>();
  for (const i of instructions) {
    const map = i.spec.form === 'lddw' && i.src === LddwSrc.MAP_FD ? mapOf(i.imm) : undefined;
    if (map !== undefined) maps.set(i.pc, { kind: 'map', offset: 0, map });
  }
  return verify({ instructions, maps, programType: rules, assumptions: asm.assumptions }, options);
}

export function acceptsText(src: string, rules?: ProgramTypeRules, options?: VerifierOptions, mapOf?: MapsByFd): void {
  const report = verifyText(src, rules, options, mapOf);
  assert.ok(report.ok, `expected acceptance, got:\n${formatReport(report)}`);
}

/** The first error has this code at this pc. */
export function rejectsText(src: string, code: string, pc: number, rules?: ProgramTypeRules, options?: VerifierOptions, mapOf?: MapsByFd): void {
  const report = verifyText(src, rules, options, mapOf);
  assert.ok(!report.ok, `expected ${code} at ${pc}, but the program was accepted`);
  assert.deepEqual([report.errors[0].code, report.errors[0].pc], [code, pc], formatReport(report));
}
