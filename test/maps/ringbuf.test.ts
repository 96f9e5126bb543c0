import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { MapType, RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RingBufFlags, RingBufMap, RingBufQuery } from '../../src/maps/index.js';
import { context, place, throwsErrno, u32 } from './support.js';

function ring(size = 4096) {
  const { registry, memory } = context();
  const map = registry.create({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0 }) as RingBufMap;
  return { registry, memory, map };
}

/** Reserves a record of `size` bytes filled with `fill`; returns its address. */
function reserve(map: RingBufMap, size: number, fill: number): number {
  const address = map.reserveFromProgram(size, 0);
  assert.notEqual(address, 0, `reserve of ${size} bytes failed`);
  map.registry.memory.bytes.fill(fill, address, address + size);
  return address;
}

const drain = (map: RingBufMap) => {
  const out: number[][] = [];
  map.consume((r) => out.push([r.length, r[0] ?? -1]));
  return out;
};

test('ring buffer records reach the consumer in reservation order', () => {
  const { map } = ring();
  for (const [size, fill] of [[3, 1], [16, 2], [1, 3]]) map.submitFromProgram(reserve(map, size, fill), 0);
  assert.deepEqual(drain(map), [[3, 1], [16, 2], [1, 3]]);
  assert.deepEqual(drain(map), [], 'consumed records are gone');
});

test('the ring buffer consumer stops at a record still reserved', () => {
  const { map } = ring();
  const first = reserve(map, 8, 1);
  const second = reserve(map, 8, 2);
  map.submitFromProgram(second, 0);
  assert.deepEqual(drain(map), [], 'the second record waits for the first');
  map.submitFromProgram(first, 0);
  assert.deepEqual(drain(map), [[8, 1], [8, 2]]);
});

test('discarded ring buffer records are skipped', () => {
  const { map } = ring();
  map.submitFromProgram(reserve(map, 4, 1), 0);
  map.discardFromProgram(reserve(map, 4, 2), 0);
  map.submitFromProgram(reserve(map, 4, 3), 0);
  assert.equal(map.consume(() => undefined), 2);
  map.submitFromProgram(reserve(map, 4, 4), 0);
  assert.deepEqual(drain(map), [[4, 4]]);
});

test('record headers hold the length with busy and discard bits, as in Linux', () => {
  const { map, memory } = ring();
  const a = reserve(map, 5, 0);
  assert.equal(memory.view.getUint32(a - 8, true), (5 | RINGBUF_BUSY_BIT) >>> 0);
  const b = reserve(map, 3, 0);
  assert.equal(b - a, 16, 'records are rounded up to 8 bytes, header included');
  map.submitFromProgram(a, 0);
  map.discardFromProgram(b, 0);
  assert.equal(memory.view.getUint32(a - 8, true), 5);
  assert.equal(memory.view.getUint32(b - 8, true), (3 | RINGBUF_DISCARD_BIT) >>> 0);
});

test('ring buffer reserve returns 0 when the ring is full, and succeeds again once consumed', () => {
  const { map } = ring(4096);
  // Three records of 1024 + 8 bytes leave 4096 - 3096 - 1 bytes: not enough for a fourth.
  for (let i = 0; i < 3; i++) map.submitFromProgram(reserve(map, 1024, i), 0);
  assert.equal(map.reserveFromProgram(1024, 0), 0);
  assert.notEqual(map.reserveFromProgram(900, 0), 0, 'a smaller record still fits');
  assert.equal(map.reserveFromProgram(100, 0), 0);
  assert.equal(map.consume(() => undefined), 3);
  assert.notEqual(map.reserveFromProgram(1024, 0), 0);
});

test('ring buffer reserve returns 0 for nonzero flags or a record larger than the ring', () => {
  const { map } = ring(4096);
  assert.equal(map.reserveFromProgram(8, 1), 0);
  assert.equal(map.reserveFromProgram(4096, 0), 0);
  // The producer may never be a whole ring ahead of the consumer (Linux: new_prod - cons > mask).
  assert.equal(map.reserveFromProgram(4096 - 8, 0), 0, 'a record filling the ring exactly');
  assert.notEqual(map.reserveFromProgram(4096 - 16, 0), 0, 'the largest record that fits');
});

test('ring buffer records wrap around the end of the ring contiguously and intact', () => {
  const { map, memory } = ring(4096);
  let straddled = false;
  const received: number[] = [];
  for (let i = 0; i < 40; i++) {
    const size = 700 + ((i * 37) % 200);
    const address = reserve(map, size, i);
    if (address + size > map.data + map.size) straddled = true;
    memory.view.setUint32(address + size - 4, 0xc0ffee00 + i, true);
    map.submitFromProgram(address, 0);
    map.consume((r) => {
      assert.ok(r.subarray(0, r.length - 4).every((b) => b === r[0]), `record ${r[0]} keeps its bytes`);
      assert.equal(new DataView(r.buffer).getUint32(r.length - 4, true), 0xc0ffee00 + r[0], 'its last bytes too');
      received.push(r[0]);
    });
  }
  assert.ok(straddled, 'some record ran past the end of the ring');
  assert.deepEqual(received, Array.from({ length: 40 }, (_, i) => i));
});

test('ring buffer output copies data into a record, or returns -EAGAIN when full', () => {
  const { map, memory } = ring(4096);
  const data = place(memory, new Uint8Array([9, 8, 7]));
  assert.equal(map.outputFromProgram(data, 3, 0), 0);
  assert.equal(map.outputFromProgram(data, 3, 4), -22, 'unknown flags');
  assert.equal(map.outputFromProgram(data, 4000, 0), 0);
  assert.equal(map.outputFromProgram(data, 100, 0), -11, 'EAGAIN');
  const records: number[][] = [];
  map.consume((r) => records.push([...r.subarray(0, 3)]));
  assert.deepEqual(records[0], [9, 8, 7]);
  assert.equal(records.length, 2);
});

test('ring buffer query reports available data, size and positions', () => {
  const { map } = ring(8192);
  map.submitFromProgram(reserve(map, 10, 1), 0);
  map.submitFromProgram(reserve(map, 30, 2), 0);
  assert.equal(map.queryFromProgram(RingBufQuery.AVAIL_DATA), 24 + 40);
  assert.equal(map.queryFromProgram(RingBufQuery.RING_SIZE), 8192);
  assert.equal(map.queryFromProgram(RingBufQuery.PROD_POS), 64);
  assert.equal(map.queryFromProgram(RingBufQuery.CONS_POS), 0);
  map.consume(() => undefined);
  assert.equal(map.queryFromProgram(RingBufQuery.CONS_POS), 64);
  assert.equal(map.queryFromProgram(RingBufQuery.AVAIL_DATA), 0);
  assert.equal(map.queryFromProgram(9), 0, 'an unknown query');
});

test('a reserved record leads back to its ring buffer; anything else does not', () => {
  const { registry, map, memory } = ring();
  const other = registry.create({ name: 'other', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 }) as RingBufMap;
  const record = reserve(other, 16, 0);
  assert.equal(RingBufMap.fromRecord(registry, record), other);
  assert.ok(other.containsRecord(record));
  assert.ok(!map.containsRecord(record));
  assert.equal(RingBufMap.fromRecord(registry, place(memory, u32(0)) + 8), undefined);
  other.submitFromProgram(record, 0);
  assert.equal(RingBufMap.fromRecord(registry, record), undefined, 'a submitted record is no longer reserved');
  assert.throws(() => other.submitFromProgram(record, 0), /not a record reserved/, 'submitting twice');
});

test('ring buffers refuse key-value operations with ENOTSUPP', () => {
  const { map } = ring();
  const none = new Uint8Array(0);
  throwsErrno(() => map.lookup(none), 'ENOTSUPP', 'lookup');
  throwsErrno(() => map.update(none, none), 'ENOTSUPP', 'update');
  throwsErrno(() => map.delete(none), 'ENOTSUPP', 'delete');
  throwsErrno(() => map.nextKey(), 'ENOTSUPP', 'nextKey');
  assert.equal(map.lookupFromProgram(1, 0), 0);
});

test('the ring buffer async iterator yields records as they are submitted', async () => {
  const { map } = ring();
  const iterator = map.records();
  const pending = iterator.next();
  await tick();
  map.submitFromProgram(reserve(map, 4, 7), 0);
  const first = await pending;
  assert.equal(first.done, false);
  assert.equal(first.value?.[0], 7);
  map.submitFromProgram(reserve(map, 4, 8), 0);
  assert.equal((await iterator.next()).value?.[0], 8, 'a record already there is yielded at once');
  await iterator.return?.();
  assert.equal((await iterator.next()).done, true, 'the iterator ends when returned');
});

test('BPF_RB_NO_WAKEUP leaves the consumer asleep until a forced wakeup', async () => {
  const { map } = ring();
  let settled = false;
  const pending = map
    .records()
    .next()
    .then((r) => {
      settled = true;
      return r;
    });
  map.submitFromProgram(reserve(map, 4, 1), RingBufFlags.NO_WAKEUP);
  await tick();
  assert.equal(settled, false, 'no wakeup was sent');
  map.submitFromProgram(reserve(map, 4, 2), RingBufFlags.FORCE_WAKEUP);
  assert.equal((await pending).value?.[0], 1);
});

test('aborting the signal ends a waiting ring buffer iterator', async () => {
  const { map } = ring();
  const controller = new AbortController();
  const pending = map.records({ signal: controller.signal }).next();
  controller.abort();
  assert.equal((await pending).done, true);
});

test('for-await over ring buffer records sees every record once', async () => {
  const { map } = ring();
  const producer = (async () => {
    for (let i = 0; i < 5; i++) {
      await tick();
      map.submitFromProgram(reserve(map, 2, i), 0);
    }
  })();
  const seen: number[] = [];
  for await (const record of map.records()) {
    seen.push(record[0]);
    if (seen.length === 5) break;
  }
  await producer;
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});
