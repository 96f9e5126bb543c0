// `npm run bench`: speed figures (a benchmark, not a test). Prints a table and writes JSON.
//   node dist/bench/run.js [--json FILE] [--quick]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleBytes } from '../src/isa/index.js';
import { HelperRegistry, Interpreter, LinearMemory, prepareProgram } from '../src/vm/index.js';
import { runSuite } from '../src/conformance/runner.js';
import { exitQuietlyOnClosedStdout } from '../src/cli/stdout.js';

exitQuietlyOnClosedStdout();

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : join(ROOT, 'bench-results.json');

interface Row {
  name: string;
  instructionsPerRun: number;
  nsPerRun: number;
  nsPerInstruction: number;
}

const memory = new LinearMemory({ initialPages: 4 });
const buffer = memory.alloc(1514);
memory.write(buffer, new Uint8Array(1514).map((_, i) => (i * 31 + 7) & 0xff));

function measure(name: string, source: string, withBuffer: boolean): Row {
  const program = prepareProgram(assembleBytes(source), { helpers: new HelperRegistry() });
  const vm = new Interpreter(program, { memory });
  const run = () => vm.run(withBuffer ? { r1: buffer, r2: 1514 } : {});
  run();
  const perRun = vm.instructionsExecuted;
  // Warm up until V8 has optimised the dispatch loop, then take the best of several batches.
  const budgetNs = quick ? 2e8 : 1e9;
  const runsPerBatch = Math.max(1, Math.round(budgetNs / 10 / (perRun * 10)));
  for (let i = 0; i < runsPerBatch; i++) run();
  let best = Infinity;
  for (let batch = 0; batch < 10; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < runsPerBatch; i++) run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / runsPerBatch);
  }
  return { name, instructionsPerRun: perRun, nsPerRun: best, nsPerInstruction: best / perRun };
}

const programs: [string, string, boolean][] = [
  ['checksum-1514 (examples/asm/checksum.s)', join(ROOT, 'examples', 'asm', 'checksum.s'), true],
  ['alu-mix (bench/programs/alu-mix.s)', join(ROOT, 'bench', 'programs', 'alu-mix.s'), false],
  ['byte-sum (bench/programs/byte-sum.s)', join(ROOT, 'bench', 'programs', 'byte-sum.s'), true],
  ['calls (bench/programs/calls.s)', join(ROOT, 'bench', 'programs', 'calls.s'), false],
];

const rows = programs.map(([name, path, withBuffer]) => measure(name, readFileSync(path, 'utf8'), withBuffer));

const pad = (s: string, n: number): string => s.padEnd(n);
const num = (x: number, d = 1): string => x.toFixed(d).padStart(12);
process.stdout.write(`interpreter (Node ${process.version})\n`);
process.stdout.write(`${pad('program', 44)}${'insns/run'.padStart(12)}${'µs/run'.padStart(12)}${'ns/insn'.padStart(12)}\n`);
for (const r of rows) {
  process.stdout.write(`${pad(r.name, 44)}${String(r.instructionsPerRun).padStart(12)}${num(r.nsPerRun / 1000)}${num(r.nsPerInstruction, 2)}\n`);
}

let conformance: { tests: number; ms: number } | undefined;
const suite = join(ROOT, '..', 'shared', 'conformance', 'bpf_conformance', 'tests');
if (existsSync(suite)) {
  runSuite(suite); // warm
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(runSuite(suite).elapsedMs);
  const r = runSuite(suite);
  times.sort((a, b) => a - b);
  conformance = { tests: r.passed + r.failed, ms: times[2] };
  process.stdout.write(`\nconformance suite in-process: ${conformance.tests} tests in ${conformance.ms.toFixed(1)} ms (median of 5, warm)\n`);
}

writeFileSync(jsonPath, JSON.stringify({ node: process.version, date: new Date().toISOString(), interpreter: rows, conformance }, null, 2) + '\n');
process.stdout.write(`\nwrote ${jsonPath}\n`);
