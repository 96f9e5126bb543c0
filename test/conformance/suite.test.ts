import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSuite } from '../../src/conformance/runner.js';
import { parseDataFile } from '../../src/conformance/data-file.js';
import { CONFORMANCE_TESTS, missingShared } from '../support/shared.js';

test('the whole bpf_conformance suite passes on the interpreter', (t) => {
  const skip = missingShared(CONFORMANCE_TESTS);
  if (skip !== undefined) return t.skip(skip);
  const result = runSuite(CONFORMANCE_TESTS, { engine: 'interpreter' });
  const failures = result.outcomes.filter((o) => o.status === 'fail');
  assert.deepEqual(failures, [], 'failing tests');
  assert.equal(result.passed, 313);
  assert.equal(result.skipped, 0);
});

test('CPU versions select the same tests as the upstream runner (v1 162, v2 171, v3 253, v4 312)', (t) => {
  const skip = missingShared(CONFORMANCE_TESTS);
  if (skip !== undefined) return t.skip(skip);
  // The runner's default groups: everything but callx and packet.
  const groups = ['base32', 'base64', 'atomic32', 'atomic64', 'divmul32', 'divmul64'] as const;
  const runnable = (cpu: 1 | 2 | 3 | 4): number => {
    const r = runSuite(CONFORMANCE_TESTS, { cpu, groups });
    return r.passed + r.failed;
  };
  assert.deepEqual([runnable(1), runnable(2), runnable(3), runnable(4)], [162, 171, 253, 312]);
});

test('.data files are read as the runner reads them', () => {
  const parsed = parseDataFile([
    '# header comment',
    '-- asm',
    'mov %r0, 1 # comment',
    '',
    'exit\r',
    '-- mem',
    'aa bb',
    '0c',
    '-- result',
    '7',
    '0x10  # the last non-empty line wins',
    '-- c',
    'int x = 1; // ignored',
  ].join('\n'));
  assert.equal(parsed.kind, 'test');
  if (parsed.kind !== 'test') return;
  assert.equal(parsed.test.asm, 'mov %r0, 1 \nexit');
  assert.deepEqual([...parsed.test.memory], [0xaa, 0xbb, 0x0c]);
  assert.equal(parsed.test.result, 0x10n);
  assert.equal(parseDataFile('-- asm\nexit\n-- bogus header\n').kind, 'skip');
  assert.equal(parseDataFile('-- asm\nexit\n').kind, 'skip');
  const raw = parseDataFile('-- raw\n0x0000000000000095 18\n-- result\n1');
  assert.equal(parsed.kind, 'test');
  if (raw.kind === 'test') assert.deepEqual([...(raw.test.raw ?? [])], [0x95, 0, 0, 0, 0, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0]);
});
