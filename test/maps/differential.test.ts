// Randomized differential test: hash maps against a JS Map model, under seeded random operations
// from user space and from programs. Set FUZZ_SEED to replay a run; the seed is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapError, MapFlags, MapType, UpdateFlags, type BpfMap } from '../../src/maps/index.js';
import { context, hex, prng } from './support.js';

const KEY_SIZE = 6;
const VALUE_SIZE = 12;
const KEY_SPACE = 64;
const STEPS = 4000;

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Subject {
  readonly name: string;
  readonly type: number;
  readonly maxEntries: number;
  /** LRU maps that may evict: the model keeps recency order. */
  readonly evicts: boolean;
}

const subjects: Subject[] = [
  { name: 'HASH (fills up: E2BIG)', type: MapType.HASH, maxEntries: 48, evicts: false },
  { name: 'LRU_HASH (large enough not to evict)', type: MapType.LRU_HASH, maxEntries: 2 * KEY_SPACE, evicts: false },
  { name: 'LRU_HASH (small: evicts the least recently used)', type: MapType.LRU_HASH, maxEntries: 24, evicts: true },
];

for (const subject of subjects) {
  test(`${subject.name} behaves like a JS Map model under random operations`, (t) => {
    t.diagnostic(`FUZZ_SEED=${seed}`);
    const random = prng(seed ^ subject.type ^ subject.maxEntries);
    const pick = (n: number) => Math.floor(random() * n);
    const { registry, memory } = context(1, 64);
    const map: BpfMap = registry.create({ name: 'fuzz', type: subject.type, keySize: KEY_SIZE, valueSize: VALUE_SIZE, maxEntries: subject.maxEntries, flags: MapFlags.ZERO_SEED });
    // Insertion order of a JS Map doubles as recency order: delete + set moves a key to the end.
    const model = new Map<string, Uint8Array>();
    const touch = (k: string) => {
      const v = model.get(k);
      if (v !== undefined) {
        model.delete(k);
        model.set(k, v);
      }
    };
    const scratch = memory.alloc(KEY_SIZE + VALUE_SIZE, 8);
    const randomKey = () => {
      const key = new Uint8Array(KEY_SIZE);
      key[0] = pick(KEY_SPACE);
      key[5] = key[0] % 3; // keys differ in more than one byte
      return key;
    };
    const randomValue = () => Uint8Array.from({ length: VALUE_SIZE }, () => pick(256));
    const errnoOf = (action: () => void): string | undefined => {
      try {
        action();
        return undefined;
      } catch (e) {
        if (e instanceof MapError) return e.errno;
        throw e;
      }
    };

    /** What an insert of a new key does to the model: fail when full, or evict the LRU key. */
    const insert = (k: string, value: Uint8Array): string | undefined => {
      if (model.size >= subject.maxEntries) {
        if (!subject.evicts) return 'E2BIG';
        model.delete(model.keys().next().value as string);
      }
      model.set(k, value);
      return undefined;
    };

    for (let step = 0; step < STEPS; step++) {
      const key = randomKey();
      const k = hex(key);
      const where = `FUZZ_SEED=${seed} step ${step}`;
      const op = pick(8);
      if (op <= 1) {
        const flags = [UpdateFlags.ANY, UpdateFlags.NOEXIST, UpdateFlags.EXIST][pick(3)];
        const value = randomValue();
        const exists = model.has(k);
        let expected: string | undefined;
        if (exists && flags === UpdateFlags.NOEXIST) expected = 'EEXIST';
        else if (!exists && flags === UpdateFlags.EXIST) expected = 'ENOENT';
        else if (exists) {
          model.set(k, value);
          touch(k);
        } else expected = insert(k, value);
        assert.equal(errnoOf(() => map.update(key, value, flags)), expected, `${where}: update ${k} flags ${flags}`);
      } else if (op === 2) {
        const expected = model.delete(k) ? undefined : 'ENOENT';
        assert.equal(errnoOf(() => map.delete(key)), expected, `${where}: delete ${k}`);
      } else if (op === 3) {
        assert.equal(hex(map.lookup(key)), hex(model.get(k)), `${where}: lookup ${k}`);
      } else if (op === 4) {
        const expected = model.get(k);
        let got: Uint8Array | undefined;
        const errno = errnoOf(() => (got = map.lookupAndDelete(key)));
        assert.equal(errno, expected === undefined ? 'ENOENT' : undefined, `${where}: lookupAndDelete ${k}`);
        assert.equal(hex(got), hex(expected), `${where}: lookupAndDelete ${k} value`);
        model.delete(k);
      } else if (op === 5) {
        // A program looks the key up and increments the first value byte through the pointer.
        memory.write(scratch, key);
        const address = map.lookupFromProgram(scratch, 0);
        const expected = model.get(k);
        assert.equal(address === 0, expected === undefined, `${where}: program lookup ${k}`);
        if (expected !== undefined) {
          assert.equal(hex(memory.read(address, VALUE_SIZE)), hex(expected), `${where}: value at the returned address`);
          expected[0] = (expected[0] + 1) & 0xff;
          memory.bytes[address] = expected[0];
          touch(k);
        }
      } else if (op === 6) {
        const value = randomValue();
        memory.write(scratch, key);
        memory.write(scratch + KEY_SIZE, value);
        const expected = model.has(k) ? (model.set(k, value), touch(k), 0) : insert(k, value) === 'E2BIG' ? -7 : 0;
        assert.equal(map.updateFromProgram(scratch, scratch + KEY_SIZE, UpdateFlags.ANY, 0), expected, `${where}: program update ${k}`);
      } else {
        memory.write(scratch, key);
        const expected = model.delete(k) ? 0 : -2;
        assert.equal(map.deleteFromProgram(scratch, 0), expected, `${where}: program delete ${k}`);
      }

      if (step % 250 === 0 || step === STEPS - 1) {
        const listed = [...map.keys()].map(hex);
        assert.equal(listed.length, model.size, `${where}: nextKey lists each key once`);
        assert.deepEqual(new Set(listed), new Set(model.keys()), `${where}: nextKey lists the model's keys`);
        for (const [key, value] of map.entries()) assert.equal(hex(value), hex(model.get(hex(key))), `${where}: entry ${hex(key)}`);
        assert.equal(map.forEachFromProgram(0, () => true), model.size, `${where}: for-each visits every element`);
      }
    }
  });
}
