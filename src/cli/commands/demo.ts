// `ebpf demo` (npm start): the DNS flood demo. See src/demo/demo.ts.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openObject } from '../../elf/index.js';
import { ExecutionContext, loadObject, rulesFor, VerificationError, verifyProgram } from '../../runtime/index.js';
import { formatReport } from '../../verifier/index.js';
import { inProcessProtection, runDemo, summaryText, type DemoProtection } from '../../demo/demo.js';
import { platformProtection } from '../../demo/platform-demo.js';
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
  /** In this one process, without the service (the library's own hook). */
  standalone?: boolean;
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
  const examples = join(PACKAGE_ROOT, 'examples');
  const engine = parseEngine(options.engine);
  try {
    const protection: DemoProtection = options.standalone === true ? standalone(examples, engine) : await platformProtection({ examples, execution: engine === 'jit' ? 'jit' : 'interpret' });
    const summary = await runDemo({ phaseSeconds, rate, flooders, queryRate, port, live, out, stop, protection });
    out(live ? summaryText(summary) : JSON.stringify(summary, null, 2) + '\n');
    return 0;
  } finally {
    if (onSigint !== undefined) process.off('SIGINT', onSigint);
  }
}

/** The demo without a service: droppacket loaded in this process, on the server socket's hook. */
function standalone(examples: string, engine: ReturnType<typeof parseEngine>): DemoProtection {
  const droppacket = join(examples, 'droppacket.o');
  const spec = openObject(new Uint8Array(readFileSync(droppacket)), { path: droppacket });
  const explain = (write: (s: string) => void): void => {
    const program = spec.programs[0];
    write(`$ ebpf show disassembly examples/droppacket.o ${program.section}\n`);
    for (const line of programListing(spec, program, { syntax: 'llvm' })) write(`  ${line}\n`);
    write(`\n$ ebpf show verification examples/droppacket.o ${program.section}\n`);
    const rules = rulesFor(program, spec);
    const report = rules === undefined ? undefined : verifyProgram(spec, program, rules);
    write(`  ${report === undefined ? 'no rules for this program type' : formatReport(report).replace(/\n/g, '\n  ')}\n`);
  };
  const unsafe = (): { refused: boolean; report: string } => {
    const path = join(examples, 'droppacket_unsafe.o');
    const unsafeSpec = openObject(new Uint8Array(readFileSync(path)), { path });
    try {
      loadObject(unsafeSpec, new ExecutionContext());
      return { refused: false, report: `$ ebpf add program ${relative(process.cwd(), path)}\n  loaded: the verifier did NOT refuse it` };
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      const text = formatReport(e.report).replace(/\n/g, '\n  ');
      return { refused: true, report: `$ ebpf show verification ${relative(process.cwd(), path)}   # the same program without its UDP bounds check\n  refused:\n  ${text}` };
    }
  };
  return inProcessProtection(spec, unsafe, engine, explain);
}
