// The linear memory of an execution context (DESIGN.md, "Memory model"): one WebAssembly.Memory
// holding every object a program can point at. Pointers are 32-bit offsets into it; the first
// NULL_GUARD bytes are never handed out, so 0 (NULL) and small offsets from it never hit an object.

import { ADDRESS_LIMIT, NULL_GUARD } from '../abi/address-space.js';

export { NULL_GUARD };
export const PAGE_SIZE = 65536;

export interface LinearMemoryOptions {
  /** Initial size in 64 KiB pages (default 16 = 1 MiB). */
  readonly initialPages?: number;
  /** Largest size in pages it may grow to (default 4096 = 256 MiB). */
  readonly maximumPages?: number;
  /** Back it with a SharedArrayBuffer so worker threads can run programs on it (default true). */
  readonly shared?: boolean;
  /**
   * Wrap this existing memory instead of creating one (a worker thread attaching to the memory
   * of an execution context). Nothing in it is initialised or cleared.
   */
  readonly memory?: WebAssembly.Memory;
  /**
   * Allocate only within [start, end): the range this object owns. Worker threads get an arena
   * carved out by the thread that owns the memory, so each thread's bump allocator is its own
   * and no allocation ever needs a lock. Allocations past `end` throw OutOfMemoryError; an
   * arena never grows the memory.
   */
  readonly arena?: { readonly start: number; readonly end: number };
}

/**
 * Shared memories keep their growth count in the first word of the null guard (no program can
 * reach it: accesses below NULL_GUARD fault), so every thread notices growth by any thread.
 */
export const GROWTH_COUNTER_ADDRESS = 0;

/**
 * The next word is set once the memory has been handed to another thread (markShared; wrapping
 * an existing memory sets it too). Maps read it to skip their locks while only one thread can
 * reach them: it is set by the thread that shares the memory before the other thread exists, so
 * no operation ever starts unlocked while another thread could run.
 */
export const THREADS_FLAG_ADDRESS = 4;

export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

export class LinearMemory {
  readonly memory: WebAssembly.Memory;
  readonly maximumBytes: number;
  private top = NULL_GUARD;
  /** Where the allocator may start and must stop (the whole memory unless an arena was given). */
  private readonly floor: number;
  private readonly ceiling: number;
  /** A view of the shared memory's first words (growth counter, threads flag); undefined when not shared. */
  private readonly counter: Int32Array | undefined;
  private cachedBuffer: ArrayBufferLike | undefined;
  private cachedBytes: Uint8Array = new Uint8Array(0);
  private cachedView: DataView = new DataView(new ArrayBuffer(0));

  constructor(options: LinearMemoryOptions = {}) {
    const initial = options.initialPages ?? 16;
    const maximum = options.maximumPages ?? 4096;
    if (!(initial >= 1 && initial <= maximum && maximum <= 65536)) {
      throw new RangeError(`invalid memory size: ${initial} initial pages, ${maximum} maximum`);
    }
    this.memory = options.memory ?? new WebAssembly.Memory({ initial, maximum, shared: options.shared ?? true });
    this.maximumBytes = maximum * PAGE_SIZE;
    const buffer = this.memory.buffer;
    // A shared buffer never detaches: a view of it stays valid for the growth counter.
    this.counter = typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer ? new Int32Array(buffer, 0, 2) : undefined;
    if (options.memory !== undefined) this.markShared();
    const arena = options.arena;
    if (arena !== undefined) {
      if (!(Number.isInteger(arena.start) && Number.isInteger(arena.end) && arena.start >= NULL_GUARD && arena.start <= arena.end && arena.end <= buffer.byteLength)) {
        throw new RangeError(`invalid arena [${arena.start}, ${arena.end}) in a memory of ${buffer.byteLength} bytes`);
      }
      this.floor = arena.start;
      this.ceiling = arena.end;
    } else {
      this.floor = NULL_GUARD;
      this.ceiling = this.maximumBytes;
    }
    this.top = this.floor;
  }

  /** Whether the memory is backed by a SharedArrayBuffer (worker threads can attach to it). */
  get shared(): boolean {
    return this.counter !== undefined;
  }

  /** Records that another thread may use the memory from now on (call it before handing it over). */
  markShared(): void {
    if (this.counter === undefined) throw new TypeError('an unshared linear memory cannot be used by other threads');
    Atomics.store(this.counter, THREADS_FLAG_ADDRESS >> 2, 1);
  }

  /** Whether markShared was called, in any thread: maps then take their locks. */
  get sharedWithThreads(): boolean {
    return this.counter !== undefined && this.counter[THREADS_FLAG_ADDRESS >> 2] !== 0;
  }

  /** The range this object allocates in (an arena, or everything above the null guard). */
  get allocationRange(): { readonly start: number; readonly end: number } {
    return { start: this.floor, end: this.ceiling };
  }

  /** Current size in bytes. */
  get size(): number {
    this.refresh();
    return this.cachedBytes.byteLength;
  }

  /**
   * Counts the times the memory grew: views taken before a change of generation are stale.
   * Reading `memory.buffer` costs tens of nanoseconds, so callers compare this number instead.
   */
  get generation(): number {
    // Shared memories may be grown by another thread: the count lives in the memory itself. A plain
    // read (an Atomics.load costs several ns on this hot path): a thread may notice another's
    // growth a little late, which only matters if it already holds addresses in the new pages.
    return this.counter === undefined ? this.grownTimes : this.counter[GROWTH_COUNTER_ADDRESS >> 2];
  }

  private grownTimes = 0;

  private refresh(): void {
    const generation = this.generation;
    if (this.cachedBuffer === undefined || this.cachedGeneration !== generation) {
      const buffer = this.memory.buffer;
      this.cachedGeneration = generation;
      this.cachedBuffer = buffer;
      this.cachedBytes = new Uint8Array(buffer);
      this.cachedView = new DataView(buffer);
      this.cachedInt32 = new Int32Array(buffer);
      this.cachedBigInt64 = new BigInt64Array(buffer);
    }
  }

  private cachedInt32: Int32Array = new Int32Array(0);
  private cachedBigInt64: BigInt64Array = new BigInt64Array(0);

  /** An Int32Array of the whole memory (for atomics; renewed when the memory grows). */
  get int32(): Int32Array {
    this.refresh();
    return this.cachedInt32;
  }

  /** A BigInt64Array of the whole memory (for 64-bit atomics; renewed when the memory grows). */
  get bigInt64(): BigInt64Array {
    this.refresh();
    return this.cachedBigInt64;
  }

  private cachedGeneration = -1;

  /** A byte view of the whole memory (renewed when the memory grows). */
  get bytes(): Uint8Array {
    this.refresh();
    return this.cachedBytes;
  }

  /** A DataView of the whole memory (renewed when the memory grows). */
  get view(): DataView {
    this.refresh();
    return this.cachedView;
  }

  /** Reserves `size` bytes aligned to `align`, growing the memory when needed; returns the address. */
  alloc(size: number, align = 8): number {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`invalid allocation size ${size}`);
    const start = Math.ceil(this.top / align) * align;
    const end = start + Math.max(size, 1);
    // No object ends in the last 64 KiB below 2^32 (src/abi/address-space.ts): the verifier
    // relies on it when a pointer past its object is moved to 32 bits.
    if (end > this.ceiling || end >= ADDRESS_LIMIT) {
      const what = this.ceiling === this.maximumBytes ? 'linear memory' : `the arena [0x${this.floor.toString(16)}, 0x${this.ceiling.toString(16)})`;
      throw new OutOfMemoryError(`${what} exhausted: need ${end} bytes, the limit is ${this.ceiling}`);
    }
    if (end > this.size) {
      this.memory.grow(Math.ceil((end - this.size) / PAGE_SIZE));
      this.grownTimes++;
      if (this.counter !== undefined) Atomics.add(this.counter, GROWTH_COUNTER_ADDRESS >> 2, 1);
    }
    this.top = end;
    this.bytes.fill(0, start, end);
    return start;
  }

  /** The allocation watermark, to hand back scratch space with `release`. */
  mark(): number {
    return this.top;
  }

  /** Frees everything allocated since `mark` was taken. */
  release(mark: number): void {
    if (mark < this.floor || mark > this.top) throw new RangeError(`invalid memory mark ${mark}`);
    this.top = mark;
  }

  /** Copies `data` into memory at `address`. */
  write(address: number, data: Uint8Array): void {
    this.bytes.set(data, address);
  }

  /** Copies `length` bytes out of memory. */
  read(address: number, length: number): Uint8Array {
    return this.bytes.slice(address, address + length);
  }
}
