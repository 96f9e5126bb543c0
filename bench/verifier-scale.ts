// Verifier scale (a benchmark, not a test): time, states visited and peak memory against program
// size for three shapes of generated XDP programs (test/support/shapes.ts): straight-line,
// branchy (bounds-checked parsing with if/else diamonds) and interleaved loops (red-team case C1).
// Each case runs in its own process, so its peak RSS is its own. Verification uses the options
// programs are loaded with (termination proof on) and the default budget unless --budget is given;
// the time column includes every pass, since the budget starts when verify() is called.
//   node dist/bench/verifier-scale.js [--quick] [--budget MS] [--shape straight|branchy|loops]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { assembleBytes } from '../src/isa/assemble.js';
import { decode } from '../src/isa/decode.js';
import { LINUX_XDP } from '../src/program-types/base-rules.js';
import { LOAD_VERIFIER_OPTIONS } from '../src/runtime/verify.js';
import { DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_STEPS, DEFAULT_TIME_LIMIT_MS } from '../src/verifier/budget.js';
import { verify } from '../src/verifier/index.js';
import { SHAPES, type Shape, shapeText } from '../test/support/shapes.js';

interface Measured {
  readonly shape: Shape;
  readonly size: number;
  readonly instructions: number;
  readonly assembleMs: number;
  readonly decodeMs: number;
  readonly verifyMs: number;
  readonly states: number;
  readonly outcome: string;
  readonly message: string;
  readonly peakRssMb: number;
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

/** One case, in this process: prints its measurements as JSON. */
function measure(shape: Shape, size: number, budgetMs: number | undefined): Measured {
  const text = shapeText(shape, size);
  let t = performance.now();
  const bytes = assembleBytes(text);
  const assembleMs = performance.now() - t;
  t = performance.now();
  const instructions = decode(bytes);
  const decodeMs = performance.now() - t;
  t = performance.now();
  const report = verify({ instructions, maps: new Map(), programType: LINUX_XDP }, { ...LOAD_VERIFIER_OPTIONS, ...(budgetMs === undefined ? {} : { timeLimitMs: budgetMs }) });
  const verifyMs = performance.now() - t;
  const error = report.ok ? undefined : report.errors[0];
  return {
    shape, size, instructions: instructions.length, assembleMs, decodeMs, verifyMs, states: report.statesVisited,
    outcome: report.ok ? 'accepted' : error?.code === 'verifier-limit' ? 'cut off' : `refused (${error?.code})`,
    message: error?.message ?? '',
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

const one = flag('--case');
if (one !== undefined) {
  const [shape, size] = one.split(':');
  const budget = flag('--budget');
  process.stdout.write(JSON.stringify(measure(shape as Shape, Number(size), budget === undefined ? undefined : Number(budget))) + '\n');
} else {
  const quick = args.includes('--quick');
  const budget = flag('--budget');
  const budgetMs = budget === undefined ? DEFAULT_TIME_LIMIT_MS : Number(budget);
  const sizes = quick ? [1000, 4000] : [1000, 4000, 16_000, 64_000, 256_000, 1_000_000];
  const shapes = flag('--shape') === undefined ? SHAPES : SHAPES.filter((s) => s === flag('--shape'));
  const self = fileURLToPath(import.meta.url);
  const out = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  out(`verifier scale: generated XDP programs, options { termination: true }, budget ${budgetMs} ms / ${DEFAULT_MAX_STEPS} states / ${DEFAULT_MAX_MEMORY_MB} MB of memory`);
  out('(one process per case; "assemble" and "decode" are the caller\'s work before verify(), not counted in the budget)');
  const table = new Table({ head: ['shape', 'insns', 'assemble ms', 'decode ms', 'verify ms', 'states', 'peak RSS MB', 'outcome'], style: { head: [], border: [], compact: true } });
  const cutOff: Measured[] = [];
  for (const shape of shapes) {
    for (const size of sizes) {
      const json = execFileSync(process.execPath, [self, '--case', `${shape}:${size}`, ...(budget === undefined ? [] : ['--budget', budget])], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const m = JSON.parse(json) as Measured;
      if (m.outcome === 'cut off') cutOff.push(m);
      table.push([shape, m.instructions, m.assembleMs.toFixed(0), m.decodeMs.toFixed(0), m.verifyMs.toFixed(0), m.states, m.peakRssMb.toFixed(0), m.outcome]);
    }
  }
  out(table.toString());
  for (const m of cutOff) {
    const over = (100 * (m.verifyMs - budgetMs)) / budgetMs;
    out(`  ${m.shape} ${m.instructions}: ${m.message}${m.message.includes('time budget') ? ` (${over >= 0 ? '+' : ''}${over.toFixed(1)}% of the budget)` : ''}`);
  }
}
