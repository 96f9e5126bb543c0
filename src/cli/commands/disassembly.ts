import { decode, disassemble, type Syntax } from '../../isa/index.js';
import { loadProgramCode } from '../program-file.js';
import { UsageError } from '../errors.js';

export interface DisassemblyOptions {
  syntax: string;
  bytes?: boolean;
  json?: boolean;
}

export function disassemblyCommand(file: string, section: string | undefined, options: DisassemblyOptions, out: (s: string) => void): number {
  if (options.syntax !== 'llvm' && options.syntax !== 'conformance') {
    throw new UsageError(`unknown syntax '${options.syntax}' (llvm or conformance)`);
  }
  const syntax = options.syntax as Syntax;
  const { code, origin } = loadProgramCode(file, section);
  const insns = decode(code);
  if (options.json) {
    const rows = insns.map((i) => ({
      pc: i.pc, name: i.spec.name, opcode: i.opcode, dst: i.dst, src: i.src, offset: i.offset, imm: i.imm,
      ...(i.nextImm === undefined ? {} : { nextImm: i.nextImm }),
      text: disassemble([i], { syntax, pcs: false })[0],
    }));
    out(JSON.stringify({ file, origin, instructions: rows }, null, 2) + '\n');
    return 0;
  }
  out(`${file} (${origin}): ${code.length / 8} instructions\n`);
  for (const line of disassemble(insns, { syntax, bytes: options.bytes ? code : undefined, pcs: true })) out(line + '\n');
  return 0;
}
