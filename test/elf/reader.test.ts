import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ElfError, EM_BPF, EM_NONE, SectionFlag, SymbolType, buildProgramObject, functionCode, readElf } from '../../src/elf/index.js';
import { assembleBytes } from '../../src/isa/index.js';
import { mutate, seedFrom, seededRandom } from '../support/random.js';

const code = assembleBytes('mov %r0, 7\nexit');

test('an object written by buildProgramObject reads back with its section and symbol', () => {
  const elf = readElf(buildProgramObject(code, { section: 'xdp', symbol: 'main' }));
  assert.equal(elf.machine, EM_BPF);
  assert.deepEqual(elf.sections.map((s) => s.name), ['', '.shstrtab', '.symtab', 'xdp']);
  const xdp = elf.sections[3];
  assert.equal(xdp.flags, SectionFlag.ALLOC | SectionFlag.EXECINSTR);
  assert.deepEqual(xdp.data, code);
  const main = elf.symbols.find((s) => s.name === 'main');
  assert.equal(main?.type, SymbolType.FUNC);
  assert.equal(main?.sectionIndex, 3);
  assert.equal(main?.size, code.length);
  assert.deepEqual(functionCode(elf), code);
});

function elfError(bytes: Uint8Array): ElfError {
  try {
    readElf(bytes);
  } catch (e) {
    assert.ok(e instanceof ElfError, `expected ElfError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e;
  }
  assert.fail('expected an ElfError');
}

test('malformed headers are refused with what is wrong', () => {
  const good = buildProgramObject(code);
  assert.match(elfError(good.subarray(0, 20)).message, /too short for an ELF header/);
  const magic = good.slice();
  magic[1] = 0x46;
  assert.match(elfError(magic).message, /bad magic/);
  const cls = good.slice();
  cls[4] = 1;
  assert.match(elfError(cls).message, /ELF class 1/);
  const be = good.slice();
  be[5] = 2;
  assert.match(elfError(be).message, /big-endian/);
  const machine = good.slice();
  machine[18] = 62; // x86-64
  assert.match(elfError(machine).message, /e_machine is 62/);
});

test('section tables and contents outside the file are refused', () => {
  const good = buildProgramObject(code);
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(view(good).getBigUint64(40, true));
  const past = good.slice();
  view(past).setBigUint64(40, BigInt(good.length), true);
  assert.match(elfError(past).message, /section header table at \d+ is outside the file/);
  const big = good.slice();
  view(big).setBigUint64(shoff + 3 * 64 + 32, 1n << 40n, true); // section 3 size
  assert.match(elfError(big).message, /section 3: contents .* run past the end of the file/);
  const huge = good.slice();
  view(huge).setBigUint64(shoff + 3 * 64 + 24, 0xffffffffffffffffn, true);
  assert.match(elfError(huge).message, /too large/);
  const names = good.slice();
  view(names).setUint32(shoff + 3 * 64, 10_000, true);
  assert.match(elfError(names).message, /section 3: name offset 10000 is outside its string table/);
  const count = good.slice();
  view(count).setUint16(60, 1000, true);
  assert.match(elfError(count).message, /runs past the end of the file/);
});

test('functionCode refuses symbols that point past their section', () => {
  const bytes = buildProgramObject(code);
  const elf = readElf(bytes);
  const broken = { ...elf, symbols: elf.symbols.map((s) => (s.name === 'main' ? { ...s, size: 4096 } : s)) };
  assert.throws(() => functionCode(broken), /runs past the end of section/);
});

test('fuzz: thousands of mutated objects give an ElfError or a parse, never another exception', () => {
  const seed = seedFrom('FUZZ_SEED', 0x5eed);
  const random = seededRandom(seed);
  const good = buildProgramObject(assembleBytes('mov %r0, 1\nadd %r0, 2\nexit'), { section: 'xdp' });
  for (let round = 0; round < 5000; round++) {
    const bytes = mutate(good, random);
    try {
      const elf = readElf(bytes);
      try {
        functionCode(elf);
      } catch (e) {
        if (!(e instanceof ElfError)) throw e;
      }
    } catch (e) {
      if (!(e instanceof ElfError)) assert.fail(`seed ${seed} round ${round}: ${e instanceof Error ? e.stack : String(e)}`);
    }
  }
});

test('an EM_NONE relocatable object whose code decodes as eBPF is read (old LLVM wrote EM_NONE for BPF)', () => {
  const bytes = buildProgramObject(code, { section: 'xdp' });
  bytes[18] = 0; // e_machine = EM_NONE
  const elf = readElf(bytes);
  assert.equal(elf.machine, EM_NONE);
  assert.deepEqual(functionCode(elf), code);
});

test('an EM_NONE object is refused when its code is not eBPF or it is not relocatable', () => {
  // 0x55 0x48 0x89 0xe5: x86-64 `push %rbp; mov %rsp,%rbp`, not an eBPF opcode.
  const x86 = buildProgramObject(Uint8Array.from([0x55, 0x48, 0x89, 0xe5, 0, 0, 0, 0]), { section: 'xdp' });
  x86[18] = 0;
  assert.match(elfError(x86).message, /not an eBPF object: e_machine is 0 .* section xdp does not decode as eBPF: slot 0/);
  const executable = buildProgramObject(code);
  executable[18] = 0;
  executable[16] = 2; // ET_EXEC
  assert.match(elfError(executable).message, /e_machine is 0, expected 247/);
});
