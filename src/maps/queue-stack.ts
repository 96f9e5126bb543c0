// QUEUE (FIFO) and STACK (LIFO): keyless maps of values that programs push, pop and peek.
// A ring of max_entries + 1 slots, one always empty so that head == tail means empty.
//
// Layout after the common header (map.ts), little-endian u32 fields:
//
//   +32 head: the slot the next push writes       +44 address of slot 0
//   +36 tail: the oldest element                  +48 slot stride (the value size)
//   +40 slot count (max_entries + 1)              +52 lock word (lock.ts)
//   +56 the slots
//
// A queue pops at the tail, a stack at head - 1. Pushing with BPF_EXIST into a full map drops the
// oldest element (the tail) to make room, for both kinds, as in Linux.
//
// Threads: every push, pop and peek (from programs or user space) holds the map's lock word, as
// Linux holds the map's spinlock: each element is popped exactly once, none is lost.

import { negative, type Errno } from './errors.js';
import { BpfMap, MapHeader } from './map.js';
import type { MapRegistry } from './registry.js';
import { MapType, UpdateFlags, type MapSpec } from './spec.js';

export const QueueStackLayout = {
  HEAD: MapHeader.SIZE,
  TAIL: MapHeader.SIZE + 4,
  SLOT_COUNT: MapHeader.SIZE + 8,
  SLOTS: MapHeader.SIZE + 12,
  STRIDE: MapHeader.SIZE + 16,
  LOCK: MapHeader.SIZE + 20,
  /** Offset of slot 0 from the map address. */
  DATA: MapHeader.SIZE + 24,
} as const;

export class QueueStackMap extends BpfMap {
  readonly lifo: boolean;
  private readonly slots: number;
  private readonly slotCount: number;
  private readonly stride: number;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    const slotCount = spec.maxEntries + 1;
    super(registry, id, spec, QueueStackLayout.DATA + slotCount * spec.valueSize, attachAt);
    this.lifo = spec.type === MapType.STACK;
    this.slots = this.address + QueueStackLayout.DATA;
    this.slotCount = slotCount;
    this.stride = spec.valueSize;
    if (this.attached) return;
    const view = this.memory.view;
    view.setUint32(this.address + QueueStackLayout.SLOT_COUNT, slotCount, true);
    view.setUint32(this.address + QueueStackLayout.SLOTS, this.slots, true);
    view.setUint32(this.address + QueueStackLayout.STRIDE, this.stride, true);
  }

  /** Elements held. */
  get count(): number {
    return this.locked(QueueStackLayout.LOCK, () => (this.head - this.tail + this.slotCount) % this.slotCount);
  }

  private get head(): number {
    return this.view.getUint32(this.address + QueueStackLayout.HEAD, true);
  }

  private set head(slot: number) {
    this.view.setUint32(this.address + QueueStackLayout.HEAD, slot, true);
  }

  private get tail(): number {
    return this.view.getUint32(this.address + QueueStackLayout.TAIL, true);
  }

  private set tail(slot: number) {
    this.view.setUint32(this.address + QueueStackLayout.TAIL, slot, true);
  }

  private wrap(slot: number): number {
    return slot >= this.slotCount ? 0 : slot;
  }

  /** Makes room for one element and lets `write` fill its slot (the always-empty one, so nothing is clobbered). */
  private push(flags: number, write: (to: number) => void): Errno | undefined {
    if (flags !== UpdateFlags.ANY && flags !== UpdateFlags.EXIST) return 'EINVAL';
    const head = this.head;
    if (this.wrap(head + 1) === this.tail) {
      if (flags !== UpdateFlags.EXIST) return 'E2BIG';
      this.tail = this.wrap(this.tail + 1);
    }
    write(this.slots + head * this.stride);
    this.head = this.wrap(head + 1);
    return undefined;
  }

  /** The slot the next pop or peek reads, or -1 when empty. */
  private next(): number {
    const head = this.head;
    if (head === this.tail) return -1;
    if (!this.lifo) return this.tail;
    return head === 0 ? this.slotCount - 1 : head - 1;
  }

  private take(slot: number): void {
    if (this.lifo) this.head = slot;
    else this.tail = this.wrap(slot + 1);
  }

  // ---- user space: update pushes, lookup peeks, lookup-and-delete pops ----

  protected override updateElem(_key: Uint8Array, value: Uint8Array, flags: number): void {
    const failed = this.locked(QueueStackLayout.LOCK, () => this.push(flags, (to) => this.bytes.set(value, to)));
    if (failed === 'EINVAL') throw this.error('EINVAL', `invalid push flags ${flags} (ANY or EXIST)`);
    if (failed === 'E2BIG') throw this.error('E2BIG', `the ${this.lifo ? 'stack' : 'queue'} is full (max_entries ${this.spec.maxEntries})`);
  }

  protected override lookupElem(): Uint8Array | undefined {
    return this.locked(QueueStackLayout.LOCK, () => {
      const slot = this.next();
      return slot < 0 ? undefined : this.bytes.slice(this.slots + slot * this.stride, this.slots + (slot + 1) * this.stride);
    });
  }

  protected override lookupAndDeleteElem(): Uint8Array {
    const value = this.locked(QueueStackLayout.LOCK, () => {
      const slot = this.next();
      if (slot < 0) return undefined;
      const copy = this.bytes.slice(this.slots + slot * this.stride, this.slots + (slot + 1) * this.stride);
      this.take(slot);
      return copy;
    });
    if (value === undefined) throw this.error('ENOENT', `the ${this.lifo ? 'stack' : 'queue'} is empty`);
    return value;
  }

  protected override deleteElem(): void {
    throw this.error('EINVAL', 'queue and stack elements are removed with lookupAndDelete (pop)');
  }

  protected override nextKeyOf(): Uint8Array | undefined {
    throw this.error('EINVAL', 'queues and stacks have no keys to iterate');
  }

  protected override containsKey(): boolean {
    return false;
  }

  // ---- data plane ----

  override pushFromProgram(valueAddress: number, flags: number): number {
    this.reach(valueAddress + this.stride);
    const failed = this.locked(QueueStackLayout.LOCK, () => this.push(flags, (to) => this.bytes.copyWithin(to, valueAddress, valueAddress + this.stride)));
    return failed === undefined ? 0 : negative(failed);
  }

  override popFromProgram(valueAddress: number): number {
    return this.copyOut(valueAddress, true);
  }

  override peekFromProgram(valueAddress: number): number {
    return this.copyOut(valueAddress, false);
  }

  private copyOut(valueAddress: number, remove: boolean): number {
    this.reach(valueAddress + this.stride);
    return this.locked(QueueStackLayout.LOCK, () => {
      const slot = this.next();
      if (slot < 0) return negative('ENOENT');
      this.bytes.copyWithin(valueAddress, this.slots + slot * this.stride, this.slots + (slot + 1) * this.stride);
      if (remove) this.take(slot);
      return 0;
    });
  }
}
