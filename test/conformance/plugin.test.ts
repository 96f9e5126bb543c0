// Drives the installed plugin executable exactly as the bpf_conformance runner does: one process
// per test, MEM as argv[1] in the runner's encoding, options split on single spaces, the program
// hex-encoded on stdin, stdout parsed like std::stoull(s, nullptr, 16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDataFile } from '../../src/conformance/data-file.js';
import { encodeHexBytes } from '../../src/conformance/plugin.js';
import { testProgram } from '../../src/conformance/runner.js';
import { buildProgramObject } from '../../src/elf/index.js';
import { CONFORMANCE_TESTS, REPO_ROOT, missingShared } from '../support/shared.js';

const PLUGIN = join(REPO_ROOT, 'dist', 'src', 'conformance', 'plugin-main.js');

/** std::stoull(s, nullptr, 16): skip whitespace, optional 0x, hex digits until the first other. */
function stoull16(s: string): bigint {
  const m = /^\s*(?:0[xX])?([0-9a-fA-F]+)/.exec(s);
  if (m === null) throw new Error(`stoull: no conversion of '${s}'`);
  return BigInt.asUintN(64, BigInt('0x' + m[1]));
}

function runPluginProcess(code: Uint8Array, memory: Uint8Array, pluginOptions: string, elf: boolean) {
  const argv = [PLUGIN];
  if (memory.length > 0) argv.push(encodeHexBytes(memory));
  if (pluginOptions.length > 0) argv.push(...pluginOptions.split(' '));
  const payload = elf ? buildProgramObject(code) : code;
  if (elf) argv.push('--elf');
  return spawnSync(process.execPath, argv, { input: encodeHexBytes(payload) + '\n', encoding: 'utf8' });
}

function sample(): string[] {
  const files = readdirSync(CONFORMANCE_TESTS).filter((f) => f.endsWith('.data')).sort();
  // Every test with input memory, and every 8th of the rest: all instruction families appear.
  return files.filter((f, i) => i % 8 === 0 || readFileSync(join(CONFORMANCE_TESTS, f), 'utf8').includes('-- mem'));
}

for (const elf of [false, true]) {
  test(`the plugin passes a sample of the suite driven as the runner drives it${elf ? ' (--elf)' : ''}`, (t) => {
    const skip = missingShared(CONFORMANCE_TESTS);
    if (skip !== undefined) return t.skip(skip);
    const files = sample();
    assert.ok(files.length >= 60, `sample has ${files.length} tests`);
    for (const file of files) {
      const parsed = parseDataFile(readFileSync(join(CONFORMANCE_TESTS, file), 'utf8'));
      if (parsed.kind !== 'test') continue;
      // Runs of spaces in --plugin_options give empty arguments: the plugin must take them.
      const r = runPluginProcess(testProgram(parsed.test), parsed.test.memory, '--engine  interpreter', elf);
      assert.equal(r.status, 0, `${file}: exit ${r.status}, stderr ${r.stderr}`);
      assert.equal(stoull16(r.stdout), parsed.test.result, `${file}: printed ${r.stdout}`);
    }
  });
}

test('a failing program exits non-zero and says why on the stream the runner reads', () => {
  const ldxw = Uint8Array.from([0x61, 0x10, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const r = runPluginProcess(ldxw, new Uint8Array(0), '', false);
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /pc 0: null pointer dereference/);
  const bad = runPluginProcess(Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array(0), '', false);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown opcode 0xff/);
  const option = runPluginProcess(ldxw, new Uint8Array(0), '--frobnicate', false);
  assert.notEqual(option.status, 0);
  assert.match(option.stderr, /unknown option '--frobnicate'/);
});

test('r0 is printed as the full unsigned 64-bit value', () => {
  const minusOne = Uint8Array.from([0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const r = runPluginProcess(minusOne, new Uint8Array(0), '', false);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), '0xffffffffffffffff');
});
