// `ebpf bench FILE [PROGRAM] --data PKT`: how fast a program of yours runs on each engine, so
// others can compare programs of their own (a measurement, not a test). The whole object is loaded
// (tail calls through the prog arrays it fills work); --only loads the one program.
import { ExecutionContext } from '../../runtime/index.js';
import { ENGINES } from '../../vm/jit/engine.js';
import { UsageError } from '../errors.js';
import { openObjectFile, parseAbi, selectProgram } from '../object-file.js';
import { readFileOrFail } from '../program-file.js';
import { loadForRun } from '../whole-object.js';

export interface BenchOptions {
  data?: string;
  ctx?: string;
  abi?: string;
  type?: string;
  runs: string;
  json?: boolean;
  /** Load only the program asked for, not the whole object. */
  only?: boolean;
}

export function benchCommand(file: string, programName: string | undefined, options: BenchOptions, out: (s: string) => void): number {
  const runs = Number(options.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs must be a positive integer, got '${options.runs}'`);
  const spec = openObjectFile(file, parseAbi(options.abi));
  const programSpec = selectProgram(spec, programName);
  const data = options.data === undefined ? undefined : readFileOrFail(options.data);
  const ctx = options.ctx === undefined ? undefined : readFileOrFail(options.ctx);
  const rows = ENGINES.map((engine) => {
    const context = new ExecutionContext();
    const program = loadForRun(spec, programSpec, context, { only: options.only, type: options.type, engine }).program(programSpec.name);
    const start = performance.now();
    const first = program.testRun({ data, ctx });
    const coldMs = performance.now() - start;
    // Let V8 tier the engine up, then measure; map side effects accumulate, as with repeat on Linux.
    program.testRun({ data, ctx, repeat: Math.min(runs, 10_000) });
    const warm = program.testRun({ data, ctx, repeat: runs });
    return { engine, returnValue: first.returnValue, coldMs, nsPerRun: warm.durationNs, instructions: first.instructions };
  });
  const interpreter = rows.find((r) => r.engine === 'interpreter');
  const jit = rows.find((r) => r.engine === 'jit');
  if (options.json) {
    out(JSON.stringify({ program: programSpec.name, section: programSpec.section, runs, engines: rows }, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2) + '\n');
    return 0;
  }
  out(`${programSpec.section}/${programSpec.name}: ${runs.toLocaleString('en-US')} runs per engine\n`);
  out(`  ${'engine'.padEnd(12)}${'ns/run'.padStart(12)}${'first run (ms)'.padStart(16)}${'r0'.padStart(8)}\n`);
  for (const r of rows) out(`  ${r.engine.padEnd(12)}${r.nsPerRun.toFixed(1).padStart(12)}${r.coldMs.toFixed(2).padStart(16)}${String(r.returnValue).padStart(8)}\n`);
  if (interpreter !== undefined && jit !== undefined) out(`  JIT speedup: ${(interpreter.nsPerRun / jit.nsPerRun).toFixed(1)}x\n`);
  return 0;
}
