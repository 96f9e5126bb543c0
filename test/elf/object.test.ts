import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinById } from '../../src/abi/index.js';
import { ObjectError, openObject } from '../../src/elf/index.js';
import { REPO_ROOT } from '../support/shared.js';
import { mutate, seedFrom, seededRandom } from '../support/random.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'elf', name)));

function objectError(bytes: Uint8Array): ObjectError {
  try {
    openObject(bytes);
  } catch (e) {
    assert.ok(e instanceof ObjectError, `expected ObjectError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e;
  }
  assert.fail('expected the object to be refused');
}

test('every function of a program section is a program; .text functions are its subprograms', () => {
  const spec = openObject(fixture('linking.o'));
  assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.type]), [['first', 'xdp', 'xdp'], ['second', 'xdp', 'xdp']]);
  const first = spec.programs[0];
  // Callee order follows first use: the bpf_loop callback, then add_scale, which calls twice.
  assert.deepEqual(first.functions.map((f) => f.name), ['first', 'loop_body', 'add_scale', 'twice']);
  assert.deepEqual(spec.programs[1].functions.map((f) => f.name), ['second', 'twice']);
});

test('calls and function pointers are re-aimed at the linked copies of their targets', () => {
  const [first] = openObject(fixture('linking.o')).programs;
  const start = new Map(first.functions.map((f) => [f.name, f.pc]));
  for (const ref of first.references) {
    const insn = first.instructions.find((i) => i.pc === ref.pc);
    assert.ok(insn !== undefined);
    if (ref.kind === 'call') {
      assert.equal(ref.target, start.get(ref.name));
      assert.equal(insn.pc + 1 + insn.imm, ref.target, `call at ${ref.pc}`);
    }
    if (ref.kind === 'function') {
      assert.equal(insn.spec.name, 'lddw_code_addr');
      assert.equal(insn.pc + 1 + insn.imm, start.get('loop_body'));
    }
  }
  assert.ok(first.references.some((r) => r.kind === 'function'), 'the bpf_loop callback is a function reference');
});

test('global data sections become array maps with their initial contents; .rodata is read-only', () => {
  const spec = openObject(fixture('linking.o'));
  const byName = new Map(spec.maps.map((m) => [m.name, m]));
  const data = byName.get('.data');
  const rodata = byName.get('.rodata');
  const bss = byName.get('.bss');
  assert.deepEqual([data?.type, data?.keySize, data?.valueSize, data?.maxEntries], [2, 4, 4, 1]);
  assert.deepEqual([...(data?.initialValue ?? [])], [7, 0, 0, 0]);
  assert.deepEqual([...(rodata?.initialValue ?? [])], [3, 0, 0, 0]);
  assert.equal(rodata?.readOnly, true);
  assert.equal(data?.readOnly, false);
  assert.deepEqual([...(bss?.initialValue ?? [])], [0, 0, 0, 0]);
  const refs = spec.programs[0].references.filter((r) => r.kind === 'map-value').map((r) => (r.kind === 'map-value' ? r.map : ''));
  assert.deepEqual(refs.sort(), ['.bss', '.data', '.rodata']);
});

test('BTF line info gives every instruction its C source line', () => {
  const [first] = openObject(fixture('linking.o')).programs;
  const source = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'elf', 'linking.c'), 'utf8').split('\n');
  const covered = first.lineInfo.filter((l) => l !== undefined);
  assert.ok(covered.length >= first.instructions.length / 2, 'most instructions have a line');
  for (const info of covered) {
    assert.ok(info !== undefined);
    assert.match(info.fileName, /linking\.c$/);
    assert.equal(info.lineText.trim(), source[info.line - 1].trim(), `line ${info.line}`);
  }
  const loopCall = first.references.find((r) => r.kind === 'function');
  assert.match(first.lineInfo[loopCall?.pc ?? -1]?.lineText ?? '', /bpf_loop/);
});

test('kconfig externs libbpf defines get fixed values in a read-only .kconfig map; weak CONFIG_* are 0', async () => {
  const { ExecutionContext, loadObject } = await import('../../src/runtime/index.js');
  const spec = openObject(fixture('kconfig_weak.o'));
  const kconfig = spec.maps.find((m) => m.name === '.kconfig');
  assert.equal(kconfig?.readOnly, true);
  const object = loadObject(spec, new ExecutionContext());
  const frame = new Uint8Array(14);
  assert.equal(object.program('kernel_version').testRun({ data: frame }).returnValue, 0x060100n, 'KERNEL_VERSION(6, 1, 0) + 0');
  assert.equal(openObject(fixture('externs.o')).programs.length, 1);
});

test('unknown kconfig options, ksyms and kfunc calls are refused, naming the feature and the symbol', async () => {
  const [unknown] = openObject(fixture('kconfig_unknown.o')).programs;
  assert.match(unknown.unsupported ?? '', /kconfig extern CONFIG_HZ has no value here/);
  assert.match(openObject(fixture('ksym.o')).programs[0].unsupported ?? '', /extern symbol bpf_prog_active is a ksym/);
  // A kfunc call is refused for the program that makes it; the object itself still opens.
  const [kfunc] = openObject(fixture('kfunc.o')).programs;
  assert.match(kfunc.unsupported ?? '', /call to the kernel function bpf_rcu_read_lock \(kfunc\) is not supported/);
  assert.equal(kfunc.instructions.length, 0);
  const { ExecutionContext, loadObject, LoadError } = await import('../../src/runtime/index.js');
  assert.throws(() => loadObject(openObject(fixture('kfunc.o')), new ExecutionContext()), (e: unknown) => e instanceof LoadError && /uses_kfunc cannot be loaded: .*kfunc/.test(e.message));
});

test('an explicit ABI overrides detection', () => {
  const spec = openObject(fixture('linking.o'), { abi: 'efw' });
  assert.equal(spec.abi, 'efw');
  assert.equal(spec.abiReason, 'set explicitly');
  assert.equal(openObject(fixture('linking.o')).abi, 'linux');
});

test('fuzz: thousands of mutated objects are opened or refused with an ObjectError, nothing else', () => {
  const seed = seedFrom('FUZZ_SEED', 0xb7f);
  const random = seededRandom(seed);
  const originals = ['linking.o', 'externs.o', 'kfunc.o', 'kconfig_weak.o', 'per_map_sections.o'].map(fixture);
  let opened = 0;
  for (let round = 0; round < 3000; round++) {
    const bytes = mutate(originals[round % originals.length], random, 6);
    try {
      openObject(bytes);
      opened++;
    } catch (e) {
      if (!(e instanceof ObjectError)) assert.fail(`seed ${seed} round ${round}: ${e instanceof Error ? e.stack : String(e)}`);
    }
  }
  // Most single-byte flips land in bytes nothing checks (code immediates, padding): both outcomes occur.
  assert.ok(opened > 0 && opened < 3000, `opened ${opened} of 3000`);
});

test('legacy maps in per-map `maps/NAME` sections are read with the Linux layout', async () => {
  const { ExecutionContext, loadObject } = await import('../../src/runtime/index.js');
  const spec = openObject(fixture('per_map_sections.o'));
  assert.deepEqual(spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.origin]), [
    ['counters', 2, 4, 8, 2, 0, 'legacy'],
    ['flows', 1, 4, 4, 8, 1, 'legacy'],
  ]);
  assert.equal(spec.programs[0].type, 'socket_filter');
  const object = loadObject(spec, new ExecutionContext());
  const r = object.program('count').testRun({ data: new Uint8Array(150) });
  assert.equal(r.returnValue, 0n);
  const one = object.map('counters').lookup(Uint8Array.of(1, 0, 0, 0));
  assert.equal(one === undefined ? undefined : new DataView(one.buffer, one.byteOffset).getBigUint64(0, true), 1n, 'the 150-byte packet counted as long');
  assert.deepEqual([...(object.map('flows').lookup(Uint8Array.of(1, 0, 0, 0)) ?? [])], [150, 0, 0, 0]);
});

test('a Node Buffer opens like a plain Uint8Array (Buffer.slice shares memory)', () => {
  const path = join(REPO_ROOT, 'test', 'fixtures', 'elf', 'linking.o');
  const fromBuffer = openObject(readFileSync(path));
  const fromCopy = openObject(fixture('linking.o'));
  assert.deepEqual(fromBuffer.programs.map((p) => [p.name, p.references]), fromCopy.programs.map((p) => [p.name, p.references]));
  assert.deepEqual(fromBuffer.programs[0].code, fromCopy.programs[0].code);
});

test('malformed objects are refused whole, with an ObjectError naming the problem', () => {
  assert.match(objectError(fixture('linking.o').slice(0, 100)).message, /malformed ELF: section header table .* is outside the file/);
  const noBtf = fixture('linking.o');
  noBtf[4] = 1; // ELFCLASS32
  assert.match(objectError(noBtf).message, /malformed ELF: unsupported ELF class 1/);
});

test('legacy map definitions are as long as their symbols say; bytes no symbol names are skipped', () => {
  // 60 bytes of `maps` for two 20-byte symbols: an even split would make each 30 bytes long.
  const spec = openObject(fixture('legacy_unnamed.o'));
  assert.deepEqual(spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]), [
    ['first', 2, 4, 8, 3, 0],
    ['second', 1, 4, 4, 7, 1],
  ]);
  const refs = spec.programs[0].references.flatMap((r) => (r.kind === 'map' ? [r.map] : []));
  assert.deepEqual(refs, ['first', 'second']);
});

test('a legacy map definition with a byte set where no known layout has a field is refused, naming the byte', () => {
  assert.match(objectError(fixture('legacy_extra_field.o')).message, /legacy map odd: byte 20 of its 24-byte definition is set/);
});

test('calls of undefined memset/memcpy/memmove/memcmp become calls of the built-in functions, which run', async () => {
  const spec = openObject(fixture('builtins.o'));
  const [program] = spec.programs;
  assert.equal(program.unsupported, undefined);
  const calls = program.instructions.filter((i) => i.spec.form === 'call').map((i) => [i.src, builtinById(i.imm)?.name]);
  assert.deepEqual(calls, [[0, 'memset'], [0, 'memcpy'], [0, 'memmove'], [0, 'memcmp'], [0, 'memcmp']]);
  const { ExecutionContext, loadObject } = await import('../../src/runtime/index.js');
  for (const engine of ['interpreter', 'jit'] as const) {
    const object = loadObject(spec, new ExecutionContext(), { engine });
    // 1 + 2 * 4 (memmove copied the overlap backwards) + 16 (memcmp > 0) + 32 (memcmp == 0).
    assert.equal(object.program('mem_functions').testRun({ data: new Uint8Array(64) }).returnValue, 57n, engine);
  }
});

test('a call of any other undefined function is still refused, naming it', () => {
  // Rename the symbol (in the symbol and BTF string tables alike): memmove -> memmovx.
  const bytes = fixture('builtins.o');
  const name = new TextEncoder().encode('memmove\0');
  let renamed = 0;
  outer: for (let i = 0; i + name.length <= bytes.length; i++) {
    for (let j = 0; j < name.length; j++) if (bytes[i + j] !== name[j]) continue outer;
    bytes[i + 6] = 0x78; // 'x'
    renamed++;
  }
  assert.ok(renamed > 0);
  const program = openObject(bytes).programs[0];
  assert.match(program.unsupported ?? '', /call to the kernel function memmovx \(kfunc\) is not supported/);
});
