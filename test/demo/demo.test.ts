// The demo, short and non-interactive, as CI runs it: its summary must show the drop working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/shared.js';
import type { DemoSummary } from '../../src/demo/demo.js';

test('npm start in short mode: droppacket stops the flood from reaching the server, DNS keeps answering, the unsafe variant is refused', () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'demo', '--phase-seconds', '3', '--rate', '20000', '--query-rate', '50', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as DemoSummary;
  const phase = (name: string) => summary.phases.find((p) => p.phase === name);
  const before = phase('unprotected');
  const during = phase('protected');
  const after = phase('unprotected-again');
  assert.ok(before && during && after, JSON.stringify(summary.phases));
  assert.ok(before.reachedServerPerSecond > 10_000, `unprotected: ${before.reachedServerPerSecond}/s reached the server`);
  assert.ok(during.droppedPerSecond > 10_000, `protected: ${during.droppedPerSecond}/s dropped by the program`);
  assert.ok(during.reachedServerPerSecond < 500, `protected: only DNS reaches the server, got ${during.reachedServerPerSecond}/s`);
  assert.ok(during.dnsAnsweredRatio > 0.9, `protected: DNS answered ${during.dnsAnsweredRatio}`);
  assert.ok(after.reachedServerPerSecond > 10_000, 'after detaching, the flood is back');
  assert.equal(after.droppedPerSecond, 0);
  assert.equal(summary.unsafe?.refused, true, 'droppacket_unsafe.o is refused by the verifier');
  assert.match(summary.unsafe?.report ?? '', /out-of-bounds-packet[\s\S]*droppacket_unsafe\.c:\d+:\d+: if \(udp->len/);
});

test('the standalone demo (no service, the library in one process) drops the flood the same way', () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'demo', '--standalone', '--phase-seconds', '2', '--rate', '20000', '--query-rate', '50', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as DemoSummary;
  const during = summary.phases.find((p) => p.phase === 'protected');
  assert.ok(during !== undefined && during.droppedPerSecond > 10_000 && during.reachedServerPerSecond < 500, JSON.stringify(summary.phases));
  assert.equal(summary.unsafe?.refused, true);
});
