// The bpf_conformance plugin protocol (../shared/conformance/README.md, "Plugin protocol"):
// `PLUGIN [MEM] [OPTION ...] [--elf]`, the program hex-encoded on stdin, r0 printed in hex on
// success, the error text and a non-zero exit status on failure. Pure: I/O is passed in.

import { functionCode, readElf } from '../elf/index.js';
import { ENGINES, runConformanceProgram, type Engine } from './environment.js';

export interface PluginIO {
  readonly argv: readonly string[];
  readonly stdin: string;
}

export interface PluginResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Decodes the runner's byte encoding: hex bytes separated by whitespace. */
export function decodeHexBytes(text: string, what: string): Uint8Array {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  return Uint8Array.from(words, (w, i) => {
    if (!/^[0-9a-fA-F]{1,2}$/.test(w)) throw new Error(`${what}: byte ${i} ('${w}') is not a hex byte`);
    return Number.parseInt(w, 16);
  });
}

/** Encodes bytes the way the runner does: two lowercase hex digits and two spaces per byte. */
export function encodeHexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0') + '  ').join('');
}

export const PLUGIN_USAGE = `usage: ebpf-conformance-plugin [MEM] [--engine interpreter|jit] [--jit] [--elf] < PROGRAM
  PROGRAM  program bytes as hex (raw 8-byte instructions, or an ELF object with --elf)
  MEM      input memory as hex bytes; r1 points at a copy, r2 holds its length
  --jit    same as --engine jit`;

interface PluginArgs {
  memory: Uint8Array;
  elf: boolean;
  engine: Engine;
}

function parseArgs(argv: readonly string[]): PluginArgs {
  const args: PluginArgs = { memory: new Uint8Array(0), elf: false, engine: 'interpreter' };
  let i = 0;
  // MEM comes first when the test has memory: recognisable as it is made of hex bytes only.
  if (argv.length > 0 && !argv[0].startsWith('-') && argv[0].trim().length > 0) {
    args.memory = decodeHexBytes(argv[0], 'memory argument');
    i = 1;
  }
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '') continue; // runs of spaces in --plugin_options give empty arguments
    if (a === '--elf') args.elf = true;
    else if (a === '--jit') args.engine = 'jit';
    else if (a === '--engine' || a.startsWith('--engine=')) {
      let value: string | undefined;
      if (a.includes('=')) value = a.slice(a.indexOf('=') + 1);
      else {
        do i++;
        while (argv[i] === ''); // `--engine  interpreter` splits into '--engine', '', 'interpreter'
        value = argv[i];
      }
      if (!(ENGINES as readonly (string | undefined)[]).includes(value)) {
        throw new Error(`unknown engine '${value ?? ''}' (available: ${ENGINES.join(', ')})`);
      }
      args.engine = value as Engine;
    } else if (a === '--help' || a === '-h') {
      throw new HelpRequested();
    } else {
      throw new Error(`unknown option '${a}'\n${PLUGIN_USAGE}`);
    }
  }
  return args;
}

class HelpRequested extends Error {}

/** Runs the plugin once. Never throws: every failure becomes a non-zero exit with its text. */
export function runPlugin(io: PluginIO): PluginResult {
  try {
    const args = parseArgs(io.argv);
    const input = decodeHexBytes(io.stdin, 'program on stdin');
    if (input.length === 0) throw new Error('no program on stdin');
    const code = args.elf ? functionCode(readElf(input)) : input;
    const { r0 } = runConformanceProgram(code, args.memory, { engine: args.engine, instructionLimit: 100_000_000 });
    return { exitCode: 0, stdout: `0x${r0.toString(16)}\n`, stderr: '' };
  } catch (e) {
    if (e instanceof HelpRequested) return { exitCode: 0, stdout: PLUGIN_USAGE + '\n', stderr: '' };
    const message = e instanceof Error ? e.message : String(e);
    return { exitCode: 1, stdout: '', stderr: message + '\n' };
  }
}
