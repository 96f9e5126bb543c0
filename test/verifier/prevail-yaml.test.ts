// PREVAIL's YAML verifier suite (../shared/verifier-tests/prevail): verdict agreement with PREVAIL.
// Prints the figures; run just this file with `node --test dist/test/verifier/prevail-yaml.test.js`
// or `node dist/test/verifier/prevail-suite.js -v` for the reasons behind each disagreement.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SHARED, missingShared } from '../support/shared.js';
import { formatSummary, runSuite, summarize } from './prevail-suite.js';

const DIR = join(SHARED, 'verifier-tests', 'prevail');

/**
 * Cases PREVAIL rejects and we accept, checked by hand: the difference lies in the test's
 * assumptions, not in a missing safety check. Keyed `file#index`. Empty: every such case is a bug.
 */
const ACCEPT_ALLOWLIST: ReadonlyMap<string, string> = new Map([
  // The test's own comment: "this should be safe to dereference but the verifier fails it". The
  // bounds check's outcome is kept in r4 and tested after the paths join; we keep the two paths
  // apart (their r4 differs and is tested later), so the dereference is proven on the path that
  // reaches it. PREVAIL's message is about its own imprecision, not an unsafe access.
  ['jump.yaml#20', 'lost implications in correlated branches: safe, proven with path partitioning'],
]);

/**
 * Ratchet: the agreement reached so far, counting the allow-listed cases (where we are right and
 * PREVAIL is not) as agreeing. Raise it when you improve the verifier; never lower it.
 */
const MIN_AGREE = 787;

test('PREVAIL YAML suite: no case PREVAIL rejects is accepted, and agreement does not regress', { skip: missingShared(DIR) }, () => {
  const summary = summarize(runSuite(DIR));
  process.stdout.write(`\n${formatSummary(summary)}\n`);
  const unexplained = summary.weAccept.filter((r) => !ACCEPT_ALLOWLIST.has(`${r.file}#${r.index}`));
  assert.deepEqual(unexplained.map((r) => `${r.file}#${r.index} ${r.name}`), [], 'presumed soundness bugs: PREVAIL rejects these, we accept');
  assert.equal(summary.total, 802);
  const agree = summary.agree + summary.weAccept.length - unexplained.length;
  assert.ok(agree >= MIN_AGREE, `agreement fell to ${agree} (ratchet: ${MIN_AGREE})`);
});
