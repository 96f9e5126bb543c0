// Golden files: expected output kept in test/golden/ for review. UPDATE_GOLDEN=1 rewrites them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { REPO_ROOT } from './shared.js';

export function assertGolden(name: string, actual: string): void {
  const path = join(REPO_ROOT, 'test', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.CI === 'true' && !existsSync(path)) assert.fail(`golden file ${name} is missing`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from test/golden/${name} (UPDATE_GOLDEN=1 rewrites it)`);
}
