// A pure, bounds-checked reader for 64-bit little-endian ELF relocatable objects (EM_BPF).
// Every offset and size read from the file is checked before use: hostile input gets an
// ElfError naming what is wrong, never a RangeError from a typed array.
import { DecodeError, decode } from '../isa/index.js';

export const EM_BPF = 247;
/** No machine: what LLVM wrote in BPF objects before EM_BPF was assigned (2016). */
export const EM_NONE = 0;
export const ET_REL = 1;

export const enum SectionType {
  NULL = 0,
  PROGBITS = 1,
  SYMTAB = 2,
  STRTAB = 3,
  RELA = 4,
  NOBITS = 8,
  REL = 9,
}

export const enum SectionFlag {
  WRITE = 0x1,
  ALLOC = 0x2,
  EXECINSTR = 0x4,
}

export const enum SymbolType {
  NOTYPE = 0,
  OBJECT = 1,
  FUNC = 2,
  SECTION = 3,
  FILE = 4,
}

export const enum SymbolBinding {
  LOCAL = 0,
  GLOBAL = 1,
  WEAK = 2,
}

export class ElfError extends Error {
  override readonly name = 'ElfError';
}

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** Contents (empty for NOBITS sections, whose size is `size`). */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly binding: number;
  readonly sectionIndex: number;
  readonly value: number;
  readonly size: number;
}

export interface ElfFile {
  readonly type: number;
  readonly machine: number;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
}

const HEADER_SIZE = 64;
const SECTION_HEADER_SIZE = 64;
const SYMBOL_SIZE = 24;
const MAX_SECTIONS = 65280;

function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} is too large (${v})`);
  return Number(v);
}

function cString(bytes: Uint8Array, at: number, what: string): string {
  if (at >= bytes.length) throw new ElfError(`${what}: name offset ${at} is outside its string table (${bytes.length} bytes)`);
  const end = bytes.indexOf(0, at);
  if (end < 0) throw new ElfError(`${what}: name at offset ${at} is not NUL-terminated`);
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/** Parses an ELF object. Throws ElfError on anything malformed. */
export function readElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < HEADER_SIZE) throw new ElfError(`file too short for an ELF header (${bytes.length} bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)');
  }
  if (bytes[4] !== 2) throw new ElfError(`unsupported ELF class ${bytes[4]}: eBPF objects are ELF64`);
  if (bytes[5] === 2) throw new ElfError('big-endian eBPF objects (bpfeb) are not supported; compile with -target bpfel or -target bpf on a little-endian host');
  if (bytes[5] !== 1) throw new ElfError(`invalid ELF data encoding ${bytes[5]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  if (machine !== EM_BPF && !(machine === EM_NONE && type === ET_REL)) {
    throw new ElfError(`not an eBPF object: e_machine is ${machine}, expected ${EM_BPF} (EM_BPF)`);
  }
  const shoff = u64(view, 40, 'section header offset');
  const shentsize = view.getUint16(58, true);
  let shnum = view.getUint16(60, true);
  let shstrndx = view.getUint16(62, true);
  if (shoff === 0) return { type, machine, sections: [], symbols: [] };
  if (shentsize !== SECTION_HEADER_SIZE) throw new ElfError(`section header size is ${shentsize}, expected ${SECTION_HEADER_SIZE}`);
  if (shoff + SECTION_HEADER_SIZE > bytes.length) throw new ElfError(`section header table at ${shoff} is outside the file (${bytes.length} bytes)`);
  if (shnum === 0) shnum = u64(view, shoff + 32, 'section count'); // extended numbering: count in section 0's sh_size
  if (shstrndx === 0xffff) shstrndx = view.getUint32(shoff + 40, true);
  if (shnum > MAX_SECTIONS) throw new ElfError(`too many sections (${shnum})`);
  if (shoff + shnum * SECTION_HEADER_SIZE > bytes.length) {
    throw new ElfError(`section header table (${shnum} entries at ${shoff}) runs past the end of the file (${bytes.length} bytes)`);
  }

  interface RawSection { nameOffset: number; type: number; flags: number; offset: number; size: number; link: number; info: number; addralign: number; entsize: number }
  const raw: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SECTION_HEADER_SIZE;
    const s: RawSection = {
      nameOffset: view.getUint32(at, true),
      type: view.getUint32(at + 4, true),
      flags: u64(view, at + 8, `section ${i} flags`),
      offset: u64(view, at + 24, `section ${i} offset`),
      size: u64(view, at + 32, `section ${i} size`),
      link: view.getUint32(at + 40, true),
      info: view.getUint32(at + 44, true),
      addralign: u64(view, at + 48, `section ${i} alignment`),
      entsize: u64(view, at + 56, `section ${i} entry size`),
    };
    if (i > 0 && s.type !== SectionType.NOBITS && s.type !== SectionType.NULL && s.offset + s.size > bytes.length) {
      throw new ElfError(`section ${i}: contents (${s.size} bytes at ${s.offset}) run past the end of the file (${bytes.length} bytes)`);
    }
    raw.push(s);
  }
  if (shstrndx >= shnum) throw new ElfError(`section name table index ${shstrndx} is out of range (${shnum} sections)`);
  const dataOf = (s: RawSection): Uint8Array =>
    s.type === SectionType.NOBITS || s.type === SectionType.NULL ? new Uint8Array(0) : bytes.subarray(s.offset, s.offset + s.size);
  const names = dataOf(raw[shstrndx]);
  const sections: ElfSection[] = raw.map((s, index) => ({
    index,
    name: index === 0 ? '' : cString(names, s.nameOffset, `section ${index}`),
    type: s.type,
    flags: s.flags,
    size: s.size,
    link: s.link,
    info: s.info,
    addralign: s.addralign,
    entsize: s.entsize,
    data: dataOf(s),
  }));

  const symbols: ElfSymbol[] = [];
  const symtab = sections.find((s) => s.type === SectionType.SYMTAB);
  if (symtab !== undefined) {
    if (symtab.entsize !== SYMBOL_SIZE) throw new ElfError(`symbol table entry size is ${symtab.entsize}, expected ${SYMBOL_SIZE}`);
    if (symtab.size % SYMBOL_SIZE !== 0) throw new ElfError(`symbol table size ${symtab.size} is not a multiple of ${SYMBOL_SIZE}`);
    if (symtab.link >= sections.length) throw new ElfError(`symbol table links to string table ${symtab.link}, which does not exist`);
    const strings = sections[symtab.link].data;
    const sv = new DataView(symtab.data.buffer, symtab.data.byteOffset, symtab.data.byteLength);
    for (let i = 0; i < symtab.size / SYMBOL_SIZE; i++) {
      const at = i * SYMBOL_SIZE;
      const nameOffset = sv.getUint32(at, true);
      const info = sv.getUint8(at + 4);
      symbols.push({
        index: i,
        name: nameOffset === 0 ? '' : cString(strings, nameOffset, `symbol ${i}`),
        type: info & 0xf,
        binding: info >> 4,
        sectionIndex: sv.getUint16(at + 6, true),
        value: u64(sv, at + 8, `symbol ${i} value`),
        size: u64(sv, at + 16, `symbol ${i} size`),
      });
    }
  }
  if (machine === EM_NONE) checkEbpfCode(sections);
  return { type, machine, sections, symbols };
}

/**
 * An EM_NONE relocatable object is taken for an eBPF one (old LLVM wrote EM_NONE for BPF) only
 * when it has code and all of it decodes as eBPF instructions.
 */
function checkEbpfCode(sections: readonly ElfSection[]): void {
  const code = sections.filter((s) => (s.flags & SectionFlag.EXECINSTR) !== 0 && s.data.length > 0);
  const what = `not an eBPF object: e_machine is ${EM_NONE} (EM_NONE, which old LLVM wrote for BPF)`;
  if (code.length === 0) throw new ElfError(`${what} and it has no code to check`);
  for (const s of code) {
    try {
      decode(s.data);
    } catch (e) {
      if (e instanceof DecodeError) throw new ElfError(`${what} and section ${s.name} does not decode as eBPF: ${e.message}`);
      throw e;
    }
  }
}
