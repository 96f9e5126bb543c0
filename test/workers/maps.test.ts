// Maps used from several threads directly (user-space operations in JS workers), and the
// attach machinery that rebuilds maps in another thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { HashMap, MapRegistry, MapType, QueueStackMap, type BpfMap } from '../../src/maps/index.js';
import { attachMaps, shareMaps } from '../../src/runtime/workers/index.js';
import { LinearMemory } from '../../src/vm/memory.js';
import type { StressReport, StressTask } from './stress-worker.js';
import { u32 } from './support.js';

function runWorkers(tasks: Omit<StressTask, 'worker' | 'barrier' | 'init'>[], registry: MapRegistry): Promise<StressReport[]> {
  const barrier = new SharedArrayBuffer(4);
  return Promise.all(
    tasks.map(
      (task, worker) =>
        new Promise<StressReport>((resolve, reject) => {
          const w = new Worker(new URL('./stress-worker.js', import.meta.url), { workerData: { ...task, worker, barrier, init: shareMaps(registry, 65536) } });
          w.once('message', (report: StressReport) => {
            resolve(report);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
}

for (const type of [MapType.HASH, MapType.LRU_HASH]) {
  const kind = type === MapType.HASH ? 'hash map' : 'LRU hash map';
  test(`a ${kind} hammered by two threads with updates and deletes on the same keys stays consistent`, async () => {
    const memory = new LinearMemory({ maximumPages: 256 });
    const registry = new MapRegistry(memory, { cpus: 2 });
    const MAX = 48;
    const KEYS = 64;
    const map = registry.create({ name: 'stress', type, keySize: 4, valueSize: 8, maxEntries: MAX, flags: 0 }) as HashMap;
    const operations = 60_000;
    const reports = await runWorkers(
      [0, 1].map(() => ({ mapId: map.id, mode: 'hash' as const, operations, keys: KEYS })),
      registry,
    );
    if (type === MapType.HASH) assert.ok(reports.some((r) => r.full > 0), 'the map filled up at times (the free queue was exercised)');
    else assert.deepEqual(reports.map((r) => r.full), [0, 0], 'an LRU map evicts instead of refusing');
    const seen = new Set<number>();
    for (const [key, value] of map.entries()) {
      const k = new DataView(key.buffer).getUint32(0, true);
      assert.ok(!seen.has(k), `key ${k} appears once`);
      seen.add(k);
      const v = new DataView(value.buffer);
      assert.equal(v.getUint16(0, true), k, `key ${k} holds a value written for it`);
      assert.ok(v.getUint16(2, true) < 2 && v.getUint32(4, true) < operations, `key ${k} holds a value some worker wrote`);
    }
    assert.equal(map.count, seen.size, 'count() is the number of distinct live keys');
    // No entry leaked or handed out twice: a hash map takes exactly MAX - count fresh keys; an
    // LRU map takes MAX fresh keys and then holds exactly those (its recency list is intact).
    let inserted = 0;
    for (let k = 1000; k < 1000 + MAX + 1 && inserted < MAX; k++) {
      try {
        map.update(u32(k), new Uint8Array(8));
        inserted++;
      } catch {
        break;
      }
    }
    assert.equal(inserted, type === MapType.HASH ? MAX - seen.size : MAX);
    assert.equal(map.count, MAX);
    if (type === MapType.LRU_HASH) {
      const keys = [...map.keys()].map((k) => new DataView(k.buffer).getUint32(0, true)).sort((a, b) => a - b);
      assert.deepEqual(keys, Array.from({ length: MAX }, (_, i) => 1000 + i));
    }
  });
}

test('a queue used by two threads at once hands every pushed value out exactly once, in each pusher\'s order', async () => {
  const memory = new LinearMemory({ maximumPages: 256 });
  const registry = new MapRegistry(memory, { cpus: 2 });
  const queue = registry.create({ name: 'q', type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 32, flags: 0 }) as QueueStackMap;
  const reports = await runWorkers(
    [0, 1].map(() => ({ mapId: queue.id, mode: 'queue' as const, operations: 40_000, keys: 0 })),
    registry,
  );
  const popped = reports.flatMap((r) => r.popped);
  const rest: number[] = [];
  for (let n = queue.count; n > 0; n--) rest.push(new DataView(queue.lookupAndDelete(new Uint8Array(0)).buffer).getUint32(0, true));
  const all = [...popped, ...rest];
  assert.equal(all.length, reports[0].full + reports[1].full, 'as many values out as went in');
  assert.equal(new Set(all).size, all.length, 'no value twice');
  // FIFO: within one popper's sequence, each pusher's values come in increasing order.
  for (const sequence of [...reports.map((r) => r.popped), rest]) {
    const last = [-1, -1];
    for (const v of sequence) {
      const pusher = v >>> 24;
      assert.ok((v & 0xffffff) > last[pusher], 'per-pusher FIFO order');
      last[pusher] = v & 0xffffff;
    }
  }
});

function describeMaps(registry: MapRegistry): string[] {
  return [...registry].map((m: BpfMap) => `${m.id} ${m.name} ${m.spec.type} 0x${m.address.toString(16)}`);
}

test('attach rebuilds every map over the same memory with the same ids, addresses and contents', () => {
  const memory = new LinearMemory({ maximumPages: 256 });
  const registry = new MapRegistry(memory, { cpus: 2 });
  const hash = registry.create({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, flags: 0 });
  const array = registry.create({ name: 'a', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
  const lpm = registry.create({ name: 'l', type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, flags: 1 });
  registry.create({ name: 'r', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
  registry.create({ name: 'p', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
  registry.create({ name: 's', type: MapType.STACK, keySize: 0, valueSize: 4, maxEntries: 2, flags: 0 });
  hash.update(u32(7), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  array.update(u32(1), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]));
  lpm.update(new Uint8Array([24, 0, 0, 0, 10, 1, 2, 0]), u32(99));
  const share = shareMaps(registry, 65536);
  const before = memory.read(0, memory.size);
  const { maps } = attachMaps(share);
  assert.deepEqual(describeMaps(maps), describeMaps(registry));
  assert.deepEqual(maps.byId(hash.id)?.lookup(u32(7)), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.deepEqual(maps.byId(array.id)?.lookup(u32(1)), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]));
  assert.deepEqual(maps.byId(lpm.id)?.lookup(new Uint8Array([32, 0, 0, 0, 10, 1, 2, 3])), u32(99));
  // Attaching (and reading through the attached maps) wrote nothing below the new arena.
  const arenaStart = share.arena.start;
  assert.ok(memory.read(0, arenaStart).every((byte, i) => byte === before[i]), 'the maps\' blocks are untouched');
  // Writes through either side are seen by the other.
  maps.byId(hash.id)?.update(u32(8), new Uint8Array(8).fill(9));
  assert.deepEqual(hash.lookup(u32(8)), new Uint8Array(8).fill(9));
  assert.throws(() => maps.create({ name: 'x', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 }), /attached registry/);
});
