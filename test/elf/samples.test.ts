// The 253 real objects of ../shared/verifier-tests/ebpf-samples (Linux samples and selftests,
// Cilium, bcc, Falco, OVS, ebpf-for-windows builds…): each opens, or is refused with an
// ObjectError that says why (externs, kfuncs, foreign machines, malformed files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ObjectError, openObject } from '../../src/elf/index.js';
import { EBPF_SAMPLES, missingShared } from '../support/shared.js';

function objects(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? objects(p) : /\.(o|elf)$/.test(f) ? [p] : [];
  });
}

test('real-world objects open, or are refused with a reason', (t) => {
  const skip = missingShared(EBPF_SAMPLES);
  if (skip !== undefined) return t.skip(skip);
  const files = objects(EBPF_SAMPLES);
  const refused: string[] = [];
  let programs = 0;
  for (const file of files) {
    try {
      programs += openObject(new Uint8Array(readFileSync(file))).programs.length;
    } catch (e) {
      assert.ok(e instanceof ObjectError, `${relative(EBPF_SAMPLES, file)}: ${e instanceof Error ? e.stack : String(e)}`);
      assert.match(e.message, /extern symbol|kconfig|ksym|kernel function|not an eBPF object|malformed|invalid instruction|legacy map|inner map/, relative(EBPF_SAMPLES, file));
      refused.push(relative(EBPF_SAMPLES, file));
    }
  }
  // Ratchet: what opens today must keep opening.
  assert.ok(files.length - refused.length >= 250, `${files.length - refused.length} of ${files.length} objects opened; refused: ${refused.join(', ')}`);
  assert.ok(programs >= 849, `${programs} programs`);
});
