// HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH: chained hash tables whose whole state is in
// linear memory, preallocated at creation, so a WebAssembly implementation of lookup, update
// and delete can work on the same bytes as this one.
//
// Layout after the common header (map.ts), little-endian u32 fields:
//
//   +32 bucket count (a power of two, >= max_entries)
//   +36 hash seed (0 with BPF_F_ZERO_SEED); bucket = murmur3(key, seed) & (count - 1)
//   +40 address of the buckets         +64 address of the lists
//   +44 address of entry 0             +68 number of lists: CPUs for LRU maps with
//   +48 entry stride                        NO_COMMON_LRU, else 1
//   +52 key offset in an entry         +72 entries per list (list l owns entries
//   +56 value offset in an entry            l*n .. l*n+n-1)
//   +60 live entries                   +76 value copies: CPUs for per-CPU maps, else 1
//                                      +80 value stride: value size rounded up to 8
//                                      +84 lock word and sequence (lock.ts)
//   +88 lists, 16 bytes each: +0 free-entry queue head, +4 MRU entry, +8 LRU entry (LRU maps),
//       +12 free-entry queue tail
//   then the buckets: one u32 per bucket, the first entry of its chain (0 = empty)
//   then the entries (8-byte aligned), then scratch space for user-space keys and values.
//
// An entry:
//   +0  next entry of its bucket chain while in use; next free entry while free
//   +4  the key's full hash          +8  state: 1 in use, 0 free
//   +12 index of the list that owns it
//   +16 LRU maps only: neighbour towards MRU, +20 neighbour towards LRU (lru.ts)
//   key at the key offset (16, or 24 in LRU maps)
//   values at the value offset (8-aligned): value copies x value stride; CPU c's at c x stride
//
// New entries go to the head of their chain, as in Linux; iteration (BPF_MAP_GET_NEXT_KEY) walks
// buckets in order and each chain from its head. Updates of an existing key write its value in
// place, so a pointer a program got from a lookup sees them.
//
// Threads (several workers running programs, user code in any thread):
// - Updates, deletes, LRU evictions, lookup-and-delete and key iteration take the map's lock word
//   (+84): chains, free queues, LRU lists and the count only change under it, so no insert is
//   lost, no key is ever in the map twice and no free entry is handed out twice.
// - Lookups are lock-free: they walk the chain and return an entry whose hash and key match.
//   A miss is trusted only if the lock word's sequence did not move during the walk; otherwise
//   the lookup is repeated under the lock, so a lookup never misses a key that stayed in the map.
//   (Walks are bounded, so a walk that follows an entry being relinked always ends.)
// - A lookup may return an element that is being deleted concurrently, and a program keeps using
//   the pointer after the delete (Linux's RCU semantics). Freed entries go to the tail of a FIFO
//   free queue and are handed out again only after every other free entry, so an entry is reused
//   for another key only after (max_entries - count) further inserts: with a map that is not
//   nearly full that never happens while a program holds the pointer. A full map under churn can
//   reuse a just-deleted entry (as Linux's preallocated hash maps do); programs that need more
//   must not delete elements others are using.
// - Value updates of an existing element copy the value in place without atomicity (as Linux
//   without BPF_F_LOCK): concurrent readers may see a mix; counters use atomic instructions.
// - LRU lookups mark the entry used only when the lock is free at that moment (recency is a hint).

import { MapError, negative, type Errno } from './errors.js';
import { murmur3 } from './hash-function.js';
import { lockWord, sequence, tryLockWord, unlockWord } from './lock.js';
import { freeQueueAppend, freeQueueTake, lruOldest, lruPushFront, lruTouch, lruUnlink, LruList } from './lru.js';
import { BpfMap, MapHeader } from './map.js';
import type { MapRegistry } from './registry.js';
import { MapFlags, MapType, existenceError, roundUp8, validUpdateFlags, type MapSpec } from './spec.js';

export const HashLayout = {
  BUCKET_COUNT: MapHeader.SIZE,
  SEED: MapHeader.SIZE + 4,
  BUCKETS: MapHeader.SIZE + 8,
  ENTRIES: MapHeader.SIZE + 12,
  ENTRY_STRIDE: MapHeader.SIZE + 16,
  KEY_OFFSET: MapHeader.SIZE + 20,
  VALUE_OFFSET: MapHeader.SIZE + 24,
  COUNT: MapHeader.SIZE + 28,
  LISTS: MapHeader.SIZE + 32,
  LIST_COUNT: MapHeader.SIZE + 36,
  ENTRIES_PER_LIST: MapHeader.SIZE + 40,
  COPIES: MapHeader.SIZE + 44,
  VALUE_STRIDE: MapHeader.SIZE + 48,
  LOCK: MapHeader.SIZE + 52,
  /** Offset of the first list record from the map address. */
  LIST_DATA: MapHeader.SIZE + 56,
} as const;

export const HashEntry = { NEXT: 0, HASH: 4, STATE: 8, LIST: 12 } as const;

const IN_USE = 1;

function nextPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
}

export class HashMap extends BpfMap {
  readonly lru: boolean;
  readonly perCpu: boolean;
  private readonly bucketMask: number;
  private readonly buckets: number;
  private readonly entries0: number;
  private readonly stride: number;
  private readonly keyOffset: number;
  private readonly valueOffset: number;
  private readonly lists: number;
  private readonly listCount: number;
  private readonly perList: number;
  private readonly copies: number;
  private readonly valueStride: number;
  private readonly seed: number;
  private readonly scratchKey: number;
  private readonly scratchValue: number;
  /** Index of the lock word in an Int32Array of linear memory. */
  private readonly lockIndex: number;
  /** Whether this thread holds the lock right now (store and remove run again under it). */
  private holding = false;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    const lru = spec.type === MapType.LRU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
    const perCpu = spec.type === MapType.PERCPU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
    if (spec.maxEntries > 0x80000000) throw new MapError('E2BIG', `map "${spec.name}": max_entries ${spec.maxEntries} needs too many buckets`);
    const copies = perCpu ? registry.cpus : 1;
    const listCount = lru && spec.flags & MapFlags.NO_COMMON_LRU ? registry.cpus : 1;
    const bucketCount = nextPowerOfTwo(spec.maxEntries);
    const keyOffset = lru ? 24 : 16;
    const valueOffset = roundUp8(keyOffset + spec.keySize);
    const valueStride = roundUp8(spec.valueSize);
    const stride = roundUp8(valueOffset + copies * valueStride);
    const bucketsAt = HashLayout.LIST_DATA + listCount * LruList.SIZE;
    const entriesAt = roundUp8(bucketsAt + bucketCount * 4);
    const scratchKeyAt = entriesAt + spec.maxEntries * stride;
    const scratchValueAt = scratchKeyAt + roundUp8(spec.keySize);
    super(registry, id, spec, scratchValueAt + copies * valueStride, attachAt);

    this.lru = lru;
    this.perCpu = perCpu;
    this.bucketMask = bucketCount - 1;
    this.buckets = this.address + bucketsAt;
    this.entries0 = this.address + entriesAt;
    this.stride = stride;
    this.keyOffset = keyOffset;
    this.valueOffset = valueOffset;
    this.lists = this.address + HashLayout.LIST_DATA;
    this.listCount = listCount;
    this.perList = spec.maxEntries / listCount;
    this.copies = copies;
    this.valueStride = valueStride;
    this.lockIndex = (this.address + HashLayout.LOCK) >> 2;
    const view = this.memory.view;
    if (this.attached) {
      this.seed = view.getUint32(this.address + HashLayout.SEED, true);
      // The scratch space in the block belongs to the thread that created the map.
      this.scratchKey = registry.allocate(roundUp8(spec.keySize) + copies * valueStride, this.describe());
      this.scratchValue = this.scratchKey + roundUp8(spec.keySize);
      return;
    }
    this.seed = spec.flags & MapFlags.ZERO_SEED ? 0 : randomSeed();
    this.scratchKey = this.address + scratchKeyAt;
    this.scratchValue = this.address + scratchValueAt;

    const header = (offset: number, value: number) => view.setUint32(this.address + offset, value, true);
    header(HashLayout.BUCKET_COUNT, bucketCount);
    header(HashLayout.SEED, this.seed);
    header(HashLayout.BUCKETS, this.buckets);
    header(HashLayout.ENTRIES, this.entries0);
    header(HashLayout.ENTRY_STRIDE, stride);
    header(HashLayout.KEY_OFFSET, keyOffset);
    header(HashLayout.VALUE_OFFSET, valueOffset);
    header(HashLayout.LISTS, this.lists);
    header(HashLayout.LIST_COUNT, listCount);
    header(HashLayout.ENTRIES_PER_LIST, this.perList);
    header(HashLayout.COPIES, copies);
    header(HashLayout.VALUE_STRIDE, valueStride);
    // Each list's free queue hands out its lowest entry first, so allocation order is predictable.
    for (let l = 0; l < listCount; l++) {
      let head = 0;
      for (let i = (l + 1) * this.perList - 1; i >= l * this.perList; i--) {
        const entry = this.entries0 + i * stride;
        view.setUint32(entry + HashEntry.NEXT, head, true);
        view.setUint32(entry + HashEntry.LIST, l, true);
        head = entry;
      }
      view.setUint32(this.lists + l * LruList.SIZE + LruList.FREE, head, true);
      view.setUint32(this.lists + l * LruList.SIZE + LruList.FREE_TAIL, this.perList === 0 ? 0 : this.entries0 + ((l + 1) * this.perList - 1) * stride, true);
    }
  }

  /** Elements in the map. */
  get count(): number {
    this.reach();
    return this.view.getUint32(this.address + HashLayout.COUNT, true);
  }

  override get userValueSize(): number {
    return this.perCpu ? this.copies * this.valueStride : this.spec.valueSize;
  }

  // ---- the table, on addresses ----

  private hashOf(keyAddress: number): number {
    return murmur3(this.bytes, keyAddress, this.spec.keySize, this.seed);
  }

  private bucketOf(hash: number): number {
    return this.buckets + (hash & this.bucketMask) * 4;
  }

  private listOf(view: DataView, entry: number): number {
    return this.lists + view.getUint32(entry + HashEntry.LIST, true) * LruList.SIZE;
  }

  /**
   * The entry holding the key at `keyAddress`, or 0. Lock-free callers may walk a chain while it
   * is relinked: the walk stops after max_entries steps, whatever it follows.
   */
  protected find(keyAddress: number, hash: number): number {
    const view = this.view;
    const bytes = this.bytes;
    const size = this.spec.keySize;
    let entry = view.getUint32(this.bucketOf(hash), true);
    let steps = this.spec.maxEntries;
    search: while (entry !== 0 && steps-- >= 0) {
      if (view.getUint32(entry + HashEntry.HASH, true) === hash) {
        const k = entry + this.keyOffset;
        for (let i = 0; i < size; i++) {
          if (bytes[k + i] !== bytes[keyAddress + i]) {
            entry = view.getUint32(entry + HashEntry.NEXT, true);
            continue search;
          }
        }
        return entry;
      }
      entry = view.getUint32(entry + HashEntry.NEXT, true);
    }
    return 0;
  }

  /**
   * find() without the lock, for lookups: a hit is returned as found; a miss is trusted only if
   * no writer ran during the walk, else the walk is repeated under the lock.
   */
  private findShared(keyAddress: number, hash: number): number {
    // A hit needs no validation: the hash and the key matched. Only a miss is checked, by a
    // second walk between two reads of the sequence (the Atomics calls cost more than a walk).
    const entry = this.find(keyAddress, hash);
    if (entry !== 0 || !this.concurrent) return entry;
    return this.findValidated(keyAddress, hash);
  }

  private findValidated(keyAddress: number, hash: number): number {
    const before = sequence(this.i32, this.lockIndex);
    const entry = this.find(keyAddress, hash);
    if (entry !== 0 || ((before & 1) === 0 && sequence(this.i32, this.lockIndex) === before)) return entry;
    return this.findLocked(keyAddress, hash);
  }

  private findLocked(keyAddress: number, hash: number): number {
    const i32 = this.i32;
    lockWord(i32, this.lockIndex);
    try {
      return this.find(keyAddress, hash);
    } finally {
      unlockWord(i32, this.lockIndex);
    }
  }

  /** Takes a free entry of list `list`, evicting its least recently used one in LRU maps; 0 when full. */
  private allocate(view: DataView, list: number): number {
    const free = freeQueueTake(view, list);
    if (free !== 0) return free;
    if (!this.lru) return 0;
    const victim = lruOldest(view, list);
    if (victim === 0) return 0;
    this.unchain(view, victim);
    lruUnlink(view, list, victim);
    view.setUint32(victim + HashEntry.STATE, 0, true);
    this.addCount(view, -1);
    return victim;
  }

  private addCount(view: DataView, delta: number): void {
    const at = this.address + HashLayout.COUNT;
    view.setUint32(at, view.getUint32(at, true) + delta, true);
  }

  /** Removes `entry` from its bucket chain. */
  private unchain(view: DataView, entry: number): void {
    let link = this.bucketOf(view.getUint32(entry + HashEntry.HASH, true));
    for (let e = view.getUint32(link, true); e !== 0; e = view.getUint32(link, true)) {
      if (e === entry) {
        view.setUint32(link, view.getUint32(entry + HashEntry.NEXT, true), true);
        return;
      }
      link = e + HashEntry.NEXT;
    }
  }

  /**
   * Inserts or overwrites the element whose key is at `keyAddress`. `allCpus`: the value holds
   * every CPU's copy (user space); otherwise it is one value for `cpu`, and a new per-CPU element
   * starts with zeros on the other CPUs (so programs never see stale data there).
   */
  protected store(keyAddress: number, valueAddress: number, flags: number, cpu: number, allCpus: boolean): Errno | undefined {
    if (!validUpdateFlags(flags)) return 'EINVAL';
    // Shared: run again holding the lock. Alone: straight on (one function, as fast as unlocked).
    if (this.concurrent && !this.holding) return this.storeHolding(keyAddress, valueAddress, flags, cpu, allCpus);
    const hash = this.hashOf(keyAddress);
    let entry = this.find(keyAddress, hash);
    const refused = existenceError(flags, entry !== 0);
    if (refused !== undefined) return refused;
    const view = this.view;
    const bytes = this.bytes;
    if (entry !== 0) {
      if (this.lru) lruTouch(view, this.listOf(view, entry), entry);
    } else {
      const list = this.lists + (this.listCount === 1 ? 0 : cpu) * LruList.SIZE;
      entry = this.allocate(view, list);
      if (entry === 0) return 'E2BIG';
      view.setUint32(entry + HashEntry.HASH, hash, true);
      view.setUint32(entry + HashEntry.STATE, IN_USE, true);
      bytes.copyWithin(entry + this.keyOffset, keyAddress, keyAddress + this.spec.keySize);
      if (this.perCpu && !allCpus) bytes.fill(0, entry + this.valueOffset, entry + this.valueOffset + this.copies * this.valueStride);
      // The value is written before the entry is published: a lock-free lookup in another thread
      // that finds the entry may at once add to its counter, and that must not be overwritten.
      this.writeValue(entry, valueAddress, cpu, allCpus);
      const bucket = this.bucketOf(hash);
      view.setUint32(entry + HashEntry.NEXT, view.getUint32(bucket, true), true);
      Atomics.store(this.i32, bucket >> 2, entry);
      if (this.lru) lruPushFront(view, list, entry);
      this.addCount(view, 1);
      return undefined;
    }
    this.writeValue(entry, valueAddress, cpu, allCpus);
    return undefined;
  }

  private writeValue(entry: number, valueAddress: number, cpu: number, allCpus: boolean): void {
    const to = entry + this.valueOffset;
    if (allCpus) this.bytes.copyWithin(to, valueAddress, valueAddress + this.userValueSize);
    else this.bytes.copyWithin(to + (this.perCpu ? cpu * this.valueStride : 0), valueAddress, valueAddress + this.spec.valueSize);
  }

  private storeHolding(keyAddress: number, valueAddress: number, flags: number, cpu: number, allCpus: boolean): Errno | undefined {
    const i32 = this.i32;
    lockWord(i32, this.lockIndex);
    this.holding = true;
    try {
      return this.store(keyAddress, valueAddress, flags, cpu, allCpus);
    } finally {
      this.holding = false;
      unlockWord(i32, this.lockIndex);
    }
  }

  /**
   * Deletes the element whose key is at `keyAddress`; false when there is none. With `copyTo`,
   * copies the user-visible value there first (lookup-and-delete, atomically).
   */
  protected remove(keyAddress: number, copyTo?: number): boolean {
    if (this.concurrent && !this.holding) return this.removeHolding(keyAddress, copyTo);
    const view = this.view;
    const entry = this.find(keyAddress, this.hashOf(keyAddress));
    if (entry === 0) return false;
    if (copyTo !== undefined) this.bytes.copyWithin(copyTo, entry + this.valueOffset, entry + this.valueOffset + this.userValueSize);
    this.unchain(view, entry);
    const list = this.listOf(view, entry);
    if (this.lru) lruUnlink(view, list, entry);
    view.setUint32(entry + HashEntry.STATE, 0, true);
    freeQueueAppend(view, list, entry);
    this.addCount(view, -1);
    return true;
  }

  private removeHolding(keyAddress: number, copyTo: number | undefined): boolean {
    const i32 = this.i32;
    lockWord(i32, this.lockIndex);
    this.holding = true;
    try {
      return this.remove(keyAddress, copyTo);
    } finally {
      this.holding = false;
      unlockWord(i32, this.lockIndex);
    }
  }

  // ---- user space ----

  private scratch(key: Uint8Array): number {
    this.reach();
    this.bytes.set(key, this.scratchKey);
    return this.scratchKey;
  }

  protected override lookupElem(key: Uint8Array): Uint8Array | undefined {
    const at = this.scratch(key);
    // BPF_MAP_LOOKUP_ELEM does not count as a use for LRU maps (htab_lru_map_lookup_elem_sys).
    const entry = this.findShared(at, this.hashOf(at));
    return entry === 0 ? undefined : this.bytes.slice(entry + this.valueOffset, entry + this.valueOffset + this.userValueSize);
  }

  protected override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    const at = this.scratch(key);
    this.bytes.set(value, this.scratchValue);
    const failed = this.store(at, this.scratchValue, flags, 0, true);
    if (failed !== undefined) throw this.error(failed, updateFailure(failed, flags, this.spec.maxEntries));
  }

  protected override deleteElem(key: Uint8Array): void {
    if (!this.remove(this.scratch(key))) throw this.error('ENOENT', 'no such key');
  }

  protected override lookupAndDeleteElem(key: Uint8Array): Uint8Array {
    const at = this.scratch(key);
    if (!this.remove(at, this.scratchValue)) throw this.error('ENOENT', 'no such key');
    return this.bytes.slice(this.scratchValue, this.scratchValue + this.userValueSize);
  }

  protected override nextKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
    this.reach();
    const i32 = this.i32;
    lockWord(i32, this.lockIndex);
    try {
      return this.nextKeyLocked(key);
    } finally {
      unlockWord(i32, this.lockIndex);
    }
  }

  private nextKeyLocked(key: Uint8Array | undefined): Uint8Array | undefined {
    let bucket = 0;
    if (key !== undefined) {
      const at = this.scratch(key);
      const hash = this.hashOf(at);
      const entry = this.find(at, hash);
      // htab_map_get_next_key: a key not in the map restarts from the first bucket.
      if (entry !== 0) {
        const next = this.view.getUint32(entry + HashEntry.NEXT, true);
        if (next !== 0) return this.keyAt(next);
        bucket = (hash & this.bucketMask) + 1;
      }
    }
    for (; bucket <= this.bucketMask; bucket++) {
      const first = this.view.getUint32(this.buckets + bucket * 4, true);
      if (first !== 0) return this.keyAt(first);
    }
    return undefined;
  }

  protected override containsKey(key: Uint8Array): boolean {
    const at = this.scratch(key);
    return this.findShared(at, this.hashOf(at)) !== 0;
  }

  // ---- data plane ----

  private keyAt(entry: number): Uint8Array {
    return this.bytes.slice(entry + this.keyOffset, entry + this.keyOffset + this.spec.keySize);
  }

  override lookupFromProgram(keyAddress: number, cpu: number): number {
    this.reach(keyAddress + this.spec.keySize);
    const entry = this.findShared(keyAddress, this.hashOf(keyAddress));
    if (entry === 0) return 0;
    if (this.perCpu && !(cpu >= 0 && cpu < this.copies)) return 0;
    if (this.lru) {
      if (!this.concurrent) {
        lruTouch(this.view, this.listOf(this.view, entry), entry);
      } else if (tryLockWord(this.i32, this.lockIndex)) {
        // Still in the map (not deleted since the walk): relink it as most recently used.
        if (this.view.getUint32(entry + HashEntry.STATE, true) === IN_USE) lruTouch(this.view, this.listOf(this.view, entry), entry);
        unlockWord(this.i32, this.lockIndex);
      }
    }
    return entry + this.valueOffset + (this.perCpu ? cpu * this.valueStride : 0);
  }

  override updateFromProgram(keyAddress: number, valueAddress: number, flags: number, cpu: number): number {
    this.checkCpu(cpu);
    this.reach(Math.max(keyAddress + this.spec.keySize, valueAddress + this.spec.valueSize));
    const failed = this.store(keyAddress, valueAddress, flags, cpu, false);
    return failed === undefined ? 0 : negative(failed);
  }

  override deleteFromProgram(keyAddress: number, _cpu: number): number {
    this.reach(keyAddress + this.spec.keySize);
    return this.remove(keyAddress) ? 0 : negative('ENOENT');
  }

  override forEachFromProgram(cpu: number, callback: (keyAddress: number, valueAddress: number) => boolean): number {
    this.checkCpu(cpu);
    const valueOffset = this.valueOffset + (this.perCpu ? cpu * this.valueStride : 0);
    let visited = 0;
    for (let bucket = 0; bucket <= this.bucketMask; bucket++) {
      // The callback may delete elements (its own or others): walk a snapshot of the chain and
      // skip entries freed meanwhile.
      const chain: number[] = [];
      this.reach();
      const view = this.view;
      // The snapshot is taken under the lock; the callbacks run without it (they may update or
      // delete elements of this very map).
      const i32 = this.i32;
      lockWord(i32, this.lockIndex);
      try {
        for (let e = view.getUint32(this.buckets + bucket * 4, true); e !== 0; e = view.getUint32(e + HashEntry.NEXT, true)) chain.push(e);
      } finally {
        unlockWord(i32, this.lockIndex);
      }
      for (const entry of chain) {
        this.reach();
        if (this.view.getUint32(entry + HashEntry.STATE, true) !== IN_USE) continue;
        visited++;
        if (!callback(entry + this.keyOffset, entry + valueOffset)) return visited;
      }
    }
    return visited;
  }
}

function updateFailure(errno: Errno, flags: number, maxEntries: number): string {
  switch (errno) {
    case 'EINVAL':
      return `invalid update flags ${flags}`;
    case 'EEXIST':
      return 'the key exists and NOEXIST was given';
    case 'ENOENT':
      return 'no such key and EXIST was given';
    case 'E2BIG':
      return `the map is full (max_entries ${maxEntries})`;
    default:
      return errno;
  }
}
