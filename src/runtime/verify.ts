// Verification of a program from an opened object: the verifier gets the program's instructions,
// what each map reference points at, its program type's rules and its source lines.
import type { ObjectSpec, ProgramSpec, MapDefinition } from '../elf/spec.js';
import { type Btf, BtfError, BtfKind } from '../btf/index.js';
import { MapFlags, MapType } from '../maps/spec.js';
import { verifierRules } from '../program-types/rules.js';
import type { ProgramType } from '../program-types/types.js';
import { LoadError } from './errors.js';
import { verify, formatReport, type MapInfo, type MapRef, type ProgramTypeRules, type VerificationReport, type VerifierInput, type VerifierOptions } from '../verifier/index.js';

/** A program the verifier refused: loading it fails, with the verifier's report. */
export class VerificationError extends LoadError {
  override readonly name = 'VerificationError';
  constructor(
    readonly program: string,
    readonly report: VerificationReport,
  ) {
    super(`program ${program} was refused by the verifier:\n${formatReport(report)}`);
  }
}

function mapInfo(def: MapDefinition, btf: Btf | undefined): MapInfo {
  const spinLock = spinLockOffset(def, btf);
  return {
    name: def.name, type: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries,
    // BPF_F_RDONLY_PROG: the program may read the values, not change them.
    // Devmap values name interfaces: programs read them, only user space sets them (as in Linux).
    readOnly: def.readOnly || (def.flags & MapFlags.RDONLY_PROG) !== 0 || def.type === MapType.DEVMAP || def.type === MapType.DEVMAP_HASH,
    innerMap: def.innerMap === undefined ? undefined : mapInfo(def.innerMap, btf),
    ...(spinLock === undefined ? {} : { spinLock }),
    // Frozen when loaded (.rodata, .kconfig): the verifier may read strings there.
    ...(def.readOnly && def.initialValue !== undefined ? { frozen: def.initialValue } : {}),
  };
}

/** Offset of the `struct bpf_spin_lock` member of the map's BTF value type, as Linux finds it. */
function spinLockOffset(def: MapDefinition, btf: Btf | undefined): number | undefined {
  if (btf === undefined || def.btfValueType === undefined) return undefined;
  try {
    const value = btf.resolve(def.btfValueType);
    for (const m of value.members ?? []) {
      const t = btf.resolve(m.type);
      if (t.kind === BtfKind.STRUCT && t.name === 'bpf_spin_lock' && m.bitOffset % 8 === 0) return m.bitOffset / 8;
    }
  } catch (e) {
    if (!(e instanceof BtfError)) throw e;
  }
  return undefined;
}

/** The rules for `program`: its type module's own, else the built-in table; undefined if none. */
export function rulesFor(program: ProgramSpec, spec: ObjectSpec, type?: ProgramType): ProgramTypeRules | undefined {
  return type?.verifierRules?.(spec.abi) ?? verifierRules(type?.name ?? program.type, spec.abi);
}

/** Default checks for loading: everything, termination included. */
export const LOAD_VERIFIER_OPTIONS: VerifierOptions = { termination: true };

/** What the verifier needs of `program`: instructions, map references, rules, lines, functions. */
export function verifierInput(spec: ObjectSpec, program: ProgramSpec, rules: ProgramTypeRules): VerifierInput {
  const maps = new Map<number, MapRef>();
  for (const r of program.references) {
    if (r.kind !== 'map' && r.kind !== 'map-value') continue;
    const def = spec.maps.find((m) => m.name === r.map);
    if (def === undefined) continue;
    maps.set(r.pc, { kind: r.kind, offset: r.kind === 'map-value' ? r.offset : 0, map: mapInfo(def, spec.btf) });
  }
  return {
    instructions: program.instructions,
    maps,
    programType: rules,
    lineInfo: program.lineInfo,
    functionStarts: new Set(program.functions.map((f) => f.pc)),
    functionPointers: new Map(program.references.flatMap((r) => (r.kind === 'function' ? [[r.pc, r.target] as [number, number]] : []))),
  };
}

export function verifyProgram(spec: ObjectSpec, program: ProgramSpec, rules: ProgramTypeRules, options: VerifierOptions = LOAD_VERIFIER_OPTIONS): VerificationReport {
  if (program.unsupported !== undefined) {
    return { ok: false, instructions: 0, statesVisited: 0, errors: [{ code: 'unsupported', pc: -1, instruction: '', message: program.unsupported, registers: {} }] };
  }
  return verify(verifierInput(spec, program, rules), options);
}
