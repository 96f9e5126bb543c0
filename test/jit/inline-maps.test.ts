// Map lookups the JIT compiles into WebAssembly (array, per-CPU array and the four hash map types)
// give what the helper gives: same value addresses for present keys, null for absent ones, odd key
// lengths included, per CPU for per-CPU maps, the same recency marks in LRU maps, and the same when
// other threads may share the map (misses then go through the helper).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleBytes } from '../../src/isa/index.js';
import { buildHelperRegistry } from '../../src/helpers/index.js';
import { Worker } from 'node:worker_threads';
import { HashEntry, HashLayout, LruLinks, LruList, MapFlags, MapRegistry, MapType, type BpfMap, type HashMap } from '../../src/maps/index.js';
import { shareMaps } from '../../src/runtime/workers/index.js';
import { LinearMemory } from '../../src/vm/memory.js';
import type { LruStressReport, LruStressTask } from './lru-stress-worker.js';
import { u32 } from '../workers/support.js';
import { ExecutionContext } from '../../src/runtime/index.js';
import { createEngine, prepareProgram, type PreparedProgram } from '../../src/vm/index.js';
import { seededRandom } from '../support/random.js';

for (const shared of [false, true]) {
  for (const [type, keySize] of [[MapType.HASH, 6], [MapType.HASH, 4], [MapType.HASH, 13], [MapType.ARRAY, 4]] as const) {
    test(`inline lookups on ${type === MapType.HASH ? 'a hash' : 'an array'} map with ${keySize}-byte keys agree with the helper${shared ? ' (memory shared with threads)' : ''}`, () => {
      const context = new ExecutionContext({ memory: { initialPages: 4, maximumPages: 64 } });
      if (shared) context.memory.markShared();
      const map = context.maps.create({ name: 'm', type, keySize, valueSize: 8, maxEntries: 32, flags: 0 });
      const random = seededRandom(0x1a9 + keySize);
      const keys = Array.from({ length: 64 }, (_, i) => (type === MapType.ARRAY ? Uint8Array.of(i, 0, 0, 0) : Uint8Array.from({ length: keySize }, () => Math.floor(random() * 4))));
      keys.slice(0, 24).forEach((key, i) => {
        const value = new Uint8Array(8);
        new DataView(value.buffer).setBigUint64(0, BigInt(1000 + i), true);
        try {
          map.update(key, value);
        } catch {
          // duplicate random key: fine
        }
      });
      // r0 = the value for the key r1 points at, or -1 when the lookup misses.
      const source = `mov %r2, %r1\nlddw %r1, ${map.address}\ncall 1\njeq %r0, 0, +2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, -1\nexit`;
      const prepared = prepareProgram(assembleBytes(source), { helpers: buildHelperRegistry(context.host, 'linux', 'xdp') });
      const engines = (['interpreter', 'jit'] as const).map((kind) => createEngine(kind, prepared, { memory: context.memory }));
      const keyAt = context.memory.alloc(16, 8);
      for (const key of keys) {
        context.memory.write(keyAt, key);
        const [interpreted, compiled] = engines.map((e) => e.run({ r1: keyAt }));
        assert.equal(compiled, interpreted, `key ${Buffer.from(key).toString('hex')}`);
        const stored = map.lookup(key);
        assert.equal(interpreted, stored === undefined ? 0xffffffffffffffffn : new DataView(stored.buffer, stored.byteOffset).getBigUint64(0, true));
      }
    });
  }
}

test('per-CPU array lookups and bpf_get_smp_processor_id in JIT code use the CPU the engine runs as', () => {
  const context = new ExecutionContext({ cpus: 3 });
  const map = context.maps.create({ name: 'p', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
  // Each CPU's slot of key 2 holds 100 + cpu (values are padded to 8 bytes per CPU).
  const value = new Uint8Array(24);
  for (let cpu = 0; cpu < 3; cpu++) new DataView(value.buffer).setBigUint64(8 * cpu, BigInt(100 + cpu), true);
  map.update(Uint8Array.of(2, 0, 0, 0), value);
  // r0 = value[2] * 16 + cpu id
  const source = `stw [%r10-4], 2\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, ${map.address}\ncall 1\njeq %r0, 0, +5\nldxdw %r6, [%r0+0]\nlsh %r6, 4\ncall 8\nadd %r0, %r6\nexit\nmov %r0, -1\nexit`;
  const prepared = prepareProgram(assembleBytes(source), { helpers: buildHelperRegistry(context.host, 'linux', 'xdp') });
  for (let cpu = 0; cpu < 3; cpu++) {
    const [interpreted, compiled] = (['interpreter', 'jit'] as const).map((kind) => createEngine(kind, prepared, { memory: context.memory, cpu }).run());
    assert.equal(interpreted, BigInt((100 + cpu) * 16 + cpu), `interpreter on cpu ${cpu}`);
    assert.equal(compiled, interpreted, `jit on cpu ${cpu}`);
  }
});

const HASH_KINDS = [
  ['PERCPU_HASH', MapType.PERCPU_HASH, 0],
  ['LRU_HASH', MapType.LRU_HASH, 0],
  ['LRU_HASH with NO_COMMON_LRU', MapType.LRU_HASH, MapFlags.NO_COMMON_LRU],
  ['LRU_PERCPU_HASH', MapType.LRU_PERCPU_HASH, 0],
  ['LRU_PERCPU_HASH with NO_COMMON_LRU', MapType.LRU_PERCPU_HASH, MapFlags.NO_COMMON_LRU],
] as const;

const perCpuType = (type: number): boolean => type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;

/** Programs over `map` taking a pointer in r1: lookup (r0 = the value address or 0) and update (key at r1, value at r1 + 8). */
function lookupAndUpdate(context: ExecutionContext, map: BpfMap): { lookup: PreparedProgram; update: PreparedProgram } {
  const helpers = buildHelperRegistry(context.host, 'linux', 'xdp');
  const lookup = prepareProgram(assembleBytes(`mov %r2, %r1\nlddw %r1, ${map.address}\ncall 1\nexit`), { helpers });
  const update = prepareProgram(assembleBytes(`mov %r2, %r1\nmov %r3, %r1\nadd %r3, 8\nlddw %r1, ${map.address}\nmov %r4, 0\ncall 2\nexit`), { helpers });
  return { lookup, update };
}

for (const shared of [false, true]) {
  for (const [name, type, flags] of HASH_KINDS) {
    test(`inline lookups on a ${name} map return the helper's value address on every CPU${shared ? ' (memory shared with threads)' : ''}`, () => {
      const cpus = 3;
      const context = new ExecutionContext({ cpus, memory: { initialPages: 4, maximumPages: 64 } });
      if (shared) context.memory.markShared();
      // 6-byte keys and 12-byte values: the key offset (16 or 24) and the value stride (16) both matter.
      // User-space inserts all go to CPU 0's list with NO_COMMON_LRU: room for 32 there, no eviction.
      const map = context.maps.create({ name: 'h', type, keySize: 6, valueSize: 12, maxEntries: 32 * cpus, flags });
      const random = seededRandom(0x5eed + type + flags);
      const keys = Array.from({ length: 40 }, () => Uint8Array.from({ length: 6 }, () => Math.floor(random() * 5)));
      const present = new Map<string, number>();
      keys.slice(0, 20).forEach((key, i) => {
        const hex = Buffer.from(key).toString('hex');
        if (present.has(hex)) return;
        present.set(hex, i);
        // Per-CPU maps take every CPU's copy (16 bytes apart); CPU c's starts with 1000 * c + i.
        const value = new Uint8Array(perCpuType(type) ? 16 * cpus : 12);
        for (let c = 0; c < (perCpuType(type) ? cpus : 1); c++) new DataView(value.buffer).setBigUint64(16 * c, BigInt(1000 * c + i), true);
        map.update(key, value);
      });
      const { lookup } = lookupAndUpdate(context, map);
      const keyAt = context.memory.alloc(16, 8);
      // CPU 3 does not exist: per-CPU maps answer null there.
      for (let cpu = 0; cpu <= cpus; cpu++) {
        const engines = (['interpreter', 'jit'] as const).map((kind) => createEngine(kind, lookup, { memory: context.memory, cpu }));
        for (const key of keys) {
          const hex = Buffer.from(key).toString('hex');
          context.memory.write(keyAt, key);
          const [interpreted, compiled] = engines.map((e) => e.run({ r1: keyAt }));
          assert.equal(compiled, interpreted, `key ${hex} on cpu ${cpu}: JIT address vs interpreter address`);
          // An LRU mark takes the lock only for a moment (a leak would hang the next miss).
          assert.equal(context.memory.view.getUint32(map.address + HashLayout.LOCK, true) & 1, 0, `key ${hex} on cpu ${cpu}: the lock stays held`);
          const i = present.get(hex);
          if (i === undefined || (perCpuType(type) && cpu >= cpus)) {
            assert.equal(compiled, 0n, `key ${hex} on cpu ${cpu} should miss`);
          } else {
            assert.notEqual(compiled, 0n, `key ${hex} on cpu ${cpu} should hit`);
            const expected = BigInt(perCpuType(type) ? 1000 * cpu + i : i);
            assert.equal(context.memory.view.getBigUint64(Number(compiled), true), expected, `value of key ${hex} on cpu ${cpu}`);
          }
        }
      }
    });
  }
}

/**
 * On a fresh context: inserts keys 1-4 from a program, looks up 1, 3, 3 (already the most
 * recent), 9 (absent) and 2 from a program on `engine`, then inserts 5-8 and returns the key each
 * insert evicted. `holdLock`: the lookups (hits only) run while the map's lock word is held (by
 * "another thread"), so they must not mark anything.
 */
function evictionOrder(engine: 'interpreter' | 'jit', type: number, flags: number, shared: boolean, holdLock = false): number[] {
  const cpus = 2;
  const cpu = 1;
  const context = new ExecutionContext({ cpus, memory: { initialPages: 4, maximumPages: 64 } });
  if (shared) context.memory.markShared();
  const listCount = flags & MapFlags.NO_COMMON_LRU ? cpus : 1;
  const map = context.maps.create({ name: 'lru', type, keySize: 4, valueSize: 8, maxEntries: 4 * listCount, flags });
  const { lookup, update } = lookupAndUpdate(context, map);
  const [looker, updater] = [lookup, update].map((p) => createEngine(engine, p, { memory: context.memory, cpu }));
  const at = context.memory.alloc(16, 8);
  const put = (k: number): void => {
    context.memory.view.setUint32(at, k, true);
    context.memory.view.setBigUint64(at + 8, BigInt(k * 10), true);
    assert.equal(updater.run({ r1: at }), 0n, `insert ${k}`);
  };
  const keysNow = (): number[] => [...map.keys()].map((k) => new DataView(k.buffer, k.byteOffset).getUint32(0, true)).sort((a, b) => a - b);
  for (let k = 1; k <= 4; k++) put(k);
  const lockAt = map.address + HashLayout.LOCK;
  const lockBefore = context.memory.view.getUint32(lockAt, true);
  if (holdLock) context.memory.view.setUint32(lockAt, lockBefore + 1, true);
  // A miss while the lock is held would wait for it (the helper re-checks misses under the lock).
  for (const k of holdLock ? [1, 3, 3, 2] : [1, 3, 3, 9, 2]) {
    context.memory.view.setUint32(at, k, true);
    const address = looker.run({ r1: at });
    // A lock the lookup took and kept would hang the next miss: fail instead.
    if (!holdLock) assert.equal(context.memory.view.getUint32(lockAt, true) & 1, 0, `${engine}: the lookup of ${k} left the lock held`);
    if (k === 9) assert.equal(address, 0n, `${engine}: key 9 is absent`);
    else assert.equal(context.memory.view.getBigUint64(Number(address), true), BigInt(k * 10), `${engine}: value of key ${k}`);
  }
  if (holdLock) {
    assert.equal(context.memory.view.getUint32(lockAt, true), lockBefore + 1, `${engine}: a lookup changed a lock it does not hold`);
    context.memory.view.setUint32(lockAt, lockBefore, true);
  } else {
    // Each mark takes and releases the lock: the word moves on by two, and stays even (free).
    assert.equal(context.memory.view.getUint32(lockAt, true) & 1, 0, `${engine}: lookups left the lock held`);
  }
  const evicted: number[] = [];
  for (let k = 5; k <= 8; k++) {
    const before = keysNow();
    put(k);
    const after = keysNow();
    evicted.push(...before.filter((x) => !after.includes(x)));
  }
  return evicted;
}

for (const shared of [false, true]) {
  for (const [name, type, flags] of HASH_KINDS.filter(([, t]) => t !== MapType.PERCPU_HASH)) {
    test(`lookups from JIT code mark ${name} entries used as the interpreter does: same eviction order${shared ? ' (memory shared with threads)' : ''}`, () => {
      const interpreted = evictionOrder('interpreter', type, flags, shared);
      assert.deepEqual(interpreted, [4, 1, 3, 2], 'interpreter eviction order');
      assert.deepEqual(evictionOrder('jit', type, flags, shared), interpreted, 'JIT eviction order');
    });
  }
}

for (const [name, type, flags] of HASH_KINDS.filter(([, t]) => t !== MapType.PERCPU_HASH)) {
  test(`lookups from JIT code on a ${name} map whose lock another thread holds still hit but mark nothing`, () => {
    const interpreted = evictionOrder('interpreter', type, flags, true, true);
    assert.deepEqual(interpreted, [1, 2, 3, 4], 'interpreter eviction order');
    assert.deepEqual(evictionOrder('jit', type, flags, true, true), interpreted, 'JIT eviction order');
  });
}

/** Walks every recency list of the LRU map at `map` from both ends; returns the entries linked. */
function checkRecencyLists(view: DataView, map: BpfMap): number {
  const lists = view.getUint32(map.address + HashLayout.LISTS, true);
  const listCount = view.getUint32(map.address + HashLayout.LIST_COUNT, true);
  let linked = 0;
  for (let l = 0; l < listCount; l++) {
    const list = lists + l * LruList.SIZE;
    let previous = 0;
    let n = 0;
    for (let e = view.getUint32(list + LruList.MRU, true); e !== 0; e = view.getUint32(e + LruLinks.NEXT, true)) {
      assert.ok(n++ <= map.spec.maxEntries, `list ${l} loops`);
      assert.equal(view.getUint32(e + LruLinks.PREV, true), previous, `list ${l}: the entry at 0x${e.toString(16)} links back to its neighbour`);
      assert.equal(view.getUint32(e + HashEntry.STATE, true), 1, `list ${l}: the entry at 0x${e.toString(16)} is in use`);
      previous = e;
    }
    assert.equal(view.getUint32(list + LruList.LRU, true), previous, `list ${l}: its LRU end is its last entry`);
    linked += n;
  }
  return linked;
}

for (const engine of ['interpreter', 'jit'] as const) {
  for (const [name, type, flags] of HASH_KINDS.filter(([, t]) => t !== MapType.PERCPU_HASH)) {
    test(`a ${name} map whose entries two threads look up (marking them used), update and delete from ${engine} code keeps intact recency lists`, async () => {
      const workers = 2;
      const memory = new LinearMemory({ maximumPages: 256 });
      const registry = new MapRegistry(memory, { cpus: workers });
      const MAX = 48;
      const map = registry.create({ name: 'lru', type, keySize: 4, valueSize: 8, maxEntries: MAX, flags });
      const barrier = new SharedArrayBuffer(4);
      const reports = await Promise.all(
        Array.from(
          { length: workers },
          (_, worker) =>
            new Promise<LruStressReport>((resolve, reject) => {
              const task: LruStressTask = { init: shareMaps(registry, 65536), mapId: map.id, engine, worker, workers, operations: 40_000, keys: 64, barrier };
              const w = new Worker(new URL('./lru-stress-worker.js', import.meta.url), { workerData: task });
              w.once('message', (report: LruStressReport) => {
                resolve(report);
                void w.terminate();
              });
              w.once('error', reject);
            }),
        ),
      );
      assert.deepEqual(reports.map((r) => r.failedUpdates), [0, 0], 'an LRU map evicts instead of refusing');
      assert.ok(reports.every((r) => r.hits > 1000), `lookups hit (${reports.map((r) => r.hits).join(', ')})`);
      const count = (map as HashMap).count;
      assert.equal(checkRecencyLists(memory.view, map), count, 'every element is on exactly one recency list');
      const keys = [...map.keys()].map((k) => new DataView(k.buffer).getUint32(0, true));
      assert.equal(new Set(keys).size, keys.length, 'no key twice');
      assert.equal(keys.length, count, 'count() is the number of live keys');
      // Each CPU's copy holds the key (written by that CPU) or 0 (never written there); one holds the key.
      for (const k of keys) {
        const value = map.lookup(u32(k)) ?? new Uint8Array(0);
        const copies = Array.from({ length: value.length / 8 }, (_, c) => new DataView(value.buffer, value.byteOffset).getUint32(8 * c, true));
        assert.ok(copies.every((v) => v === 0 || v === k) && copies.includes(k), `key ${k} holds its own value, not ${copies.join(', ')}`);
      }
    });
  }
}
