import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSuite } from '../../src/conformance/runner.js';
import { runPlugin } from '../../src/conformance/plugin.js';
import { CONFORMANCE_TESTS, missingShared } from '../support/shared.js';

test('the whole bpf_conformance suite passes on the JIT', (t) => {
  const skip = missingShared(CONFORMANCE_TESTS);
  if (skip !== undefined) return t.skip(skip);
  const result = runSuite(CONFORMANCE_TESTS, { engine: 'jit' });
  const failures = result.outcomes.filter((o) => o.status === 'fail');
  assert.deepEqual(failures, [], 'failing tests');
  assert.equal(result.passed, 313);
  assert.equal(result.skipped, 0);
});

test('the conformance plugin runs the JIT with --jit or --engine jit', () => {
  // mov %r0, 7; exit
  const program = 'b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00';
  for (const argv of [['--jit'], ['--engine', 'jit'], ['--engine=jit'], ['--engine', '', 'jit']]) {
    assert.deepEqual(runPlugin({ argv, stdin: program }), { exitCode: 0, stdout: '0x7\n', stderr: '' }, argv.join(' '));
  }
  const bad = runPlugin({ argv: ['--engine', 'turbo'], stdin: program });
  assert.equal(bad.exitCode, 1);
  assert.match(bad.stderr, /unknown engine 'turbo' \(available: interpreter, jit\)/);
});
