// Relocation records of an eBPF object: which instruction (or data slot) refers to which symbol.
import { ElfError, SectionType, type ElfFile, type ElfSymbol } from './reader.js';

/** Relocation types of the BPF ELF ABI (llvm BPFELFObjectWriter; kernel btf docs). */
export const enum RelocationType {
  NONE = 0,
  /** lddw: a 64-bit address of a map, global variable or function. */
  BPF_64_64 = 1,
  BPF_64_ABS64 = 2,
  BPF_64_ABS32 = 3,
  BPF_64_NODYLD32 = 4,
  /** call: a pc-relative call to a function. */
  BPF_64_32 = 10,
}

export interface Relocation {
  /** Byte offset in the target section. */
  readonly offset: number;
  readonly type: number;
  readonly symbol: ElfSymbol;
  /** Explicit addend (RELA only; REL keeps it in the instruction). */
  readonly addend: number;
}

/** Relocations of every section that has them, keyed by the index of the section they patch. */
export function readRelocations(elf: ElfFile): Map<number, Relocation[]> {
  const out = new Map<number, Relocation[]>();
  for (const section of elf.sections) {
    if (section.type !== SectionType.REL && section.type !== SectionType.RELA) continue;
    const rela = section.type === SectionType.RELA;
    const size = rela ? 24 : 16;
    if (section.data.length % size !== 0) {
      throw new ElfError(`relocation section ${section.name} size ${section.data.length} is not a multiple of ${size}`);
    }
    if (section.info >= elf.sections.length || section.info === 0) {
      throw new ElfError(`relocation section ${section.name} applies to section ${section.info}, which does not exist`);
    }
    const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
    const list: Relocation[] = out.get(section.info) ?? [];
    for (let at = 0; at < section.data.length; at += size) {
      const offset = view.getBigUint64(at, true);
      const info = view.getBigUint64(at + 8, true);
      const symbolIndex = Number(info >> 32n);
      const symbol = elf.symbols[symbolIndex];
      if (symbol === undefined) {
        throw new ElfError(`relocation ${at / size} of ${section.name} refers to symbol ${symbolIndex}, which does not exist (${elf.symbols.length} symbols)`);
      }
      if (offset > BigInt(elf.sections[section.info].size)) {
        throw new ElfError(`relocation ${at / size} of ${section.name} is at offset ${offset}, outside ${elf.sections[section.info].name}`);
      }
      list.push({
        offset: Number(offset),
        type: Number(info & 0xffffffffn),
        symbol,
        addend: rela ? Number(view.getBigInt64(at + 16, true)) : 0,
      });
    }
    out.set(section.info, list);
  }
  return out;
}
