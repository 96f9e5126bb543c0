import { ElfError, SectionFlag, SymbolType, type ElfFile } from './reader.js';

/**
 * The code of one function in an object: the symbol `name` (a FUNC), or, when there is no such
 * symbol, the first executable section. For objects without relocations or maps, such as the
 * ones the conformance runner builds.
 */
export function functionCode(elf: ElfFile, name = 'main'): Uint8Array {
  const symbol = elf.symbols.find((s) => s.name === name && s.type === SymbolType.FUNC);
  if (symbol !== undefined) {
    const section = elf.sections[symbol.sectionIndex];
    if (section === undefined) throw new ElfError(`symbol ${name} is in section ${symbol.sectionIndex}, which does not exist`);
    const size = symbol.size === 0 ? section.data.length - symbol.value : symbol.size;
    if (symbol.value + size > section.data.length || size < 0) {
      throw new ElfError(`symbol ${name} (${size} bytes at ${symbol.value}) runs past the end of section ${section.name} (${section.data.length} bytes)`);
    }
    return section.data.subarray(symbol.value, symbol.value + size);
  }
  const code = elf.sections.find((s) => (s.flags & SectionFlag.EXECINSTR) !== 0 && s.data.length > 0);
  if (code === undefined) throw new ElfError(`no function ${name} and no executable section in the object`);
  return code.data;
}
