// Shared fixtures for the map tests: a fresh context per test, byte helpers, errno assertions.
import assert from 'node:assert/strict';
import { LinearMemory } from '../../src/vm/memory.js';
import { MapError, MapRegistry, type BpfMap, type Errno, type MapSpec } from '../../src/maps/index.js';

export function context(cpus = 1, memoryPages = 16): { memory: LinearMemory; registry: MapRegistry } {
  const memory = new LinearMemory({ initialPages: 1, maximumPages: memoryPages });
  return { memory, registry: new MapRegistry(memory, { cpus }) };
}

export function create(spec: Partial<MapSpec> & Pick<MapSpec, 'type'>, cpus = 1): { map: BpfMap; memory: LinearMemory; registry: MapRegistry } {
  const { memory, registry } = context(cpus);
  const map = registry.create({ name: 'm', keySize: 4, valueSize: 8, maxEntries: 4, flags: 0, ...spec });
  return { map, memory, registry };
}

/** Little-endian u32 bytes. */
export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** Little-endian u64 bytes of a small number. */
export function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

export function readU32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset, true);
}

export function readU64(bytes: Uint8Array, offset = 0): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(offset, true));
}

/** Places `data` in linear memory (a program's stack would hold it) and returns its address. */
export function place(memory: LinearMemory, data: Uint8Array): number {
  const address = memory.alloc(Math.max(data.length, 1), 8);
  memory.write(address, data);
  return address;
}

export function throwsErrno(action: () => unknown, errno: Errno, message?: string): MapError {
  let caught: unknown;
  try {
    action();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MapError, `${message ?? 'operation'}: expected MapError ${errno}, got ${caught === undefined ? 'no error' : String(caught)}`);
  assert.equal(caught.errno, errno, `${message ?? 'operation'}: expected ${errno}, got ${caught.errno} (${caught.message})`);
  return caught;
}

export function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'undefined' : Buffer.from(bytes).toString('hex');
}

/** Every key of the map as hex, in iteration order. */
export function keysHex(map: BpfMap): string[] {
  return [...map.keys()].map(hex);
}

/** A small deterministic PRNG (mulberry32) for randomized tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
