// Arrays whose slots refer to other objects (PROG_ARRAY, ARRAY_OF_MAPS): user space stores an id
// (a file descriptor in Linux), the slot keeps what the data plane needs, and a slot can be
// empty. Updates take BPF_ANY only, as for every fd array in Linux.
//
// Layout after the common header (map.ts):
//
//   +32 u32 address of the slots
//   +40 the slots: one little-endian u32 per index, 0 = empty
//
// Threads: a slot is one aligned word, stored and read with Atomics, so a reader sees the old or
// the new content, never a mix.

import { BpfMap, MapHeader } from './map.js';
import type { MapRegistry } from './registry.js';
import { UpdateFlags, type MapSpec } from './spec.js';

export const FdArrayLayout = {
  SLOTS: MapHeader.SIZE,
  /** Offset of slot 0 from the map address. */
  DATA: MapHeader.SIZE + 8,
} as const;

export abstract class FdArrayMap extends BpfMap {
  /** Address of slot 0. */
  readonly slots: number;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    super(registry, id, spec, FdArrayLayout.DATA + spec.maxEntries * 4, attachAt);
    this.slots = this.address + FdArrayLayout.DATA;
    if (!this.attached) this.memory.view.setUint32(this.address + FdArrayLayout.SLOTS, this.slots, true);
  }

  /** The slot content for an id user space stores; throws MapError when the id may not go in. */
  protected abstract slotFor(id: number): number;

  /** The id user space reads back for a (non-empty) slot content. */
  protected abstract idOf(slot: number): number;

  /** Content of slot `index`, 0 when empty or out of range. */
  protected slot(index: number): number {
    this.reach();
    return index < this.spec.maxEntries ? Atomics.load(this.i32, (this.slots + index * 4) >> 2) >>> 0 : 0;
  }

  private index(key: Uint8Array): number {
    return (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
  }

  protected override lookupElem(key: Uint8Array): Uint8Array | undefined {
    const slot = this.slot(this.index(key));
    if (slot === 0) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.idOf(slot), true);
    return out;
  }

  protected override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    const index = this.index(key);
    if (flags !== UpdateFlags.ANY) throw this.error('EINVAL', `update flags must be ANY, got ${flags}`);
    if (index >= this.spec.maxEntries) throw this.error('E2BIG', `index ${index} is beyond max_entries ${this.spec.maxEntries}`);
    const id = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
    const slot = this.slotFor(id);
    this.reach();
    Atomics.store(this.i32, (this.slots + index * 4) >> 2, slot | 0);
  }

  protected override deleteElem(key: Uint8Array): void {
    const index = this.index(key);
    if (index >= this.spec.maxEntries) throw this.error('E2BIG', `index ${index} is beyond max_entries ${this.spec.maxEntries}`);
    this.reach();
    if (Atomics.exchange(this.i32, (this.slots + index * 4) >> 2, 0) === 0) throw this.error('ENOENT', `slot ${index} is empty`);
  }

  protected override nextKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
    const index = key === undefined ? -1 : this.index(key);
    const next = index >= this.spec.maxEntries ? 0 : index + 1;
    if (next >= this.spec.maxEntries) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, next, true);
    return out;
  }

  protected override containsKey(key: Uint8Array): boolean {
    return this.index(key) < this.spec.maxEntries;
  }
}
