import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayMap, MapFlags, MapType, UpdateFlags } from '../../src/maps/index.js';
import { create, hex, keysHex, place, readU64, throwsErrno, u32, u64 } from './support.js';

test('array elements exist from creation and read as zeros', () => {
  const { map } = create({ type: MapType.ARRAY });
  assert.equal(hex(map.lookup(u32(3))), '0000000000000000');
});

test('array lookup beyond max_entries finds nothing', () => {
  const { map } = create({ type: MapType.ARRAY });
  assert.equal(map.lookup(u32(4)), undefined);
});

test('array update stores the value under its index', () => {
  const { map } = create({ type: MapType.ARRAY });
  map.update(u32(2), u64(0x1234));
  assert.equal(readU64(map.lookup(u32(2)) as Uint8Array), 0x1234);
  assert.equal(readU64(map.lookup(u32(1)) as Uint8Array), 0, 'other elements are untouched');
});

test('array update with NOEXIST fails with EEXIST because every element exists', () => {
  const { map } = create({ type: MapType.ARRAY });
  throwsErrno(() => map.update(u32(0), u64(1), UpdateFlags.NOEXIST), 'EEXIST');
});

test('array update with EXIST succeeds', () => {
  const { map } = create({ type: MapType.ARRAY });
  map.update(u32(0), u64(7), UpdateFlags.EXIST);
  assert.equal(readU64(map.lookup(u32(0)) as Uint8Array), 7);
});

test('array update beyond max_entries fails with E2BIG', () => {
  const { map } = create({ type: MapType.ARRAY });
  throwsErrno(() => map.update(u32(4), u64(1)), 'E2BIG');
});

test('array update with unknown flags or F_LOCK fails with EINVAL', () => {
  const { map } = create({ type: MapType.ARRAY });
  throwsErrno(() => map.update(u32(0), u64(1), 3), 'EINVAL', 'flags 3');
  throwsErrno(() => map.update(u32(0), u64(1), UpdateFlags.F_LOCK), 'EINVAL', 'F_LOCK without a spin lock');
});

test('array delete fails with EINVAL', () => {
  const { map } = create({ type: MapType.ARRAY });
  throwsErrno(() => map.delete(u32(0)), 'EINVAL');
});

test('array operations with a wrong key or value length fail with EINVAL', () => {
  const { map } = create({ type: MapType.ARRAY });
  throwsErrno(() => map.lookup(new Uint8Array(8)), 'EINVAL', 'long key');
  throwsErrno(() => map.update(u32(0), new Uint8Array(4)), 'EINVAL', 'short value');
});

test('array lookup-and-delete is not supported', () => {
  const { map } = create({ type: MapType.ARRAY });
  throwsErrno(() => map.lookupAndDelete(u32(0)), 'ENOTSUPP');
});

test('array nextKey visits every index once, in order', () => {
  const { map } = create({ type: MapType.ARRAY });
  assert.deepEqual(keysHex(map), ['00000000', '01000000', '02000000', '03000000']);
});

test('array nextKey of the last index is the end, of an index beyond the end is index 0', () => {
  const { map } = create({ type: MapType.ARRAY });
  assert.equal(map.nextKey(u32(3)), undefined);
  assert.equal(hex(map.nextKey(u32(100))), '00000000');
});

test('per-CPU array values are separate per CPU and padded to 8 bytes in user space', () => {
  const { map } = create({ type: MapType.PERCPU_ARRAY, valueSize: 4 }, 3);
  assert.equal(map.userValueSize, 24);
  const all = new Uint8Array(24);
  all.set(u32(11), 0);
  all.set(u32(22), 8);
  all.set(u32(33), 16);
  map.update(u32(1), all);
  assert.equal(hex(map.lookup(u32(1))), hex(all));
  throwsErrno(() => map.update(u32(1), new Uint8Array(12)), 'EINVAL', 'unpadded per-CPU value');
});

test('per-CPU array lookups from programs return each CPU its own copy', () => {
  const { map, memory } = create({ type: MapType.PERCPU_ARRAY, valueSize: 4 }, 2);
  const key = place(memory, u32(2));
  const cpu0 = map.lookupFromProgram(key, 0);
  const cpu1 = map.lookupFromProgram(key, 1);
  assert.notEqual(cpu0, cpu1);
  memory.view.setUint32(cpu1, 99, true);
  const value = map.lookup(u32(2)) as Uint8Array;
  assert.deepEqual([new DataView(value.buffer).getUint32(0, true), new DataView(value.buffer).getUint32(8, true)], [0, 99]);
  assert.equal(map.lookupFromProgram(key, 2), 0, 'a CPU the context lacks finds nothing');
});

test('per-CPU array updates from programs write only the current CPU', () => {
  const { map, memory } = create({ type: MapType.PERCPU_ARRAY, valueSize: 4 }, 2);
  assert.equal(map.updateFromProgram(place(memory, u32(0)), place(memory, u32(5)), 0, 1), 0);
  assert.equal(hex(map.lookup(u32(0))), '0000000000000000' + '0500000000000000');
});

test('array lookup from a program returns the address of the stored value', () => {
  const { map, memory } = create({ type: MapType.ARRAY });
  map.update(u32(1), u64(0xabcdef));
  const address = map.lookupFromProgram(place(memory, u32(1)), 0);
  assert.notEqual(address, 0);
  assert.equal(address % 8, 0, 'values are 8-byte aligned');
  assert.equal(readU64(memory.read(address, 8)), 0xabcdef);
});

test('writes through a looked-up array pointer are seen by user space', () => {
  const { map, memory } = create({ type: MapType.ARRAY });
  const address = map.lookupFromProgram(place(memory, u32(3)), 0);
  memory.view.setBigUint64(address, 42n, true);
  assert.equal(readU64(map.lookup(u32(3)) as Uint8Array), 42);
});

test('array lookup from a program with an index beyond the end returns 0', () => {
  const { map, memory } = create({ type: MapType.ARRAY });
  assert.equal(map.lookupFromProgram(place(memory, u32(4)), 0), 0);
});

test('array updates and deletes from programs return Linux error codes', () => {
  const { map, memory } = create({ type: MapType.ARRAY });
  const value = place(memory, u64(9));
  assert.equal(map.updateFromProgram(place(memory, u32(9)), value, 0, 0), -7, 'E2BIG');
  assert.equal(map.updateFromProgram(place(memory, u32(0)), value, UpdateFlags.NOEXIST, 0), -17, 'EEXIST');
  assert.equal(map.updateFromProgram(place(memory, u32(0)), value, 5, 0), -22, 'EINVAL');
  assert.equal(map.deleteFromProgram(place(memory, u32(0)), 0), -22, 'delete is EINVAL');
  assert.equal(map.updateFromProgram(place(memory, u32(0)), value, UpdateFlags.ANY, 0), 0);
  assert.equal(readU64(map.lookup(u32(0)) as Uint8Array), 9);
});

test('for-each over an array passes a key slot in memory and stops when the callback says so', () => {
  const { map, memory } = create({ type: MapType.ARRAY });
  for (let i = 0; i < 4; i++) map.update(u32(i), u64(i * 10));
  const seen: [number, number][] = [];
  const visited = map.forEachFromProgram(0, (key, value) => {
    seen.push([memory.view.getUint32(key, true), Number(memory.view.getBigUint64(value, true))]);
    return seen.length < 3;
  });
  assert.equal(visited, 3);
  assert.deepEqual(seen, [[0, 0], [1, 10], [2, 20]]);
});

test('array batch lookup returns elements in pages that resume at nextKey', () => {
  const { map } = create({ type: MapType.ARRAY });
  for (let i = 0; i < 4; i++) map.update(u32(i), u64(i + 1));
  const first = map.lookupBatch({ count: 3 });
  assert.deepEqual(first.values.map((v) => readU64(v)), [1, 2, 3]);
  assert.equal(hex(first.nextKey), '03000000');
  const rest = map.lookupBatch({ startKey: first.nextKey, count: 3 });
  assert.deepEqual(rest.values.map((v) => readU64(v)), [4]);
  assert.equal(rest.nextKey, undefined);
});

test('array batch update applies elements in order and reports how many before an error', () => {
  const { map } = create({ type: MapType.ARRAY });
  assert.equal(map.updateBatch([u32(0), u32(1)], [u64(5), u64(6)]), 2);
  const error = throwsErrno(() => map.updateBatch([u32(2), u32(9), u32(3)], [u64(1), u64(1), u64(1)]), 'E2BIG');
  assert.equal(error.applied, 1);
  assert.equal(readU64(map.lookup(u32(2)) as Uint8Array), 1, 'the element before the failure was written');
  assert.equal(readU64(map.lookup(u32(3)) as Uint8Array), 0, 'elements after the failure were not');
  throwsErrno(() => map.updateBatch([u32(0)], []), 'EINVAL', 'keys and values differ in number');
});

test('a frozen array refuses user-space writes with EPERM but programs still write', () => {
  const { map, memory } = create({ type: MapType.ARRAY });
  map.freeze();
  throwsErrno(() => map.update(u32(0), u64(1)), 'EPERM');
  throwsErrno(() => map.freeze(), 'EBUSY', 'freezing twice');
  assert.equal(map.updateFromProgram(place(memory, u32(0)), place(memory, u64(3)), 0, 0), 0);
  assert.equal(readU64(map.lookup(u32(0)) as Uint8Array), 3);
});

test('RDONLY and WRONLY maps refuse user-space writes and reads with EPERM', () => {
  const ro = create({ type: MapType.ARRAY, flags: MapFlags.RDONLY }).map;
  throwsErrno(() => ro.update(u32(0), u64(1)), 'EPERM', 'write to RDONLY');
  assert.ok(ro.lookup(u32(0)));
  const wo = create({ type: MapType.ARRAY, flags: MapFlags.WRONLY }).map;
  throwsErrno(() => wo.lookup(u32(0)), 'EPERM', 'read from WRONLY');
  throwsErrno(() => wo.nextKey(), 'EPERM', 'iterate WRONLY');
  wo.update(u32(0), u64(1));
});

test('array value addresses follow the documented layout', () => {
  const { map, memory } = create({ type: MapType.PERCPU_ARRAY, valueSize: 12 }, 3);
  const array = map as ArrayMap;
  const key = place(memory, u32(2));
  assert.equal(array.stride, 16);
  assert.equal(map.lookupFromProgram(key, 1), array.values + (2 * 3 + 1) * 16);
  assert.equal(memory.view.getUint32(map.address + 32, true), array.values);
});
