// PERF_EVENT_ARRAY: bpf_perf_event_output writes records into per-CPU buffers that user space
// drains. In Linux user space opens one perf event per CPU and stores its fd at that CPU's
// index; here every CPU of the context has its buffer at its own index from the start, and
// an index without a CPU has no event (ENOENT).
//
// Only the common header (map.ts) is in linear memory: programs never point into perf buffers
// (output copies), so the buffers are plain queues of record copies, accounted in bytes as a
// perf ring would be (8-byte event header + u32 size + data, padded to 8) so that a full buffer
// drops records and counts them as lost, as Linux does.

import { negative } from './errors.js';
import { BpfMap, MapHeader } from './map.js';
import { Waiters, recordIterator } from './notify.js';
import type { MapRegistry } from './registry.js';
import { roundUp8, type MapSpec } from './spec.js';

/** BPF_F_INDEX_MASK / BPF_F_CURRENT_CPU: the low 32 bits of the flags pick the buffer. */
export const PERF_INDEX_MASK = 0xffffffff;
export const PERF_CURRENT_CPU = 0xffffffff;
/** BPF_F_CTXLEN_MASK: bits 32-51, how much of the context (packet) to append. */
const CTXLEN_HIGH_MASK = 0xfffff;

export interface PerfRecord {
  readonly cpu: number;
  readonly data: Uint8Array;
}

interface CpuBuffer {
  readonly records: Uint8Array[];
  /** Index of the oldest record not yet consumed. */
  head: number;
  /** Bytes the pending records would occupy in a perf ring. */
  used: number;
  lost: number;
}

export class PerfEventArrayMap extends BpfMap {
  /** Capacity of each CPU's buffer in bytes. */
  readonly bufferSize: number;
  private readonly buffers: CpuBuffer[];
  private readonly waiters = new Waiters();

  constructor(registry: MapRegistry, id: number, spec: MapSpec) {
    super(registry, id, spec, MapHeader.SIZE);
    this.bufferSize = registry.perfBufferSize;
    this.buffers = Array.from({ length: this.cpus }, () => ({ records: [], head: 0, used: 0, lost: 0 }));
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
    const buffer = this.buffers[index];
    const cost = 8 + roundUp8(4 + size + extra);
    if (buffer.used + cost > this.bufferSize) {
      buffer.lost++;
      return negative('ENOSPC');
    }
    const record = new Uint8Array(size + extra);
    this.reach(dataAddress + size);
    record.set(this.bytes.subarray(dataAddress, dataAddress + size));
    if (appended !== undefined) record.set(appended, size);
    buffer.records.push(record);
    buffer.used += cost;
    this.waiters.wake();
    return 0;
  }

  /** Records dropped so far because a buffer was full: for one CPU, or all together. */
  lostRecords(cpu?: number): number {
    if (cpu !== undefined) return this.buffers[cpu]?.lost ?? 0;
    return this.buffers.reduce((sum, b) => sum + b.lost, 0);
  }

  private takeFrom(buffer: CpuBuffer): Uint8Array | undefined {
    if (buffer.head >= buffer.records.length) return undefined;
    const record = buffer.records[buffer.head];
    buffer.head++;
    buffer.used -= 8 + roundUp8(4 + record.length);
    if (buffer.head === buffer.records.length) {
      buffer.records.length = 0;
      buffer.head = 0;
    }
    return record;
  }

  private take(): PerfRecord | undefined {
    for (let cpu = 0; cpu < this.buffers.length; cpu++) {
      const data = this.takeFrom(this.buffers[cpu]);
      if (data !== undefined) return { cpu, data };
    }
    return undefined;
  }

  /** Drains every buffer, CPU by CPU, each in output order; returns how many records were delivered. */
  consume(callback: (cpu: number, record: Uint8Array) => void): number {
    let count = 0;
    for (let cpu = 0; cpu < this.buffers.length; cpu++) {
      for (let data = this.takeFrom(this.buffers[cpu]); data !== undefined; data = this.takeFrom(this.buffers[cpu])) {
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
