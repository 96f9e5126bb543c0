// A worker thread for the LRU stress test (inline-maps.test.ts): attaches to the main thread's
// maps and runs programs that look up (marking entries used), update and delete random keys of
// one LRU map, on the engine it is given. Run as a test file on its own it does nothing.
import { parentPort, workerData } from 'node:worker_threads';
import { assembleBytes } from '../../src/isa/index.js';
import { buildHelperRegistry, monotonicNanoseconds, type HelperHost } from '../../src/helpers/index.js';
import { attachMaps, type SharedMapsInit } from '../../src/runtime/workers/index.js';
import { prepareProgram } from '../../src/vm/index.js';
import { createEngine, type Engine } from '../../src/vm/jit/engine.js';

export interface LruStressTask {
  readonly init: SharedMapsInit;
  readonly mapId: number;
  readonly engine: Engine;
  /** Also the CPU the programs run as. */
  readonly worker: number;
  readonly workers: number;
  readonly operations: number;
  readonly keys: number;
  /** Int32 word 0: workers arrived (start together). */
  readonly barrier: SharedArrayBuffer;
}

export interface LruStressReport {
  readonly hits: number;
  /** Updates that failed: an LRU map evicts instead, so none should. */
  readonly failedUpdates: number;
}

function hammer(task: LruStressTask): LruStressReport {
  const { memory, maps } = attachMaps(task.init);
  const map = maps.byId(task.mapId);
  if (map === undefined) throw new Error(`map ${task.mapId} is not attached`);
  const host: HelperHost = {
    memory,
    maps,
    trace: () => undefined,
    now: monotonicNanoseconds,
    random: () => 4,
    pidTgid: 0n,
    scratchFor: () => undefined,
    socket: { cookie: 0n, pidTgid: 0n },
    redirect: { ifindex: 0 },
  };
  const helpers = buildHelperRegistry(host, 'linux', 'xdp');
  // Each program takes r1 = a 16-byte record: the key at +0, the value at +8.
  const program = (call: string) => {
    const prepared = prepareProgram(assembleBytes(`mov %r2, %r1\nmov %r3, %r1\nadd %r3, 8\nlddw %r1, ${map.address}\nmov %r4, 0\n${call}\nexit`), { helpers });
    return createEngine(task.engine, prepared, { memory, cpu: task.worker });
  };
  const lookup = program('call 1');
  const update = program('call 2');
  const remove = program('call 3');
  const at = memory.alloc(16, 8);
  let seed = 0x2545f491 ^ (task.worker * 0x85ebca6b);
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const barrier = new Int32Array(task.barrier);
  Atomics.add(barrier, 0, 1);
  while (Atomics.load(barrier, 0) < task.workers) Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 10);
  let hits = 0;
  let failedUpdates = 0;
  for (let op = 0; op < task.operations; op++) {
    const k = random() % task.keys;
    memory.view.setUint32(at, k, true);
    const r = random() % 8;
    // 4/8 lookups (each hit marks its entry), 3/8 updates (evicting when full), 1/8 deletes.
    if (r < 4) {
      if (lookup.run({ r1: at }) !== 0n) hits++;
    } else if (r < 7) {
      memory.view.setBigUint64(at + 8, BigInt(k), true);
      if (update.run({ r1: at }) !== 0n) failedUpdates++;
    } else {
      remove.run({ r1: at });
    }
  }
  return { hits, failedUpdates };
}

if (parentPort !== null) parentPort.postMessage(hammer(workerData as LruStressTask));
