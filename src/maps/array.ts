// ARRAY and PERCPU_ARRAY: max_entries values indexed by a u32 key, all existing from creation.
//
// Layout after the common header (map.ts), little-endian u32 fields:
//
//   +32 address of the values
//   +36 element stride: value size rounded up to 8 (values stay 8-byte aligned for atomics)
//   +40 copies per element: the CPU count for PERCPU_ARRAY, 1 for ARRAY
//   +44 address of the scratch key slot below
//   +48 scratch key (u32, 8 bytes reserved): the key bpf_for_each_map_elem passes to callbacks
//   +56 values: element i of CPU c at values + (i * copies + c) * stride
//
// A lookup is therefore one bounds check and a multiply, which the JIT can inline.
//
// Threads: lookups take no lock and return the value's address; programs that share a value
// between CPUs update it with atomic instructions (lock xadd), as on Linux. Updates copy the
// value without atomicity (Linux's array update is a memcpy too); a PERCPU_ARRAY program update
// writes only its own CPU's copy.

import { negative } from './errors.js';
import { BpfMap, MapHeader } from './map.js';
import type { MapRegistry } from './registry.js';
import { MapType, existenceError, roundUp8, validUpdateFlags, type MapSpec } from './spec.js';

export const ArrayLayout = {
  VALUES: MapHeader.SIZE,
  STRIDE: MapHeader.SIZE + 4,
  COPIES: MapHeader.SIZE + 8,
  SCRATCH_KEY: MapHeader.SIZE + 12,
  /** Offset of the values from the map address. */
  DATA: MapHeader.SIZE + 24,
} as const;

export class ArrayMap extends BpfMap {
  /** Address of element 0 (CPU 0). */
  readonly values: number;
  readonly stride: number;
  readonly copies: number;
  private readonly perCpu: boolean;
  private readonly scratchKey: number;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    const perCpu = spec.type === MapType.PERCPU_ARRAY;
    const stride = roundUp8(spec.valueSize);
    const copies = perCpu ? registry.cpus : 1;
    super(registry, id, spec, ArrayLayout.DATA + spec.maxEntries * copies * stride, attachAt);
    this.perCpu = perCpu;
    this.stride = stride;
    this.copies = copies;
    this.values = this.address + ArrayLayout.DATA;
    this.scratchKey = this.address + ArrayLayout.DATA - 8;
    if (this.attached) return;
    const view = this.memory.view;
    view.setUint32(this.address + ArrayLayout.VALUES, this.values, true);
    view.setUint32(this.address + ArrayLayout.STRIDE, stride, true);
    view.setUint32(this.address + ArrayLayout.COPIES, copies, true);
    view.setUint32(this.address + ArrayLayout.SCRATCH_KEY, this.scratchKey, true);
  }

  override get userValueSize(): number {
    return this.perCpu ? this.copies * this.stride : this.spec.valueSize;
  }

  /** Address of element `index` for `cpu`. */
  valueAddress(index: number, cpu = 0): number {
    return this.values + (index * this.copies + cpu) * this.stride;
  }

  private index(key: Uint8Array): number {
    return (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
  }

  protected override lookupElem(key: Uint8Array): Uint8Array | undefined {
    const index = this.index(key);
    if (index >= this.spec.maxEntries) return undefined;
    return this.memory.read(this.valueAddress(index), this.userValueSize);
  }

  protected override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    const index = this.index(key);
    if (!validUpdateFlags(flags)) throw this.error('EINVAL', `invalid update flags ${flags}`);
    if (index >= this.spec.maxEntries) throw this.error('E2BIG', `index ${index} is beyond max_entries ${this.spec.maxEntries}`);
    if (existenceError(flags, true)) throw this.error('EEXIST', `element ${index} exists (array elements always do) and NOEXIST was given`);
    this.memory.write(this.valueAddress(index), value);
  }

  protected override deleteElem(_key: Uint8Array): void {
    throw this.error('EINVAL', 'array elements cannot be deleted');
  }

  protected override nextKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
    const index = key === undefined ? -1 : this.index(key);
    const max = this.spec.maxEntries;
    // array_map_get_next_key: an index past the end restarts at 0.
    const next = index >= max ? 0 : index + 1;
    if (next >= max) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, next, true);
    return out;
  }

  protected override containsKey(key: Uint8Array): boolean {
    return this.index(key) < this.spec.maxEntries;
  }

  override lookupFromProgram(keyAddress: number, cpu: number): number {
    this.reach(keyAddress + 4);
    const index = this.view.getUint32(keyAddress, true);
    if (index >= this.spec.maxEntries) return 0;
    if (!this.perCpu) return this.values + index * this.stride;
    // bpf_map_lookup_percpu_elem may name any CPU; one the context lacks finds nothing.
    if (!(cpu >= 0 && cpu < this.copies)) return 0;
    return this.valueAddress(index, cpu);
  }

  override updateFromProgram(keyAddress: number, valueAddress: number, flags: number, cpu: number): number {
    this.reach(Math.max(keyAddress + 4, valueAddress + this.spec.valueSize));
    const index = this.view.getUint32(keyAddress, true);
    if (!validUpdateFlags(flags)) return negative('EINVAL');
    if (index >= this.spec.maxEntries) return negative('E2BIG');
    if (existenceError(flags, true)) return negative('EEXIST');
    if (this.perCpu) this.checkCpu(cpu);
    const to = this.valueAddress(index, this.perCpu ? cpu : 0);
    this.bytes.copyWithin(to, valueAddress, valueAddress + this.spec.valueSize);
    return 0;
  }

  override deleteFromProgram(): number {
    return negative('EINVAL');
  }

  override forEachFromProgram(cpu: number, callback: (keyAddress: number, valueAddress: number) => boolean): number {
    if (this.perCpu) this.checkCpu(cpu);
    let visited = 0;
    for (let index = 0; index < this.spec.maxEntries; index++) {
      // Again each time: the callback's program may grow the memory.
      this.reach();
      this.view.setUint32(this.scratchKey, index, true);
      visited++;
      if (!callback(this.scratchKey, this.valueAddress(index, this.perCpu ? cpu : 0))) break;
    }
    return visited;
  }
}
