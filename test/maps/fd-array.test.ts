import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayOfMapsMap, HashOfMapsMap, MapFlags, MapType, ProgArrayMap, UpdateFlags, type MapSpec } from '../../src/maps/index.js';
import { context, place, readU32, throwsErrno, u32, u64 } from './support.js';

function progArray(exists?: (id: number) => boolean) {
  const { registry, memory } = context();
  if (exists) registry.programExists = exists;
  const map = registry.create({ name: 'jmp', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }) as ProgArrayMap;
  return { registry, memory, map };
}

test('a prog array stores program ids that programAt returns for tail calls', () => {
  const { map } = progArray((id) => id === 7);
  map.update(u32(2), u32(7));
  assert.equal(map.programAt(2), 7);
  assert.equal(map.programAt(1), undefined, 'an empty slot');
  assert.equal(map.programAt(4), undefined, 'beyond max_entries');
  assert.equal(readU32(map.lookup(u32(2)) as Uint8Array), 7, 'user space reads the program id');
});

test('a prog array refuses ids that registry.programExists does not know, with EINVAL', () => {
  const { map } = progArray((id) => id === 7);
  throwsErrno(() => map.update(u32(0), u32(8)), 'EINVAL');
  throwsErrno(() => map.update(u32(0), u32(0)), 'EINVAL', 'id 0');
  assert.equal(map.programAt(0), undefined);
});

test('a prog array takes only BPF_ANY updates and in-range indexes', () => {
  const { map } = progArray(() => true);
  throwsErrno(() => map.update(u32(0), u32(1), UpdateFlags.NOEXIST), 'EINVAL');
  throwsErrno(() => map.update(u32(4), u32(1)), 'E2BIG');
});

test('deleting a prog array slot empties it; deleting an empty slot fails with ENOENT', () => {
  const { map } = progArray(() => true);
  map.update(u32(1), u32(3));
  map.delete(u32(1));
  assert.equal(map.programAt(1), undefined);
  throwsErrno(() => map.delete(u32(1)), 'ENOENT');
  throwsErrno(() => map.delete(u32(9)), 'E2BIG');
});

test('programs cannot look up, update or delete prog array slots', () => {
  const { map, memory } = progArray(() => true);
  map.update(u32(0), u32(3));
  const key = place(memory, u32(0));
  assert.equal(map.lookupFromProgram(key, 0), 0);
  assert.equal(map.updateFromProgram(key, place(memory, u32(3)), 0, 0), -22);
  assert.equal(map.deleteFromProgram(key, 0), -22);
});

test('prog array nextKey visits every index', () => {
  const { map } = progArray(() => true);
  assert.deepEqual([...map.keys()].map((k) => readU32(k)), [0, 1, 2, 3]);
});

const template: MapSpec = { name: 'inner', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 };

function outer(type: number, innerMap: MapSpec = template) {
  const { registry, memory } = context();
  const map = registry.create({ name: 'outer', type, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0, innerMap });
  return { registry, memory, map };
}

for (const type of [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS]) {
  const kind = type === MapType.ARRAY_OF_MAPS ? 'array of maps' : 'hash of maps';

  test(`${kind}: user space stores and reads back inner map ids`, () => {
    const { registry, map } = outer(type);
    const inner = registry.create(template);
    map.update(u32(1), u32(inner.id));
    assert.equal(readU32(map.lookup(u32(1)) as Uint8Array), inner.id);
  });

  test(`${kind}: a program lookup returns the inner map's header address`, () => {
    const { registry, memory, map } = outer(type);
    const inner = registry.create(template);
    map.update(u32(1), u32(inner.id));
    const address = map.lookupFromProgram(place(memory, u32(1)), 0);
    assert.equal(address, inner.address);
    assert.equal(registry.byAddress(address), inner);
    assert.equal(map.lookupFromProgram(place(memory, u32(2)), 0), 0, 'an empty slot or missing key gives NULL');
  });

  test(`${kind}: an id with no map fails with EINVAL`, () => {
    const { map } = outer(type);
    throwsErrno(() => map.update(u32(0), u32(99)), 'EINVAL');
  });

  const mismatches: [string, Partial<MapSpec>][] = [
    ['type', { type: MapType.HASH }],
    ['key size', { type: MapType.HASH, keySize: 8 }],
    ['value size', { valueSize: 16 }],
    ['flags', { flags: MapFlags.RDONLY_PROG }],
    ['max_entries of an array', { maxEntries: 3 }],
  ];
  for (const [what, change] of mismatches) {
    test(`${kind}: an inner map whose ${what} differs from the template fails with EINVAL`, () => {
      const { registry, map } = outer(type);
      const wrong = registry.create({ ...template, ...change });
      throwsErrno(() => map.update(u32(0), u32(wrong.id)), 'EINVAL');
      assert.equal(map.lookup(u32(0)), undefined, 'nothing was stored');
    });
  }

  test(`${kind}: with BPF_F_INNER_MAP, inner arrays may differ in max_entries`, () => {
    const flexible = { ...template, flags: MapFlags.INNER_MAP };
    const { registry, map } = outer(type, flexible);
    const bigger = registry.create({ ...flexible, maxEntries: 100 });
    map.update(u32(0), u32(bigger.id));
    assert.equal(readU32(map.lookup(u32(0)) as Uint8Array), bigger.id);
  });

  test(`${kind}: inner hashes may differ in max_entries`, () => {
    const hashTemplate = { ...template, type: MapType.HASH };
    const { registry, map } = outer(type, hashTemplate);
    const bigger = registry.create({ ...hashTemplate, maxEntries: 100 });
    map.update(u32(0), u32(bigger.id));
    assert.equal(readU32(map.lookup(u32(0)) as Uint8Array), bigger.id);
  });

  test(`${kind}: deleting an entry empties it`, () => {
    const { registry, map, memory } = outer(type);
    map.update(u32(1), u32(registry.create(template).id));
    map.delete(u32(1));
    assert.equal(map.lookup(u32(1)), undefined);
    assert.equal(map.lookupFromProgram(place(memory, u32(1)), 0), 0);
    throwsErrno(() => map.delete(u32(1)), 'ENOENT');
  });

  test(`${kind}: programs cannot update or delete entries`, () => {
    const { registry, map, memory } = outer(type);
    const inner = registry.create(template);
    const key = place(memory, u32(0));
    assert.equal(map.updateFromProgram(key, place(memory, u32(inner.address)), 0, 0), -22);
    assert.equal(map.deleteFromProgram(key, 0), -22);
  });
}

test('array of maps: mapAt returns the inner map object', () => {
  const { registry, map } = outer(MapType.ARRAY_OF_MAPS);
  const inner = registry.create(template);
  map.update(u32(3), u32(inner.id));
  assert.equal((map as ArrayOfMapsMap).mapAt(3), inner);
  assert.equal((map as ArrayOfMapsMap).mapAt(2), undefined);
});

test('hash of maps: update flags and capacity follow hash semantics', () => {
  const { registry, map } = outer(MapType.HASH_OF_MAPS);
  const inner = registry.create(template);
  throwsErrno(() => map.update(u32(1), u32(inner.id), UpdateFlags.EXIST), 'ENOENT');
  map.update(u32(1), u32(inner.id), UpdateFlags.NOEXIST);
  throwsErrno(() => map.update(u32(1), u32(inner.id), UpdateFlags.NOEXIST), 'EEXIST');
  for (const k of [2, 3, 4]) map.update(u32(k), u32(inner.id));
  throwsErrno(() => map.update(u32(5), u32(inner.id)), 'E2BIG');
  assert.equal((map as HashOfMapsMap).mapAt(u32(4)), inner);
  assert.deepEqual([...map.entries()].map(([, v]) => readU32(v)), [inner.id, inner.id, inner.id, inner.id]);
});

test('array of maps: only BPF_ANY updates are accepted', () => {
  const { registry, map } = outer(MapType.ARRAY_OF_MAPS);
  const inner = registry.create(template);
  throwsErrno(() => map.update(u32(0), u32(inner.id), UpdateFlags.NOEXIST), 'EINVAL');
  throwsErrno(() => map.update(u32(9), u32(inner.id)), 'E2BIG');
  throwsErrno(() => map.update(u32(0), u64(inner.id)), 'EINVAL', 'an 8-byte value');
});
