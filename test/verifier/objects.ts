// Builds verifier inputs from compiled objects (shared by the unsafe corpus and the examples test).

import { readFileSync } from 'node:fs';
import { openObject } from '../../src/elf/index.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/index.js';
import { type MapRef, type VerifierInput, type ProgramTypeRules } from '../../src/verifier/index.js';

export function loadObject(path: string): ObjectSpec {
  return openObject(readFileSync(path));
}

export function inputFor(spec: ObjectSpec, prog: ProgramSpec, rules: ProgramTypeRules): VerifierInput {
  const maps = new Map<number, MapRef>();
  const info = (name: string): MapRef['map'] | undefined => {
    const def = spec.maps.find((m) => m.name === name);
    if (def === undefined) return undefined;
    const inner = def.innerMap;
    return {
      name: def.name, type: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries, readOnly: def.readOnly,
      ...(inner === undefined ? {} : {
        innerMap: { name: inner.name, type: inner.type, keySize: inner.keySize, valueSize: inner.valueSize, maxEntries: inner.maxEntries, readOnly: inner.readOnly },
      }),
    };
  };
  const functionPointers = new Map<number, number>();
  for (const ref of prog.references) {
    if (ref.kind === 'function') functionPointers.set(ref.pc, ref.target);
    if (ref.kind !== 'map' && ref.kind !== 'map-value') continue;
    const map = info(ref.map);
    if (map === undefined) continue;
    maps.set(ref.pc, { kind: ref.kind, offset: ref.kind === 'map-value' ? ref.offset : 0, map });
  }
  return {
    instructions: prog.instructions, maps, programType: rules, lineInfo: prog.lineInfo,
    functionStarts: new Set(prog.functions.map((f) => f.pc)), functionPointers,
  };
}
