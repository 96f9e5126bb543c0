// From generated assembly text to the two forms the fuzzer needs: what the verifier sees (the
// instructions with `map_fd N` / `map_value[fd:N]` pseudo-loads and a MapRef per such lddw, as
// src/runtime/verify.ts builds them for objects) and what the engines run (the same code with
// those loads turned into the live maps' addresses, as the loader does). Then verification with
// the loader's options; for accepted programs, the set of pcs the verifier reached.

import { decode, encode, insn, type InstructionFields } from '../../src/isa/index.js';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { verify, type MapRef, type VerificationReport } from '../../src/verifier/index.js';
import { LOAD_VERIFIER_OPTIONS } from '../../src/runtime/verify.js';
import type { Environment, FuzzMap } from './environment.js';

export interface BuiltProgram {
  readonly text: string;
  readonly fields: readonly InstructionFields[];
  readonly refs: ReadonlyMap<number, MapRef>;
  /** Code with map addresses resolved, for the engines. */
  readonly code: Uint8Array;
  /** The maps the program names (the only map values it may touch). */
  readonly maps: readonly FuzzMap[];
  readonly instructionCount: number;
}

/** Assembles `text`; undefined when it does not assemble (e.g. a minimiser removed a label). */
export function build(text: string, env: Environment): BuiltProgram | undefined {
  let fields: InstructionFields[];
  try {
    fields = assembleLlvm(text).instructions;
  } catch {
    return undefined;
  }
  const refs = new Map<number, MapRef>();
  const used = new Set<FuzzMap>();
  const runnable: InstructionFields[] = [];
  let pc = 0;
  for (const f of fields) {
    const name = f.spec.name;
    if (name === 'lddw_map_fd' || name === 'lddw_map_value') {
      const m = env.maps.get(f.imm ?? -1);
      if (m === undefined) return undefined;
      used.add(m);
      const offset = name === 'lddw_map_value' ? (f.nextImm ?? 0) : 0;
      refs.set(pc, { kind: name === 'lddw_map_fd' ? 'map' : 'map-value', offset, map: m.info });
      const address = name === 'lddw_map_fd' ? m.map.address : (m.values[0]?.start ?? 0) + offset;
      runnable.push(insn('lddw', { dst: f.dst, imm: address | 0, nextImm: 0 }));
    } else {
      runnable.push(f);
    }
    pc += f.spec.slots;
  }
  let code: Uint8Array;
  try {
    code = encode(runnable);
    encode(fields);
  } catch {
    return undefined;
  }
  return { text, fields, refs, code, maps: [...used], instructionCount: pc };
}

export function verifyBuilt(p: BuiltProgram, env: Environment, verbose = false): VerificationReport {
  return verify({ instructions: decode(encode(p.fields)), maps: p.refs, programType: env.rules }, { ...LOAD_VERIFIER_OPTIONS, ...(verbose ? { verbose } : {}) });
}

/** The pcs the verifier found reachable (those it recorded an invariant for). */
export function reachablePcs(p: BuiltProgram, env: Environment): Set<number> | undefined {
  const report = verifyBuilt(p, env, true);
  if (!report.ok || report.invariants === undefined) return undefined;
  return new Set(report.invariants.keys());
}
