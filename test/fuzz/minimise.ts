// Delta debugging of a finding: removes lines of the program's assembly (chunks, then single
// lines) as long as what is left still assembles, is still accepted by the verifier and still
// shows a finding of the same kind on the same input. What remains is the program printed.

import { Oracle, type Finding } from './oracle.js';
import { build, reachablePcs, verifyBuilt } from './program.js';
import type { Environment } from './environment.js';
import type { Input } from './inputs.js';

/** Runs `text` on `input`: the finding, or undefined when it does not assemble, is refused or is fine. */
export function reproduce(text: string, input: Input, env: Environment, instructionLimit: number): Finding | undefined {
  const built = build(text, env);
  if (built === undefined || !verifyBuilt(built, env).ok) return undefined;
  const reachable = reachablePcs(built, env);
  if (reachable === undefined) return undefined;
  let oracle: Oracle;
  try {
    oracle = new Oracle(env, built, reachable, instructionLimit);
  } catch {
    return undefined; // the engines refuse it (e.g. a jump past the end): it never runs
  }
  try {
    return oracle.check(input);
  } finally {
    oracle.dispose();
  }
}

export function minimise(text: string, finding: Finding, input: Input, env: Environment, instructionLimit: number, maxTests = 1500): { text: string; finding: Finding; tests: number } {
  let lines = text.split('\n');
  let best = finding;
  let tests = 0;
  const interesting = (candidate: string[]): Finding | undefined => {
    tests++;
    const f = reproduce(candidate.join('\n'), input, env, instructionLimit);
    return f !== undefined && f.kind === finding.kind ? f : undefined;
  };
  let chunk = Math.max(1, lines.length >> 1);
  while (tests < maxTests) {
    let removed = false;
    for (let at = 0; at < lines.length && tests < maxTests;) {
      const candidate = [...lines.slice(0, at), ...lines.slice(at + chunk)];
      const f = candidate.length > 0 ? interesting(candidate) : undefined;
      if (f !== undefined) {
        lines = candidate;
        best = f;
        removed = true;
      } else {
        at += chunk;
      }
    }
    if (chunk === 1 && !removed) break;
    if (!removed) chunk = Math.max(1, chunk >> 1);
  }
  return { text: lines.join('\n'), finding: best, tests };
}
