import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFORMANCE_TESTS, REPO_ROOT, missingShared } from '../support/shared.js';
import { readElf, functionCode } from '../../src/elf/index.js';
import { assembleBytes } from '../../src/isa/index.js';

const EBPF = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const ebpf = (...args: string[]) => spawnSync(process.execPath, [EBPF, ...args], { encoding: 'utf8', cwd: REPO_ROOT });
const work = mkdtempSync(join(tmpdir(), 'ebpf-cli-'));
// Removed when the file's tests end, failed or not.
after(() => rmSync(work, { recursive: true, force: true }));

test('ebpf conformance runs the suite and ends with the N passed, M failed line', (t) => {
  const skip = missingShared(CONFORMANCE_TESTS);
  if (skip !== undefined) return t.skip(skip);
  const r = ebpf('conformance', CONFORMANCE_TESTS);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').at(-1), '313 passed, 0 failed');
  const v1 = ebpf('conformance', CONFORMANCE_TESTS, '--cpu', 'v1', '--groups', 'base64,divmul64');
  assert.equal(v1.stdout.trim().split('\n').at(-1), '162 passed, 0 failed, 151 skipped');
});

test('ebpf conformance reports each failure with name, expected and actual, and exits 1', () => {
  const dir = mkdtempSync(join(work, 'suite-'));
  writeFileSync(join(dir, 'good.data'), '-- asm\nmov %r0, 3\nexit\n-- result\n0x3\n');
  writeFileSync(join(dir, 'wrong.data'), '-- asm\nmov %r0, 3\nexit\n-- result\n0x4\n');
  writeFileSync(join(dir, 'broken.data'), '-- asm\nfrob %r0\nexit\n-- result\n0x4\n');
  const r = ebpf('conformance', dir);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAIL wrong: expected 0x4, got 0x3/);
  assert.match(r.stdout, /FAIL broken: expected 0x4, got error: 1:1: unknown mnemonic 'frob'/);
  assert.equal(r.stdout.trim().split('\n').at(-1), '1 passed, 2 failed');
  const json = JSON.parse(ebpf('conformance', dir, '--json').stdout);
  assert.equal(json.passed, 1);
  assert.equal(json.failed, 2);
});

test('ebpf assemble writes an ELF object that show disassembly reads back', () => {
  const source = join(work, 'prog.s');
  writeFileSync(source, 'mov %r0, 1\nlsh %r0, 4\nexit\n');
  const r = ebpf('assemble', source);
  assert.equal(r.status, 0, r.stderr);
  const object = join(work, 'prog.o');
  assert.deepEqual(functionCode(readElf(new Uint8Array(readFileSync(object)))), assembleBytes('mov %r0, 1\nlsh %r0, 4\nexit'));
  const dis = ebpf('show', 'disassembly', object);
  assert.equal(dis.status, 0, dis.stderr);
  assert.match(dis.stdout, /0: r0 = 1\n\s*1: r0 <<= 4\n\s*2: exit/);
  const conf = ebpf('show', 'disassembly', object, '.text', '--syntax', 'conformance');
  assert.match(conf.stdout, /mov %r0, 1\n.*lsh %r0, 4/);
  const json = JSON.parse(ebpf('show', 'disassembly', object, '--json').stdout);
  assert.deepEqual(json.programs[0].instructions.map((i: { name: string }) => i.name), ['mov64_imm', 'lsh64_imm', 'exit']);
});

test('bad arguments get one clear line and a non-zero exit, never a stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['conformance', '/nonexistent'], /not a directory: \/nonexistent/],
    [['show', 'disassembly', '/nonexistent.o'], /no such file: \/nonexistent.o/],
    [['show', 'disassembly', join(REPO_ROOT, 'package.json'), 'xdp'], /is not an ELF object/],
    [['conformance', '.', '--cpu', 'v9'], /invalid --cpu 'v9'/],
    [['conformance', '.', '--engine', 'jet'], /unknown engine 'jet'/],
    [['conformanse'], /unknown command 'conformanse'[\s\S]*Did you mean conformance/],
  ];
  for (const [args, message] of cases) {
    const r = ebpf(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')} printed a stack trace`);
  }
  const source = join(work, 'bad.s');
  writeFileSync(source, 'mov %r0, 1\nmov %r0, %r99\n');
  const r = ebpf('assemble', source);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.s:2:10: invalid register '%r99'/);
  const object = join(work, 'prog.o');
  const missing = ebpf('show', 'disassembly', object, 'nosuch');
  assert.match(missing.stderr, /has no section or program 'nosuch'; it has: \.text, main/);
});

test('ebpf tour runs the checksum program against a JS reference and the suite, and has --json', () => {
  const r = ebpf('tour', '--json');
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.checksum, json.expected);
  assert.equal(json.checksum, 0xb1e6);
  if (json.conformance !== undefined) assert.equal(json.conformance.failed, 0);
});
