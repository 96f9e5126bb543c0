// A program's disassembly as people read it: C source lines (from BTF line info) above the
// instructions they produced, maps and helpers by name, subprograms labelled.
import { BUILTIN_HELPERS, EFW_HELPERS, EFW_PROGRAM_TYPE_HELPERS, LINUX_HELPERS, type HelperDef } from '../abi/index.js';
import type { ProgramSpec, ObjectSpec } from '../elf/index.js';
import { disassemble, formatInstruction, type Syntax } from '../isa/index.js';

function helperNames(spec: ObjectSpec, program: ProgramSpec): (id: number) => string | undefined {
  const list: HelperDef[] = spec.abi === 'efw'
    ? [...EFW_HELPERS, ...(EFW_PROGRAM_TYPE_HELPERS[program.type] ?? [])]
    : [...LINUX_HELPERS];
  // Built-in C functions (memset…) keep their C names.
  const byId = new Map([...list.map((h): [number, string] => [h.id, `bpf_${h.name}`]), ...BUILTIN_HELPERS.map((h): [number, string] => [h.id, h.name])]);
  return (id) => byId.get(id);
}

export interface ListingOptions {
  readonly syntax: Syntax;
  readonly bytes?: boolean;
  readonly source?: boolean;
}

export function programListing(spec: ObjectSpec, program: ProgramSpec, options: ListingOptions): string[] {
  const refs = new Map(program.references.map((r) => [r.pc, r]));
  const functions = new Map(program.functions.map((f) => [f.pc, f.name]));
  const format = {
    helperName: helperNames(spec, program),
    lddwText: (insn: { pc: number }) => {
      const r = refs.get(insn.pc);
      if (r?.kind === 'map') return `map[${r.map}]`;
      if (r?.kind === 'map-value') return `map_value[${r.map}]${r.offset === 0 ? '' : ` + ${r.offset}`}`;
      return undefined;
    },
  };
  const width = String(Math.max(0, program.instructions.at(-1)?.pc ?? 0)).length;
  const lines: string[] = [];
  let lastLine: string | undefined;
  for (const insn of program.instructions) {
    const fn = functions.get(insn.pc);
    if (fn !== undefined && insn.pc !== 0) lines.push('', `${fn}:`);
    const info = program.lineInfo[insn.pc];
    const where = info === undefined ? undefined : `${info.fileName}:${info.line}`;
    if ((options.source ?? true) && info !== undefined && where !== lastLine) {
      lastLine = where;
      const text = info.lineText.trim();
      lines.push(`; ${text}${text.length > 0 ? ' ' : ''}[${info.fileName.split('/').at(-1)}:${info.line}]`);
    }
    let text = options.syntax === 'llvm' ? formatInstruction(insn, 'llvm', format) : disassemble([insn], { syntax: options.syntax, pcs: false })[0];
    if (options.bytes) {
      const raw = Array.from(program.code.subarray(insn.pc * 8, insn.pc * 8 + 8), (b) => b.toString(16).padStart(2, '0'));
      text = `${raw.join(' ')}  ${text}`;
    }
    lines.push(`${String(insn.pc).padStart(width)}: ${text}`);
  }
  return lines;
}
