// `ebpf demo` (npm start): the DNS flood demo. See src/demo/demo.ts.
import { join } from 'node:path';
import { runDemo, summaryText } from '../../demo/demo.js';
import { UsageError } from '../errors.js';
import { programListing } from '../listing.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { parseEngine } from './conformance.js';

export interface DemoCommandOptions {
  phaseSeconds: string;
  rate: string;
  flooders: string;
  queryRate: string;
  port: string;
  engine: string;
  json?: boolean;
}

function integer(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

export async function demoCommand(options: DemoCommandOptions, out: (s: string) => void): Promise<number> {
  const phaseSeconds = integer(options.phaseSeconds, '--phase-seconds', 1, 3600);
  const rate = integer(options.rate, '--rate', 1, 10_000_000);
  const flooders = integer(options.flooders, '--flooders', 1, 64);
  const queryRate = integer(options.queryRate, '--query-rate', 1, 100_000);
  const port = integer(options.port, '--port', 0, 65535);
  const live = options.json !== true;
  let onSigint: (() => void) | undefined;
  const stop = new Promise<void>((resolve) => {
    onSigint = () => {
      if (live) out('\n  -- Ctrl-C: stopping\n');
      resolve();
    };
    process.once('SIGINT', onSigint);
  });
  try {
    const summary = await runDemo({
      phaseSeconds, rate, flooders, queryRate, port, live, out, stop, engine: parseEngine(options.engine),
      examples: join(PACKAGE_ROOT, 'examples'),
      explain: (spec, write) => {
        const program = spec.programs[0];
        write(`$ ebpf show disassembly examples/droppacket.o ${program.section}\n`);
        for (const line of programListing(spec, program, { syntax: 'llvm' })) write(`  ${line}\n`);
      },
    });
    out(live ? summaryText(summary) : JSON.stringify(summary, null, 2) + '\n');
    return 0;
  } finally {
    if (onSigint !== undefined) process.off('SIGINT', onSigint);
  }
}
