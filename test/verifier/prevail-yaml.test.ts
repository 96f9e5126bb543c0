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
const ACCEPT_ALLOWLIST: ReadonlyMap<string, string> = new Map();

/** Ratchet: the agreement reached so far. Raise it when you improve the verifier; never lower it. */
const MIN_AGREE = 786;

test('PREVAIL YAML suite: no case PREVAIL rejects is accepted, and agreement does not regress', { skip: missingShared(DIR) }, () => {
  const summary = summarize(runSuite(DIR));
  process.stdout.write(`\n${formatSummary(summary)}\n`);
  const unexplained = summary.weAccept.filter((r) => !ACCEPT_ALLOWLIST.has(`${r.file}#${r.index}`));
  assert.deepEqual(unexplained.map((r) => `${r.file}#${r.index} ${r.name}`), [], 'presumed soundness bugs: PREVAIL rejects these, we accept');
  assert.equal(summary.total, 802);
  assert.ok(summary.agree >= MIN_AGREE, `agreement fell to ${summary.agree} (ratchet: ${MIN_AGREE})`);
});
