// The same loaded program in two worker threads at once, on the same maps: counts must be exact.
// Programs: test/fixtures/workers/workers.c.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HashMap, RingBufMap } from '../../src/maps/index.js';
import { WorkerPool } from '../../src/runtime/workers/index.js';
import { ENGINES } from '../../src/vm/jit/engine.js';
import { loadWorkersObject, u32, u64At } from './support.js';

const THREADS = 2;
const XDP_PASS = 2n;
const packet = new Uint8Array(64);

for (const engine of ENGINES) {
  test(`lock xadd on an array value from two threads loses no increment (${engine})`, async () => {
    const { object } = loadWorkersObject(THREADS);
    const pool = await WorkerPool.start(object.program('count'), { threads: THREADS, engine });
    try {
      const iterations = 100_000;
      const result = await pool.run({ data: packet, iterationsPerThread: iterations });
      assert.deepEqual(result.threads.map((t) => t.cpu), [0, 1]);
      for (const t of result.threads) {
        assert.equal(t.returnValue, XDP_PASS);
        assert.equal(t.returnName, 'XDP_PASS');
        assert.equal(t.iterations, iterations);
      }
      assert.equal(u64At(object.map('counter').lookup(u32(0)) as Uint8Array), BigInt(iterations * THREADS));
    } finally {
      await pool.close();
    }
  });

  test(`per-CPU array slots each hold exactly their own thread's count without atomics (${engine})`, async () => {
    const { object } = loadWorkersObject(THREADS);
    const pool = await WorkerPool.start(object.program('percpu_count'), { threads: THREADS, engine });
    try {
      await pool.run({ data: packet, iterationsPerThread: 50_000 });
      await pool.run({ data: packet, iterationsPerThread: 30_000 });
      const all = object.map('percpu_counter').lookup(u32(0)) as Uint8Array;
      assert.equal(all.length, 8 * THREADS);
      for (let cpu = 0; cpu < THREADS; cpu++) assert.equal(u64At(all, cpu * 8), 80_000n, `CPU ${cpu}'s slot`);
    } finally {
      await pool.close();
    }
  });

  test(`hash counters inserted with NOEXIST and bumped atomically from two threads are exact (${engine})`, async () => {
    const KEYS = 16;
    const { object } = loadWorkersObject(THREADS);
    const counters = object.map('counters') as HashMap;
    const pool = await WorkerPool.start(object.program('hash_count'), { threads: THREADS, engine });
    try {
      const iterations = 40_000;
      const result = await pool.run({ data: packet, iterationsPerThread: iterations });
      for (const t of result.threads) assert.equal(t.returnValue, XDP_PASS, 'no key went missing after its insert');
      assert.equal(counters.count, KEYS, 'one element per key');
      const keys = [...counters.keys()].map((k) => new DataView(k.buffer).getUint32(0, true)).sort((a, b) => a - b);
      assert.deepEqual(keys, Array.from({ length: KEYS }, (_, i) => i), 'each key exactly once');
      for (const key of keys) {
        assert.equal(u64At(counters.lookup(u32(key)) as Uint8Array), BigInt((iterations * THREADS) / KEYS), `count of key ${key}`);
      }
    } finally {
      await pool.close();
    }
  });

  test(`ring buffer records from two concurrent producers arrive once each, in per-thread order (${engine})`, async () => {
    const { object } = loadWorkersObject(THREADS);
    const ring = object.map('events') as RingBufMap;
    const perThread = 15_000;
    const total = perThread * THREADS;
    const pool = await WorkerPool.start(object.program('ring_produce'), { threads: THREADS, engine });
    const next = new Array<bigint>(THREADS).fill(0n);
    let received = 0;
    const check = (record: Uint8Array) => {
      assert.equal(record.length, 16, 'record size');
      const view = new DataView(record.buffer, record.byteOffset, 16);
      const cpu = view.getUint32(0, true);
      assert.ok(cpu < THREADS, `CPU ${cpu}`);
      assert.equal(view.getUint32(4, true), 0x5a5a5a5a, 'marker');
      assert.equal(view.getBigUint64(8, true), next[cpu], `CPU ${cpu}'s next sequence number`);
      next[cpu]++;
      received++;
    };
    const abort = new AbortController();
    try {
      // The consumer drains while the producers run (woken across threads), then takes the rest.
      const consumer = (async () => {
        for await (const record of ring.records({ signal: abort.signal })) {
          check(record);
          if (received === total) break;
        }
      })();
      // A failed check must fail this test, not crash the process as an unhandled rejection.
      consumer.catch(() => undefined);
      const result = await pool.run({ data: packet, iterationsPerThread: perThread });
      for (const t of result.threads) assert.equal(t.returnValue, XDP_PASS, 'no output failed for lack of room');
      const deadline = setTimeout(() => abort.abort(), 5000);
      await consumer;
      clearTimeout(deadline);
      ring.consume(check);
      assert.equal(received, total);
      assert.deepEqual(next, new Array<bigint>(THREADS).fill(BigInt(perThread)));
      assert.equal(ring.consume(() => assert.fail('no record may be delivered twice')), 0);
    } finally {
      abort.abort();
      await pool.close();
    }
  });
}

test('a pool needs one CPU of the context per thread', async () => {
  const { object } = loadWorkersObject(1);
  await assert.rejects(WorkerPool.start(object.program('count'), { threads: 2 }), /2 threads need 2 CPUs, the context has 1/);
});

test('a pool runs the program again and again, and refuses runs once closed', async () => {
  const { object } = loadWorkersObject(THREADS);
  const pool = await WorkerPool.start(object.program('count'), { threads: THREADS });
  for (let round = 1; round <= 3; round++) await pool.run({ data: packet, iterationsPerThread: 1000 });
  assert.equal(u64At(object.map('counter').lookup(u32(0)) as Uint8Array), 6000n);
  await pool.close();
  await assert.rejects(pool.run({ data: packet }), /closed/);
});
