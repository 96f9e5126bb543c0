// Writes the smallest useful eBPF object: one code section and one global function symbol.
// It is the ELF form the bpf_conformance runner sends with --elf (sections: null, .shstrtab,
// which doubles as the symbol string table, .symtab, code), and what `ebpf assemble` emits.

import { EM_BPF, ET_REL, SectionFlag, SectionType, SymbolBinding, SymbolType } from './reader.js';

export interface ProgramObjectOptions {
  /** Name of the code section (default `.text`). */
  readonly section?: string;
  /** Name of the function symbol covering the code (default `main`). */
  readonly symbol?: string;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

export function buildProgramObject(code: Uint8Array, options: ProgramObjectOptions = {}): Uint8Array {
  const sectionName = options.section ?? '.text';
  const symbolName = options.symbol ?? 'main';
  const encoder = new TextEncoder();
  const names: number[] = [0];
  const addName = (s: string): number => {
    const at = names.length;
    names.push(...encoder.encode(s), 0);
    return at;
  };
  const shstrtabName = addName('.shstrtab');
  const symtabName = addName('.symtab');
  const codeName = addName(sectionName);
  const symName = addName(symbolName);
  const strtab = Uint8Array.from(names);

  const symtabOffset = align(64 + strtab.length, 8);
  const symtabSize = 2 * 24;
  const codeOffset = align(symtabOffset + symtabSize, 8);
  const shoff = align(codeOffset + code.length, 8);
  const total = shoff + 4 * 64;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);

  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // magic, ELFCLASS64, little-endian, version 1
  view.setUint16(16, ET_REL, true);
  view.setUint16(18, EM_BPF, true);
  view.setUint32(20, 1, true);
  view.setBigUint64(40, BigInt(shoff), true);
  view.setUint16(52, 64, true); // e_ehsize
  view.setUint16(58, 64, true); // e_shentsize
  view.setUint16(60, 4, true); // e_shnum
  view.setUint16(62, 1, true); // e_shstrndx

  bytes.set(strtab, 64);
  // Symbol 1: the function (symbol 0 is the null symbol).
  const sym = symtabOffset + 24;
  view.setUint32(sym, symName, true);
  view.setUint8(sym + 4, (SymbolBinding.GLOBAL << 4) | SymbolType.FUNC);
  view.setUint16(sym + 6, 3, true);
  view.setBigUint64(sym + 16, BigInt(code.length), true);
  bytes.set(code, codeOffset);

  const header = (index: number, name: number, type: number, flags: number, offset: number, size: number, link: number, info: number, alignment: number, entsize: number): void => {
    const at = shoff + index * 64;
    view.setUint32(at, name, true);
    view.setUint32(at + 4, type, true);
    view.setBigUint64(at + 8, BigInt(flags), true);
    view.setBigUint64(at + 24, BigInt(offset), true);
    view.setBigUint64(at + 32, BigInt(size), true);
    view.setUint32(at + 40, link, true);
    view.setUint32(at + 44, info, true);
    view.setBigUint64(at + 48, BigInt(alignment), true);
    view.setBigUint64(at + 56, BigInt(entsize), true);
  };
  header(1, shstrtabName, SectionType.STRTAB, 0, 64, strtab.length, 0, 0, 1, 0);
  header(2, symtabName, SectionType.SYMTAB, 0, symtabOffset, symtabSize, 1, 1, 8, 24);
  header(3, codeName, SectionType.PROGBITS, SectionFlag.ALLOC | SectionFlag.EXECINSTR, codeOffset, code.length, 0, 0, 4, 0);
  return bytes;
}
