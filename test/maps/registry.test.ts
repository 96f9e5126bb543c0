import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearMemory } from '../../src/vm/memory.js';
import { ERRNO, MapError, MapFlags, MapHeader, MapRegistry, MapType, type Errno, type MapSpec } from '../../src/maps/index.js';
import { context, throwsErrno } from './support.js';

const base: MapSpec = { name: 'm', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 };
const inner: MapSpec = { name: 'inner', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 };

const invalid: [string, Partial<MapSpec>, Errno, RegExp][] = [
  ['an unknown map type', { type: 99 }, 'EINVAL', /unsupported map type 99/],
  ['a negative key size', { keySize: -1 }, 'EINVAL', /keySize/],
  ['a fractional max_entries', { maxEntries: 1.5 }, 'EINVAL', /maxEntries/],
  ['a name with a dash', { name: 'my-map' }, 'EINVAL', /name/],
  ['RDONLY together with WRONLY', { flags: MapFlags.RDONLY | MapFlags.WRONLY }, 'EINVAL', /read-only and write-only/],
  ['RDONLY_PROG together with WRONLY_PROG', { flags: MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG }, 'EINVAL', /read-only and write-only/],
  ['an array key size other than 4', { type: MapType.ARRAY, keySize: 8 }, 'EINVAL', /keySize must be 4/],
  ['an array with value size 0', { type: MapType.ARRAY, valueSize: 0 }, 'EINVAL', /valueSize/],
  ['an array with max_entries 0', { type: MapType.ARRAY, maxEntries: 0 }, 'EINVAL', /maxEntries/],
  ['an array with NO_PREALLOC', { type: MapType.ARRAY, flags: MapFlags.NO_PREALLOC }, 'EINVAL', /flags 0x1/],
  ['an array value larger than kmalloc can hold', { type: MapType.ARRAY, valueSize: (1 << 22) + 1 }, 'E2BIG', /valueSize/],
  ['a per-CPU array value over 32 KiB', { type: MapType.PERCPU_ARRAY, valueSize: 32769 }, 'E2BIG', /per-CPU valueSize/],
  ['a per-CPU array that is MMAPABLE', { type: MapType.PERCPU_ARRAY, flags: MapFlags.MMAPABLE }, 'EINVAL', /MMAPABLE/],
  ['PRESERVE_ELEMS on an array', { type: MapType.ARRAY, flags: MapFlags.PRESERVE_ELEMS }, 'EINVAL', /PRESERVE_ELEMS/],
  ['a hash with key size 0', { keySize: 0 }, 'EINVAL', /keySize must not be 0/],
  ['a hash with value size 0', { valueSize: 0 }, 'EINVAL', /valueSize must not be 0/],
  ['a hash with max_entries 0', { maxEntries: 0 }, 'EINVAL', /maxEntries/],
  ['a hash with MMAPABLE', { flags: MapFlags.MMAPABLE }, 'EINVAL', /flags 0x400/],
  ['NO_COMMON_LRU on a plain hash', { flags: MapFlags.NO_COMMON_LRU }, 'EINVAL', /NO_COMMON_LRU/],
  ['NO_PREALLOC on an LRU hash', { type: MapType.LRU_HASH, flags: MapFlags.NO_PREALLOC }, 'ENOTSUPP', /NO_PREALLOC/],
  ['a hash key and value near kmalloc size', { keySize: 1 << 21, valueSize: 1 << 21 }, 'E2BIG', /keySize \+ valueSize/],
  ['a per-CPU hash value over 32 KiB', { type: MapType.PERCPU_HASH, valueSize: 40000 }, 'E2BIG', /per-CPU valueSize/],
  ['an LPM trie without NO_PREALLOC', { type: MapType.LPM_TRIE, keySize: 8 }, 'EINVAL', /NO_PREALLOC/],
  ['an LPM trie key shorter than 5 bytes', { type: MapType.LPM_TRIE, keySize: 4, flags: MapFlags.NO_PREALLOC }, 'EINVAL', /keySize must be 5 to 260/],
  ['an LPM trie key longer than 260 bytes', { type: MapType.LPM_TRIE, keySize: 261, flags: MapFlags.NO_PREALLOC }, 'EINVAL', /keySize must be 5 to 260/],
  ['an LPM trie with value size 0', { type: MapType.LPM_TRIE, keySize: 8, valueSize: 0, flags: MapFlags.NO_PREALLOC }, 'EINVAL', /valueSize/],
  ['a queue with a key', { type: MapType.QUEUE, keySize: 4 }, 'EINVAL', /keySize must be 0/],
  ['a stack with value size 0', { type: MapType.STACK, keySize: 0, valueSize: 0 }, 'EINVAL', /valueSize/],
  ['a queue with NO_PREALLOC', { type: MapType.QUEUE, keySize: 0, flags: MapFlags.NO_PREALLOC }, 'EINVAL', /flags 0x1/],
  ['a ring buffer that is not a power of two', { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 3 * 4096 }, 'EINVAL', /power of two/],
  ['a ring buffer smaller than a page', { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1024 }, 'EINVAL', /multiple of 4096/],
  ['a ring buffer with a key', { type: MapType.RINGBUF, keySize: 4, valueSize: 0, maxEntries: 4096 }, 'EINVAL', /keySize must be 0/],
  ['a ring buffer with a value', { type: MapType.RINGBUF, keySize: 0, valueSize: 4, maxEntries: 4096 }, 'EINVAL', /valueSize must be 0/],
  ['a prog array value other than 4', { type: MapType.PROG_ARRAY, valueSize: 8 }, 'EINVAL', /valueSize must be 4/],
  ['a prog array with RDONLY_PROG', { type: MapType.PROG_ARRAY, valueSize: 4, flags: MapFlags.RDONLY_PROG }, 'EINVAL', /RDONLY_PROG/],
  ['a perf event array value other than 4', { type: MapType.PERF_EVENT_ARRAY, valueSize: 8 }, 'EINVAL', /valueSize must be 4/],
  ['an array of maps without innerMap', { type: MapType.ARRAY_OF_MAPS, valueSize: 4 }, 'EINVAL', /innerMap .* is required/],
  ['a hash of maps value other than 4', { type: MapType.HASH_OF_MAPS, valueSize: 8, innerMap: inner }, 'EINVAL', /valueSize must be 4/],
  ['a map of maps inside a map of maps', { type: MapType.ARRAY_OF_MAPS, valueSize: 4, innerMap: { ...inner, type: MapType.HASH_OF_MAPS, innerMap: inner } }, 'EINVAL', /cannot itself be a map of maps/],
  ['a prog array as inner map', { type: MapType.ARRAY_OF_MAPS, valueSize: 4, innerMap: { ...inner, type: MapType.PROG_ARRAY } }, 'ENOTSUPP', /PROG_ARRAY/],
  ['an invalid inner map template', { type: MapType.ARRAY_OF_MAPS, valueSize: 4, innerMap: { ...inner, keySize: 8 } }, 'EINVAL', /"inner" \(ARRAY\): keySize must be 4/],
  ['innerMap on a plain hash', { innerMap: inner }, 'EINVAL', /innerMap is only for/],
];

for (const [what, change, errno, message] of invalid) {
  test(`creation refuses ${what} with ${errno}`, () => {
    const { registry } = context();
    const error = throwsErrno(() => registry.create({ ...base, ...change }), errno);
    assert.match(error.message, message);
    assert.equal(registry.size, 0, 'no map may be registered after a failed creation');
  });
}

test('MapError carries the positive Linux errno number', () => {
  const { registry } = context();
  const error = throwsErrno(() => registry.create({ ...base, keySize: 0 }), 'EINVAL');
  assert.equal(error.code, 22);
  assert.equal(ERRNO.ENOTSUPP, 524);
  assert.ok(error instanceof MapError && error instanceof Error);
});

test('creation fails with ENOMEM when linear memory cannot hold the preallocated storage', () => {
  const memory = new LinearMemory({ initialPages: 1, maximumPages: 2 });
  const registry = new MapRegistry(memory);
  const before = memory.mark();
  throwsErrno(() => registry.create({ ...base, type: MapType.ARRAY, maxEntries: 100_000 }), 'ENOMEM');
  throwsErrno(() => registry.create({ ...base, maxEntries: 10_000 }), 'ENOMEM');
  assert.equal(memory.mark(), before, 'a failed creation must give its memory back');
  assert.ok(registry.create({ ...base, type: MapType.ARRAY, maxEntries: 16 }), 'a small map still fits');
});

test('a per-CPU LRU with NO_COMMON_LRU rounds max_entries up to a multiple of the CPU count', () => {
  const { registry } = context(4);
  const map = registry.create({ ...base, type: MapType.LRU_PERCPU_HASH, maxEntries: 10, flags: MapFlags.NO_COMMON_LRU });
  assert.equal(map.spec.maxEntries, 12);
});

test('maps get increasing ids and are found by id and by header address', () => {
  const { registry } = context();
  const a = registry.create({ ...base, name: 'a' });
  const b = registry.create({ ...base, name: 'b', type: MapType.ARRAY });
  assert.deepEqual([a.id, b.id], [1, 2]);
  assert.equal(registry.byId(2), b);
  assert.equal(registry.byAddress(a.address), a);
  assert.equal(registry.byAddress(a.address + 8), undefined);
  assert.deepEqual([...registry].map((m) => m.name), ['a', 'b']);
});

test('the map header in linear memory describes the map', () => {
  const { registry, memory } = context(2);
  const map = registry.create({ ...base, type: MapType.PERCPU_HASH, keySize: 6, valueSize: 12, maxEntries: 7, flags: MapFlags.ZERO_SEED });
  const view = memory.view;
  const field = (offset: number) => view.getUint32(map.address + offset, true);
  assert.equal(map.address % 8, 0, 'header is 8-byte aligned');
  assert.deepEqual(
    [field(MapHeader.TYPE), field(MapHeader.KEY_SIZE), field(MapHeader.VALUE_SIZE), field(MapHeader.MAX_ENTRIES), field(MapHeader.FLAGS), field(MapHeader.ID), field(MapHeader.CPUS)],
    [MapType.PERCPU_HASH, 6, 12, 7, MapFlags.ZERO_SEED, map.id, 2],
  );
  map.freeze();
  assert.equal(field(MapHeader.STATE) & 1, 1, 'freezing sets the state bit');
});

test('the spec a map keeps is a frozen copy', () => {
  const { registry } = context();
  const spec = { ...base };
  const map = registry.create(spec);
  spec.maxEntries = 99;
  assert.equal(map.spec.maxEntries, 4);
  assert.ok(Object.isFrozen(map.spec));
});

test('registry options are checked', () => {
  const memory = new LinearMemory({ initialPages: 1, maximumPages: 2 });
  assert.throws(() => new MapRegistry(memory, { cpus: 0 }), RangeError);
  assert.equal(new MapRegistry(memory).cpus, 1);
});

for (const shared of [true, false]) {
  test(`maps keep working after ${shared ? 'shared' : 'unshared'} linear memory grows`, () => {
    const memory = new LinearMemory({ initialPages: 1, maximumPages: 8, shared });
    const registry = new MapRegistry(memory);
    const hash = registry.create({ ...base, flags: MapFlags.ZERO_SEED });
    const array = registry.create({ ...base, type: MapType.ARRAY });
    hash.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array(8).fill(1));
    const firstKey = memory.alloc(4);
    memory.view.setUint32(firstKey, 1, true);
    assert.notEqual(hash.lookupFromProgram(firstKey, 0), 0);
    assert.notEqual(array.lookupFromProgram(firstKey, 0), 0);
    const before = memory.size;
    memory.alloc(3 * 65536);
    const key = memory.alloc(4);
    assert.ok(memory.size > before && key > before, 'the key lies beyond the old end of memory');
    memory.view.setUint32(key, 1, true);
    const value = hash.lookupFromProgram(key, 0);
    assert.equal(memory.view.getUint8(value), 1, 'lookup with a key in the new memory');
    assert.equal(array.updateFromProgram(key, value, 0, 0), 0, 'update with addresses in the new memory');
    assert.equal(array.lookup(new Uint8Array([1, 0, 0, 0]))?.[0], 1);
  });
}
