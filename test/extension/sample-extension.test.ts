// ebpf-for-windows' sample extension, re-created through the public extension API only
// (examples/extension/sample-extension.mjs, which imports nothing but 'ebpf-ts/extension'):
// before it is registered a sample program has no type; after, its programs open, verify, load
// and test-run on both engines with the extension's context, helpers (implicit-context ones
// too) and map types, and tail-call each other. A registration that conflicts changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openObject } from '../../src/elf/index.js';
import { ExtensionError, hasExtension, registerExtension } from '../../src/extension/index.js';
import { ExecutionContext } from '../../src/runtime/context.js';
import { loadObject, type LoadedObject } from '../../src/runtime/load.js';
import { rulesFor, verifyProgram } from '../../src/runtime/verify.js';
import { formatReport } from '../../src/verifier/index.js';
import { REPO_ROOT } from '../support/shared.js';

const DIR = join(REPO_ROOT, 'examples', 'extension');
const object = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (bytes: Uint8Array | undefined, at = 0): bigint => new DataView((bytes as Uint8Array).buffer, (bytes as Uint8Array).byteOffset).getBigUint64(at, true);

function load(name: string, engine: 'jit' | 'interpreter'): LoadedObject {
  return loadObject(openObject(object(name), { path: name }), new ExecutionContext({ memory: { initialPages: 4 } }), { engine });
}

test('without the extension, a sample program has no type and cannot be verified', () => {
  assert.equal(hasExtension('ebpf-for-windows sample extension'), false, 'this file must run before anything registers it');
  const spec = openObject(object('sample_find_replace.o'));
  assert.equal(spec.programs[0].type, 'unspec');
  assert.equal(rulesFor(spec.programs[0], spec), undefined);
});

test('registered, its programs open as sample programs and verify', async () => {
  const ext = (await import(pathToFileURL(join(DIR, 'sample-extension.mjs')).href)) as { registerSampleExtension(): void };
  ext.registerSampleExtension();
  for (const file of ['sample_find_replace.o', 'sample_implicit.o', 'sample_maps.o']) {
    const spec = openObject(object(file), { path: file });
    assert.equal(spec.abi, 'efw');
    for (const p of spec.programs) {
      assert.equal(p.type, 'sample', `${file}: ${p.section}`);
      const rules = rulesFor(p, spec);
      assert.ok(rules !== undefined);
      const report = verifyProgram(spec, p, rules);
      assert.ok(report.ok, `${file}/${p.name}: ${report.ok ? '' : formatReport(report)}`);
    }
  }
});

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] find and replace: the word in words[0] becomes the word in words[1]; 42`, () => {
    const o = load('sample_find_replace.o', engine);
    const word = (w: string): Uint8Array => {
      const b = new Uint8Array(32);
      b.set(Buffer.from(w));
      return b;
    };
    o.map('words').update(u32(0), word('rainy'));
    o.map('words').update(u32(1), word('sunny'));
    const p = o.program('find_replace');
    const run = (text: string): { value: bigint; text: string } => {
      const r = p.testRun({ data: new Uint8Array(Buffer.from(`${text}\0`)) });
      return { value: r.returnValue, text: Buffer.from(r.data ?? []).toString().replace(/\0$/, '') };
    };
    assert.deepEqual(run('Seattle is a rainy city'), { value: 42n, text: 'Seattle is a sunny city' });
    assert.deepEqual(run('Seattle is a grey city'), { value: 42n, text: 'Seattle is a grey city' });
    // Never past the buffer's last byte: a word at the very end is cut short.
    assert.deepEqual(run('rain'), { value: 42n, text: 'rain' });
    assert.deepEqual(run('xrainy'), { value: 42n, text: 'xsunny' });
    assert.equal(p.testRun({}).returnValue, 42n, 'an empty buffer');
  });

  test(`[${engine}] the implicit-context helpers answer from the context of the run`, () => {
    const o = load('sample_implicit.o', engine);
    const ctx = new Uint8Array(32);
    new DataView(ctx.buffer).setUint32(24, 7, true);
    new DataView(ctx.buffer).setUint32(28, 100, true);
    assert.equal(o.program('implicit_helpers').testRun({ ctx }).returnValue, 0n);
    const answers = o.map('answers').lookup(u32(0));
    assert.deepEqual([u64(answers, 0), u64(answers, 8)], [7n, 110n]);
  });

  test(`[${engine}] the extension's map types work through the ordinary map helpers, and sample programs tail-call each other`, () => {
    const o = load('sample_maps.o', engine);
    assert.deepEqual([o.map('counters').spec.type, o.map('slots').spec.type], [0x1000 + 0xf001, 0x1000 + 0xf000]);
    const ctx = new Uint8Array(32);
    new DataView(ctx.buffer).setUint32(16, 5, true);
    o.map('slots').update(u32(2), new Uint8Array(8).fill(9));
    const count = o.program('count');
    assert.deepEqual([1, 2, 3].map(() => count.testRun({ ctx }).returnValue), [1n, 2n, 3n]);
    assert.equal(u64(o.map('counters').lookup(u32(5))), 3n);
    assert.equal(u64(o.map('slots').lookup(u32(1))), 3n);
    assert.equal(u64(o.map('slots').lookup(u32(2))), 0n, 'a sample array zeroes what is deleted');
    o.map('chain').update(u32(0), u32(o.program('second').id));
    o.map('chain').update(u32(1), u32(o.program('third').id));
    assert.equal(o.program('first').testRun({ ctx }).returnValue, 3n);
    o.map('chain').delete(u32(1));
    assert.equal(o.program('first').testRun({ ctx }).returnValue, 2n, 'the second tail call fails: its fallback');
  });
}

test('a registration that conflicts with one made is refused whole, naming the conflict', () => {
  const helper = { name: 'another_find', ids: { efw: 0xffff + 2 }, programTypes: ['sample'], prototype: { ret: 'integer', args: [] }, make: () => () => 0 };
  assert.throws(() => registerExtension({ name: 'clash', programTypes: [{ name: 'other', sections: [{ prefix: 'other_ext' }] }], helpers: [helper] }), (e: Error) => e instanceof ExtensionError && /65537 .*is taken by sample_ebpf_extension_find/.test(e.message));
  assert.equal(openObject(object('sample_find_replace.o')).programs[0].type, 'sample');
  assert.equal(hasExtension('clash'), false, 'nothing of it was registered');
  assert.throws(() => registerExtension({ name: 'clash2', programTypes: [{ name: 'mine', sections: [{ prefix: 'sample_ext' }] }] }), /section prefix 'sample_ext' already declares program type sample/);
  assert.throws(() => registerExtension({ name: 'clash3', programTypes: [{ name: 'xdp', rules: { linux: { name: 'x', context: { size: 0, fields: [] }, helpers: new Map() } } }] }), /xdp already has linux rules/);
  assert.throws(() => registerExtension({ name: 'ebpf-for-windows sample extension' }), /is already registered/);
});
