// Verification in its own process: the verifier's verdicts come through, and every way the process
// can fail (bad object, kill, wall-time, CPU-time and memory limits) is a refusal with a message
// from the parent, never an acceptance; the next call, in a fresh process, works again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildProgramObject } from '../../src/elf/index.js';
import { assembleBytes } from '../../src/isa/assemble.js';
import { verifyInProcess, type VerifierFailure, type VerifyVerdict } from '../../src/service/verifier-process.js';
import { example } from '../support/objects.js';
import { shapeText, type Shape } from '../support/shapes.js';

const droppacket = { object: example('droppacket.o'), path: 'droppacket.o', program: 'xdp' };

/** A generated XDP program in an ELF object, as a user would upload it. */
const generated = (shape: Shape, size: number): Uint8Array => buildProgramObject(assembleBytes(shapeText(shape, size)), { section: 'xdp', symbol: shape });

// Interleaved loops: 2,000 instructions that take seconds to verify (about 4.5 s here), and accepted.
const slow = { object: generated('loops', 2000), program: 'loops' };

function processFailure(v: VerifyVerdict, ...failures: VerifierFailure[]): string {
  assert.equal(v.ok, false, 'a failed process must never accept');
  assert.ok(!v.ok && v.refusedBy === 'process', `expected a refusal by the process, got ${JSON.stringify(v).slice(0, 300)}`);
  assert.ok(failures.includes(v.failure), `expected ${failures.join(' or ')}, got ${v.failure}: ${v.message}`);
  return v.message;
}

test('droppacket.o is accepted, with the report and its text', async () => {
  const v = await verifyInProcess(droppacket);
  assert.ok(v.ok, JSON.stringify(v));
  assert.equal(v.program, 'drop_empty_udp');
  assert.equal(v.section, 'xdp');
  assert.equal(v.type, 'xdp');
  assert.equal(v.report.ok, true);
  assert.equal('invariants' in v.report, false);
  assert.match(v.text, /^verified: \d+ instructions/);
  assert.ok(v.ms > 0);
});

test('the unsafe droppacket is refused by the verifier, which names the missing check and the C line', async () => {
  const v = await verifyInProcess({ object: example('droppacket_unsafe.o'), path: 'droppacket_unsafe.o', program: 'drop_empty_udp_unsafe' });
  assert.ok(!v.ok && v.refusedBy === 'verifier', JSON.stringify(v));
  assert.equal(v.report.ok, false);
  const error = v.report.ok ? undefined : v.report.errors[0];
  assert.equal(error?.code, 'out-of-bounds-packet');
  assert.match(v.text, /needs data \+ 40 <= data_end/);
  assert.match(v.text, /at \S*droppacket_unsafe\.c:\d+:\d+: .*udp->len/);
});

test('bytes that are not an ELF object, an unknown program and a type without rules are bad objects', async () => {
  const notElf = await verifyInProcess({ object: new TextEncoder().encode('#!/bin/sh\n'.padEnd(256, '#')), program: 'xdp' });
  assert.match(processFailure(notElf, 'bad-object'), /not an ELF file/);
  const truncated = await verifyInProcess({ ...droppacket, object: droppacket.object.subarray(0, 200) });
  assert.doesNotMatch(processFailure(truncated, 'bad-object'), /\n/);
  const unknown = await verifyInProcess({ ...droppacket, program: 'drop_all' });
  assert.match(processFailure(unknown, 'bad-object'), /droppacket\.o has no section or program 'drop_all'.*drop_empty_udp/);
  const noRules = await verifyInProcess({ ...droppacket, programType: 'no_such_type' });
  assert.match(processFailure(noRules, 'bad-object'), /no rules for program type no_such_type/);
});

test('a verifier process killed mid-run is a refusal that says so', async () => {
  const v = await verifyInProcess(slow, {}, {
    onSpawn: (pid) => {
      setTimeout(() => process.kill(pid, 'SIGKILL'), 1000);
    },
  });
  // An acceptance here would mean the program verified within a second: pick a slower one.
  assert.match(processFailure(v, 'killed'), /^the verifier process was killed by SIGKILL after \d+\.\d s; the program is refused$/);
});

test('a wall-time limit shorter than the verification is a timeout', async () => {
  const v = await verifyInProcess(slow, { wallSeconds: 1, cpuSeconds: 60 });
  assert.match(processFailure(v, 'timeout'), /^the verifier process was stopped at its wall-time limit of 1 s after 1\.\d s/);
  assert.ok(v.ms >= 1000 && v.ms < 4000, `${v.ms} ms`);
});

const hasPrlimit = process.platform === 'linux' && spawnSync('prlimit', ['--version']).status === 0;
const noPrlimit = hasPrlimit ? undefined : 'SKIPPED: the CPU-time limit needs prlimit(1) on Linux';
if (noPrlimit !== undefined) process.stderr.write(`\n*** ${noPrlimit} ***\n\n`);

test('a CPU-time limit shorter than the verification is a cpu-limit refusal', { skip: noPrlimit }, async () => {
  const v = await verifyInProcess(slow, { cpuSeconds: 1, wallSeconds: 60 });
  assert.match(processFailure(v, 'cpu-limit'), /^the verifier process used up its CPU-time limit of 1 s after \d+\.\d s/);
});

test('a heap too small for a big program is a refusal from the process; the next call succeeds', async () => {
  const big = { object: generated('branchy', 300_000), program: 'branchy' };
  const v = await verifyInProcess(big, { memoryMb: 32 });
  assert.match(processFailure(v, 'out-of-memory', 'crashed'), /^the verifier process .* after \d+\.\d s/);
  // A fresh process: nothing of the failed one is left.
  const next = await verifyInProcess(droppacket);
  assert.ok(next.ok, JSON.stringify(next));
});

test('limits that are not positive numbers are the caller\'s mistake', async () => {
  await assert.rejects(verifyInProcess(droppacket, { memoryMb: 0 }), RangeError);
  await assert.rejects(verifyInProcess(droppacket, { wallSeconds: Number.NaN }), RangeError);
});
