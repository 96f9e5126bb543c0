// One registry per execution context: creates maps in the context's linear memory, hands out
// ids, and finds maps again by id (user space, map-in-map values) or by header address (what a
// program passes to helpers).
//
// Another thread that has the same (shared) memory rebuilds the registry with
// MapRegistry.attach(memory, registry.descriptors(), …): the same maps, ids and addresses, each
// map object built over the block the creating thread initialised, nothing written. Attached
// registries cannot create maps (ids are handed out by the creating thread only).

import { OutOfMemoryError, type LinearMemory } from '../vm/memory.js';
import { ArrayMap } from './array.js';
import { DevMap, DevMapHash } from './devmap.js';
import { MapError } from './errors.js';
import { HashMap } from './hash.js';
import { LpmTrieMap } from './lpm.js';
import type { BpfMap } from './map.js';
import { ArrayOfMapsMap, HashOfMapsMap } from './map-in-map.js';
import { PerfEventArrayMap } from './perf.js';
import { ProgArrayMap } from './prog-array.js';
import { QueueStackMap } from './queue-stack.js';
import { RingBufMap } from './ringbuf.js';
import { MapType, mapTypeName, validateSpec, type MapSpec } from './spec.js';
import { mapTypeDefinition, registerExtension, type MapConstructor } from '../extension/registry.js';

export interface MapRegistryOptions {
  /** CPUs of the execution context (default 1). Per-CPU maps keep one value per CPU. */
  readonly cpus?: number;
  /** Bytes of each CPU's perf event buffer (default 64 KiB, like 16 perf pages). */
  readonly perfBufferSize?: number;
}


/**
 * What another thread needs to rebuild a map over the same memory: plain data, so it can be
 * posted to a worker (structured clone).
 */
export interface MapDescriptor {
  readonly id: number;
  readonly address: number;
  readonly spec: MapSpec;
}

export interface AttachOptions extends MapRegistryOptions {
  readonly programExists?: (id: number) => boolean;
}

// ebpf-ts' own map types, registered as any extension's are (src/extension/registry.ts).
registerExtension({
  name: 'ebpf-ts map types',
  mapTypes: ([
    [MapType.ARRAY, ArrayMap],
    [MapType.PERCPU_ARRAY, ArrayMap],
    [MapType.HASH, HashMap],
    [MapType.PERCPU_HASH, HashMap],
    [MapType.LRU_HASH, HashMap],
    [MapType.LRU_PERCPU_HASH, HashMap],
    [MapType.LPM_TRIE, LpmTrieMap],
    [MapType.QUEUE, QueueStackMap],
    [MapType.STACK, QueueStackMap],
    [MapType.PROG_ARRAY, ProgArrayMap],
    [MapType.ARRAY_OF_MAPS, ArrayOfMapsMap],
    [MapType.HASH_OF_MAPS, HashOfMapsMap],
    [MapType.RINGBUF, RingBufMap],
    [MapType.PERF_EVENT_ARRAY, PerfEventArrayMap],
    [MapType.DEVMAP, DevMap],
    [MapType.DEVMAP_HASH, DevMapHash],
  ] as [number, MapConstructor][]).map(([type, create]) => ({ name: mapTypeName(type), type, create })),
});

const constructorOf = (type: number): MapConstructor | undefined => mapTypeDefinition(type)?.create;

export class MapRegistry {
  readonly cpus: number;
  readonly perfBufferSize: number;
  /** Set by the runtime: whether a program id exists (PROG_ARRAY updates are checked with it). */
  programExists?: (id: number) => boolean;
  /** Set by the runtime: a program's kind (type and ABI), which PROG_ARRAY slots must share. */
  programKind?: (id: number) => string | undefined;
  private readonly ids = new Map<number, BpfMap>();
  private readonly addresses = new Map<number, BpfMap>();
  private nextId = 1;
  /** Whether this registry was rebuilt over another thread's maps (MapRegistry.attach). */
  readonly attached: boolean;

  constructor(
    readonly memory: LinearMemory,
    options: MapRegistryOptions = {},
  ) {
    const cpus = options.cpus ?? 1;
    if (!(Number.isInteger(cpus) && cpus >= 1 && cpus <= 4096)) throw new RangeError(`invalid CPU count ${cpus}`);
    const perf = options.perfBufferSize ?? 65536;
    if (!(Number.isInteger(perf) && perf >= 64)) throw new RangeError(`invalid perf buffer size ${perf}`);
    this.cpus = cpus;
    this.perfBufferSize = perf;
    this.attached = false;
  }

  /**
   * Rebuilds, over `memory` (a LinearMemory wrapping the same shared WebAssembly.Memory, usually
   * with an arena of its own), the maps another thread created: same ids, same addresses, same
   * contents, nothing initialised. `options.cpus` and `perfBufferSize` must be the creating
   * registry's. Maps are attached in id order, so inner maps exist before outer ones look for them.
   */
  static attach(memory: LinearMemory, descriptors: readonly MapDescriptor[], options: AttachOptions = {}): MapRegistry {
    const registry = new MapRegistry(memory, options);
    (registry as { attached: boolean }).attached = true;
    registry.programExists = options.programExists;
    for (const d of [...descriptors].sort((a, b) => a.id - b.id)) {
      const Constructor = constructorOf(d.spec.type);
      if (Constructor === undefined) throw new MapError('EINVAL', `map "${d.spec.name}": unsupported map type ${d.spec.type}`);
      const map = new Constructor(registry, d.id, d.spec, d.address);
      registry.ids.set(map.id, map);
      registry.addresses.set(map.address, map);
      registry.nextId = Math.max(registry.nextId, map.id + 1);
    }
    return registry;
  }

  /** Descriptors of every map, for MapRegistry.attach in another thread. */
  descriptors(): MapDescriptor[] {
    return [...this.ids.values()].map((map) => ({ id: map.id, address: map.address, spec: map.spec }));
  }

  /** BPF_MAP_CREATE. Throws MapError: EINVAL/E2BIG/ENOTSUPP for a bad spec, ENOMEM when memory runs out. */
  create(spec: MapSpec): BpfMap {
    if (this.attached) throw new MapError('EPERM', `map "${spec.name}": maps are created by the thread that owns the execution context, not by an attached registry`);
    const checked = validateSpec(spec, this.cpus);
    const Constructor = constructorOf(checked.type);
    if (Constructor === undefined) throw new MapError('EINVAL', `map "${spec.name}": unsupported map type ${spec.type}`);
    const mark = this.memory.mark();
    let map: BpfMap;
    try {
      map = new Constructor(this, this.nextId, checked);
    } catch (e) {
      // Maps allocate one block; hand back anything a failed constructor took.
      if (this.memory.mark() !== mark) this.memory.release(mark);
      throw e;
    }
    this.nextId++;
    this.ids.set(map.id, map);
    this.addresses.set(map.address, map);
    return map;
  }

  byId(id: number): BpfMap | undefined {
    return this.ids.get(id);
  }

  byAddress(address: number): BpfMap | undefined {
    return this.addresses.get(address);
  }

  get size(): number {
    return this.ids.size;
  }

  [Symbol.iterator](): Iterator<BpfMap> {
    return this.ids.values();
  }

  /** Preallocates a map's block (zeroed, 8-byte aligned). For map constructors. */
  allocate(size: number, what: string): number {
    if (!Number.isSafeInteger(size) || size > this.memory.maximumBytes) {
      throw new MapError('ENOMEM', `${what}: needs ${size} bytes, more than linear memory can hold (${this.memory.maximumBytes})`);
    }
    try {
      return this.memory.alloc(size, 8);
    } catch (e) {
      // RangeError: the host refused to grow the memory.
      if (e instanceof OutOfMemoryError || e instanceof RangeError) throw new MapError('ENOMEM', `${what}: ${e.message}`);
      throw e;
    }
  }
}
