// Builds one program's instruction stream: its own function first, then every function it calls
// (bpf-to-bpf calls, callbacks passed to helpers), each once, with calls and function pointers
// re-aimed at their new places. Map and global-data references are recorded, not resolved: the
// runtime fills them in when maps exist.
import { CallSrc, DecodeError, INSN_SIZE, LddwSrc, Opcode, decode, type Instruction } from '../isa/index.js';
import { builtinByName } from '../abi/index.js';
import type { LineInfo } from '../btf/index.js';
import { ObjectError } from './errors.js';
import { EM_NONE, SectionFlag, SymbolType, type ElfFile, type ElfSection, type ElfSymbol } from './reader.js';
import { RelocationType, type Relocation } from './relocations.js';
import type { ProgramReference } from './spec.js';

export interface CodeFunction {
  readonly name: string;
  readonly section: ElfSection;
  /** First and one-past-last instruction index within the section. */
  readonly start: number;
  readonly end: number;
}

/** How lddw relocations against data symbols are to be read. */
export interface SymbolResolver {
  /** The map a relocation against `symbol` (+ addend in bytes) names, for map sections. */
  mapOf(symbol: ElfSymbol, addend: number): string | undefined;
  /** The global-data map of a data section (.data, .rodata, .bss…). */
  dataMapOf(section: ElfSection): string | undefined;
  /** Where an extern's value lives (kconfig externs), or an ObjectError saying why it cannot. */
  externOf(symbol: ElfSymbol): { map: string; offset: number };
}

export interface LinkedProgram {
  readonly instructions: Instruction[];
  readonly code: Uint8Array;
  readonly references: ProgramReference[];
  readonly functions: { pc: number; name: string }[];
  readonly lineInfo: (LineInfo | undefined)[];
}

/** The functions of every code section, from FUNC symbols (a whole section when it has none). */
export function codeFunctions(elf: ElfFile): CodeFunction[] {
  const out: CodeFunction[] = [];
  for (const section of elf.sections) {
    if ((section.flags & SectionFlag.EXECINSTR) === 0 || section.data.length === 0) continue;
    if (section.data.length % INSN_SIZE !== 0) {
      throw new ObjectError(`code section ${section.name} is ${section.data.length} bytes, not a whole number of instructions`);
    }
    const slots = section.data.length / INSN_SIZE;
    const symbols = elf.symbols
      .filter((s) => s.sectionIndex === section.index && s.type === SymbolType.FUNC)
      .sort((a, b) => a.value - b.value);
    if (symbols.length === 0) {
      out.push({ name: section.name, section, start: 0, end: slots });
      continue;
    }
    symbols.forEach((s, i) => {
      if (s.value % INSN_SIZE !== 0) throw new ObjectError(`function ${s.name} starts at byte ${s.value} of ${section.name}, not on an instruction`);
      const start = s.value / INSN_SIZE;
      const next = symbols[i + 1]?.value;
      const end = s.size > 0 ? start + Math.ceil(s.size / INSN_SIZE) : next !== undefined ? next / INSN_SIZE : slots;
      if (end > slots || start >= end) throw new ObjectError(`function ${s.name} (${s.size} bytes at ${s.value}) lies outside section ${section.name}`);
      out.push({ name: s.name, section, start, end });
    });
  }
  return out;
}

function functionAt(functions: readonly CodeFunction[], section: ElfSection, index: number): CodeFunction {
  const fn = functions.find((f) => f.section === section && index >= f.start && index < f.end);
  if (fn === undefined) throw new ObjectError(`a call or function pointer targets instruction ${index} of ${section.name}, which is in no function`);
  return fn;
}

export function linkProgram(
  elf: ElfFile,
  entry: CodeFunction,
  functions: readonly CodeFunction[],
  relocations: ReadonlyMap<number, readonly Relocation[]>,
  resolver: SymbolResolver,
  lineInfoBySection: ReadonlyMap<string, readonly LineInfo[]> | undefined,
): LinkedProgram {
  const placed = new Map<CodeFunction, number>();
  const order: CodeFunction[] = [];
  let length = 0;
  const place = (fn: CodeFunction): number => {
    let at = placed.get(fn);
    if (at === undefined) {
      at = length;
      placed.set(fn, at);
      order.push(fn);
      length += fn.end - fn.start;
    }
    return at;
  };
  place(entry);

  const slots: Uint8Array[] = [];
  const references: ProgramReference[] = [];
  for (let k = 0; k < order.length; k++) {
    const fn = order[k];
    const base = placed.get(fn) as number;
    const relocs = new Map<number, Relocation>();
    for (const r of relocations.get(fn.section.index) ?? []) relocs.set(r.offset, r);
    for (let i = fn.start; i < fn.end; i++) {
      const slot = fn.section.data.slice(i * INSN_SIZE, (i + 1) * INSN_SIZE);
      const view = new DataView(slot.buffer);
      const pc = base + (i - fn.start);
      const opcode = slot[0];
      const src = slot[1] >> 4;
      const imm = view.getInt32(4, true);
      const reloc = relocs.get(i * INSN_SIZE);
      const where = `${fn.name}+${i - fn.start} (${fn.section.name}, instruction ${i})`;
      if (opcode === Opcode.CALL && src === CallSrc.LOCAL) {
        let targetSection = fn.section;
        let targetIndex = i + imm + 1;
        if (reloc !== undefined) {
          const callRelocation = reloc.type === RelocationType.BPF_64_32 || elf.machine === EM_NONE;
          const builtin = reloc.symbol.sectionIndex === 0 && callRelocation ? builtinByName(reloc.symbol.name) : undefined;
          if (builtin !== undefined) {
            // memset, memcpy… clang did not inline: a call of the built-in function of that name.
            slot[1] &= 0x0f;
            view.setInt32(4, builtin.id, true);
            slots.push(slot);
            continue;
          }
          if (reloc.symbol.sectionIndex === 0) {
            throw new ObjectError(`${where}: call to the kernel function ${reloc.symbol.name} (kfunc) is not supported`, true);
          }
          const s = elf.sections[reloc.symbol.sectionIndex];
          if (s === undefined || (s.flags & SectionFlag.EXECINSTR) === 0) throw new ObjectError(`${where}: call to ${reloc.symbol.name || 'a symbol'} outside any code section`);
          targetSection = s;
          targetIndex = reloc.symbol.value / INSN_SIZE + imm + 1;
        }
        const target = functionAt(functions, targetSection, targetIndex);
        const targetPc = place(target) + (targetIndex - target.start);
        view.setInt32(4, targetPc - pc - 1, true);
        references.push({ pc, kind: 'call', target: targetPc, name: target.name });
      } else if (opcode === Opcode.CALL && reloc !== undefined) {
        throw new ObjectError(`${where}: call to the kernel function ${reloc.symbol.name} (kfunc) is not supported`, true);
      } else if (opcode === Opcode.LDDW && reloc !== undefined) {
        // EM_NONE objects (old LLVM) have no relocation types of their own: the lddw says what it is.
        if (reloc.type !== RelocationType.BPF_64_64 && reloc.type !== RelocationType.BPF_64_ABS64 && elf.machine !== EM_NONE) {
          throw new ObjectError(`${where}: unexpected relocation type ${reloc.type} on lddw`);
        }
        const symbol = reloc.symbol;
        if (symbol.sectionIndex === 0) {
          let extern: { map: string; offset: number };
          try {
            extern = resolver.externOf(symbol);
          } catch (e) {
            if (e instanceof ObjectError) throw new ObjectError(`${where}: ${e.message}`, e.unsupported);
            throw e;
          }
          slot[1] = (LddwSrc.MAP_VALUE << 4) | (slot[1] & 0x0f);
          view.setInt32(4, 0, true);
          references.push({ pc, kind: 'map-value', map: extern.map, offset: extern.offset });
          slots.push(slot);
          continue;
        }
        const target = elf.sections[symbol.sectionIndex];
        if (target === undefined) throw new ObjectError(`${where}: relocation against ${symbol.name} in section ${symbol.sectionIndex}, which does not exist`);
        const addend = symbol.type === SymbolType.SECTION ? imm : 0;
        const map = resolver.mapOf(symbol, addend);
        const dataMap = map === undefined ? resolver.dataMapOf(target) : undefined;
        if (map !== undefined) {
          slot[1] = (LddwSrc.MAP_FD << 4) | (slot[1] & 0x0f);
          view.setInt32(4, 0, true);
          references.push({ pc, kind: 'map', map });
        } else if (dataMap !== undefined) {
          slot[1] = (LddwSrc.MAP_VALUE << 4) | (slot[1] & 0x0f);
          view.setInt32(4, 0, true);
          references.push({ pc, kind: 'map-value', map: dataMap, offset: symbol.value + addend });
        } else if ((target.flags & SectionFlag.EXECINSTR) !== 0) {
          const targetIndex = (symbol.value + addend) / INSN_SIZE;
          const fnTarget = functionAt(functions, target, targetIndex);
          const targetPc = place(fnTarget) + (targetIndex - fnTarget.start);
          slot[1] = (LddwSrc.CODE_ADDR << 4) | (slot[1] & 0x0f);
          view.setInt32(4, targetPc - pc - 1, true);
          references.push({ pc, kind: 'function', target: targetPc });
        } else {
          throw new ObjectError(`${where}: lddw refers to ${symbol.name || target.name} in section ${target.name}, which is neither a map, global data nor code`);
        }
      } else if (reloc !== undefined && reloc.type !== RelocationType.NONE) {
        throw new ObjectError(`${where}: relocation of type ${reloc.type} against ${reloc.symbol.name} on an instruction that takes none`);
      }
      slots.push(slot);
    }
  }

  const code = new Uint8Array(slots.length * INSN_SIZE);
  slots.forEach((s, i) => code.set(s, i * INSN_SIZE));
  let instructions: Instruction[];
  try {
    instructions = decode(code);
  } catch (e) {
    if (e instanceof DecodeError) {
      const fn = [...placed.entries()].filter(([, at]) => at <= e.slot).sort((a, b) => b[1] - a[1])[0];
      throw new ObjectError(`program ${entry.name}: ${fn === undefined ? '' : `in ${fn[0].name}: `}invalid instruction at ${e.message}`);
    }
    throw e;
  }

  const lineInfo: (LineInfo | undefined)[] = new Array(slots.length).fill(undefined);
  for (const fn of order) {
    const lines = lineInfoBySection?.get(fn.section.name);
    if (lines === undefined) continue;
    const base = placed.get(fn) as number;
    let current: LineInfo | undefined;
    let next = 0;
    const sorted = [...lines].sort((a, b) => a.insnOffset - b.insnOffset);
    for (let i = fn.start; i < fn.end; i++) {
      // Line 0 marks compiler-made code with no source line.
      while (next < sorted.length && sorted[next].insnOffset <= i) {
        const entry = sorted[next++];
        current = entry.line === 0 ? undefined : entry;
      }
      if (current !== undefined && current.insnOffset >= fn.start) lineInfo[base + i - fn.start] = current;
    }
  }
  return {
    instructions,
    code,
    references,
    functions: order.map((f) => ({ pc: placed.get(f) as number, name: f.name })),
    lineInfo,
  };
}
