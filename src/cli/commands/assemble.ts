import { readFileSync, writeFileSync } from 'node:fs';
import { assembleBytes } from '../../isa/index.js';
import { buildProgramObject } from '../../elf/index.js';
import { UsageError } from '../errors.js';

export interface AssembleOptions {
  output?: string;
  format: string;
  section: string;
  json?: boolean;
}

export function assembleCommand(file: string, options: AssembleOptions, out: (s: string) => void): number {
  if (options.format !== 'elf' && options.format !== 'raw') throw new UsageError(`unknown format '${options.format}' (elf or raw)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  let code: Uint8Array;
  try {
    code = assembleBytes(text);
  } catch (e) {
    throw new UsageError(`${file}:${(e as Error).message}`);
  }
  const output = options.output ?? file.replace(/\.(s|asm)$/i, '') + (options.format === 'elf' ? '.o' : '.bin');
  writeFileSync(output, options.format === 'elf' ? buildProgramObject(code, { section: options.section }) : code);
  if (options.json) out(JSON.stringify({ output, instructions: code.length / 8, bytes: code.length, format: options.format }) + '\n');
  else out(`${output}: ${code.length / 8} instructions (${options.format})\n`);
  return 0;
}
