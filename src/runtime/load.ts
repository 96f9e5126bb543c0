// load: ObjectSpec -> live maps and programs in an execution context. Maps first (programs refer
// to their addresses), then programs, then the slots of prog arrays and map-in-maps that the
// object initialises.
import type { MapDefinition, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { buildHelperRegistry } from '../helpers/index.js';
import { INSN_SIZE, LddwSrc } from '../isa/index.js';
import { MapError, ProgArrayMap, type BpfMap, type MapSpec } from '../maps/index.js';
import type { PreparedProgram } from '../vm/program.js';
import { prepareProgram } from '../vm/program.js';
import { ProgramLoadError } from '../vm/errors.js';
import { EFW_HELPERS, LINUX_HELPERS } from '../abi/index.js';
import { programKind, type ExecutionContext } from './context.js';
import { LoadedProgram, type EngineName } from './program.js';
import { mapEntries, type MapEntry } from './typed-map.js';
import { LOAD_VERIFIER_OPTIONS, rulesFor, VerificationError, verifyProgram } from './verify.js';
import { LoadError } from './errors.js';

export { LoadError } from './errors.js';

export interface LoadOptions {
  /** Load only these programs (by function or section name); default: all. */
  readonly programs?: readonly string[];
  /** Override the program type of every loaded program (as `--type`). */
  readonly programType?: string;
  /** Override the program type of these programs (by function name); before `programType`. */
  readonly programTypes?: Readonly<Record<string, string>>;
  /**
   * A prog-array slot the object fills with a program that `programs` left out: an error
   * (`error`, the default), or left empty (`leave-empty`), as if user space had not filled it yet.
   */
  readonly unselectedSlots?: 'error' | 'leave-empty';
  /** `jit` (default) or `interpreter`. */
  readonly engine?: EngineName;
  /**
   * Verify as Linux does for a privileged loader: addresses may become numbers that leave the
   * program (returned, stored in maps). Memory safety is checked the same way. Default false.
   */
  readonly allowPointerLeaks?: boolean;
  /**
   * Programs (by name) that the service's verifier process accepted (DESIGN.md): a hook host
   * loads what the service approved without verifying again. Any other program is verified here.
   */
  readonly approved?: ReadonlySet<string>;
}

export class LoadedObject {
  constructor(
    readonly spec: ObjectSpec,
    readonly maps: ReadonlyMap<string, BpfMap>,
    readonly programs: ReadonlyMap<string, LoadedProgram>,
  ) {}

  /** A program by function name, or the only program of a section. */
  program(name: string): LoadedProgram {
    const byName = this.programs.get(name);
    if (byName !== undefined) return byName;
    const bySection = [...this.programs.values()].filter((p) => p.section === name);
    if (bySection.length === 1) return bySection[0];
    const known = [...this.programs.values()].map((p) => `${p.name} (${p.section})`).join(', ');
    if (bySection.length > 1) throw new LoadError(`section ${name} holds ${bySection.length} programs; name one: ${known}`);
    throw new LoadError(`no program or section named '${name}'; the object has: ${known || 'no programs'}`);
  }

  /** A map's entries decoded through the object's BTF (structs as objects). */
  read(name: string): MapEntry[] {
    return mapEntries(this.map(name), this.spec.maps.find((m) => m.name === name), this.spec.btf);
  }

  map(name: string): BpfMap {
    const map = this.maps.get(name);
    if (map === undefined) throw new LoadError(`no map named '${name}'; the object has: ${[...this.maps.keys()].join(', ') || 'no maps'}`);
    return map;
  }
}

const PERF_EVENT_ARRAY = 4;
const RINGBUF = 27;

function mapSpecOf(def: MapDefinition, cpus: number): MapSpec {
  // Some sources declare key and value types for ring buffers and perf event arrays for their
  // readers' sake; the maps themselves have fixed sizes (cilium/ebpf normalises them the same way).
  const fixed = def.type === RINGBUF ? 0 : def.type === PERF_EVENT_ARRAY ? 4 : undefined;
  return {
    name: def.name,
    type: def.type,
    keySize: fixed ?? def.keySize,
    valueSize: fixed ?? def.valueSize,
    // A perf event array with max_entries 0 gets one slot per CPU, as libbpf does.
    maxEntries: def.type === PERF_EVENT_ARRAY && def.maxEntries === 0 ? cpus : def.maxEntries,
    flags: def.flags,
    innerMap: def.innerMap === undefined ? undefined : mapSpecOf(def.innerMap, cpus),
  };
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

/** The program's code with map references turned into the addresses of the live maps. */
function resolveReferences(spec: ProgramSpec, maps: ReadonlyMap<string, BpfMap>, zeroKey: number): Uint8Array {
  const code = spec.code.slice();
  const view = new DataView(code.buffer);
  for (const ref of spec.references) {
    if (ref.kind !== 'map' && ref.kind !== 'map-value') continue;
    const map = maps.get(ref.map);
    if (map === undefined) throw new LoadError(`program ${spec.name}: map ${ref.map} was not created`);
    let address = map.address;
    if (ref.kind === 'map-value') {
      const value = map.lookupFromProgram(zeroKey, 0);
      if (value === 0) throw new LoadError(`program ${spec.name}: global data map ${ref.map} has no value`);
      if (ref.offset < 0 || ref.offset > map.spec.valueSize) throw new LoadError(`program ${spec.name}: offset ${ref.offset} is outside ${ref.map}`);
      address = value + ref.offset;
    }
    const at = ref.pc * INSN_SIZE;
    code[at + 1] = (LddwSrc.IMM64 << 4) | (code[at + 1] & 0x0f);
    view.setInt32(at + 4, address | 0, true);
    view.setInt32(at + INSN_SIZE + 4, 0, true);
  }
  return code;
}

export function loadObject(spec: ObjectSpec, context: ExecutionContext, options: LoadOptions = {}): LoadedObject {
  const maps = new Map<string, BpfMap>();
  const zeroKey = context.memory.alloc(8, 8);
  try {
    for (const def of spec.maps) {
      const map = context.maps.create(mapSpecOf(def, context.cpus));
      maps.set(def.name, map);
      context.reserveScratch(map);
      if (def.initialValue !== undefined) map.update(u32(0), def.initialValue);
      if (def.readOnly) map.freeze();
    }
  } catch (e) {
    if (e instanceof MapError) throw new LoadError(`cannot create the maps of ${spec.path ?? 'the object'}: ${e.message}`);
    throw e;
  }

  const wanted = options.programs;
  const selected = spec.programs.filter((p) => wanted === undefined || wanted.includes(p.name) || wanted.includes(p.section));
  if (wanted !== undefined) {
    for (const w of wanted) {
      if (!spec.programs.some((p) => p.name === w || p.section === w)) {
        throw new LoadError(`no program or section named '${w}'; the object has: ${spec.programs.map((p) => `${p.name} (${p.section})`).join(', ')}`);
      }
    }
  }

  const resolveTailCall = (mapAddress: number, index: number): PreparedProgram | undefined => {
    const map = context.maps.byAddress(mapAddress);
    if (!(map instanceof ProgArrayMap)) return undefined;
    const id = map.programAt(index);
    return id === undefined ? undefined : context.program(id)?.prepared;
  };

  const programs = new Map<string, LoadedProgram>();
  for (const p of selected) {
    if (p.unsupported !== undefined) throw new LoadError(`program ${p.name} cannot be loaded: ${p.unsupported}`);
    const typeOfThis = options.programTypes !== undefined && Object.hasOwn(options.programTypes, p.name) ? options.programTypes[p.name] : undefined;
    const type = context.programTypes.get(typeOfThis ?? options.programType ?? p.type);
    // Only verified programs run (DESIGN.md): a program type the verifier has no rules for cannot load.
    const rules = rulesFor(p, spec, type);
    if (rules === undefined) throw new LoadError(`program ${p.name}: the verifier has no rules for program type ${type.name} (${spec.abi} ABI), so it cannot be loaded`);
    if (options.approved?.has(p.name) !== true) {
      const report = verifyProgram(spec, p, rules, { ...LOAD_VERIFIER_OPTIONS, allowPointerLeaks: options.allowPointerLeaks === true });
      if (!report.ok) throw new VerificationError(p.name, report);
    }
    // A prog array this program tail-calls through holds programs of its own kind only.
    for (const r of p.references) {
      if (r.kind !== 'map') continue;
      const map = maps.get(r.map);
      if (!(map instanceof ProgArrayMap)) continue;
      try {
        map.claim(programKind(type.name, spec.abi), `program ${p.name}`);
      } catch (e) {
        if (e instanceof MapError) throw new LoadError(`program ${p.name} cannot use prog array ${r.map}: ${e.message}`);
        throw e;
      }
    }
    const helpers = buildHelperRegistry(context.host, spec.abi, type.name, type.helpers?.(context.host) ?? []);
    let prepared: PreparedProgram;
    try {
      prepared = prepareProgram(resolveReferences(p, maps, zeroKey), { helpers });
    } catch (e) {
      if (e instanceof ProgramLoadError && e.fault === 'unknown-helper' && e.pc !== undefined) {
        const id = p.instructions.find((i) => i.pc === e.pc)?.imm ?? -1;
        const known = (spec.abi === 'efw' ? EFW_HELPERS : LINUX_HELPERS).find((h) => h.id === id);
        throw new ProgramLoadError('unknown-helper', e.pc, `program ${p.name} calls ${known === undefined ? `helper id ${id}, which the ${spec.abi} ABI does not define` : `bpf_${known.name} (#${id}), which ebpf-ts does not implement`}`);
      }
      throw e;
    }
    const loaded = context.registerProgram((id) => new LoadedProgram(id, p, spec.abi, type, prepared, context, resolveTailCall, options.engine ?? 'jit'));
    programs.set(p.name, loaded);
  }

  // Initial slots: prog arrays name programs, map-in-maps name maps.
  for (const def of spec.maps) {
    for (const slot of def.initialSlots ?? []) {
      const map = maps.get(def.name) as BpfMap;
      const target = def.innerMap !== undefined ? maps.get(slot.name)?.id : programs.get(slot.name)?.id;
      const leftOut = def.innerMap === undefined && spec.programs.some((p) => p.name === slot.name && !selected.includes(p));
      if (target === undefined && leftOut && options.unselectedSlots === 'leave-empty') continue;
      if (target === undefined) {
        throw new LoadError(`map ${def.name}: slot ${slot.index} names ${slot.name}, which ${def.innerMap !== undefined ? 'is not a map of this object' : 'is not a loaded program'}`);
      }
      try {
        map.update(u32(slot.index), u32(target));
      } catch (e) {
        if (e instanceof MapError) throw new LoadError(`map ${def.name}: slot ${slot.index} cannot hold ${slot.name}: ${e.message}`);
        throw e;
      }
    }
  }
  return new LoadedObject(spec, maps, programs);
}
