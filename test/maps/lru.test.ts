import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapFlags, MapType, UpdateFlags, type BpfMap } from '../../src/maps/index.js';
import { create, hex, place, readU64, throwsErrno, u32, u64 } from './support.js';

const present = (map: BpfMap, keys: number[]) => keys.filter((k) => map.lookup(u32(k)) !== undefined);

test('a full LRU hash evicts the least recently updated key instead of failing', () => {
  const { map } = create({ type: MapType.LRU_HASH, maxEntries: 3 });
  for (const k of [1, 2, 3]) map.update(u32(k), u64(k));
  map.update(u32(4), u64(4));
  assert.deepEqual(present(map, [1, 2, 3, 4]), [2, 3, 4]);
  map.update(u32(5), u64(5));
  assert.deepEqual(present(map, [1, 2, 3, 4, 5]), [3, 4, 5]);
});

test('an LRU lookup from a program makes the key recently used, so another is evicted', () => {
  const { map, memory } = create({ type: MapType.LRU_HASH, maxEntries: 3 });
  for (const k of [1, 2, 3]) map.update(u32(k), u64(k));
  assert.notEqual(map.lookupFromProgram(place(memory, u32(1)), 0), 0);
  map.update(u32(4), u64(4));
  assert.deepEqual(present(map, [1, 2, 3, 4]), [1, 3, 4]);
});

test('an LRU lookup from user space does not change recency', () => {
  const { map } = create({ type: MapType.LRU_HASH, maxEntries: 3 });
  for (const k of [1, 2, 3]) map.update(u32(k), u64(k));
  map.lookup(u32(1));
  map.update(u32(4), u64(4));
  assert.deepEqual(present(map, [1, 2, 3, 4]), [2, 3, 4]);
});

test('updating an existing LRU key makes it recently used', () => {
  const { map } = create({ type: MapType.LRU_HASH, maxEntries: 3 });
  for (const k of [1, 2, 3]) map.update(u32(k), u64(k));
  map.update(u32(1), u64(10), UpdateFlags.EXIST);
  map.update(u32(4), u64(4));
  assert.deepEqual(present(map, [1, 2, 3, 4]), [1, 3, 4]);
});

test('a deleted LRU key frees room without evicting anything', () => {
  const { map } = create({ type: MapType.LRU_HASH, maxEntries: 3 });
  for (const k of [1, 2, 3]) map.update(u32(k), u64(k));
  map.delete(u32(2));
  map.update(u32(4), u64(4));
  assert.deepEqual(present(map, [1, 2, 3, 4]), [1, 3, 4]);
});

test('an LRU update from a program evicts when full and returns 0', () => {
  const { map, memory } = create({ type: MapType.LRU_HASH, maxEntries: 2 });
  map.update(u32(1), u64(1));
  map.update(u32(2), u64(2));
  assert.equal(map.updateFromProgram(place(memory, u32(3)), place(memory, u64(3)), 0, 0), 0);
  assert.deepEqual(present(map, [1, 2, 3]), [2, 3]);
});

test('NOEXIST on a full LRU hash still refuses an existing key with EEXIST', () => {
  const { map } = create({ type: MapType.LRU_HASH, maxEntries: 2 });
  map.update(u32(1), u64(1));
  map.update(u32(2), u64(2));
  throwsErrno(() => map.update(u32(1), u64(9), UpdateFlags.NOEXIST), 'EEXIST');
  assert.deepEqual(present(map, [1, 2]), [1, 2], 'nothing was evicted');
});

test('with NO_COMMON_LRU each CPU evicts from its own LRU list', () => {
  const { map, memory } = create({ type: MapType.LRU_HASH, maxEntries: 4, flags: MapFlags.NO_COMMON_LRU }, 2);
  const insert = (key: number, cpu: number) => assert.equal(map.updateFromProgram(place(memory, u32(key)), place(memory, u64(key)), 0, cpu), 0);
  insert(1, 0);
  insert(2, 0);
  insert(3, 1);
  insert(4, 1);
  insert(5, 1);
  assert.deepEqual(present(map, [1, 2, 3, 4, 5]), [1, 2, 4, 5], "CPU 1's oldest key went, CPU 0's stayed");
  insert(6, 0);
  assert.deepEqual(present(map, [1, 2, 4, 5, 6]), [2, 4, 5, 6]);
});

test('LRU per-CPU hash keeps a value per CPU and evicts like the LRU hash', () => {
  const { map, memory } = create({ type: MapType.LRU_PERCPU_HASH, valueSize: 8, maxEntries: 2 }, 2);
  const both = (a: number, b: number) => {
    const v = new Uint8Array(16);
    v.set(u64(a), 0);
    v.set(u64(b), 8);
    return v;
  };
  map.update(u32(1), both(1, 2));
  map.update(u32(2), both(3, 4));
  assert.equal(readU64(memory.read(map.lookupFromProgram(place(memory, u32(1)), 1), 8)), 2);
  map.update(u32(3), both(5, 6));
  assert.deepEqual(present(map, [1, 2, 3]), [1, 3], 'key 1 was used by the program lookup, key 2 was not');
  assert.equal(hex(map.lookup(u32(3))), hex(both(5, 6)));
});
