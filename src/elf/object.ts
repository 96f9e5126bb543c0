// openObject: ELF bytes -> ObjectSpec. Pure: reads, checks and describes; creates nothing.
import { EFW_CONTEXT_TYPE_NAMES } from '../abi/index.js';
import { Btf, BtfError, BtfKind, parseBtfExt, type BtfExt } from '../btf/index.js';
import { ObjectError } from './errors.js';
import { codeFunctions, linkProgram, type CodeFunction, type SymbolResolver } from './link.js';
import { btfMaps } from './maps-btf.js';
import { checkEfwMapDefinition } from './maps-efw.js';
import { EFW_MAP_DEF_SIZE, legacyDefinitionSize, legacyMaps } from './maps-legacy.js';
import { ElfError, ET_REL, SectionFlag, SectionType, SymbolType, readElf, type ElfFile, type ElfSection } from './reader.js';
import { readRelocations } from './relocations.js';
import { kconfigLayout, type KconfigLayout } from './kconfig.js';
import { programTypeOfSection } from './section-names.js';
import type { Abi, MapDefinition, ObjectSpec, ProgramSpec } from './spec.js';

export interface OpenOptions {
  /** Force the helper/map ABI instead of detecting it. */
  readonly abi?: Abi;
  /** For messages. */
  readonly path?: string;
  /**
   * Also make programs of the global functions in `.text` (which normally are only subprograms),
   * as PREVAIL does when it verifies every function of an object on its own.
   */
  readonly includeSubprograms?: boolean;
}

const ARRAY_MAP_TYPE = 2;
const MAP_F_RDONLY_PROG = 0x80;
/** Largest global-data section: one map value, as big as Linux allows an array value to be. */
const MAX_GLOBAL_DATA = 64 << 20;

const isDataSection = (s: ElfSection): boolean =>
  /^\.(data|rodata|bss)(\..*)?$/.test(s.name) && (s.flags & SectionFlag.ALLOC) !== 0 && (s.flags & SectionFlag.EXECINSTR) === 0;
const isLegacyMapSection = (s: ElfSection): boolean => s.name === 'maps' || s.name.startsWith('maps/');

function cString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end < 0 ? data : data.subarray(0, end));
}

/** The BTF name of a function's first parameter type (through pointers and typedefs kept). */
function contextTypeName(btf: Btf | undefined, functionName: string): string | undefined {
  if (btf === undefined) return undefined;
  const fn = btf.findByName(functionName, BtfKind.FUNC);
  if (fn?.type === undefined) return undefined;
  const proto = btf.type(fn.type);
  const first = proto.params?.[0];
  if (first === undefined) return undefined;
  let t = btf.type(first.type);
  for (let depth = 0; depth < 8 && t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.TYPEDEF; depth++) {
    if (t.type === undefined) return undefined;
    t = btf.type(t.type);
  }
  return t.kind === BtfKind.STRUCT ? `struct ${t.name}` : t.name;
}


/** Linux or ebpf-for-windows: context parameter types, EfW-only section names, legacy layout. */
function detectAbi(elf: ElfFile, btf: Btf | undefined, programs: readonly CodeFunction[]): { abi: Abi; reason: string } {
  for (const p of programs) {
    const ctx = contextTypeName(btf, p.name);
    if (ctx !== undefined && EFW_CONTEXT_TYPE_NAMES.includes(ctx)) return { abi: 'efw', reason: `program ${p.name} takes ${ctx}` };
  }
  for (const p of programs) {
    if (programTypeOfSection(p.section.name).efwOnly) return { abi: 'efw', reason: `section ${p.section.name} is an ebpf-for-windows section` };
  }
  const maps = elf.sections.find((s) => s.name === 'maps');
  if (maps !== undefined && legacyDefinitionSize(elf, maps) === EFW_MAP_DEF_SIZE) {
    return { abi: 'efw', reason: `its legacy map definitions are ${EFW_MAP_DEF_SIZE} bytes (ebpf-for-windows layout)` };
  }
  return { abi: 'linux', reason: 'no ebpf-for-windows evidence (context types, section names, map layout)' };
}

function openElf(bytes: Uint8Array, options: OpenOptions): ObjectSpec {
  const elf = readElf(bytes);
  if (elf.type !== ET_REL) throw new ObjectError(`not a relocatable object (ELF type ${elf.type}); compile with clang -c`);
  const byName = new Map(elf.sections.map((s) => [s.name, s]));

  let btf: Btf | undefined;
  let btfExt: BtfExt | undefined;
  const btfSection = byName.get('.BTF');
  if (btfSection !== undefined) btf = Btf.parse(btfSection.data);
  const extSection = byName.get('.BTF.ext');
  if (extSection !== undefined && btf !== undefined) btfExt = parseBtfExt(extSection.data, btf);

  const licenseSection = byName.get('license');
  const license = licenseSection === undefined ? '' : cString(licenseSection.data);
  const versionSection = byName.get('version');
  const kernelVersion = versionSection !== undefined && versionSection.data.length >= 4
    ? new DataView(versionSection.data.buffer, versionSection.data.byteOffset, 4).getUint32(0, true)
    : undefined;

  const relocations = readRelocations(elf);
  const functions = codeFunctions(elf);
  const hasProgramSections = functions.some((f) => f.section.name !== '.text');
  const entries = functions.filter((f) => !hasProgramSections || f.section.name !== '.text' || options.includeSubprograms === true);
  const { abi, reason } = options.abi !== undefined ? { abi: options.abi, reason: 'set explicitly' } : detectAbi(elf, btf, entries);

  // Maps: BTF-defined, legacy, and one array map per global-data section.
  const maps: MapDefinition[] = [];
  const legacyByOffset = new Map<string, MapDefinition>();
  for (const section of elf.sections) {
    if (section.name === '.maps') {
      if (btf === undefined) throw new ObjectError('the object has a .maps section but no BTF (compile with -g)');
      maps.push(...btfMaps(btf, section, relocations.get(section.index) ?? [], abi, elf.symbols));
    } else if (isDataSection(section) && section.size > 0) {
      if (section.size > MAX_GLOBAL_DATA) {
        throw new ObjectError(`global data section ${section.name} is ${section.size} bytes; the limit is ${MAX_GLOBAL_DATA}`);
      }
      const readOnly = section.name.startsWith('.rodata');
      maps.push({
        name: section.name,
        type: ARRAY_MAP_TYPE,
        keySize: 4,
        valueSize: section.size,
        maxEntries: 1,
        flags: readOnly ? MAP_F_RDONLY_PROG : 0,
        pinning: 0,
        initialValue: section.type === SectionType.NOBITS ? new Uint8Array(section.size) : section.data.slice(),
        readOnly,
        origin: 'data',
      });
    }
  }
  for (const { map, section, offset } of legacyMaps(elf, elf.sections.filter(isLegacyMapSection), abi)) {
    legacyByOffset.set(`${section.index}:${offset}`, map);
    maps.push(map);
  }
  // Externs that lddw instructions load: kconfig values get a `.kconfig` map.
  const externs = [...relocations.entries()]
    .filter(([index]) => (elf.sections[index].flags & SectionFlag.EXECINSTR) !== 0)
    .flatMap(([, list]) => list.filter((r) => r.symbol.sectionIndex === 0 && r.symbol.name !== '' && r.type === 1).map((r) => r.symbol));
  let kconfig: KconfigLayout | undefined;
  let kconfigError: ObjectError | undefined;
  try {
    kconfig = kconfigLayout(btf, externs);
  } catch (e) {
    if (!(e instanceof ObjectError)) throw e;
    kconfigError = e; // reported at the instruction that uses the extern
  }
  if (kconfig !== undefined) maps.push(kconfig.map);
  // ebpf-for-windows' own rules for declared maps (pinning, name length, sizes).
  if (abi === 'efw') for (const m of maps) if (m.origin !== 'data') checkEfwMapDefinition(m);
  const names = new Set<string>();
  for (const m of maps) {
    if (names.has(m.name)) throw new ObjectError(`two maps are named ${m.name}`);
    names.add(m.name);
  }

  const resolver: SymbolResolver = {
    mapOf(symbol, addend) {
      const section = elf.sections[symbol.sectionIndex];
      if (section === undefined) return undefined;
      if (section.name === '.maps') return symbol.type === SymbolType.SECTION ? undefined : symbol.name;
      if (!isLegacyMapSection(section)) return undefined;
      const def = legacyByOffset.get(`${section.index}:${symbol.value + addend}`);
      if (def === undefined) throw new ObjectError(`a map reference points at byte ${symbol.value + addend} of ${section.name}, where no map starts`);
      return def.name;
    },
    dataMapOf(section) {
      return isDataSection(section) ? section.name : undefined;
    },
    externOf(symbol) {
      const offset = kconfig?.offsets.get(symbol.name);
      if (kconfig === undefined || offset === undefined) throw kconfigError ?? new ObjectError(`extern symbol ${symbol.name} is not supported`, true);
      return { map: kconfig.map.name, offset };
    },
  };

  const programs: ProgramSpec[] = entries.map((entry) => {
    const section = programTypeOfSection(entry.section.name);
    let linked;
    try {
      linked = linkProgram(elf, entry, functions, relocations, resolver, btfExt?.lineInfo);
    } catch (e) {
      // A feature one program uses (a kfunc, a ksym) need not take the object's other programs down.
      if (!(e instanceof ObjectError) || !e.unsupported) throw e;
      return {
        name: entry.name, section: entry.section.name, type: section.type, attachTo: section.attachTo, instructions: [],
        code: new Uint8Array(0), references: [], lineInfo: [], functions: [{ pc: 0, name: entry.name }],
        contextType: contextTypeName(btf, entry.name), license, unsupported: e.message,
      };
    }
    for (const r of linked.references) {
      if ((r.kind === 'map' || r.kind === 'map-value') && !names.has(r.map)) {
        throw new ObjectError(`program ${entry.name} refers to map ${r.map}, which the object does not define`);
      }
    }
    return {
      name: entry.name,
      section: entry.section.name,
      type: section.type,
      attachTo: section.attachTo,
      instructions: linked.instructions,
      code: linked.code,
      references: linked.references,
      lineInfo: linked.lineInfo,
      functions: linked.functions,
      contextType: contextTypeName(btf, entry.name),
      license,
    };
  });

  return { path: options.path, abi, abiReason: reason, programs, maps, license, kernelVersion, btf, btfExt };
}

/** Opens an eBPF object. Every problem is an ObjectError (ElfError and BtfError are wrapped). */
export function openObject(bytes: Uint8Array, options: OpenOptions = {}): ObjectSpec {
  // A Node Buffer's slice() shares memory where Uint8Array's copies: work on a plain view.
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return openElf(plain, options);
  } catch (e) {
    if (e instanceof ObjectError) throw e;
    if (e instanceof ElfError) throw new ObjectError(`malformed ELF: ${e.message}`);
    if (e instanceof BtfError) throw new ObjectError(`malformed BTF: ${e.message}`);
    throw e;
  }
}
