#!/usr/bin/env node
// The `ebpf` command. Every command returns an exit status; errors are printed as one clear line.

import { Command, CommanderError } from 'commander';
import { AssemblyError, DecodeError } from '../isa/index.js';
import { ElfError } from '../elf/index.js';
import { ProgramLoadError, BpfRuntimeError } from '../vm/index.js';
import { UsageError } from './errors.js';
import { exitQuietlyOnClosedStdout } from './stdout.js';
import { conformanceCommand } from './commands/conformance.js';
import { disassemblyCommand } from './commands/disassembly.js';
import { assembleCommand } from './commands/assemble.js';
import { tourCommand } from './commands/tour.js';

exitQuietlyOnClosedStdout();

const out = (s: string): void => {
  process.stdout.write(s);
};

function build(setStatus: (code: number) => void): Command {
  const program = new Command('ebpf')
    .description('eBPF for every platform Node.js runs on')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride();

  program
    .command('conformance')
    .description('run a folder of bpf_conformance .data tests in-process')
    .argument('<dir>', 'folder of .data files')
    .option('--engine <engine>', 'execution engine', 'interpreter')
    .option('--cpu <version>', 'skip tests needing a newer ISA version: v1, v2, v3 or v4', 'v4')
    .option('--groups <list>', 'comma-separated instruction groups to allow (default: all)')
    .option('--json', 'machine-readable results')
    .option('-v, --verbose', 'list passing and skipped tests too')
    .action((dir: string, opts) => setStatus(conformanceCommand(dir, opts, out)));

  program
    .command('assemble')
    .description('assemble conformance-dialect assembly into an ELF object or raw bytes')
    .argument('<file>', 'assembly source (.s)')
    .option('-o, --output <file>', 'output file (default: FILE.o, or FILE.bin with --format raw)')
    .option('--format <format>', 'elf or raw', 'elf')
    .option('--section <name>', 'code section name in the ELF object', '.text')
    .action((file: string, opts) => setStatus(assembleCommand(file, opts, out)));

  const show = program.command('show').description('inspect programs and objects');
  show
    .command('disassembly')
    .description('disassemble a program (ELF object section or function, .s file, or raw bytes)')
    .argument('<file>', 'object, assembly or raw file')
    .argument('[section]', 'ELF section or function name (default: the first code section)')
    .option('--syntax <syntax>', 'llvm or conformance', 'llvm')
    .option('--bytes', 'show the raw bytes of each instruction')
    .option('--json', 'machine-readable output')
    .action((file: string, section: string | undefined, opts) => setStatus(disassemblyCommand(file, section, opts, out)));

  program
    .command('tour')
    .description('assemble, disassemble and run a sample program, then run the conformance suite')
    .action(() => setStatus(tourCommand(out)));

  return program;
}

export function main(argv: readonly string[]): number {
  let status = 0;
  const program = build((code) => {
    status = code;
  });
  try {
    program.parse(argv as string[], { from: 'user' });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`ebpf: ${e.message}\n`);
      return 2;
    }
    if (e instanceof AssemblyError || e instanceof DecodeError || e instanceof ElfError || e instanceof ProgramLoadError || e instanceof BpfRuntimeError) {
      process.stderr.write(`ebpf: ${e.name}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`ebpf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

process.exitCode = main(process.argv.slice(2));
