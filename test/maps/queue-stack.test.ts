import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType, UpdateFlags, type BpfMap } from '../../src/maps/index.js';
import { create, place, readU32, throwsErrno, u32 } from './support.js';

const none = new Uint8Array(0);

function make(type: number, maxEntries = 3) {
  return create({ type, keySize: 0, valueSize: 4, maxEntries });
}

const popAll = (map: BpfMap) => {
  const out: number[] = [];
  for (;;) {
    try {
      out.push(readU32(map.lookupAndDelete(none)));
    } catch {
      return out;
    }
  }
};

test('a queue pops values in the order they were pushed', () => {
  const { map } = make(MapType.QUEUE);
  for (const v of [1, 2, 3]) map.update(none, u32(v));
  assert.deepEqual(popAll(map), [1, 2, 3]);
});

test('a stack pops values in reverse push order', () => {
  const { map } = make(MapType.STACK);
  for (const v of [1, 2, 3]) map.update(none, u32(v));
  assert.deepEqual(popAll(map), [3, 2, 1]);
});

for (const [type, kind] of [[MapType.QUEUE, 'queue'], [MapType.STACK, 'stack']] as const) {
  test(`${kind}: push into a full map fails with E2BIG`, () => {
    const { map } = make(type);
    for (const v of [1, 2, 3]) map.update(none, u32(v));
    throwsErrno(() => map.update(none, u32(4)), 'E2BIG');
  });

  test(`${kind}: push with EXIST into a full map drops the oldest value`, () => {
    const { map } = make(type);
    for (const v of [1, 2, 3]) map.update(none, u32(v));
    map.update(none, u32(4), UpdateFlags.EXIST);
    assert.deepEqual(popAll(map).sort(), [2, 3, 4]);
  });

  test(`${kind}: push with NOEXIST fails with EINVAL`, () => {
    const { map } = make(type);
    throwsErrno(() => map.update(none, u32(1), UpdateFlags.NOEXIST), 'EINVAL');
  });

  test(`${kind}: lookup peeks without removing, and an empty map has nothing to peek`, () => {
    const { map } = make(type);
    assert.equal(map.lookup(none), undefined);
    map.update(none, u32(7));
    assert.equal(readU32(map.lookup(none) as Uint8Array), 7);
    assert.equal(readU32(map.lookup(none) as Uint8Array), 7);
  });

  test(`${kind}: pop of an empty map fails with ENOENT`, () => {
    const { map } = make(type);
    throwsErrno(() => map.lookupAndDelete(none), 'ENOENT');
  });

  test(`${kind}: delete and key iteration fail with EINVAL, and keys must be empty`, () => {
    const { map } = make(type);
    throwsErrno(() => map.delete(none), 'EINVAL', 'delete');
    throwsErrno(() => map.nextKey(), 'EINVAL', 'nextKey');
    throwsErrno(() => map.update(u32(0), u32(1)), 'EINVAL', 'a 4-byte key');
  });

  test(`${kind}: programs push, peek and pop through memory`, () => {
    const { map, memory } = make(type, 2);
    assert.equal(map.pushFromProgram(place(memory, u32(5)), 0), 0);
    assert.equal(map.pushFromProgram(place(memory, u32(6)), 0), 0);
    assert.equal(map.pushFromProgram(place(memory, u32(7)), 0), -7, 'E2BIG when full');
    assert.equal(map.pushFromProgram(place(memory, u32(7)), UpdateFlags.NOEXIST), -22, 'EINVAL for NOEXIST');
    const out = place(memory, u32(0));
    assert.equal(map.peekFromProgram(out), 0);
    const first = memory.view.getUint32(out, true);
    assert.equal(first, type === MapType.QUEUE ? 5 : 6);
    assert.equal(map.popFromProgram(out), 0);
    assert.equal(memory.view.getUint32(out, true), first, 'pop returns what peek showed');
    assert.equal(map.popFromProgram(out), 0);
    assert.equal(map.popFromProgram(out), -2, 'ENOENT when empty');
    assert.equal(map.peekFromProgram(out), -2, 'ENOENT when empty');
    assert.equal(map.lookupFromProgram(out, 0), 0, 'map_lookup_elem finds nothing in a queue or stack');
    assert.equal(map.updateFromProgram(out, out, 0, 0), -22);
  });
}

test('a queue keeps FIFO order across many wrap-arounds of its ring', () => {
  const { map } = make(MapType.QUEUE, 3);
  const popped: number[] = [];
  for (let v = 0; v < 20; v++) {
    map.update(none, u32(v));
    if (v % 2 === 1) popped.push(readU32(map.lookupAndDelete(none)), readU32(map.lookupAndDelete(none)));
  }
  assert.deepEqual(popped, Array.from({ length: 20 }, (_, i) => i));
});

test('a stack overwritten with EXIST drops its bottom value, not its top', () => {
  const { map } = make(MapType.STACK, 2);
  map.update(none, u32(1));
  map.update(none, u32(2));
  map.update(none, u32(3), UpdateFlags.EXIST);
  assert.deepEqual(popAll(map), [3, 2]);
});

test('non-queue maps refuse push, pop and peek from programs with EINVAL', () => {
  const { map, memory } = create({ type: MapType.HASH });
  const at = place(memory, u32(0));
  assert.deepEqual([map.pushFromProgram(at, 0), map.popFromProgram(at), map.peekFromProgram(at)], [-22, -22, -22]);
});
