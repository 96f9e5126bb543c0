// RINGBUF: a multi-producer, single-consumer ring shared by all CPUs. Programs reserve a record,
// fill it in place and submit or discard it; records become visible to the consumer in
// reservation order, and the consumer stops at the first one still being written.
//
// Layout after the common header (map.ts), little-endian u32 fields:
//
//   +32 mask (ring size - 1)                  +40 consumer position
//   +36 address of the data area              +44 producer position
//   +48 lock word (lock.ts)                   +52 notify count, +56 sleeping consumers (notify.ts)
//   +64 data area: 2 x ring size bytes
//
// Positions count bytes ever produced/consumed, modulo 2^32 (Linux uses 64-bit counters). A
// record at position p starts at data + (p & mask) and is contiguous even when it runs past
// data + size: Linux maps the ring twice in a row for that, here the second half of the data
// area plays the second mapping, so a program always gets one contiguous pointer. The producer
// never gets more than size - 1 bytes ahead of the consumer, so live records never overlap.
//
// A record is an 8-byte header, then the data, rounded up to 8 bytes in all:
//   +0 u32 data length | BUSY (bit 31, still being written) | DISCARD (bit 30, skip it)
//   +4 u32 distance from the map header to this record header, in 8-byte units (Linux's
//      pg_off), so a record pointer alone leads back to its ring.
//
// Threads (producers: programs on any CPU, in any worker thread; one consumer at a time):
// reservation holds the map's lock word, as Linux holds the ring's spinlock, so concurrent
// producers get disjoint records in the order of their reservations. Submit and discard are one
// Atomics.store of the record's header word (no lock); the consumer reads header words with
// Atomics.load and moves the consumer position (Atomics.store) only after copying a record out,
// and is the only one that moves it. Every submitted record is therefore delivered exactly once,
// in reservation order, and a record is never handed out while the consumer still reads it. A
// consumer waiting in records() is woken from any thread through the notify words.

import { negative } from './errors.js';
import { lockWord, unlockWord } from './lock.js';
import { BpfMap, MapHeader } from './map.js';
import { Waiters, recordIterator } from './notify.js';
import type { MapRegistry } from './registry.js';
import { roundUp8, type MapSpec } from './spec.js';

export const RingBufLayout = {
  MASK: MapHeader.SIZE,
  DATA: MapHeader.SIZE + 4,
  CONSUMER_POS: MapHeader.SIZE + 8,
  PRODUCER_POS: MapHeader.SIZE + 12,
  LOCK: MapHeader.SIZE + 16,
  NOTIFY: MapHeader.SIZE + 20,
  /** Offset of the data area from the map address. */
  DATA_AREA: MapHeader.SIZE + 32,
} as const;

export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;
export const RINGBUF_HEADER_SIZE = 8;

/** Flags of bpf_ringbuf_submit/discard/output (BPF_RB_*). */
export const RingBufFlags = { NO_WAKEUP: 1, FORCE_WAKEUP: 2 } as const;

/** What bpf_ringbuf_query reports (BPF_RB_*). */
export const RingBufQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;

export class RingBufMap extends BpfMap {
  /** Ring size in bytes (max_entries). */
  readonly size: number;
  /** Address of the data area. */
  readonly data: number;
  private readonly mask: number;
  private readonly waiters: Waiters;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    super(registry, id, spec, RingBufLayout.DATA_AREA + 2 * spec.maxEntries, attachAt);
    this.size = spec.maxEntries;
    this.mask = spec.maxEntries - 1;
    this.data = this.address + RingBufLayout.DATA_AREA;
    this.waiters = new Waiters({ memory: this.memory, address: this.address + RingBufLayout.NOTIFY });
    if (this.attached) return;
    const view = this.memory.view;
    view.setUint32(this.address + RingBufLayout.MASK, this.mask, true);
    view.setUint32(this.address + RingBufLayout.DATA, this.data, true);
  }

  private get consumerPos(): number {
    return Atomics.load(this.i32, (this.address + RingBufLayout.CONSUMER_POS) >> 2) >>> 0;
  }

  private set consumerPos(position: number) {
    Atomics.store(this.i32, (this.address + RingBufLayout.CONSUMER_POS) >> 2, position | 0);
  }

  private get producerPos(): number {
    return Atomics.load(this.i32, (this.address + RingBufLayout.PRODUCER_POS) >> 2) >>> 0;
  }

  private set producerPos(position: number) {
    Atomics.store(this.i32, (this.address + RingBufLayout.PRODUCER_POS) >> 2, position | 0);
  }

  // ---- data plane ----

  /** bpf_ringbuf_reserve: address of `size` writable bytes, or 0 when flags are set or the ring has no room. */
  reserveFromProgram(size: number, flags: number): number {
    if (flags !== 0 || !(Number.isInteger(size) && size >= 0)) return 0;
    this.reach();
    const length = roundUp8(size + RINGBUF_HEADER_SIZE);
    if (length > this.size) return 0;
    const i32 = this.i32;
    const lock = (this.address + RingBufLayout.LOCK) >> 2;
    const concurrent = this.concurrent;
    if (concurrent) lockWord(i32, lock);
    try {
      const producer = this.producerPos;
      const next = (producer + length) >>> 0;
      if (((next - this.consumerPos) >>> 0) > this.mask) return 0;
      const header = this.data + (producer & this.mask);
      // The busy header is in place before the producer position publishes the record.
      Atomics.store(i32, (header + 4) >> 2, (header - this.address) / 8);
      Atomics.store(i32, header >> 2, (size | RINGBUF_BUSY_BIT) | 0);
      this.producerPos = next;
      return header + RINGBUF_HEADER_SIZE;
    } finally {
      if (concurrent) unlockWord(i32, lock);
    }
  }

  /** bpf_ringbuf_submit: the record at `address` (from reserve) becomes visible to the consumer. */
  submitFromProgram(address: number, flags: number): void {
    this.commit(address, flags, false);
  }

  /** bpf_ringbuf_discard: the record at `address` is released and skipped by the consumer. */
  discardFromProgram(address: number, flags: number): void {
    this.commit(address, flags, true);
  }

  /** bpf_ringbuf_output: copies `size` bytes at `dataAddress` into a new record. 0, -EINVAL or -EAGAIN (no room). */
  outputFromProgram(dataAddress: number, size: number, flags: number): number {
    if ((flags & ~(RingBufFlags.NO_WAKEUP | RingBufFlags.FORCE_WAKEUP)) !== 0) return negative('EINVAL');
    const record = this.reserveFromProgram(size, 0);
    if (record === 0) return negative('EAGAIN');
    this.reach(dataAddress + size);
    this.bytes.copyWithin(record, dataAddress, dataAddress + size);
    this.commit(record, flags, false);
    return 0;
  }

  /** bpf_ringbuf_query (BPF_RB_AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS); 0 for anything else. */
  queryFromProgram(flag: number): number {
    this.reach();
    switch (flag) {
      case RingBufQuery.AVAIL_DATA:
        return (this.producerPos - this.consumerPos) >>> 0;
      case RingBufQuery.RING_SIZE:
        return this.size;
      case RingBufQuery.CONS_POS:
        return this.consumerPos;
      case RingBufQuery.PROD_POS:
        return this.producerPos;
      default:
        return 0;
    }
  }

  /** Whether `address` is a record reserved in this ring and not yet submitted or discarded. */
  containsRecord(address: number): boolean {
    const header = address - RINGBUF_HEADER_SIZE;
    const offset = header - this.data;
    if (!(Number.isInteger(offset) && offset >= 0 && offset < this.size && offset % 8 === 0)) return false;
    this.reach();
    return (Atomics.load(this.i32, header >> 2) & RINGBUF_BUSY_BIT) !== 0 && this.view.getUint32(header + 4, true) === (header - this.address) / 8;
  }

  /**
   * The ring buffer that reserved the record at `address`, found through the record header as
   * bpf_ringbuf_submit does in Linux (no search); undefined when it is not a reserved record.
   */
  static fromRecord(registry: MapRegistry, address: number): RingBufMap | undefined {
    const header = address - RINGBUF_HEADER_SIZE;
    if (!(Number.isInteger(header) && header >= 0 && header + RINGBUF_HEADER_SIZE <= registry.memory.size && header % 8 === 0)) return undefined;
    const map = registry.byAddress(header - registry.memory.view.getUint32(header + 4, true) * 8);
    return map instanceof RingBufMap && map.containsRecord(address) ? map : undefined;
  }

  private commit(address: number, flags: number, discard: boolean): void {
    // The verifier only lets programs pass what reserve returned; anything else is an engine bug.
    if (!this.containsRecord(address)) {
      throw this.error('EINVAL', `0x${address.toString(16)} is not a record reserved in this ring buffer`);
    }
    const header = address - RINGBUF_HEADER_SIZE;
    const offset = header - this.data;
    const length = Atomics.load(this.i32, header >> 2) & ~RINGBUF_BUSY_BIT;
    // One store publishes the record (its data was written before it).
    Atomics.store(this.i32, header >> 2, discard ? length | RINGBUF_DISCARD_BIT : length);
    // Linux wakes the consumer only when it waits for exactly this record, unless told otherwise.
    if (flags & RingBufFlags.FORCE_WAKEUP) this.waiters.wake();
    else if (!(flags & RingBufFlags.NO_WAKEUP) && (this.consumerPos & this.mask) === offset) this.waiters.wake();
  }

  // ---- consumer (user space) ----

  /** The next submitted record, consuming it; undefined when the ring is empty or the next record is still reserved. */
  private take(): Uint8Array | undefined {
    this.reach();
    let consumer = this.consumerPos;
    while (consumer !== this.producerPos) {
      const header = this.data + (consumer & this.mask);
      const word = Atomics.load(this.i32, header >> 2) >>> 0;
      if (word & RINGBUF_BUSY_BIT) return undefined;
      const length = word & ~RINGBUF_DISCARD_BIT;
      consumer = (consumer + roundUp8(length + RINGBUF_HEADER_SIZE)) >>> 0;
      // Copy before moving on: the space is the producer's again once the position passes it.
      const start = header + RINGBUF_HEADER_SIZE;
      const record = word & RINGBUF_DISCARD_BIT ? undefined : this.bytes.slice(start, start + length);
      this.consumerPos = consumer;
      if (record !== undefined) return record;
    }
    return undefined;
  }

  /** Calls `callback` with every submitted record in order (discarded ones skipped); returns how many. */
  consume(callback: (record: Uint8Array) => void): number {
    let count = 0;
    for (let record = this.take(); record !== undefined; record = this.take()) {
      count++;
      callback(record);
    }
    return count;
  }

  /** Records as they are submitted; ends when `signal` aborts or the loop is left. */
  records(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<Uint8Array> {
    return recordIterator(() => this.take(), this.waiters, options.signal);
  }
}
