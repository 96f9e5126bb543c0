// Verifier time on loops (a benchmark, not a test): generated loops of 100 to 100,000 iterations
// in the shapes clang emits (a counter, a packet loop that re-checks data_end, a zero-extended
// 32-bit counter, nested loops), then every object of the loop corpus (test/fixtures/loops). The
// options are those programs load with (termination proof on); each time is the best of 5 runs.
//   node dist/bench/verifier-loops.js
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { assembleLlvm } from '../src/isa/assemble-llvm.js';
import { decode } from '../src/isa/decode.js';
import { encode } from '../src/isa/encode.js';
import { openObject } from '../src/elf/index.js';
import { LINUX_XDP } from '../src/program-types/base-rules.js';
import { verifierRules } from '../src/program-types/rules.js';
import { LOAD_VERIFIER_OPTIONS, verifierInput } from '../src/runtime/verify.js';
import { type VerificationReport, type VerifierInput, verify } from '../src/verifier/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const SHAPES: Record<string, (n: number) => string> = {
  counter: (n) => `r0 = 0\nr2 = 0\n<l>:\nr0 += r2\nr2 += 1\nif r2 != ${n} goto <l>\nr0 = 2\nexit`,
  'packet bytes': (n) => [
    'r2 = *(u32 *)(r1 + 0)', 'r3 = *(u32 *)(r1 + 4)', 'r0 = 0', 'r4 = 0', '<l>:', 'r5 = r2', 'r5 += r4', 'r6 = r5', 'r6 += 1',
    'if r6 > r3 goto <out>', 'r5 = *(u8 *)(r5 + 0)', 'r0 += r5', 'r4 += 1', `if r4 != ${n} goto <l>`, '<out>:', 'r0 = 2', 'exit',
  ].join('\n'),
  'zero-extended counter': (n) => [
    'r1 = 0', 'r2 = 0', '<l>:', 'r1 += r2', 'r2 += 1', 'r3 = r2', 'r3 <<= 32', 'r3 >>= 32', `if r3 != ${n} goto <l>`, 'r0 = 2', 'exit',
  ].join('\n'),
  'nested (n / 10 x 10)': (n) => [
    'r0 = 0', 'r2 = 0', '<o>:', 'r3 = 0', '<i>:', 'r0 += r3', 'r3 += 1', 'if r3 != 10 goto <i>', 'r2 += 1', `if r2 != ${Math.max(1, n / 10)} goto <o>`,
    'r0 = 2', 'exit',
  ].join('\n'),
};

function best(input: VerifierInput): { ms: number; report: VerificationReport } {
  let ms = Infinity;
  let report: VerificationReport | undefined;
  for (let run = 0; run < 5; run++) {
    const t = performance.now();
    report = verify(input, LOAD_VERIFIER_OPTIONS);
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, report: report as VerificationReport };
}

const outcome = (r: VerificationReport): string => {
  if (!r.ok) return `refused (${r.errors[0]?.code ?? '?'})`;
  const b = r.loopBounds ?? [];
  return `accepted, ${b.map((l) => `${l.iterations} ${l.proof === 'explored' ? 'explored' : `ranked by ${l.register ?? '?'}`}`).join(', ')}`;
};

const generated = new Table({ head: ['shape', 'iterations', 'verify ms', 'states', 'outcome'] });
for (const [shape, text] of Object.entries(SHAPES)) {
  for (const n of [100, 1_000, 10_000, 100_000]) {
    const instructions = decode(encode(assembleLlvm(text(n)).instructions));
    const { ms, report } = best({ instructions, maps: new Map(), programType: LINUX_XDP });
    generated.push([shape, n.toLocaleString('en-US'), ms.toFixed(1), report.statesVisited, outcome(report)]);
  }
}
process.stdout.write(`generated loops (options as at load: termination on):\n${generated.toString()}\n`);

const dir = join(ROOT, 'test', 'fixtures', 'loops');
const objects = readdirSync(dir).filter((f) => f.endsWith('.o')).sort();
let total = 0;
let accepted = 0;
const slow: { object: string; ms: number; states: number }[] = [];
for (const object of objects) {
  const spec = openObject(readFileSync(join(dir, object)));
  const program = spec.programs[0];
  const rules = verifierRules(program.type, spec.abi);
  if (rules === undefined) continue;
  const { ms, report } = best(verifierInput(spec, program, rules));
  total += ms;
  if (report.ok) accepted++;
  slow.push({ object, ms, states: report.statesVisited });
}
slow.sort((a, b) => b.ms - a.ms);
process.stdout.write(`loop corpus: ${objects.length} objects, ${accepted} accepted, ${total.toFixed(0)} ms in all; slowest: ${slow.slice(0, 4).map((s) => `${s.object} ${s.ms.toFixed(1)} ms (${s.states} states)`).join('; ')}\n`);
