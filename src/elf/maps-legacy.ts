// Legacy map definitions: a `maps` (or `maps/NAME`) section holding fixed-size structs, named by
// the symbols that point into it. Linux's `struct bpf_map_def` is five u32 (type, key_size,
// value_size, max_entries, map_flags); ebpf-for-windows' is eight u32 (type, key_size,
// value_size, max_entries, inner_map_idx, pinning, id, inner_id) with its own map type numbers.
import { efwMapTypeToLinux } from '../abi/index.js';
import { ObjectError } from './errors.js';
import type { ElfFile, ElfSection } from './reader.js';
import type { Abi, MapDefinition } from './spec.js';

export const LINUX_MAP_DEF_SIZE = 20;
export const EFW_MAP_DEF_SIZE = 32;

/** Symbols naming maps in a legacy section, sorted by offset. */
function mapSymbols(elf: ElfFile, section: ElfSection) {
  return elf.symbols
    .filter((s) => s.sectionIndex === section.index && s.name.length > 0 && s.type !== 3 /* SECTION */)
    .sort((a, b) => a.value - b.value);
}

/** Size of one definition: the section split evenly among its symbols, as libbpf does. */
export function legacyDefinitionSize(elf: ElfFile, section: ElfSection): number | undefined {
  const symbols = mapSymbols(elf, section);
  if (symbols.length === 0) return undefined;
  return section.size / symbols.length;
}

export function legacyMaps(elf: ElfFile, section: ElfSection, abi: Abi): MapDefinition[] {
  const symbols = mapSymbols(elf, section);
  if (symbols.length === 0) return [];
  const size = section.size / symbols.length;
  if (!Number.isInteger(size) || size < LINUX_MAP_DEF_SIZE) {
    throw new ObjectError(`legacy map section ${section.name}: ${section.size} bytes for ${symbols.length} maps is not a whole number of map definitions of at least ${LINUX_MAP_DEF_SIZE} bytes`);
  }
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const maps: MapDefinition[] = symbols.map((symbol) => {
    if (symbol.value % 4 !== 0 || symbol.value + size > section.data.length) {
      throw new ObjectError(`legacy map ${symbol.name} at offset ${symbol.value} lies outside ${section.name} or is misaligned`);
    }
    const u32 = (i: number): number => view.getUint32(symbol.value + 4 * i, true);
    if (abi === 'efw') {
      if (size < EFW_MAP_DEF_SIZE) throw new ObjectError(`legacy map ${symbol.name}: ${size}-byte definition is too small for the ebpf-for-windows layout (${EFW_MAP_DEF_SIZE})`);
      const efwType = u32(0);
      const type = efwMapTypeToLinux(efwType);
      if (type === undefined) throw new ObjectError(`legacy map ${symbol.name}: unknown ebpf-for-windows map type ${efwType}`);
      return {
        name: symbol.name, type, keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: 0, pinning: u32(5),
        readOnly: false, origin: 'legacy', efwInnerMapIndex: u32(4), efwId: u32(6), efwInnerId: u32(7),
      };
    }
    // Bytes past the five fields must be zero: a feature we would silently drop otherwise.
    for (let at = LINUX_MAP_DEF_SIZE; at < size; at++) {
      if (view.getUint8(symbol.value + at) !== 0) {
        throw new ObjectError(`legacy map ${symbol.name}: byte ${at} of its ${size}-byte definition is set; only the five fields of struct bpf_map_def are supported`, true);
      }
    }
    return { name: symbol.name, type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4), pinning: 0, readOnly: false, origin: 'legacy' };
  });
  if (abi !== 'efw') return maps;
  // Inner-map templates: by index into this section (inner_map_idx) or by id (inner_id).
  return maps.map((m) => {
    if (m.type !== 12 && m.type !== 13) return m;
    const byId = m.efwInnerId ? maps.find((o) => o.efwId === m.efwInnerId) : undefined;
    const byIndex = m.efwInnerMapIndex !== undefined && m.efwInnerMapIndex < maps.length ? maps[m.efwInnerMapIndex] : undefined;
    const inner = byId ?? byIndex;
    if (inner === undefined || inner === m) throw new ObjectError(`map-in-map ${m.name}: its inner map template (inner_id ${m.efwInnerId}, inner_map_idx ${m.efwInnerMapIndex}) does not exist`);
    return { ...m, innerMap: inner };
  });
}
