import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { LinearMemory } from '../../src/vm/memory.js';
import { MapRegistry, MapType, PERF_CURRENT_CPU, PerfEventArrayMap } from '../../src/maps/index.js';
import { place, throwsErrno, u32 } from './support.js';

function perf(cpus = 2, maxEntries = 4, perfBufferSize = 4096) {
  const memory = new LinearMemory({ initialPages: 1, maximumPages: 4 });
  const registry = new MapRegistry(memory, { cpus, perfBufferSize });
  const map = registry.create({ name: 'events', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries, flags: 0 }) as PerfEventArrayMap;
  return { memory, map };
}

const drain = (map: PerfEventArrayMap) => {
  const out: [number, number][] = [];
  map.consume((cpu, r) => out.push([cpu, r[0]]));
  return out;
};

test('perf output with BPF_F_CURRENT_CPU goes to the buffer of the running CPU', () => {
  const { map, memory } = perf();
  const data = (n: number) => place(memory, new Uint8Array([n, 0, 0]));
  assert.equal(map.outputFromProgram(1, PERF_CURRENT_CPU, data(10), 3), 0);
  assert.equal(map.outputFromProgram(0, PERF_CURRENT_CPU, data(20), 3), 0);
  assert.equal(map.outputFromProgram(1, PERF_CURRENT_CPU, data(11), 3), 0);
  assert.deepEqual(drain(map), [[0, 20], [1, 10], [1, 11]]);
});

test('perf records carry exactly the bytes output, followed by appended context bytes', () => {
  const { map, memory } = perf();
  map.outputFromProgram(0, PERF_CURRENT_CPU, place(memory, new Uint8Array([1, 2, 3])), 3, new Uint8Array([9, 9]));
  const records: number[][] = [];
  map.consume((_, r) => records.push([...r]));
  assert.deepEqual(records, [[1, 2, 3, 9, 9]]);
});

test('perf output to an explicit index works only for the running CPU', () => {
  const { map, memory } = perf(2, 4);
  const data = place(memory, u32(1));
  assert.equal(map.outputFromProgram(1, 1, data, 4), 0, 'its own index');
  assert.equal(map.outputFromProgram(0, 1, data, 4), -95, "another CPU's buffer: EOPNOTSUPP");
  assert.equal(map.outputFromProgram(0, 3, data, 4), -2, 'an index with no CPU: ENOENT');
  assert.equal(map.outputFromProgram(0, 4, data, 4), -7, 'beyond max_entries: E2BIG');
  assert.equal(map.outputFromProgram(0, 1n << 60n, data, 4), -22, 'unknown flag bits: EINVAL');
  assert.equal(map.outputFromProgram(0, (5n << 32n) | BigInt(PERF_CURRENT_CPU), data, 4), 0, 'context length bits are the helper’s business');
});

test('a full perf buffer drops records and counts them as lost', () => {
  const { map, memory } = perf(1, 1, 256);
  const data = place(memory, new Uint8Array(100));
  // Each record takes 8 + roundup8(4 + 100) = 120 bytes of the 256.
  assert.equal(map.outputFromProgram(0, PERF_CURRENT_CPU, data, 100), 0);
  assert.equal(map.outputFromProgram(0, PERF_CURRENT_CPU, data, 100), 0);
  assert.equal(map.outputFromProgram(0, PERF_CURRENT_CPU, data, 100), -28, 'ENOSPC');
  assert.equal(map.lostRecords(0), 1);
  assert.equal(map.lostRecords(), 1);
  assert.equal(map.consume(() => undefined), 2);
  assert.equal(map.outputFromProgram(0, PERF_CURRENT_CPU, data, 100), 0, 'consuming frees the space');
});

test('the perf async iterator yields records with their CPU as they are output', async () => {
  const { map, memory } = perf();
  const iterator = map.records();
  const pending = iterator.next();
  await tick();
  map.outputFromProgram(1, PERF_CURRENT_CPU, place(memory, new Uint8Array([42])), 1);
  const { value } = await pending;
  assert.equal(value?.cpu, 1);
  assert.deepEqual([...(value?.data ?? [])], [42]);
});

test('perf event arrays refuse user-space lookups and updates', () => {
  const { map } = perf();
  throwsErrno(() => map.lookup(u32(0)), 'ENOTSUPP');
  throwsErrno(() => map.update(u32(0), u32(3)), 'EOPNOTSUPP');
  throwsErrno(() => map.delete(u32(0)), 'EOPNOTSUPP');
  assert.deepEqual([...map.keys()].length, 4, 'indexes can still be iterated');
});
