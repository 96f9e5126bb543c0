import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashLayout, HashMap, MapFlags, MapType, UpdateFlags, murmur3 } from '../../src/maps/index.js';
import { create, hex, keysHex, place, readU32, readU64, throwsErrno, u32, u64 } from './support.js';

const text = (s: string) => new TextEncoder().encode(s);

test('the key hash is MurmurHash3 x86_32', () => {
  assert.equal(murmur3(new Uint8Array(0), 0, 0, 0), 0);
  assert.equal(murmur3(new Uint8Array(0), 0, 0, 1), 0x514e28b7);
  assert.equal(murmur3(text('hello'), 0, 5, 0), 0x248bfa47);
  const fox = text('xThe quick brown fox jumps over the lazy dog');
  assert.equal(murmur3(fox, 1, fox.length - 1, 0), 0x2e4ff723, 'hashes from an offset');
});

for (const type of [MapType.HASH, MapType.LRU_HASH]) {
  const kind = type === MapType.HASH ? 'hash' : 'LRU hash';

  test(`${kind}: lookup of a missing key finds nothing`, () => {
    const { map } = create({ type });
    assert.equal(map.lookup(u32(1)), undefined);
  });

  test(`${kind}: update inserts and lookup returns the value`, () => {
    const { map } = create({ type });
    map.update(u32(1), u64(100));
    assert.equal(readU64(map.lookup(u32(1)) as Uint8Array), 100);
  });

  test(`${kind}: update with ANY overwrites an existing value`, () => {
    const { map } = create({ type });
    map.update(u32(1), u64(1));
    map.update(u32(1), u64(2), UpdateFlags.ANY);
    assert.equal(readU64(map.lookup(u32(1)) as Uint8Array), 2);
    assert.equal((map as HashMap).count, 1);
  });

  test(`${kind}: update with NOEXIST fails with EEXIST on an existing key and inserts a new one`, () => {
    const { map } = create({ type });
    map.update(u32(1), u64(1));
    throwsErrno(() => map.update(u32(1), u64(2), UpdateFlags.NOEXIST), 'EEXIST');
    assert.equal(readU64(map.lookup(u32(1)) as Uint8Array), 1, 'the value is unchanged');
    map.update(u32(2), u64(2), UpdateFlags.NOEXIST);
    assert.equal(readU64(map.lookup(u32(2)) as Uint8Array), 2);
  });

  test(`${kind}: update with EXIST fails with ENOENT on a missing key and overwrites an existing one`, () => {
    const { map } = create({ type });
    throwsErrno(() => map.update(u32(1), u64(1), UpdateFlags.EXIST), 'ENOENT');
    assert.equal(map.lookup(u32(1)), undefined, 'nothing was inserted');
    map.update(u32(1), u64(1));
    map.update(u32(1), u64(3), UpdateFlags.EXIST);
    assert.equal(readU64(map.lookup(u32(1)) as Uint8Array), 3);
  });

  test(`${kind}: update with unknown flags or F_LOCK fails with EINVAL`, () => {
    const { map } = create({ type });
    throwsErrno(() => map.update(u32(1), u64(1), 3), 'EINVAL');
    throwsErrno(() => map.update(u32(1), u64(1), UpdateFlags.F_LOCK), 'EINVAL');
  });

  test(`${kind}: delete removes the key, and fails with ENOENT when it is missing`, () => {
    const { map } = create({ type });
    map.update(u32(1), u64(1));
    map.delete(u32(1));
    assert.equal(map.lookup(u32(1)), undefined);
    throwsErrno(() => map.delete(u32(1)), 'ENOENT');
  });

  test(`${kind}: wrong key or value lengths fail with EINVAL`, () => {
    const { map } = create({ type });
    throwsErrno(() => map.update(u32(1), u32(1)), 'EINVAL', 'short value');
    throwsErrno(() => map.lookup(u64(1)), 'EINVAL', 'long key');
    throwsErrno(() => map.delete(new Uint8Array(0)), 'EINVAL', 'empty key');
  });

  test(`${kind}: lookup-and-delete returns the value and removes the key`, () => {
    const { map } = create({ type });
    map.update(u32(5), u64(55));
    assert.equal(readU64(map.lookupAndDelete(u32(5))), 55);
    assert.equal(map.lookup(u32(5)), undefined);
    throwsErrno(() => map.lookupAndDelete(u32(5)), 'ENOENT');
  });

  test(`${kind}: nextKey visits every key exactly once`, () => {
    const { map } = create({ type, maxEntries: 100 });
    for (let i = 0; i < 100; i++) map.update(u32(i * 7919), u64(i));
    const keys = keysHex(map);
    assert.equal(keys.length, 100);
    assert.equal(new Set(keys).size, 100);
    assert.deepEqual(new Set(keys), new Set(Array.from({ length: 100 }, (_, i) => hex(u32(i * 7919)))));
  });

  test(`${kind}: nextKey of a key not in the map starts again from the first key`, () => {
    const { map } = create({ type });
    map.update(u32(1), u64(1));
    map.update(u32(2), u64(2));
    assert.equal(hex(map.nextKey(u32(999))), hex(map.nextKey()));
  });

  test(`${kind}: nextKey of an empty map is the end`, () => {
    const { map } = create({ type });
    assert.equal(map.nextKey(), undefined);
  });

  test(`${kind}: lookup from a program returns the address of the stored value`, () => {
    const { map, memory } = create({ type });
    map.update(u32(7), u64(0x77));
    const address = map.lookupFromProgram(place(memory, u32(7)), 0);
    assert.notEqual(address, 0);
    assert.equal(address % 8, 0, 'values are 8-byte aligned');
    assert.equal(readU64(memory.read(address, 8)), 0x77);
    assert.equal(map.lookupFromProgram(place(memory, u32(8)), 0), 0, 'a missing key gives NULL');
  });

  test(`${kind}: writes through a looked-up pointer are seen by user space, and user updates by the pointer`, () => {
    const { map, memory } = create({ type });
    map.update(u32(7), u64(1));
    const address = map.lookupFromProgram(place(memory, u32(7)), 0);
    memory.view.setBigUint64(address, 2n, true);
    assert.equal(readU64(map.lookup(u32(7)) as Uint8Array), 2);
    map.update(u32(7), u64(3));
    assert.equal(memory.view.getBigUint64(address, true), 3n, 'updates happen in place');
  });

  test(`${kind}: updates and deletes from programs return 0 or -errno`, () => {
    const { map, memory } = create({ type });
    const key = place(memory, u32(1));
    const value = place(memory, u64(10));
    assert.equal(map.updateFromProgram(key, value, UpdateFlags.EXIST, 0), -2, 'ENOENT');
    assert.equal(map.updateFromProgram(key, value, UpdateFlags.NOEXIST, 0), 0);
    assert.equal(map.updateFromProgram(key, value, UpdateFlags.NOEXIST, 0), -17, 'EEXIST');
    assert.equal(map.updateFromProgram(key, value, 7, 0), -22, 'EINVAL');
    assert.equal(readU64(map.lookup(u32(1)) as Uint8Array), 10);
    assert.equal(map.deleteFromProgram(key, 0), 0);
    assert.equal(map.deleteFromProgram(key, 0), -2, 'ENOENT');
  });

  test(`${kind}: for-each visits every element with its key and value, and may delete as it goes`, () => {
    const { map, memory } = create({ type, maxEntries: 8 });
    for (let i = 0; i < 6; i++) map.update(u32(i), u64(i * 100));
    const seen = new Map<number, number>();
    const visited = map.forEachFromProgram(0, (key, value) => {
      seen.set(memory.view.getUint32(key, true), Number(memory.view.getBigUint64(value, true)));
      assert.equal(map.deleteFromProgram(key, 0), 0);
      return true;
    });
    assert.equal(visited, 6);
    assert.deepEqual([...seen].sort((a, b) => a[0] - b[0]), [0, 1, 2, 3, 4, 5].map((i) => [i, i * 100]));
    assert.equal(map.nextKey(), undefined, 'every element was deleted');
  });

  test(`${kind}: for-each stops when the callback returns false`, () => {
    const { map } = create({ type, maxEntries: 8 });
    for (let i = 0; i < 6; i++) map.update(u32(i), u64(i));
    assert.equal(map.forEachFromProgram(0, () => false), 1);
  });

  test(`${kind}: batch lookup pages cover every key exactly once`, () => {
    const { map } = create({ type, maxEntries: 32 });
    for (let i = 0; i < 20; i++) map.update(u32(i), u64(i));
    const keys: string[] = [];
    let start: Uint8Array | undefined;
    let pages = 0;
    do {
      const page = map.lookupBatch({ startKey: start, count: 6 });
      page.keys.forEach((k, i) => assert.equal(readU64(page.values[i]), readU32(k), 'each value belongs to its key'));
      keys.push(...page.keys.map(hex));
      start = page.nextKey;
      pages++;
    } while (start !== undefined);
    assert.equal(pages, 4);
    assert.deepEqual(new Set(keys), new Set(Array.from({ length: 20 }, (_, i) => hex(u32(i)))));
    assert.equal(keys.length, 20);
  });

  test(`${kind}: batch delete stops at the first missing key and reports how many were deleted`, () => {
    const { map } = create({ type });
    map.updateBatch([u32(1), u32(2), u32(3)], [u64(1), u64(2), u64(3)]);
    const error = throwsErrno(() => map.deleteBatch([u32(1), u32(9), u32(3)]), 'ENOENT');
    assert.equal(error.applied, 1);
    assert.deepEqual(keysHex(map).sort(), [hex(u32(2)), hex(u32(3))].sort());
    assert.equal(map.deleteBatch([u32(2), u32(3)]), 2);
  });
}

test('hash: update of a new key when full fails with E2BIG, but existing keys can still change', () => {
  const { map } = create({ type: MapType.HASH, maxEntries: 2 });
  map.update(u32(1), u64(1));
  map.update(u32(2), u64(2));
  throwsErrno(() => map.update(u32(3), u64(3)), 'E2BIG');
  map.update(u32(2), u64(22));
  assert.equal(readU64(map.lookup(u32(2)) as Uint8Array), 22);
  map.delete(u32(1));
  map.update(u32(3), u64(3));
  assert.equal(readU64(map.lookup(u32(3)) as Uint8Array), 3, 'a deleted element frees its slot');
});

test('hash: program update of a new key when full returns -E2BIG', () => {
  const { map, memory } = create({ type: MapType.HASH, maxEntries: 1 });
  map.update(u32(1), u64(1));
  assert.equal(map.updateFromProgram(place(memory, u32(2)), place(memory, u64(2)), 0, 0), -7);
});

test('hash: keys of any size compare every byte', () => {
  const { map } = create({ type: MapType.HASH, keySize: 13, valueSize: 1, maxEntries: 4 });
  const a = text('abcdefghijklm');
  const b = text('abcdefghijklX');
  map.update(a, new Uint8Array([1]));
  map.update(b, new Uint8Array([2]));
  assert.deepEqual([map.lookup(a)?.[0], map.lookup(b)?.[0]], [1, 2]);
});

test('hash: keys that share a bucket stay apart through inserts and deletes', () => {
  // 64 keys in 64 buckets: some buckets certainly hold several keys.
  const { map } = create({ type: MapType.HASH, maxEntries: 64, flags: MapFlags.ZERO_SEED });
  for (let i = 0; i < 64; i++) map.update(u32(i), u64(i));
  for (let i = 0; i < 64; i += 3) map.delete(u32(i));
  for (let i = 0; i < 64; i++) {
    const value = map.lookup(u32(i));
    if (i % 3 === 0) assert.equal(value, undefined, `key ${i} was deleted`);
    else assert.equal(readU64(value as Uint8Array), i, `key ${i} keeps its value`);
  }
});

test('per-CPU hash values are separate per CPU and padded to 8 bytes in user space', () => {
  const { map, memory } = create({ type: MapType.PERCPU_HASH, valueSize: 4 }, 2);
  assert.equal(map.userValueSize, 16);
  const all = new Uint8Array(16);
  all.set(u32(5), 0);
  all.set(u32(6), 8);
  map.update(u32(1), all);
  assert.equal(hex(map.lookup(u32(1))), hex(all));
  const key = place(memory, u32(1));
  assert.equal(memory.view.getUint32(map.lookupFromProgram(key, 0), true), 5);
  assert.equal(memory.view.getUint32(map.lookupFromProgram(key, 1), true), 6);
  assert.equal(map.lookupFromProgram(key, 2), 0, 'a CPU the context lacks finds nothing');
  throwsErrno(() => map.update(u32(1), u32(1)), 'EINVAL', 'a single unpadded value');
});

test('per-CPU hash: a program inserting a key sets its CPU copy and zeroes the others', () => {
  const { map, memory } = create({ type: MapType.PERCPU_HASH, valueSize: 8 }, 3);
  const all = new Uint8Array(24).fill(0xff);
  map.update(u32(1), all);
  map.delete(u32(1));
  // The freed element is reused: stale bytes on other CPUs must not survive.
  assert.equal(map.updateFromProgram(place(memory, u32(2)), place(memory, u64(9)), 0, 1), 0);
  assert.equal(hex(map.lookup(u32(2))), '0000000000000000' + '0900000000000000' + '0000000000000000');
});

test('per-CPU hash: a program updating an existing key changes only its CPU copy', () => {
  const { map, memory } = create({ type: MapType.PERCPU_HASH, valueSize: 8 }, 2);
  const all = new Uint8Array(16);
  all.set(u64(1), 0);
  all.set(u64(2), 8);
  map.update(u32(1), all);
  assert.equal(map.updateFromProgram(place(memory, u32(1)), place(memory, u64(7)), 0, 0), 0);
  assert.equal(hex(map.lookup(u32(1))), '0700000000000000' + '0200000000000000');
});

test('hash layout: header fields locate buckets and entries, and count tracks elements', () => {
  const { map, memory } = create({ type: MapType.HASH, maxEntries: 5, flags: MapFlags.ZERO_SEED });
  const field = (offset: number) => memory.view.getUint32(map.address + offset, true);
  assert.equal(field(HashLayout.BUCKET_COUNT), 8, 'buckets: max_entries rounded up to a power of two');
  assert.equal(field(HashLayout.SEED), 0);
  map.update(u32(3), u64(33));
  map.update(u32(4), u64(44));
  assert.equal(field(HashLayout.COUNT), 2);
  const value = map.lookupFromProgram(place(memory, u32(3)), 0);
  const entry = value - field(HashLayout.VALUE_OFFSET);
  assert.equal((entry - field(HashLayout.ENTRIES)) % field(HashLayout.ENTRY_STRIDE), 0, 'the value lies in an entry');
  assert.equal(memory.view.getUint32(entry + field(HashLayout.KEY_OFFSET), true), 3, 'the entry holds the key');
  const hash = memory.view.getUint32(entry + 4, true);
  assert.equal(hash, murmur3(u32(3), 0, 4, 0));
  let found = false;
  for (let e = memory.view.getUint32(field(HashLayout.BUCKETS) + (hash & 7) * 4, true); e !== 0; e = memory.view.getUint32(e, true)) {
    if (e === entry) found = true;
  }
  assert.ok(found, 'the entry is chained from its bucket');
});
