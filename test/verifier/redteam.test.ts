// The red-team programs of ../shared/verifier-tests/redteam: unsafe programs an earlier verifier
// accepted. Each must now be refused, with the code that names its root cause.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatReport } from '../../src/verifier/index.js';
import { ExecutionContext, LoadError, loadObject as load } from '../../src/runtime/index.js';
import { rulesFor, verifyProgram } from '../../src/runtime/verify.js';
import { loadObject } from './objects.js';
import { SHARED, missingShared } from '../support/shared.js';

const DIR = join(SHARED, 'verifier-tests', 'redteam');
const skip = missingShared(DIR);

/** File, program (all when absent), and the error code its root cause must be refused with. */
const CASES: readonly [string, string | undefined, string][] = [
  ['b1_mov32_wrap', undefined, 'invalid-pointer-arithmetic'],
  ['b2_zone_sub32', undefined, 'invalid-pointer-arithmetic'],
  ['b2b_zone_sub32_deadcode', undefined, 'invalid-memory-access'],
  ['b3_zone_contradiction', undefined, 'out-of-bounds-packet'],
  ['b4_misaligned_atomic', undefined, 'misaligned-access'],
  ['b5_varsize_helper_write', undefined, 'pointer-leak'],
  ['b5b_cross_run_leak', undefined, 'uninitialized-stack'],
  ['b6_ptr_compare_wrap', undefined, 'invalid-memory-access'],
  ['b8_spinlock_hang', 'store_then_lock', 'spin-lock'],
  ['b8_spinlock_hang', 'unlock_other', 'spin-lock'],
  ['b9_loop_copy_delta', undefined, 'unbounded-loop'],
  ['b10_printf_s_read', undefined, 'bad-helper-argument'],
  ['b11_ldabs_xdp', undefined, 'instruction-not-allowed'],
  ['b12_efw_memcpy_s', undefined, 'pointer-leak'],
  ['b13_pop_empty_queue', undefined, 'pointer-leak'],
];

for (const [file, program, code] of CASES) {
  test(`red team ${file}${program === undefined ? '' : ` (${program})`} is refused with ${code}`, { skip }, () => {
    const path = join(DIR, `${file}.o`);
    assert.ok(existsSync(path), `${path} is missing`);
    const spec = loadObject(path);
    const programs = spec.programs.filter((p) => program === undefined || p.name === program);
    assert.ok(programs.length > 0, `${file}: no program ${program ?? ''}`);
    for (const p of programs) {
      const rules = rulesFor(p, spec);
      assert.ok(rules !== undefined, `${file}: no rules for ${p.type}`);
      const report = verifyProgram(spec, p, rules);
      assert.equal(report.ok, false, `${file} (${p.name}) was accepted`);
      if (report.ok) return;
      assert.ok(report.errors.some((e) => e.code === code), `${file} (${p.name}) refused, but not with ${code}:\n${formatReport(report)}`);
    }
  });
}

// B14 is refused when the object loads, not by the verifier: which programs a prog array holds is
// known only then. The array takes the kind of the first program that uses or enters it.
test('red team b14_tailcall_type_confusion: a socket filter cannot enter the prog array an XDP program tail-calls through', { skip }, () => {
  const spec = loadObject(join(DIR, 'b14_tailcall_type_confusion.o'));
  assert.throws(() => load(spec, new ExecutionContext()), (e: unknown) => e instanceof LoadError && /skb_prog.*socket_filter program, but this prog array holds linux xdp programs/.test(e.message));
});
