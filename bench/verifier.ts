// Verifier speed (a benchmark, not a test): warm time per example program, growth with program
// size on generated loop-free packet parsers, and warm time of the loop-free ~1,000-instruction
// programs of ../shared/verifier-tests/ebpf-samples. Peak memory is reported.
//   node dist/bench/verifier.js
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObject } from '../src/elf/index.js';
import { assembleLlvm } from '../src/isa/assemble-llvm.js';
import { decode } from '../src/isa/decode.js';
import { encode } from '../src/isa/encode.js';
import { verifierRules } from '../src/program-types/index.js';
import { rulesFor, verifierInput, verifyProgram } from '../src/runtime/verify.js';
import { buildCfg } from '../src/verifier/cfg.js';
import { verify, type VerifierInput } from '../src/verifier/index.js';
import { LINUX_XDP } from '../src/program-types/base-rules.js';
import { builtinProgramTypes } from '../src/program-types/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES = join(ROOT, '..', 'shared', 'verifier-tests', 'ebpf-samples');
let peakRss = process.memoryUsage().rss;

/** Median wall time of `runs` calls after `warm` unmeasured ones, in ms. */
function time(f: () => unknown, runs = 15, warm = 3): number {
  for (let i = 0; i < warm; i++) f();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return ms.sort((a, b) => a - b)[ms.length >> 1];
}

const out = (s: string): void => {
  process.stdout.write(s + '\n');
};

// --- examples -------------------------------------------------------------------------------------
out('verifier: warm median per example program (termination proof on, as when loading)');
const types = builtinProgramTypes();
for (const file of readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.o')).sort()) {
  const spec = openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', file))), { path: file });
  for (const program of spec.programs) {
    const rules = rulesFor(program, spec, types.get(program.type));
    if (rules === undefined) continue;
    const report = verifyProgram(spec, program, rules);
    const ms = time(() => verifyProgram(spec, program, rules));
    out(`  ${`${file} ${program.name}`.padEnd(44)} ${String(program.instructions.length).padStart(5)} insns ${ms.toFixed(2).padStart(8)} ms  ${report.ok ? 'accepted' : 'refused'}`);
  }
}

// --- growth with size ------------------------------------------------------------------------------
/** A loop-free XDP parser of `blocks` header checks (9 instructions each). */
function parser(blocks: number): VerifierInput {
  const lines = ['r2 = *(u32 *)(r1 + 0)', 'r3 = *(u32 *)(r1 + 4)', 'r6 = 0'];
  for (let b = 0; b < blocks; b++) {
    const off = 8 + (b % 32) * 4;
    lines.push('r4 = r2', `r4 += ${off + 4}`, 'if r4 > r3 goto <out>', `r5 = *(u32 *)(r2 + ${off})`, 'if r5 == 0 goto <skip' + b + '>', 'r6 += r5', 'r6 &= 65535', `<skip${b}>:`, 'r6 ^= 1', 'r0 = r6');
  }
  lines.push('<out>:', 'r0 = 2', 'exit');
  const asm = assembleLlvm(lines.join('\n'));
  return { instructions: decode(encode(asm.instructions)), maps: new Map(), programType: LINUX_XDP };
}

out('\nverifier: growth with size (generated loop-free packet parsers)');
const growth: [number, number][] = [];
for (const blocks of [28, 56, 111, 222, 444, 888]) {
  const input = parser(blocks);
  const report = verify(input);
  if (!report.ok) throw new Error(`the generated parser of ${blocks} blocks was refused`);
  const ms = time(() => verify(input), 9, 2);
  growth.push([input.instructions.length, ms]);
  out(`  ${String(input.instructions.length).padStart(5)} insns ${ms.toFixed(2).padStart(8)} ms  ${(ms * 1000 / input.instructions.length).toFixed(1).padStart(6)} us/insn`);
}

// --- real programs -------------------------------------------------------------------------------
if (!existsSync(SAMPLES)) {
  out(`\n(skipped: ${SAMPLES} is absent, so the ebpf-samples figures are not measured)`);
} else {
  out('\nverifier: loop-free ebpf-samples programs of 700-1,300 instructions, warm');
  const lines = readFileSync(join(SAMPLES, '..', 'ebpf-samples-verdicts.csv'), 'utf8').trim().split('\n').slice(1);
  const times: number[] = [];
  const opened = new Map<string, ReturnType<typeof openObject> | undefined>();
  for (const line of lines) {
    const [object, section, fn, type] = line.split(',');
    if (!opened.has(object)) {
      try {
        opened.set(object, openObject(new Uint8Array(readFileSync(join(SAMPLES, object))), { abi: 'linux', includeSubprograms: true }));
      } catch {
        opened.set(object, undefined);
      }
    }
    const spec = opened.get(object);
    const program = spec?.programs.find((p) => p.name === fn && p.section === section);
    const rules = verifierRules(type, 'linux');
    if (spec === undefined || program === undefined || rules === undefined || program.unsupported !== undefined) continue;
    const n = program.instructions.length;
    if (n < 700 || n > 1300) continue;
    const input = verifierInput(spec, program, rules);
    if (buildCfg(input.instructions, { get: () => undefined }, input.functionPointers).loopHeads.size > 0) continue;
    times.push(time(() => verify(input), 3, 1));
  }
  times.sort((a, b) => a - b);
  out(`  ${times.length} programs: median ${times[times.length >> 1].toFixed(1)} ms, 90th percentile ${times[Math.floor(times.length * 0.9)].toFixed(1)} ms, slowest ${times[times.length - 1].toFixed(1)} ms`);
}
out(`\npeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
