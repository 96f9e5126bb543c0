// Legacy map definitions: a `maps` (or `maps/NAME`) section holding fixed-size structs, named by
// the symbols that point into it. Every layout starts with type, key size, value size and max
// entries (u32 each); they differ after that:
//   Linux `struct bpf_map_def` (libbpf)        20 bytes: map_flags
//   Linux samples' bpf_load.h                  28 bytes: map_flags, inner_map_idx, numa_node
//   iproute2 `struct bpf_elf_map` (tc, Cilium) 36 bytes: flags, id, pinning, inner_id, inner_idx
//   ebpf-for-windows                           32 bytes: inner_map_idx, pinning, id, inner_id
//                                                        (and its own map type numbers)
// A definition's size is its symbol's size. Old toolchains wrote map symbols without a size; then
// the section is split evenly among its symbols, as libbpf did. Bytes no symbol covers (the
// definitions of weak maps a linker dropped in favour of another object's) name no map and are
// not read.
import { efwMapTypeToLinux } from '../abi/index.js';
import { ObjectError } from './errors.js';
import type { ElfFile, ElfSection } from './reader.js';
import type { Abi, MapDefinition } from './spec.js';

export const LINUX_MAP_DEF_SIZE = 20;
export const SAMPLES_MAP_DEF_SIZE = 28;
export const IPROUTE2_MAP_DEF_SIZE = 36;
export const EFW_MAP_DEF_SIZE = 32;

const ARRAY_OF_MAPS = 12;
const HASH_OF_MAPS = 13;

/** A definition plus the fields that name an inner map, before templates are resolved. */
interface Raw {
  readonly def: MapDefinition;
  readonly id?: number;
  readonly innerId?: number;
  readonly innerMapIndex?: number;
}

/** Symbols naming maps in a legacy section, sorted by offset. */
function mapSymbols(elf: ElfFile, section: ElfSection) {
  return elf.symbols
    .filter((s) => s.sectionIndex === section.index && s.name.length > 0 && s.type !== 3 /* SECTION */)
    .sort((a, b) => a.value - b.value);
}

/**
 * Size of one definition: the size of the map symbols when they all have the same non-zero size,
 * else the section split evenly among its symbols (as libbpf did).
 */
export function legacyDefinitionSize(elf: ElfFile, section: ElfSection): number | undefined {
  const symbols = mapSymbols(elf, section);
  if (symbols.length === 0) return undefined;
  const sizes = new Set(symbols.map((s) => s.size));
  const [only] = sizes;
  return sizes.size === 1 && only > 0 ? only : section.size / symbols.length;
}

/** Every legacy map of the object: `maps` and all `maps/NAME` sections, in section order. */
export function legacyMaps(elf: ElfFile, sections: readonly ElfSection[], abi: Abi): { map: MapDefinition; section: ElfSection; offset: number }[] {
  const raws = sections.flatMap((section) => rawDefinitions(elf, section, abi));
  // Array/hash of maps take their inner template by id (inner_id) or by index among all legacy maps.
  return raws.map(({ def, innerId, innerMapIndex, section, offset }, index) => {
    if (def.type !== ARRAY_OF_MAPS && def.type !== HASH_OF_MAPS) return { map: def, section, offset };
    if (abi === 'efw') return { map: { ...def, innerMap: efwInnerTemplate(raws, index) }, section, offset };
    const byId = innerId ? raws.find((o) => o.id === innerId) : undefined;
    const byIndex = innerMapIndex !== undefined && innerMapIndex < raws.length ? raws[innerMapIndex] : undefined;
    const inner = (byId ?? byIndex)?.def;
    if (inner === undefined || inner.name === def.name) {
      throw new ObjectError(`map-in-map ${def.name}: its inner map template (inner_id ${innerId ?? 0}, inner_map_idx ${innerMapIndex ?? 0}) does not exist`);
    }
    return { map: { ...def, innerMap: inner }, section, offset };
  });
}

/**
 * ebpf-for-windows: a map of maps names its inner template by `inner_id` (the `id` of another
 * map of the object) or, without one, by `inner_map_idx` (its index among the object's maps).
 * An inner_id that no other map carries is an error, not a fall back to the index: EfW's loader
 * refuses the object ("bad inner map"), as it does an index past the last map.
 */
function efwInnerTemplate(raws: readonly Raw[], index: number): MapDefinition {
  const { def, innerId = 0, innerMapIndex = 0 } = raws[index];
  if (innerId !== 0) {
    const named = raws.find((o, i) => i !== index && o.id === innerId);
    if (named === undefined) throw new ObjectError(`map ${def.name}: its inner_id ${innerId} names no map (no other map of the object has id ${innerId})`);
    return named.def;
  }
  if (innerMapIndex >= raws.length) {
    throw new ObjectError(`map ${def.name}: its inner_map_idx ${innerMapIndex} names no map (the object has ${raws.length} maps, 0 to ${raws.length - 1})`);
  }
  if (innerMapIndex === index) {
    throw new ObjectError(`map ${def.name}: its inner_map_idx ${innerMapIndex} is the map itself; a map of maps needs another map as its inner template (inner_map_idx or inner_id)`);
  }
  return raws[innerMapIndex].def;
}

function rawDefinitions(elf: ElfFile, section: ElfSection, abi: Abi): (Raw & { section: ElfSection; offset: number })[] {
  const symbols = mapSymbols(elf, section);
  if (symbols.length === 0) return [];
  const split = section.size / symbols.length;
  const sized = symbols.every((s) => s.size > 0);
  if (!sized && (!Number.isInteger(split) || split < LINUX_MAP_DEF_SIZE)) {
    throw new ObjectError(`legacy map section ${section.name}: ${section.size} bytes for ${symbols.length} maps is not a whole number of map definitions of at least ${LINUX_MAP_DEF_SIZE} bytes`);
  }
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  symbols.forEach((symbol, i) => {
    const next = symbols[i + 1];
    const size = sized ? symbol.size : split;
    if (size < LINUX_MAP_DEF_SIZE) throw new ObjectError(`legacy map ${symbol.name}: its definition is ${size} bytes, less than the ${LINUX_MAP_DEF_SIZE} of the smallest layout`);
    if (next !== undefined && symbol.value + size > next.value) {
      throw new ObjectError(`legacy map ${symbol.name} (${size} bytes at offset ${symbol.value}) overlaps map ${next.name} at offset ${next.value}`);
    }
  });
  return symbols.map((symbol) => ({ ...rawDefinition(symbol, sized ? symbol.size : split), section, offset: symbol.value }));

  function rawDefinition(symbol: (typeof symbols)[number], size: number): Raw {
    if (symbol.value % 4 !== 0 || symbol.value + size > section.data.length) {
      throw new ObjectError(`legacy map ${symbol.name} at offset ${symbol.value} lies outside ${section.name} or is misaligned`);
    }
    const u32 = (i: number): number => view.getUint32(symbol.value + 4 * i, true);
    if (abi === 'efw') {
      if (size < EFW_MAP_DEF_SIZE) throw new ObjectError(`legacy map ${symbol.name}: ${size}-byte definition is too small for the ebpf-for-windows layout (${EFW_MAP_DEF_SIZE})`);
      const type = efwMapTypeToLinux(u32(0));
      if (type === undefined) throw new ObjectError(`legacy map ${symbol.name}: unknown ebpf-for-windows map type ${u32(0)}`);
      const def: MapDefinition = {
        name: symbol.name, type, keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: 0, pinning: u32(5),
        readOnly: false, origin: 'legacy', efwInnerMapIndex: u32(4), efwId: u32(6), efwInnerId: u32(7),
      };
      return { def, id: u32(6), innerId: u32(7), innerMapIndex: u32(4) };
    }
    const def: MapDefinition = { name: symbol.name, type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4), pinning: 0, readOnly: false, origin: 'legacy' };
    if (size === SAMPLES_MAP_DEF_SIZE) return { def, innerMapIndex: u32(5) };
    if (size === IPROUTE2_MAP_DEF_SIZE) return { def: { ...def, pinning: u32(6) }, id: u32(5), innerId: u32(7), innerMapIndex: u32(8) };
    // Other sizes: bytes past the five fields must be zero, or we would silently drop a feature.
    for (let at = LINUX_MAP_DEF_SIZE; at < size; at++) {
      if (view.getUint8(symbol.value + at) !== 0) {
        throw new ObjectError(`legacy map ${symbol.name}: byte ${at} of its ${size}-byte definition is set; known layouts are ${LINUX_MAP_DEF_SIZE}, ${SAMPLES_MAP_DEF_SIZE} and ${IPROUTE2_MAP_DEF_SIZE} bytes (Linux) and ${EFW_MAP_DEF_SIZE} (ebpf-for-windows)`, true);
      }
    }
    return { def };
  }
}
