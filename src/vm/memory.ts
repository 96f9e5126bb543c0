// The linear memory of an execution context (DESIGN.md, "Memory model"): one WebAssembly.Memory
// holding every object a program can point at. Pointers are 32-bit offsets into it; the first
// NULL_GUARD bytes are never handed out, so 0 (NULL) and small offsets from it never hit an object.

export const PAGE_SIZE = 65536;
/** Bytes at the start of memory that belong to no object. Accesses there are null dereferences. */
export const NULL_GUARD = 4096;

export interface LinearMemoryOptions {
  /** Initial size in 64 KiB pages (default 16 = 1 MiB). */
  readonly initialPages?: number;
  /** Largest size in pages it may grow to (default 4096 = 256 MiB). */
  readonly maximumPages?: number;
  /** Back it with a SharedArrayBuffer so worker threads can run programs on it (default true). */
  readonly shared?: boolean;
}

export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

export class LinearMemory {
  readonly memory: WebAssembly.Memory;
  readonly maximumBytes: number;
  private top = NULL_GUARD;
  private cachedBuffer: ArrayBufferLike | undefined;
  private cachedBytes: Uint8Array = new Uint8Array(0);
  private cachedView: DataView = new DataView(new ArrayBuffer(0));

  constructor(options: LinearMemoryOptions = {}) {
    const initial = options.initialPages ?? 16;
    const maximum = options.maximumPages ?? 4096;
    if (!(initial >= 1 && initial <= maximum && maximum <= 65536)) {
      throw new RangeError(`invalid memory size: ${initial} initial pages, ${maximum} maximum`);
    }
    this.memory = new WebAssembly.Memory({ initial, maximum, shared: options.shared ?? true });
    this.maximumBytes = maximum * PAGE_SIZE;
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
    return this.grownTimes;
  }

  private grownTimes = 0;

  private refresh(): void {
    if (this.cachedBuffer === undefined || this.cachedGeneration !== this.grownTimes) {
      const buffer = this.memory.buffer;
      this.cachedGeneration = this.grownTimes;
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
    if (end > this.maximumBytes) {
      throw new OutOfMemoryError(`linear memory exhausted: need ${end} bytes, the limit is ${this.maximumBytes}`);
    }
    if (end > this.size) {
      this.memory.grow(Math.ceil((end - this.size) / PAGE_SIZE));
      this.grownTimes++;
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
    if (mark < NULL_GUARD || mark > this.top) throw new RangeError(`invalid memory mark ${mark}`);
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
