// The loop corpus (test/fixtures/loops): loops in C as users write them, each compiled by clang at
// -O2 and -O1, with the Linux kernel's verdict on each object recorded beside them
// (kernel-verdicts.txt, from kernel.sh on this machine's kernel). Every object the kernel accepts
// is accepted, with every loop's bound reported; every program whose source says it is unsafe is
// refused with the code it names, at a source line, and a refused loop's message names the loop
// and what the analysis knew of the registers its exit tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatReport, verify } from '../../src/verifier/index.js';
import { verifierRules } from '../../src/program-types/rules.js';
import { LOAD_VERIFIER_OPTIONS } from '../../src/runtime/verify.js';
import { inputFor, loadObject } from './objects.js';

const DIR = join(process.cwd(), 'test', 'fixtures', 'loops');

const kernel = new Map<string, { accepted: boolean; reason: string }>();
for (const line of readFileSync(join(DIR, 'kernel-verdicts.txt'), 'utf8').split('\n')) {
  const m = /^(\S+\.o) (accept|refuse)\s*(.*)$/.exec(line);
  if (m !== null) kernel.set(m[1], { accepted: m[2] === 'accept', reason: m[3] });
}

/** -O2, -O1, and -O2 for ISA v3 (32-bit jumps). */
const LEVELS = ['O2', 'O1', 'O2v3'];

const sources = readdirSync(DIR).filter((f) => f.endsWith('.c')).sort();

test('the loop corpus has at least 60 programs, each built at -O2, -O1 and -O2 -mcpu=v3, each with a kernel verdict', () => {
  assert.ok(sources.length >= 60, `${sources.length} programs`);
  for (const c of sources) {
    for (const level of LEVELS) {
      const o = c.replace(/\.c$/, `.${level}.o`);
      assert.ok(kernel.has(o), `${o}: no kernel verdict (run test/fixtures/loops/kernel.sh)`);
    }
  }
});

for (const c of sources) {
  const source = readFileSync(join(DIR, c), 'utf8');
  const expect = /^\/\/ expect: (safe|unsafe (\S+))/.exec(source);
  for (const level of LEVELS) {
    const o = c.replace(/\.c$/, `.${level}.o`);
    const verdict = kernel.get(o);
    const safe = expect?.[1] === 'safe';
    const title = safe
      ? `loop corpus ${o}: accepted (the kernel ${verdict?.accepted === true ? 'accepts it' : `refuses it: ${verdict?.reason ?? '?'}`})`
      : `loop corpus ${o}: refused with ${expect?.[2] ?? '?'}`;
    test(title, () => {
      assert.ok(expect !== null, `${c}: no '// expect: safe' or '// expect: unsafe CODE' line`);
      const spec = loadObject(join(DIR, o));
      assert.equal(spec.programs.length, 1, `${o}: one program expected`);
      const prog = spec.programs[0];
      const rules = verifierRules(prog.type, spec.abi);
      assert.ok(rules !== undefined, `${o}: no rules for ${prog.type}`);
      const report = verify(inputFor(spec, prog, rules), LOAD_VERIFIER_OPTIONS);
      if (safe) {
        assert.ok(report.ok, `${o} is safe but was refused:\n${formatReport(report)}`);
        if (!report.ok) return;
        assert.ok((report.loopBounds ?? []).length > 0, `${o}: no loop bound reported`);
        for (const b of report.loopBounds ?? []) assert.ok(b.iterations >= 1 && b.iterations <= 100_000, `${o}: bound ${b.iterations}`);
        return;
      }
      // Unsafe: the kernel refuses it too (the corpus is honest), and so do we, for the named reason.
      assert.equal(verdict?.accepted, false, `${o} is marked unsafe but the kernel accepts it`);
      assert.equal(report.ok, false, `${o} is unsafe but was accepted`);
      if (report.ok) return;
      const first = report.errors[0];
      assert.equal(first.code, expect?.[2], `${o}:\n${formatReport(report)}`);
      assert.ok(first.source !== undefined && first.source.line > 0, `${o}: the error has no source line\n${formatReport(report)}`);
      if (first.code === 'unbounded-loop') {
        assert.match(first.message, /^the loop at \d+ \(\S+:\d+\) (is not proven to terminate: the exit test at \d+ .* r\d+ is .* at the loop head and (moves by|does not move)|never ends: no conditional jump leaves it)/, formatReport(report));
      } else {
        // An access that fails inside a loop says on which pass.
        assert.match(first.message, /\((on pass \d+|after the first \d+ passes) of the loop at \d+/, formatReport(report));
      }
    });
  }
}

test('every object the kernel accepts is in the corpus as safe', () => {
  for (const [o, v] of kernel) {
    if (!v.accepted) continue;
    const source = readFileSync(join(DIR, o.replace(/\.O[12](v3)?\.o$/, '.c')), 'utf8');
    assert.match(source, /^\/\/ expect: safe/, `${o}: the kernel accepts it but its source is not marked safe`);
  }
});
