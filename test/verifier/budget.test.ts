// The verifier's one budget (VerifierOptions.timeLimitMs / maxSteps / maxMemoryMb) holds for every
// pass: a program is accepted, refused or cut off with 'verifier-limit' within it, never later.
// Bounds are generous (budget + 2 s) so a loaded machine does not make these flaky; the
// million-instruction figures are in bench/verifier-scale.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleBytes } from '../../src/isa/assemble.js';
import { decode } from '../../src/isa/decode.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { LINUX_XDP } from '../../src/program-types/base-rules.js';
import { LOAD_VERIFIER_OPTIONS } from '../../src/runtime/verify.js';
import { Budget, BudgetExceeded } from '../../src/verifier/budget.js';
import { type VerificationReport, type VerifierOptions, formatReport, verify } from '../../src/verifier/index.js';
import { SHARED, missingShared } from '../support/shared.js';
import { shapeProgram } from '../support/shapes.js';

const SLACK_MS = 2000;

function timed(instructions: readonly Instruction[], options: VerifierOptions): { report: VerificationReport; ms: number } {
  const t = performance.now();
  const report = verify({ instructions, maps: new Map(), programType: LINUX_XDP }, { ...LOAD_VERIFIER_OPTIONS, ...options });
  return { report, ms: performance.now() - t };
}

/** Accepted, or cut off by the budget: nothing else. */
function acceptedOrCutOff(report: VerificationReport, what: string): void {
  if (report.ok) return;
  assert.deepEqual(report.errors.map((e) => e.code), ['verifier-limit'], `${what}:\n${formatReport(report)}`);
}

function cutOff(report: VerificationReport, budget: RegExp): void {
  assert.equal(report.ok, false, 'the program was accepted');
  if (report.ok) return;
  assert.equal(report.errors.length, 1, formatReport(report));
  assert.equal(report.errors[0].code, 'verifier-limit', formatReport(report));
  assert.match(report.errors[0].message, budget);
}

const C1 = join(SHARED, 'verifier-tests', 'redteam', 'c1_liveness_8k.s');
test('red-team c1_liveness_8k.s (16k instructions of interleaved loops) is verified or cut off within a 3 s budget', { skip: missingShared(C1) }, () => {
  const instructions = decode(assembleBytes(readFileSync(C1, 'utf8')));
  const { report, ms } = timed(instructions, { timeLimitMs: 3000 });
  acceptedOrCutOff(report, 'c1_liveness_8k');
  assert.ok(ms < 3000 + SLACK_MS, `took ${ms.toFixed(0)} ms`);
});

for (const size of [16_000, 64_000]) {
  test(`interleaved loops of ${size / 1000}k instructions finish within a 2 s budget`, () => {
    const { report, ms } = timed(shapeProgram('loops', size), { timeLimitMs: 2000 });
    acceptedOrCutOff(report, `loops ${size}`);
    assert.ok(ms < 2000 + SLACK_MS, `took ${ms.toFixed(0)} ms`);
  });
}

test('a straight-line program with a 50 ms budget is refused promptly, naming the time budget and where', () => {
  const instructions = shapeProgram('straight', 200_000);
  const { report, ms } = timed(instructions, { timeLimitMs: 50 });
  cutOff(report, /^the analysis ran past its time budget of 50 ms during .+ after \d+ states visited \(at pc \d+\)$/);
  assert.ok(ms < 50 + SLACK_MS, `took ${ms.toFixed(0)} ms`);
});

test('the time budget covers building the CFG: a zero budget stops before the fixpoint', () => {
  const { report } = timed(shapeProgram('straight', 20_000), { timeLimitMs: 0 });
  cutOff(report, /time budget of 0 ms during building the control-flow graph after 0 states visited/);
});

test('a budget of maxSteps is honoured: exactly that many states are visited, then a verifier-limit', () => {
  const { report } = timed(shapeProgram('branchy', 4000), { maxSteps: 1234 });
  cutOff(report, /^the analysis ran past its budget of 1234 states visited \(at pc \d+\)/);
  assert.equal(report.statesVisited, 1234);
  const enough = timed(shapeProgram('branchy', 4000), { maxSteps: 100_000 }).report;
  assert.ok(enough.ok, formatReport(enough));
});

test('a memory budget stops an analysis that keeps too many states (verbose keeps one per instruction)', () => {
  // 40,000 states of at least a 4 KB stack each: well over 32 MB.
  const { report, ms } = timed(shapeProgram('straight', 40_000), { verbose: true, maxMemoryMb: 32, timeLimitMs: 8000 });
  cutOff(report, /^the analysis ran past its memory budget of 32 MB during the fixpoint/);
  assert.ok(ms < 8000, `took ${ms.toFixed(0)} ms`);
});

test('the budget looks at the clock only every 4096 ticks, and throws naming the pass', () => {
  let now = 0;
  const budget = new Budget({ timeLimitMs: 10 }, () => now);
  now = 11;
  for (let i = 1; i < 4096; i++) budget.tick('a pass', i);
  assert.throws(() => budget.tick('a pass', 4096), (e: unknown) => e instanceof BudgetExceeded && /time budget of 10 ms during a pass after 0 states visited \(at pc 4096\)/.test(e.message));
});
