// Mutation fuzzing of the fixture .BTF and .BTF.ext sections: every mutant either parses or
// gives a BtfError, and every type of a mutant that parses can be resolved, sized, formatted and
// decoded with nothing but BtfErrors. Seeded; replay a failure with FUZZ_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '../../src/elf/index.js';
import { Btf, BtfError, parseBtfExt } from '../../src/btf/index.js';
import { REPO_ROOT } from '../support/shared.js';
import { BtfBuilder } from './builder.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0xb7f5eed) >>> 0;
const ROUNDS_PER_FIXTURE = 2500;

function xorshift(seed: number): () => number {
  let state = seed === 0 ? 1 : seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function sections(name: string): { btf: Uint8Array; ext: Uint8Array } {
  // A copy as a plain Uint8Array: Buffer's slice() would share memory with the fixture.
  const elf = readElf(new Uint8Array(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'btf', `${name}.o`))));
  const data = (n: string) => {
    const s = elf.sections.find((x) => x.name === n);
    assert.ok(s, `${name}.o has no ${n}`);
    return s.data;
  };
  return { btf: data('.BTF'), ext: data('.BTF.ext') };
}

const FIXTURES = ['flows', 'core', 'shapes'].map((name) => ({ name, ...sections(name) }));

/** Values that sit on the boundaries the parser checks. */
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 31, 32, 63, 64, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

function mutate(good: Uint8Array, random: () => number): Uint8Array {
  const bytes = good.slice(0, random() < 0.05 ? Math.floor(random() * good.length) : good.length);
  const view = new DataView(bytes.buffer);
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits && bytes.length >= 4; i++) {
    const r = random();
    if (r < 0.4) {
      const at = Math.floor(random() * bytes.length);
      bytes[at] ^= 1 << Math.floor(random() * 8);
    } else if (r < 0.6) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    } else {
      // Whole fields: BTF records are u32-aligned, so this hits counts, ids and offsets intact.
      const at = Math.floor(random() * Math.floor(bytes.length / 4)) * 4;
      const small = Math.floor(random() * 48);
      view.setUint32(at, random() < 0.5 ? INTERESTING[Math.floor(random() * INTERESTING.length)] : small, true);
    }
  }
  return bytes;
}

function onlyBtfErrors(what: string, fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof BtfError) return false;
    assert.fail(`FUZZ_SEED=${SEED}: ${what}: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

function exercise(btf: Btf, random: () => number, where: string): void {
  for (const t of btf.types) {
    const at = `${where} type ${t.id}`;
    onlyBtfErrors(`${at} resolve`, () => btf.resolve(t.id));
    onlyBtfErrors(`${at} format`, () => btf.format(t.id));
    onlyBtfErrors(`${at} format expand`, () => btf.format(t.id, { expand: true }));
    onlyBtfErrors(`${at} findByName`, () => btf.findByName(t.name, t.kind));
    let size = 16;
    onlyBtfErrors(`${at} sizeOf`, () => (size = btf.sizeOf(t.id)));
    const bytes = new Uint8Array(Math.min(size, 4096));
    for (let i = 0; i < bytes.length; i++) bytes[i] = random() < 0.5 ? 0 : Math.floor(random() * 256);
    onlyBtfErrors(`${at} decode`, () => btf.decode(t.id, bytes));
  }
}

test(`fuzz: mutated .BTF parses or gives a BtfError, and so does every use of a parsed mutant (FUZZ_SEED=${SEED})`, (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED}`);
  const random = xorshift(SEED);
  let parsed = 0;
  for (const fixture of FIXTURES) {
    for (let round = 0; round < ROUNDS_PER_FIXTURE; round++) {
      const where = `${fixture.name}.o round ${round}`;
      const bytes = mutate(fixture.btf, random);
      let btf: Btf | undefined;
      if (!onlyBtfErrors(`${where} parse`, () => (btf = Btf.parse(bytes))) || btf === undefined) continue;
      parsed++;
      exercise(btf, random, where);
      onlyBtfErrors(`${where} .BTF.ext against the mutant`, () => parseBtfExt(fixture.ext, btf as Btf));
    }
  }
  // Mutants that parse are the ones that reach format and decode; too few means the fuzzer is blind.
  assert.ok(parsed > ROUNDS_PER_FIXTURE * FIXTURES.length * 0.05, `only ${parsed} mutants parsed`);
  t.diagnostic(`${parsed} of ${ROUNDS_PER_FIXTURE * FIXTURES.length} mutants parsed`);
});

test(`fuzz: mutated .BTF.ext parses or gives a BtfError (FUZZ_SEED=${SEED})`, (t) => {
  const random = xorshift(SEED ^ 0x5a5a5a5a);
  let parsed = 0;
  for (const fixture of FIXTURES) {
    const btf = Btf.parse(fixture.btf);
    for (let round = 0; round < ROUNDS_PER_FIXTURE; round++) {
      const bytes = mutate(fixture.ext, random);
      if (onlyBtfErrors(`${fixture.name}.o .BTF.ext round ${round}`, () => parseBtfExt(bytes, btf))) parsed++;
    }
  }
  assert.ok(parsed > ROUNDS_PER_FIXTURE * FIXTURES.length * 0.05, `only ${parsed} mutants parsed`);
  t.diagnostic(`${parsed} of ${ROUNDS_PER_FIXTURE * FIXTURES.length} mutants parsed`);
});

/** A random type graph: every kind, references anywhere (cycles and forward references included). */
function randomGraph(random: () => number): Uint8Array {
  const b = new BtfBuilder();
  const count = 2 + Math.floor(random() * 30);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  // Mostly backward references (acyclic, so the graph parses and reaches format and decode).
  const ref = (): number => {
    const r = random();
    const id = b.nextTypeId();
    return r < 0.9 ? Math.floor(random() * id) : r < 0.99 ? Math.floor(random() * (count + 1)) : pick(INTERESTING);
  };
  const num = (): number => (random() < 0.7 ? Math.floor(random() * 40) : pick(INTERESTING));
  const name = (): string => pick(['', 'a', 'char', 'int', '__proto__', 'x'.repeat(40)]);
  const members = (): [string, number, number, number][] =>
    Array.from({ length: Math.floor(random() * 6) }, () => [name(), ref(), Math.floor(random() * 128), random() < 0.3 ? Math.floor(random() * 70) : 0]);
  for (let i = 0; i < count; i++) {
    switch (Math.floor(random() * 19)) {
      case 0: {
        const size = pick([1, 2, 4, 8, 16]);
        b.int(name(), size, pick([0, 1, 2, 4]), random() < 0.8 ? size * 8 : Math.floor(random() * 129));
        break;
      }
      case 1: b.ptr(ref()); break;
      case 2: b.array(ref(), ref(), num()); break;
      case 3: b.struct(name(), num(), members(), random() < 0.5); break;
      case 4: b.union(name(), num(), members()); break;
      case 5: b.enum(name(), pick([1, 2, 4, 8]), [['A', num()], ['B', -num()]], random() < 0.5); break;
      case 6: b.fwd(name(), random() < 0.5); break;
      case 7: b.typedef(name(), ref()); break;
      case 8: b.volatile(ref()); break;
      case 9: b.const(ref()); break;
      case 10: b.restrict(ref()); break;
      case 11: b.func(name(), b.funcProto(ref(), [['p', ref()]]), Math.floor(random() * 3)); break;
      case 12: b.funcProto(ref(), Array.from({ length: Math.floor(random() * 4) }, () => [name(), ref()] as [string, number])); break;
      case 13: b.var(name(), ref(), Math.floor(random() * 3)); break;
      case 14: b.datasec(name(), num(), [[ref(), num(), num()]]); break;
      case 15: b.float(name(), pick([2, 4, 8, 12, 16])); break;
      case 16: b.declTag(name(), ref(), Math.floor(random() * 4) - 1); break;
      case 17: b.typeTag(name(), ref()); break;
      default: b.enum64(name(), pick([1, 2, 4, 8]), [['A', BigInt(num())], ['B', -1n]], random() < 0.5); break;
    }
  }
  return b.build();
}

test(`fuzz: random type graphs of every kind parse or give a BtfError, and so does every use (FUZZ_SEED=${SEED})`, (t) => {
  const random = xorshift(SEED ^ 0x3c3c3c3c);
  let parsed = 0;
  const rounds = 5000;
  for (let round = 0; round < rounds; round++) {
    const bytes = randomGraph(random);
    let btf: Btf | undefined;
    if (!onlyBtfErrors(`graph ${round} parse`, () => (btf = Btf.parse(bytes))) || btf === undefined) continue;
    parsed++;
    exercise(btf, random, `graph ${round}`);
  }
  assert.ok(parsed > rounds * 0.05, `only ${parsed} graphs parsed`);
  t.diagnostic(`${parsed} of ${rounds} graphs parsed`);
});
