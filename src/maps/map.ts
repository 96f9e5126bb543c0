// The base of every map: identity, the header in linear memory, bpf(2)-style user-space access
// with its permission and size checks, and the data-plane entry points helpers call.
//
// Every map starts with this 32-byte header at `map.address`, which is what a program's
// `lddw rX, map` resolves to. All fields are little-endian u32:
//
//   +0  map type (Linux UAPI number)      +16 map flags (BPF_F_*)
//   +4  key size                          +20 map id
//   +8  value size                        +24 number of CPUs (copies of a per-CPU value)
//   +12 max entries                       +28 state: bit 0 = frozen (no user-space writes)
//
// Each type's own header fields follow from +32 (see its file). Everything after the header is
// allocated in the same block, so a map is one contiguous, 8-byte aligned region.
//
// Threads. All of a map's state is in linear memory, so another thread holding the same
// (shared) memory rebuilds the map object over the same block with MapRegistry.attach and sees
// exactly the same map. What each type guarantees when several threads use it at once is in its
// file; in short: array values are plain memory (programs use atomics on them, as on Linux);
// hash, LRU, LPM, queue/stack and ring buffer updates take the map's lock word (lock.ts), and
// lookups are lock-free, validated by the lock word's sequence. Locks are taken only once the
// memory has been shared with another thread (LinearMemory.markShared, done by shareMaps before
// the other thread exists): until then a single thread pays nothing for them.

import { THREADS_FLAG_ADDRESS, type LinearMemory } from '../vm/memory.js';
import { MapError, negative, type Errno } from './errors.js';
import { lockWord, unlockWord } from './lock.js';
import { MapFlags, mapTypeName, type MapSpec } from './spec.js';
import type { MapRegistry } from './registry.js';

export const MapHeader = {
  TYPE: 0,
  KEY_SIZE: 4,
  VALUE_SIZE: 8,
  MAX_ENTRIES: 12,
  FLAGS: 16,
  ID: 20,
  CPUS: 24,
  STATE: 28,
  /** Bytes of the common header; type-specific fields start here. */
  SIZE: 32,
} as const;

export const MapState = { FROZEN: 1 } as const;

export interface LookupBatchOptions {
  /** Key to start at (inclusive); absent: the first key. A key no longer in the map continues after it as BPF_MAP_GET_NEXT_KEY would. */
  readonly startKey?: Uint8Array;
  /** Most elements to return (default: all). */
  readonly count?: number;
}

export interface LookupBatchResult {
  readonly keys: Uint8Array[];
  readonly values: Uint8Array[];
  /** Where the next batch starts; absent when the map has been read to its end. */
  readonly nextKey?: Uint8Array;
}

export abstract class BpfMap {
  protected readonly memory: LinearMemory;
  /** CPUs of the execution context; per-CPU maps keep this many copies of each value. */
  protected readonly cpus: number;
  /**
   * Views of linear memory for the map's own accesses, renewed by `reach`: the WebAssembly.Memory
   * buffer getter behind `memory.bytes` costs more than a whole hash lookup.
   */
  protected bytes: Uint8Array = new Uint8Array(0);
  protected view: DataView = new DataView(new ArrayBuffer(0));
  /** Int32Array of linear memory, for Atomics on the map's words (renewed by `reach`). */
  protected i32: Int32Array = new Int32Array(0);
  /** End of the map's block in linear memory. */
  private readonly end: number;
  /** Whether this object was rebuilt over a map another thread created (MapRegistry.attach). */
  readonly attached: boolean;

  /**
   * `size` bytes (header included) are allocated for the map; the caller has validated `spec`.
   * With `attachAt`, nothing is allocated or written: the object is rebuilt over the map whose
   * header is at that address (it must be this map: same type and id).
   */
  protected constructor(
    readonly registry: MapRegistry,
    readonly id: number,
    readonly spec: MapSpec,
    size: number,
    attachAt?: number,
  ) {
    this.memory = registry.memory;
    this.cpus = registry.cpus;
    this.attached = attachAt !== undefined;
    if (attachAt !== undefined) {
      const view = this.memory.view;
      if (!(attachAt >= 0 && attachAt + size <= this.memory.size)) throw new RangeError(`${this.describe()}: block at 0x${attachAt.toString(16)} (${size} bytes) is outside linear memory`);
      const type = view.getUint32(attachAt + MapHeader.TYPE, true);
      const idThere = view.getUint32(attachAt + MapHeader.ID, true);
      if (type !== spec.type || idThere !== id || view.getUint32(attachAt + MapHeader.CPUS, true) !== this.cpus) {
        throw new RangeError(`${this.describe()}: the header at 0x${attachAt.toString(16)} is not map ${id} of type ${spec.type} for ${this.cpus} CPUs`);
      }
      this.address = attachAt;
      this.end = attachAt + size;
      return;
    }
    this.address = registry.allocate(size, this.describe());
    this.end = this.address + size;
    const view = this.memory.view;
    const a = this.address;
    view.setUint32(a + MapHeader.TYPE, spec.type, true);
    view.setUint32(a + MapHeader.KEY_SIZE, spec.keySize, true);
    view.setUint32(a + MapHeader.VALUE_SIZE, spec.valueSize, true);
    view.setUint32(a + MapHeader.MAX_ENTRIES, spec.maxEntries, true);
    view.setUint32(a + MapHeader.FLAGS, spec.flags, true);
    view.setUint32(a + MapHeader.ID, id, true);
    view.setUint32(a + MapHeader.CPUS, this.cpus, true);
  }

  /** Address of the header in linear memory: the map's identity on the data plane. */
  readonly address: number;

  get name(): string {
    return this.spec.name;
  }

  get frozen(): boolean {
    return (this.memory.view.getUint32(this.address + MapHeader.STATE, true) & MapState.FROZEN) !== 0;
  }

  /** Bytes of a value as user space passes and receives it (per-CPU maps: every CPU's, 8-byte padded). */
  get userValueSize(): number {
    return this.spec.valueSize;
  }

  protected describe(): string {
    return `${mapTypeName(this.spec.type)} map "${this.spec.name}"`;
  }

  protected error(errno: Errno, reason: string): MapError {
    return new MapError(errno, `${this.describe()}: ${reason}`);
  }

  // ---- user space (bpf(2) commands) ----

  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkReadable();
    this.checkKey(key);
    return this.lookupElem(key);
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkWritable();
    this.checkKey(key);
    if (value.length !== this.userValueSize) {
      throw this.error('EINVAL', `value must be ${this.userValueSize} bytes, got ${value.length}`);
    }
    if (!Number.isInteger(flags) || flags < 0) throw this.error('EINVAL', `invalid update flags ${flags}`);
    this.updateElem(key, value, flags);
  }

  delete(key: Uint8Array): void {
    this.checkWritable();
    this.checkKey(key);
    this.deleteElem(key);
  }

  lookupAndDelete(key: Uint8Array): Uint8Array {
    this.checkReadable();
    this.checkWritable();
    this.checkKey(key);
    return this.lookupAndDeleteElem(key);
  }

  /** BPF_MAP_GET_NEXT_KEY: the key after `key`, the first key when `key` is absent or not in the map, undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkReadable();
    if (key !== undefined) this.checkKey(key);
    return this.nextKeyOf(key);
  }

  *keys(): IterableIterator<Uint8Array> {
    for (let key = this.nextKey(); key !== undefined; key = this.nextKey(key)) yield key;
  }

  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const key of this.keys()) {
      const value = this.lookupElem(key);
      if (value !== undefined) yield [key, value];
    }
  }

  lookupBatch(options: LookupBatchOptions = {}): LookupBatchResult {
    this.checkReadable();
    const limit = options.count ?? Infinity;
    if (limit !== Infinity && !(Number.isInteger(limit) && limit >= 0)) throw this.error('EINVAL', `invalid batch count ${limit}`);
    const start = options.startKey;
    if (start !== undefined) this.checkKey(start);
    let key = start === undefined ? this.nextKeyOf(undefined) : this.containsKey(start) ? start.slice() : this.nextKeyOf(start);
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    while (key !== undefined && keys.length < limit) {
      const value = this.lookupElem(key);
      if (value !== undefined) {
        keys.push(key);
        values.push(value);
      }
      key = this.nextKeyOf(key);
    }
    return key === undefined ? { keys, values } : { keys, values, nextKey: key };
  }

  /** Applies the updates in order; the first failure is thrown with `applied` set to how many succeeded. */
  updateBatch(keys: Uint8Array[], values: Uint8Array[], flags = 0): number {
    if (keys.length !== values.length) throw this.error('EINVAL', `${keys.length} keys but ${values.length} values`);
    return this.batch(keys.length, (i) => this.update(keys[i], values[i], flags));
  }

  deleteBatch(keys: Uint8Array[]): number {
    return this.batch(keys.length, (i) => this.delete(keys[i]));
  }

  /** BPF_MAP_FREEZE: user space can no longer write (used for .rodata); programs are unaffected. */
  freeze(): void {
    if (this.spec.flags & MapFlags.RDONLY) throw this.error('EPERM', 'the map is read-only for user space');
    if (this.frozen) throw this.error('EBUSY', 'the map is already frozen');
    Atomics.or(this.memory.int32, (this.address + MapHeader.STATE) >> 2, MapState.FROZEN);
  }

  private batch(count: number, apply: (i: number) => void): number {
    for (let i = 0; i < count; i++) {
      try {
        apply(i);
      } catch (e) {
        if (e instanceof MapError) e.applied = i;
        throw e;
      }
    }
    return count;
  }

  protected checkKey(key: Uint8Array): void {
    if (key.length !== this.spec.keySize) throw this.error('EINVAL', `key must be ${this.spec.keySize} bytes, got ${key.length}`);
  }

  private checkReadable(): void {
    if (this.spec.flags & MapFlags.WRONLY) throw this.error('EPERM', 'the map is write-only for user space');
  }

  private checkWritable(): void {
    if (this.spec.flags & MapFlags.RDONLY) throw this.error('EPERM', 'the map is read-only for user space');
    if (this.frozen) throw this.error('EPERM', 'the map is frozen');
  }

  // What each type implements; arguments are already checked for size and permission.

  protected lookupElem(_key: Uint8Array): Uint8Array | undefined {
    throw this.error('ENOTSUPP', 'lookup is not supported');
  }

  protected updateElem(_key: Uint8Array, _value: Uint8Array, _flags: number): void {
    throw this.error('ENOTSUPP', 'update is not supported');
  }

  protected deleteElem(_key: Uint8Array): void {
    throw this.error('ENOTSUPP', 'delete is not supported');
  }

  protected lookupAndDeleteElem(_key: Uint8Array): Uint8Array {
    throw this.error('ENOTSUPP', 'lookup-and-delete is not supported');
  }

  protected nextKeyOf(_key: Uint8Array | undefined): Uint8Array | undefined {
    throw this.error('ENOTSUPP', 'key iteration is not supported');
  }

  /** Whether `key` itself is in the map (for LPM tries: exactly, not by longest match). */
  protected containsKey(key: Uint8Array): boolean {
    return this.lookupElem(key) !== undefined;
  }

  // ---- data plane: addresses in linear memory; results are what the helper returns ----

  /** bpf_map_lookup_elem: address of the value (for `cpu` on per-CPU maps), or 0. */
  lookupFromProgram(_keyAddress: number, _cpu: number): number {
    return 0;
  }

  /** bpf_map_update_elem: 0 or -errno. */
  updateFromProgram(_keyAddress: number, _valueAddress: number, _flags: number, _cpu: number): number {
    return negative('EINVAL');
  }

  /** bpf_map_delete_elem: 0 or -errno. */
  deleteFromProgram(_keyAddress: number, _cpu: number): number {
    return negative('EINVAL');
  }

  /** bpf_map_push_elem (queue and stack only). */
  pushFromProgram(_valueAddress: number, _flags: number): number {
    return negative('EINVAL');
  }

  /** bpf_map_pop_elem (queue and stack only). */
  popFromProgram(_valueAddress: number): number {
    return negative('EINVAL');
  }

  /** bpf_map_peek_elem (queue and stack only). */
  peekFromProgram(_valueAddress: number): number {
    return negative('EINVAL');
  }

  /** bpf_for_each_map_elem: calls back with key and value addresses until it returns false; returns how many were visited. */
  forEachFromProgram(_cpu: number, _callback: (keyAddress: number, valueAddress: number) => boolean): number {
    return negative('EINVAL');
  }

  /**
   * Makes `bytes` and `view` cover the map's block and addresses below `end`. Call it on entry to
   * every operation and after anything that may grow the memory (a callback). Views of a grown
   * memory are either detached (length 0) or shorter than the memory, so the length check is
   * enough to catch both.
   */
  protected reach(end = 0): void {
    if (end > this.bytes.length || this.end > this.bytes.length) {
      this.bytes = this.memory.bytes;
      this.view = this.memory.view;
      this.i32 = this.memory.int32;
    }
  }

  /**
   * Whether other threads may use the map (its memory was shared with them): locks are taken
   * only then. Call after `reach`. A plain read is enough: the flag is set by this thread, or
   * before this thread was started.
   */
  protected get concurrent(): boolean {
    return this.i32[THREADS_FLAG_ADDRESS >> 2] !== 0;
  }

  /** Runs `body` holding the lock word at `offset` in the map's block (see lock.ts). */
  protected locked<T>(offset: number, body: () => T): T {
    this.reach();
    if (!this.concurrent) return body();
    const index = (this.address + offset) >> 2;
    const i32 = this.i32;
    lockWord(i32, index);
    try {
      return body();
    } finally {
      unlockWord(i32, index);
    }
  }

  /** Per-CPU data-plane operations name a CPU the context has. */
  protected checkCpu(cpu: number): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus)) {
      throw new RangeError(`${this.describe()}: cpu ${cpu} is not one of the ${this.cpus} CPUs`);
    }
  }
}
