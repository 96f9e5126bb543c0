import { decode, disassemble, type Syntax } from '../../isa/index.js';
import { UsageError } from '../errors.js';
import { programListing } from '../listing.js';
import { openObjectFile, parseAbi, selectPrograms } from '../object-file.js';
import { isElf, loadProgramCode, readFileOrFail } from '../program-file.js';

export interface DisassemblyOptions {
  syntax: string;
  bytes?: boolean;
  json?: boolean;
  source?: boolean;
  abi?: string;
}

export function disassemblyCommand(file: string, section: string | undefined, options: DisassemblyOptions, out: (s: string) => void): number {
  if (options.syntax !== 'llvm' && options.syntax !== 'conformance') {
    throw new UsageError(`unknown syntax '${options.syntax}' (llvm or conformance)`);
  }
  const syntax = options.syntax as Syntax;
  if (isElf(readFileOrFail(file))) {
    const spec = openObjectFile(file, parseAbi(options.abi));
    const programs = selectPrograms(spec, section);
    if (options.json) {
      out(JSON.stringify({
        file,
        abi: spec.abi,
        programs: programs.map((p) => ({
          name: p.name,
          section: p.section,
          type: p.type,
          instructions: p.instructions.map((i) => ({
            pc: i.pc, name: i.spec.name, opcode: i.opcode, dst: i.dst, src: i.src, offset: i.offset, imm: i.imm,
            ...(i.nextImm === undefined ? {} : { nextImm: i.nextImm }),
            text: disassemble([i], { syntax, pcs: false })[0],
            ...(p.lineInfo[i.pc] === undefined ? {} : { source: { file: p.lineInfo[i.pc]?.fileName, line: p.lineInfo[i.pc]?.line, column: p.lineInfo[i.pc]?.column } }),
          })),
          references: p.references,
        })),
      }, null, 2) + '\n');
      return 0;
    }
    programs.forEach((p, i) => {
      if (i > 0) out('\n');
      if (p.unsupported !== undefined) {
        out(`${p.section}/${p.name}: not linked: ${p.unsupported}\n`);
        return;
      }
      out(`${p.section}/${p.name}: ${p.instructions.length} instructions, type ${p.type}${spec.license ? `, license ${spec.license}` : ''}\n`);
      for (const line of programListing(spec, p, { syntax, bytes: options.bytes, source: options.source })) out(line + '\n');
    });
    return 0;
  }
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
