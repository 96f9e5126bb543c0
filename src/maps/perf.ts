// PERF_EVENT_ARRAY: bpf_perf_event_output writes records into per-CPU buffers that user space
// drains. In Linux user space opens one perf event per CPU and stores its fd at that CPU's
// index; here every CPU of the context has its buffer at its own index from the start, and
// an index without a CPU has no event (ENOENT).
//
// The buffers are in linear memory, so programs running in worker threads (one per CPU) write
// into the same buffers the main thread drains. Programs never point into them (output copies).
// Each CPU's buffer is a byte ring accounted as a perf ring would be (8-byte event header +
// u32 size + data, padded to 8), so a full buffer drops records and counts them as lost, as
// Linux does.
//
// Layout after the common header (map.ts), little-endian u32 fields:
//
//   +32 buffer size B (bytes per CPU)        +40 address of CPU 0's data area
//   +36 address of CPU 0's control record    +44 notify count, +48 sleeping consumers (notify.ts)
//   +56 control records, 32 bytes per CPU:
//       +0 consumer offset  +4 producer offset  +8 bytes in use  +12 lost records  +16 lock word
//   then the data areas, 2 x B bytes per CPU (a record starting anywhere below B is contiguous).
//   A record: +0 u32 bytes it occupies (its cost, a multiple of 8), +4 u32 data length, +8 data.
//
// Threads: a CPU's buffer is written by the program running on that CPU (only that CPU may
// output to it, EOPNOTSUPP otherwise) and drained by one consumer; both sides hold the CPU's
// lock word (uncontended but for the moment the consumer takes a record), so even two threads
// that claim the same CPU id cannot corrupt it. Records of one CPU arrive in output order.

import { negative } from './errors.js';
import { lockWord, unlockWord } from './lock.js';
import { BpfMap, MapHeader } from './map.js';
import { Waiters, recordIterator } from './notify.js';
import type { MapRegistry } from './registry.js';
import { roundUp8, type MapSpec } from './spec.js';

/** BPF_F_INDEX_MASK / BPF_F_CURRENT_CPU: the low 32 bits of the flags pick the buffer. */
export const PERF_INDEX_MASK = 0xffffffff;
export const PERF_CURRENT_CPU = 0xffffffff;
/** BPF_F_CTXLEN_MASK: bits 32-51, how much of the context (packet) to append. */
const CTXLEN_HIGH_MASK = 0xfffff;

export const PerfLayout = {
  BUFFER_SIZE: MapHeader.SIZE,
  CONTROL: MapHeader.SIZE + 4,
  DATA: MapHeader.SIZE + 8,
  NOTIFY: MapHeader.SIZE + 12,
  /** Offset of CPU 0's control record from the map address. */
  CONTROL_DATA: MapHeader.SIZE + 24,
} as const;

export const PerfControl = { HEAD: 0, TAIL: 4, USED: 8, LOST: 12, LOCK: 16, SIZE: 32 } as const;

export interface PerfRecord {
  readonly cpu: number;
  readonly data: Uint8Array;
}

export class PerfEventArrayMap extends BpfMap {
  /** Capacity of each CPU's buffer in bytes. */
  readonly bufferSize: number;
  private readonly control: number;
  private readonly areas: number;
  private readonly waiters: Waiters;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    const size = roundUp8(registry.perfBufferSize);
    super(registry, id, spec, PerfLayout.CONTROL_DATA + registry.cpus * (PerfControl.SIZE + 2 * size), attachAt);
    this.bufferSize = size;
    this.control = this.address + PerfLayout.CONTROL_DATA;
    this.areas = this.control + this.cpus * PerfControl.SIZE;
    this.waiters = new Waiters({ memory: this.memory, address: this.address + PerfLayout.NOTIFY });
    if (this.attached) {
      const there = this.memory.view.getUint32(this.address + PerfLayout.BUFFER_SIZE, true);
      if (there !== size) throw new RangeError(`${this.describe()}: its buffers hold ${there} bytes, this registry expects ${size}`);
      return;
    }
    const view = this.memory.view;
    view.setUint32(this.address + PerfLayout.BUFFER_SIZE, size, true);
    view.setUint32(this.address + PerfLayout.CONTROL, this.control, true);
    view.setUint32(this.address + PerfLayout.DATA, this.areas, true);
  }

  private word(cpu: number, field: number): number {
    return (this.control + cpu * PerfControl.SIZE + field) >> 2;
  }

  /**
   * bpf_perf_event_output from a program running on `cpu`. `flags` is the helper's u64 argument:
   * its low 32 bits are the buffer index or BPF_F_CURRENT_CPU; bits 32-51 (BPF_F_CTXLEN_MASK) are
   * for the helper, which passes the context bytes they ask for as `appended` (written after the
   * data, as Linux does for skb and xdp programs). Returns 0 or -errno: EINVAL for unknown flag
   * bits, E2BIG for an index beyond max_entries, ENOENT for an index with no CPU, EOPNOTSUPP for
   * another CPU's buffer, ENOSPC (and one more lost record) when the buffer is full.
   */
  outputFromProgram(cpu: number, flags: number | bigint, dataAddress: number, size: number, appended?: Uint8Array): number {
    const bits = BigInt.asUintN(64, BigInt(flags));
    const high = Number(bits >> 32n);
    if ((high & ~CTXLEN_HIGH_MASK) !== 0) return negative('EINVAL');
    let index = Number(bits & BigInt(PERF_INDEX_MASK));
    if (index === PERF_CURRENT_CPU) index = cpu;
    if (index >= this.spec.maxEntries) return negative('E2BIG');
    if (index >= this.cpus) return negative('ENOENT');
    if (index !== cpu) return negative('EOPNOTSUPP');
    const extra = appended?.length ?? 0;
    const cost = 8 + roundUp8(4 + size + extra);
    this.reach(dataAddress + size);
    const i32 = this.i32;
    const lock = this.word(index, PerfControl.LOCK);
    const concurrent = this.concurrent;
    if (concurrent) lockWord(i32, lock);
    try {
      const used = Atomics.load(i32, this.word(index, PerfControl.USED));
      if (used + cost > this.bufferSize) {
        Atomics.add(i32, this.word(index, PerfControl.LOST), 1);
        return negative('ENOSPC');
      }
      const tail = Atomics.load(i32, this.word(index, PerfControl.TAIL));
      const at = this.areas + index * 2 * this.bufferSize + tail;
      const view = this.view;
      view.setUint32(at, cost, true);
      view.setUint32(at + 4, size + extra, true);
      this.bytes.copyWithin(at + 8, dataAddress, dataAddress + size);
      if (appended !== undefined) this.bytes.set(appended, at + 8 + size);
      Atomics.store(i32, this.word(index, PerfControl.TAIL), (tail + cost) % this.bufferSize);
      Atomics.add(i32, this.word(index, PerfControl.USED), cost);
    } finally {
      if (concurrent) unlockWord(i32, lock);
    }
    this.waiters.wake();
    return 0;
  }

  /** Records dropped so far because a buffer was full: for one CPU, or all together. */
  lostRecords(cpu?: number): number {
    this.reach();
    if (cpu !== undefined) return Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus ? Atomics.load(this.i32, this.word(cpu, PerfControl.LOST)) : 0;
    let sum = 0;
    for (let c = 0; c < this.cpus; c++) sum += Atomics.load(this.i32, this.word(c, PerfControl.LOST));
    return sum;
  }

  private takeFrom(cpu: number): Uint8Array | undefined {
    this.reach();
    const i32 = this.i32;
    const lock = this.word(cpu, PerfControl.LOCK);
    const concurrent = this.concurrent;
    if (concurrent) lockWord(i32, lock);
    try {
      if (Atomics.load(i32, this.word(cpu, PerfControl.USED)) === 0) return undefined;
      const head = Atomics.load(i32, this.word(cpu, PerfControl.HEAD));
      const at = this.areas + cpu * 2 * this.bufferSize + head;
      const cost = this.view.getUint32(at, true);
      const length = this.view.getUint32(at + 4, true);
      const record = this.bytes.slice(at + 8, at + 8 + length);
      Atomics.store(i32, this.word(cpu, PerfControl.HEAD), (head + cost) % this.bufferSize);
      Atomics.sub(i32, this.word(cpu, PerfControl.USED), cost);
      return record;
    } finally {
      if (concurrent) unlockWord(i32, lock);
    }
  }

  private take(): PerfRecord | undefined {
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const data = this.takeFrom(cpu);
      if (data !== undefined) return { cpu, data };
    }
    return undefined;
  }

  /** Drains every buffer, CPU by CPU, each in output order; returns how many records were delivered. */
  consume(callback: (cpu: number, record: Uint8Array) => void): number {
    let count = 0;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      for (let data = this.takeFrom(cpu); data !== undefined; data = this.takeFrom(cpu)) {
        count++;
        callback(cpu, data);
      }
    }
    return count;
  }

  /** Records as they are output; ends when `signal` aborts or the loop is left. */
  records(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<PerfRecord> {
    return recordIterator(() => this.take(), this.waiters, options.signal);
  }

  // User space cannot store perf event fds here: the buffers are attached per CPU at creation.

  protected override updateElem(): void {
    throw this.error('EOPNOTSUPP', 'perf buffers are attached to every CPU index automatically; there are no perf event fds to store');
  }

  protected override deleteElem(): void {
    throw this.error('EOPNOTSUPP', 'perf buffers are attached to every CPU index automatically and cannot be removed');
  }

  protected override nextKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
    const index = key === undefined ? -1 : new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
    const next = index >= this.spec.maxEntries ? 0 : index + 1;
    if (next >= this.spec.maxEntries) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, next, true);
    return out;
  }
}
