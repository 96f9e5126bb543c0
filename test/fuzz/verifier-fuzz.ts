// Oracle-checked fuzzing of the verifier (`npm run fuzz:verifier`): random XDP programs around the
// verifier's risky areas (generators.ts) are verified as loading verifies them; each accepted one
// is run on many edge-case inputs (inputs.ts) on the interpreter, instrumented, and on the JIT
// (oracle.ts). A finding (an accepted program doing what the verifier promised it cannot) is
// printed with the seed, the iteration, the input and a delta-debugged minimal program.
// Options (or env): --seed N (FUZZ_SEED), --executions N (FUZZ_EXECUTIONS), --seconds S
// (FUZZ_SECONDS), --inputs N per program (FUZZ_INPUTS), --max-findings K distinct findings printed before stopping (FUZZ_MAX_FINDINGS),
// --instruction-limit N (FUZZ_INSTRUCTION_LIMIT; default 100000, far above what any generated
// program needs: its loops are bounded by 100 passes). Exit code 1 when there were findings.

import { Environment } from './environment.js';
import { randomProgram } from './generators.js';
import { describeInput, makeInput } from './inputs.js';
import { minimise } from './minimise.js';
import { Oracle, type Finding } from './oracle.js';
import { build, reachablePcs, verifyBuilt } from './program.js';
import { classify } from './classify.js';
import { Rng } from './rng.js';

interface Options {
  seed: number;
  executions: number;
  seconds: number;
  inputs: number;
  maxFindings: number;
  instructionLimit: number;
}

function options(argv: readonly string[]): Options {
  const flag = (name: string, env: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    const text = i >= 0 ? argv[i + 1] : process.env[env];
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n)) throw new Error(`--${name} / ${env}: not a number: ${text}`);
    return n;
  };
  return {
    seed: flag('seed', 'FUZZ_SEED', (Date.now() ^ (process.pid << 12)) >>> 0) >>> 0,
    executions: flag('executions', 'FUZZ_EXECUTIONS', 200_000),
    seconds: flag('seconds', 'FUZZ_SECONDS', 120),
    inputs: flag('inputs', 'FUZZ_INPUTS', 160),
    maxFindings: flag('max-findings', 'FUZZ_MAX_FINDINGS', 25),
    instructionLimit: flag('instruction-limit', 'FUZZ_INSTRUCTION_LIMIT', 100_000),
  };
}

/** Findings of one kind that are minimised and printed in full; later ones are only counted. */
const REPEATS_MINIMISED = 3;

const out = (s: string): boolean => process.stdout.write(`${s}\n`);

function main(): number {
  const o = options(process.argv.slice(2));
  out(`verifier fuzz: seed ${o.seed} (replay with FUZZ_SEED=${o.seed}); budget ${o.executions} executions or ${o.seconds} s, ${o.inputs} inputs per accepted program`);
  const env = new Environment();
  const rng = new Rng(o.seed);
  const start = performance.now();
  const elapsed = (): number => (performance.now() - start) / 1000;
  let generated = 0;
  let unassembled = 0;
  let accepted = 0;
  let executions = 0;
  let fallbacks = 0;
  const byKind = new Map<string, number>();
  const byHint = new Map<string, { count: number; first: string }>();
  const seen = new Set<string>();
  let findings = 0;
  let printed = 0;
  let iteration = 0;
  for (; executions < o.executions && elapsed() < o.seconds && printed < o.maxFindings; iteration++) {
    const programSeed = rng.u32();
    const prng = new Rng(programSeed);
    const text = randomProgram(prng);
    const built = build(text, env);
    if (built === undefined) {
      unassembled++;
      continue;
    }
    generated++;
    if (!verifyBuilt(built, env).ok) continue;
    accepted++;
    const reachable = reachablePcs(built, env);
    if (reachable === undefined) {
      // Verbose verification must agree with plain verification.
      record({ kind: 'fault', pc: -1, detail: 'accepted, but refused when verified with verbose: true' }, text, undefined);
      continue;
    }
    let oracle: Oracle;
    try {
      oracle = new Oracle(env, built, reachable, o.instructionLimit);
    } catch (e) {
      // Accepted by the verifier but refused by prepareProgram: loading fails, nothing runs.
      out(`note: iteration ${iteration}: accepted but not loadable (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    if (oracle.jitFallback !== undefined) fallbacks++;
    let found: { finding: Finding; input: ReturnType<typeof makeInput> } | undefined;
    try {
      for (let i = 0; i < o.inputs && found === undefined; i++) {
        const input = makeInput(prng, i);
        const finding = oracle.check(input);
        if (finding !== undefined) found = { finding, input };
      }
    } finally {
      executions += oracle.executions;
      oracle.dispose();
    }
    if (found !== undefined) record(found.finding, text, found.input);
  }

  function record(finding: Finding, text: string, input: ReturnType<typeof makeInput> | undefined): void {
    findings++;
    byKind.set(finding.kind, (byKind.get(finding.kind) ?? 0) + 1);
    const at = `seed ${o.seed}, iteration ${iteration}, after ${executions} executions, ${elapsed().toFixed(1)} s`;
    const count = (hint: string): void => {
      const h = byHint.get(hint);
      byHint.set(hint, { count: (h?.count ?? 0) + 1, first: h?.first ?? at });
    };
    // A kind of finding seen often already is counted, not minimised again.
    const rough = classify(text, finding);
    if (rough !== 'unclassified' && (byHint.get(rough)?.count ?? 0) >= REPEATS_MINIMISED) {
      count(rough);
      out(`FINDING #${findings} (${finding.kind}, ${rough}, seen before; not minimised): ${at}`);
      return;
    }
    const small = input === undefined ? { text, finding, tests: 0 } : minimise(text, finding, input, env, o.instructionLimit);
    const hint = classify(small.text, small.finding);
    count(hint);
    const key = `${small.finding.kind}\n${small.text}`;
    if (seen.has(key)) {
      out(`FINDING #${findings} (${small.finding.kind}, ${hint}): the same minimal program as before (${at})`);
      return;
    }
    seen.add(key);
    printed++;
    out(`\nFINDING #${findings}: ${small.finding.kind} — looks like ${hint}`);
    out(`  ${at}`);
    out(`  ${small.finding.detail} (pc ${small.finding.pc})`);
    if (input !== undefined) out(`  input: ${describeInput(input).split('\n').join('\n  ')}`);
    out(`  minimal program (${small.tests} minimisation runs; original ${text.split('\n').length} lines, now ${small.text.split('\n').length}):`);
    out(small.text.split('\n').map((l) => `    ${l}`).join('\n'));
  }

  const seconds = elapsed();
  out('\nverifier fuzz report');
  out(`  seed ${o.seed}`);
  out(`  programs generated ${generated} (${unassembled} did not assemble), accepted ${accepted} (${generated > 0 ? ((100 * accepted) / generated).toFixed(1) : 0}%), ${fallbacks} ran on the JIT's interpreter fallback`);
  out(`  executions ${executions} (engine runs: interpreter + JIT per input) in ${seconds.toFixed(1)} s, ${(executions / seconds).toFixed(0)}/s`);
  out(`  findings ${findings}${findings > 0 ? `: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}`);
  for (const [hint, { count, first }] of byHint) out(`    ${hint}: ${count} (first: ${first})`);
  return findings > 0 ? 1 : 0;
}

process.exitCode = main();
