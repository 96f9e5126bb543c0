// Finds the code a command should work on: an ELF object (one of its sections or functions),
// assembly text (.s/.asm), or raw instruction bytes.

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { assembleBytes } from '../isa/index.js';
import { readElf, SectionFlag, SymbolType } from '../elf/index.js';
import { UsageError } from './errors.js';

export interface ProgramCode {
  readonly code: Uint8Array;
  /** Where it came from: `section .text`, `function main`, `raw`, `assembly`. */
  readonly origin: string;
}

export const isElf = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

export function readFileOrFail(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${(e as Error).message}`);
  }
}

export function loadProgramCode(path: string, section?: string): ProgramCode {
  const bytes = readFileOrFail(path);
  if (isElf(bytes)) {
    const elf = readElf(bytes);
    const executable = elf.sections.filter((s) => (s.flags & SectionFlag.EXECINSTR) !== 0 && s.data.length > 0);
    if (section === undefined) {
      const first = executable[0];
      if (first === undefined) throw new UsageError(`${path} has no code sections`);
      return { code: first.data, origin: `section ${first.name}` };
    }
    const bySection = executable.find((s) => s.name === section);
    if (bySection !== undefined) return { code: bySection.data, origin: `section ${bySection.name}` };
    const fn = elf.symbols.find((s) => s.name === section && s.type === SymbolType.FUNC);
    if (fn !== undefined) {
      const data = elf.sections[fn.sectionIndex]?.data ?? new Uint8Array(0);
      return { code: data.subarray(fn.value, fn.value + (fn.size || data.length - fn.value)), origin: `function ${fn.name}` };
    }
    const names = executable.map((s) => s.name).concat(elf.symbols.filter((s) => s.type === SymbolType.FUNC).map((s) => s.name));
    throw new UsageError(`${path} has no section or function named '${section}'; it has: ${[...new Set(names)].join(', ') || 'none'}`);
  }
  if (section !== undefined) throw new UsageError(`${path} is not an ELF object, so it has no section '${section}'`);
  const ext = extname(path).toLowerCase();
  if (ext === '.s' || ext === '.asm') return { code: assembleBytes(new TextDecoder().decode(bytes)), origin: 'assembly' };
  return { code: bytes, origin: 'raw' };
}
