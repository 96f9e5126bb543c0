// The unsafe corpus (test/fixtures/unsafe): every program must be refused, with the code its
// source names on its first line (`// expect: CODE`) at the first error, and that error must
// point at a source line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ProgramTypeRules, formatReport, verify } from '../../src/verifier/index.js';
import { LINUX_CGROUP_SKB, LINUX_SOCKET_FILTER, LINUX_XDP } from '../../src/program-types/base-rules.js';
import { inputFor, loadObject } from '../verifier/objects.js';

const DIR = join(process.cwd(), 'test', 'fixtures', 'unsafe');

const RULES: Record<string, ProgramTypeRules> = {
  xdp: LINUX_XDP,
  socket_filter: LINUX_SOCKET_FILTER,
  cgroup_skb: LINUX_CGROUP_SKB,
};

const objects = readdirSync(DIR).filter((f) => f.endsWith('.o')).sort();

test('the unsafe corpus has its 47 programs', () => {
  assert.equal(objects.length, 47);
});

for (const file of objects) {
  const source = readFileSync(join(DIR, file.replace(/\.o$/, '.c')), 'utf8');
  const expected = /^\/\/ expect: (\S+)/.exec(source)?.[1];
  test(`unsafe ${file} is rejected with ${expected ?? '?'}`, () => {
    assert.ok(expected !== undefined, `${file}: no '// expect: CODE' line`);
    const spec = loadObject(join(DIR, file));
    assert.ok(spec.programs.length > 0, `${file}: no program`);
    for (const prog of spec.programs) {
      const rules = RULES[prog.type];
      assert.ok(rules !== undefined, `${file}: no rules for program type ${prog.type}`);
      const report = verify(inputFor(spec, prog, rules), { termination: true });
      assert.equal(report.ok, false, `${file} (${prog.name}) was accepted`);
      if (report.ok) return;
      const first = report.errors[0];
      assert.equal(first.code, expected, `${file} (${prog.name}):\n${formatReport(report)}`);
      assert.ok(first.source !== undefined && first.source.line > 0, `${file}: the error has no source line\n${formatReport(report)}`);
    }
  });
}
