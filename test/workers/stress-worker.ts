// A worker thread for the map stress tests (maps.test.ts): attaches to the maps of the main
// thread's registry and hammers one of them. Run as a test file on its own it does nothing.
import { parentPort, workerData } from 'node:worker_threads';
import { MapError, type BpfMap } from '../../src/maps/index.js';
import { attachMaps, type SharedMapsInit } from '../../src/runtime/workers/index.js';

export interface StressTask {
  readonly init: SharedMapsInit;
  readonly mapId: number;
  readonly mode: 'hash' | 'queue';
  readonly worker: number;
  readonly operations: number;
  readonly keys: number;
  /** Int32 word 0: workers arrived (start together). */
  readonly barrier: SharedArrayBuffer;
}

export interface StressReport {
  /** hash: how many updates failed with E2BIG. queue: values popped, in order. */
  readonly full: number;
  readonly popped: number[];
}

/** A hash value: which worker wrote it, for which key, and its operation number. */
export function stressValue(worker: number, key: number, op: number): Uint8Array {
  const value = new Uint8Array(8);
  const view = new DataView(value.buffer);
  view.setUint16(0, key, true);
  view.setUint16(2, worker, true);
  view.setUint32(4, op, true);
  return value;
}

function hammerHash(map: BpfMap, task: StressTask): StressReport {
  let seed = 0x9e3779b9 ^ (task.worker * 0x85ebca6b);
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const key = new Uint8Array(4);
  const keyView = new DataView(key.buffer);
  let full = 0;
  for (let op = 0; op < task.operations; op++) {
    const k = random() % task.keys;
    keyView.setUint32(0, k, true);
    const r = random() % 8;
    try {
      // 5/8 updates, 2/8 deletes: the map (48 of 64 keys) is near full, often full.
      if (r < 5) map.update(key, stressValue(task.worker, k, op));
      else if (r < 6) map.delete(key);
      else if (r < 7) map.lookupAndDelete(key);
      else map.lookup(key);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      if (e.errno === 'E2BIG') full++;
      else if (e.errno !== 'ENOENT') throw e;
    }
  }
  return { full, popped: [] };
}

function hammerQueue(map: BpfMap, task: StressTask): StressReport {
  const popped: number[] = [];
  const value = new Uint8Array(4);
  const view = new DataView(value.buffer);
  const empty = new Uint8Array(0);
  let pushed = 0;
  for (let op = 0; op < task.operations; op++) {
    if (op % 2 === 0) {
      view.setUint32(0, (task.worker << 24) | pushed, true);
      try {
        map.update(empty, value);
        pushed++;
      } catch (e) {
        if (!(e instanceof MapError && e.errno === 'E2BIG')) throw e;
      }
    } else {
      try {
        const out = map.lookupAndDelete(empty);
        popped.push(new DataView(out.buffer, out.byteOffset, 4).getUint32(0, true));
      } catch (e) {
        if (!(e instanceof MapError && e.errno === 'ENOENT')) throw e;
      }
    }
  }
  return { full: pushed, popped };
}

if (parentPort !== null) {
  const task = workerData as StressTask;
  const { maps } = attachMaps(task.init);
  const map = maps.byId(task.mapId);
  if (map === undefined) throw new Error(`map ${task.mapId} is not attached`);
  const barrier = new Int32Array(task.barrier);
  Atomics.add(barrier, 0, 1);
  while (Atomics.load(barrier, 0) < 2) Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 10);
  parentPort.postMessage(task.mode === 'hash' ? hammerHash(map, task) : hammerQueue(map, task));
}
