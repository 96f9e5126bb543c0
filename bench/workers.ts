// Multi-core throughput (a benchmark, not a test): the counter program (lock xadd on an array
// value) and the hash-counter program of test/fixtures/workers/workers.c run in 1 and 2 worker
// threads on the same maps, on both engines, plus the single-thread cost of the map operations
// the threads contend on (before and after the maps are shared with other threads).
//   node dist/bench/workers.js [--iterations N]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObject } from '../src/elf/index.js';
import { MapType } from '../src/maps/index.js';
import { ExecutionContext, loadObject, type LoadedProgram } from '../src/runtime/index.js';
import { WorkerPool } from '../src/runtime/workers/index.js';
import { ENGINES, type Engine } from '../src/vm/jit/engine.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OBJECT = new Uint8Array(readFileSync(join(ROOT, 'test', 'fixtures', 'workers', 'workers.o')));

const args = process.argv.slice(2);
const at = args.indexOf('--iterations');
const iterations = at >= 0 ? Number(args[at + 1]) : 200_000;

/** A program of test/fixtures/workers/workers.c, loaded into a fresh two-CPU context. */
const program = (name: string) => (ctx: ExecutionContext): LoadedProgram => loadObject(openObject(OBJECT, { path: 'workers.o' }), ctx).program(name);

async function measure(name: string, engine: Engine, build: (ctx: ExecutionContext) => LoadedProgram): Promise<void> {
  for (const threads of [1, 2]) {
    const ctx = new ExecutionContext({ cpus: 2 });
    const program = build(ctx);
    const pool = await WorkerPool.start(program, { threads, engine });
    try {
      await pool.run({ data: new Uint8Array(64), iterationsPerThread: Math.min(iterations, 20_000) }); // warm-up
      const result = await pool.run({ data: new Uint8Array(64), iterationsPerThread: iterations });
      const perRun = result.threads.map((t) => (t.durationNs / t.iterations).toFixed(0)).join(' / ');
      console.log(`${name.padEnd(34)} ${engine.padEnd(12)} ${String(threads).padStart(7)}  ${(result.runsPerSecond / 1e6).toFixed(2).padStart(10)}  ${perRun.padStart(14)}`);
    } finally {
      await pool.close();
    }
  }
}

function mapOperations(shared: boolean): void {
  const ctx = new ExecutionContext({ cpus: 2 });
  const memory = ctx.memory;
  const array = ctx.maps.create({ name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 256, flags: 0 });
  const hash = ctx.maps.create({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024, flags: 0 });
  const key = memory.alloc(8);
  const value = memory.alloc(8);
  for (let i = 0; i < 512; i++) {
    memory.view.setUint32(key, i, true);
    hash.updateFromProgram(key, value, 0, 0);
  }
  // Once shared with another thread, the maps take their locks and validate lock-free misses.
  if (shared) memory.markShared();
  const view = memory.view;
  const time = (name: string, op: (i: number) => number) => {
    const n = 2_000_000;
    let best = Infinity;
    let sink = 0;
    for (let round = 0; round < 5; round++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) sink += op(i);
      best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
    }
    console.log(`${name.padEnd(34)} ${best.toFixed(1).padStart(8)} ns${sink === -1 ? '!' : ''}`);
  };
  console.log(`\nmap operation, one thread, ${shared ? 'after markShared (locks on)' : 'memory not shared (no locks)'}      ns/op`);
  time('array lookup', (i) => (view.setUint32(key, i & 255, true), array.lookupFromProgram(key, 0)));
  time('hash lookup (hit)', (i) => (view.setUint32(key, i & 511, true), hash.lookupFromProgram(key, 0)));
  time('hash lookup (miss)', (i) => (view.setUint32(key, 1024 + (i & 511), true), hash.lookupFromProgram(key, 0)));
  time('hash update (existing key)', (i) => (view.setUint32(key, i & 511, true), hash.updateFromProgram(key, value, 0, 0)));
  time('hash delete + insert', (i) => (view.setUint32(key, i & 511, true), hash.deleteFromProgram(key, 0) + hash.updateFromProgram(key, value, 0, 0)));
}

console.log(`program (${iterations} runs per thread)       engine       threads    M runs/s  ns/run per thread`);
for (const engine of ENGINES) {
  await measure('count: lock xadd on an array value', engine, program('count'));
  await measure('hash_count: NOEXIST insert + xadd', engine, program('hash_count'));
}
mapOperations(false);
mapOperations(true);
