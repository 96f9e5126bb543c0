// `npm run bench`: speed figures (a benchmark, not a test). Prints tables and writes JSON.
//   node dist/bench/run.js [--json FILE] [--quick]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleBytes } from '../src/isa/index.js';
import { HelperRegistry, Interpreter, LinearMemory, prepareProgram, type PreparedProgram, type RunArguments } from '../src/vm/index.js';
import { JitProgram, compileModule } from '../src/vm/jit/index.js';
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

interface JitRow {
  name: string;
  /** Warm ns per run, after V8 tiered the module up. */
  nsPerRun: number;
  /** eBPF → wasm bytes → WebAssembly.Module, ms. */
  compileMs: number;
  /** Instantiation plus the first run, ms. */
  firstCallMs: number;
  /** Interpreter ns per run / JIT ns per run. */
  speedup: number;
}

const memory = new LinearMemory({ initialPages: 4 });
const buffer = memory.alloc(1514);
memory.write(buffer, new Uint8Array(1514).map((_, i) => (i * 31 + 7) & 0xff));

const NOP_HELPER = 1;
const helpers = new HelperRegistry([
  { id: NOP_HELPER, name: 'bench_nop', prototype: { ret: 'scalar', args: [] }, call: (a) => a.u32(1) },
]);

interface Runner {
  run(args?: RunArguments): bigint;
}

/** Best ns per run over batches, after warming up for about a tenth of the budget. */
function timeRuns(vm: Runner, runArgs: RunArguments, expectedNsPerRun: number): number {
  const budgetNs = quick ? 2e8 : 1e9;
  const runsPerBatch = Math.max(1, Math.round(budgetNs / 10 / Math.max(expectedNsPerRun, 1) / 10));
  for (let i = 0; i < runsPerBatch * 3; i++) vm.run(runArgs);
  let best = Infinity;
  for (let batch = 0; batch < 10; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < runsPerBatch; i++) vm.run(runArgs);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / runsPerBatch);
  }
  return best;
}

function measure(name: string, program: PreparedProgram, runArgs: RunArguments): { row: Row; jit: JitRow } {
  const vm = new Interpreter(program, { memory });
  const expected = vm.run(runArgs);
  const perRun = vm.instructionsExecuted;
  const nsPerRun = timeRuns(vm, runArgs, perRun * 4);

  const t0 = performance.now();
  const { bytes } = compileModule(program, true, true);
  new WebAssembly.Module(bytes);
  const compileMs = performance.now() - t0;
  const jit = new JitProgram(program, { memory });
  const t1 = performance.now();
  const first = jit.run(runArgs); // compiles (cached) and instantiates
  const firstCallMs = performance.now() - t1;
  if (first !== expected) throw new Error(`${name}: JIT gives ${first}, the interpreter ${expected}`);
  const jitNs = timeRuns(jit, runArgs, nsPerRun / 20);
  return {
    row: { name, instructionsPerRun: perRun, nsPerRun, nsPerInstruction: nsPerRun / perRun },
    jit: { name, nsPerRun: jitNs, compileMs, firstCallMs, speedup: nsPerRun / jitNs },
  };
}

const programs: [string, string, boolean][] = [
  ['checksum-1514 (examples/asm/checksum.s)', join(ROOT, 'examples', 'asm', 'checksum.s'), true],
  ['alu-mix (bench/programs/alu-mix.s)', join(ROOT, 'bench', 'programs', 'alu-mix.s'), false],
  ['byte-sum (bench/programs/byte-sum.s)', join(ROOT, 'bench', 'programs', 'byte-sum.s'), true],
  ['calls (bench/programs/calls.s)', join(ROOT, 'bench', 'programs', 'calls.s'), false],
  ['helper-calls (bench/programs/helper-calls.s)', join(ROOT, 'bench', 'programs', 'helper-calls.s'), false],
];

const measured = programs.map(([name, path, withBuffer]) =>
  measure(name, prepareProgram(assembleBytes(readFileSync(path, 'utf8')), { helpers }), withBuffer ? { r1: buffer, r2: 1514 } : {}),
);
const rows = measured.map((m) => m.row);
const jitRows = measured.map((m) => m.jit);

// Cost of one invocation from JS: `mov r0, 0; exit`, with no arguments and with r1 (a context).
// One loop per engine, so that V8 sees a single receiver class at the call site (as an
// application calling one program does).
// Two copies of the same loop on purpose: each call site then sees one receiver class.
function interpreterInvocation(vm: Interpreter, runArgs: RunArguments): number {
  const n = quick ? 200_000 : 1_000_000;
  let best = Infinity;
  for (let batch = 0; batch < 12; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) vm.run(runArgs);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return best;
}
function jitInvocation(vm: JitProgram, runArgs: RunArguments): number {
  const n = quick ? 200_000 : 1_000_000;
  let best = Infinity;
  for (let batch = 0; batch < 12; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) vm.run(runArgs);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return best;
}
function invocation(): { interpreterNs: number; jitNs: number; interpreterWithR1Ns: number; jitWithR1Ns: number } {
  const empty = prepareProgram(assembleBytes('mov %r0, 0\nexit'), { helpers });
  const interp = new Interpreter(empty, { memory });
  const jit = new JitProgram(empty, { memory });
  const noArgs: RunArguments = {};
  const withR1: RunArguments = { r1: buffer };
  return {
    interpreterNs: interpreterInvocation(interp, noArgs),
    jitNs: jitInvocation(jit, noArgs),
    interpreterWithR1Ns: interpreterInvocation(interp, withR1),
    jitWithR1Ns: jitInvocation(jit, withR1),
  };
}
const call = invocation();

// Helper-call cost: the helper-calls program makes 1,000 calls to a helper returning its r1; the
// loop around them is measured separately (the same program without the call) and subtracted.
function helperCallCost(): { interpreterNs: number; jitNs: number } {
  const withCall = prepareProgram(assembleBytes(readFileSync(join(ROOT, 'bench', 'programs', 'helper-calls.s'), 'utf8')), { helpers });
  const source = readFileSync(join(ROOT, 'bench', 'programs', 'helper-calls.s'), 'utf8').replace(/^\s*call 1\s*$/m, '    mov %r0, %r1');
  const without = prepareProgram(assembleBytes(source), { helpers });
  const perCall = (make: (p: PreparedProgram) => Runner): number =>
    (timeRuns(make(withCall), {}, 20_000) - timeRuns(make(without), {}, 5_000)) / 1000;
  return {
    interpreterNs: perCall((p) => new Interpreter(p, { memory })),
    jitNs: perCall((p) => new JitProgram(p, { memory })),
  };
}
const helperCall = helperCallCost();

// Compile speed (eBPF → wasm bytes → WebAssembly.Module) on a large program: 64 functions, the
// checksum and alu-mix bodies in turn. Each compile gets a different constant, so V8's cache of
// identical module bytes cannot answer; "cold" is the first compile in this process.
function compileThroughput(): { instructions: number; coldMsPerThousand: number; msPerThousand: number; codegenMsPerThousand: number } {
  const body = (file: string): string[] =>
    readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l.length > 0);
  const bodies = [body(join(ROOT, 'examples', 'asm', 'checksum.s')), body(join(ROOT, 'bench', 'programs', 'alu-mix.s'))];
  const source = (variant: number): string => {
    const parts: string[] = [`mov %r6, ${variant}`, 'mov %r7, %r2'];
    const functions: string[] = [];
    for (let i = 0; i < 64; i++) {
      parts.push('mov %r1, %r6', 'mov %r2, %r7', `call local f${i}`);
      const lines = bodies[i % 2].map((l) => l.replace(/\b(loop|tail|fold|done)\b/g, `$1_${i}`));
      functions.push(`f${i}:`, ...lines);
    }
    parts.push('exit', ...functions);
    return parts.join('\n');
  };
  const compileOnce = (variant: number): { ms: number; codegenMs: number; instructions: number } => {
    const program = prepareProgram(assembleBytes(source(variant)), { helpers });
    const t = performance.now();
    const { bytes } = compileModule(program, true, true);
    const t1 = performance.now();
    new WebAssembly.Module(bytes);
    return { ms: performance.now() - t, codegenMs: t1 - t, instructions: program.instructions.length };
  };
  const cold = compileOnce(0);
  for (let i = 1; i <= 20; i++) compileOnce(i); // let V8 optimise the compiler itself
  const runs: { ms: number; codegenMs: number }[] = [];
  for (let i = 21; i <= (quick ? 30 : 60); i++) runs.push(compileOnce(i));
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1];
  const per = (ms: number): number => (ms / cold.instructions) * 1000;
  return {
    instructions: cold.instructions,
    coldMsPerThousand: per(cold.ms),
    msPerThousand: per(median(runs.map((r) => r.ms))),
    codegenMsPerThousand: per(median(runs.map((r) => r.codegenMs))),
  };
}
const compile = compileThroughput();

const pad = (s: string, n: number): string => s.padEnd(n);
const num = (x: number, d = 1): string => x.toFixed(d).padStart(12);
const out = (s: string): boolean => process.stdout.write(s);
out(`interpreter and JIT (Node ${process.version})\n`);
out(`${pad('program', 46)}${'insns/run'.padStart(12)}${'µs/run'.padStart(12)}${'ns/insn'.padStart(12)}${'JIT µs/run'.padStart(12)}${'speedup'.padStart(10)}${'compile ms'.padStart(12)}${'1st run ms'.padStart(12)}\n`);
rows.forEach((r, i) => {
  const j = jitRows[i];
  out(`${pad(r.name, 46)}${String(r.instructionsPerRun).padStart(12)}${num(r.nsPerRun / 1000)}${num(r.nsPerInstruction, 2)}${num(j.nsPerRun / 1000, 2)}${(j.speedup.toFixed(1) + '×').padStart(10)}${num(j.compileMs, 2)}${num(j.firstCallMs, 2)}\n`);
});
out(`\ninvocation of an empty program (mov r0, 0; exit) from JS: interpreter ${call.interpreterNs.toFixed(1)} ns, JIT ${call.jitNs.toFixed(1)} ns (target ≤ 10 ns)\n`);
out(`  with r1 set: interpreter ${call.interpreterWithR1Ns.toFixed(1)} ns, JIT ${call.jitWithR1Ns.toFixed(1)} ns\n`);
out(`helper call (trivial helper, per call): interpreter ${helperCall.interpreterNs.toFixed(1)} ns, JIT ${helperCall.jitNs.toFixed(1)} ns\n`);
out(`JIT compile: ${compile.msPerThousand.toFixed(2)} ms per 1,000 instructions warm (median; eBPF → wasm ${compile.codegenMsPerThousand.toFixed(2)} ms, the rest V8), ${compile.coldMsPerThousand.toFixed(2)} ms cold (${compile.instructions} instructions; target ≤ 1 ms)\n`);

let conformance: { tests: number; ms: number; jitMs?: number } | undefined;
const suite = join(ROOT, '..', 'shared', 'conformance', 'bpf_conformance', 'tests');
if (existsSync(suite)) {
  const median = (engine: 'interpreter' | 'jit'): { tests: number; ms: number } => {
    runSuite(suite, { engine }); // warm
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(runSuite(suite, { engine }).elapsedMs);
    const r = runSuite(suite, { engine });
    times.sort((a, b) => a - b);
    return { tests: r.passed + r.failed, ms: times[2] };
  };
  const interp = median('interpreter');
  const jit = median('jit');
  conformance = { tests: interp.tests, ms: interp.ms, jitMs: jit.ms };
  out(`\nconformance suite in-process: ${interp.tests} tests in ${interp.ms.toFixed(1)} ms on the interpreter, ${jit.ms.toFixed(1)} ms on the JIT (compiles every test; median of 5, warm)\n`);
}

writeFileSync(
  jsonPath,
  JSON.stringify({ node: process.version, date: new Date().toISOString(), interpreter: rows, jit: jitRows, invocation: call, helperCall, compile, conformance }, null, 2) + '\n',
);
out(`\nwrote ${jsonPath}\n`);
