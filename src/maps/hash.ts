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
//   +88 lists, 16 bytes each: +0 free-entry stack head, +4 MRU entry, +8 LRU entry (LRU maps)
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

import { MapError, negative, type Errno } from './errors.js';
import { murmur3 } from './hash-function.js';
import { lruOldest, lruPushFront, lruTouch, lruUnlink, LruList } from './lru.js';
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

  constructor(registry: MapRegistry, id: number, spec: MapSpec) {
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
    super(registry, id, spec, scratchValueAt + copies * valueStride);

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
    this.seed = spec.flags & MapFlags.ZERO_SEED ? 0 : randomSeed();
    this.scratchKey = this.address + scratchKeyAt;
    this.scratchValue = this.address + scratchValueAt;

    const view = this.memory.view;
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
    // Each list's free stack pops its lowest entry first, so allocation order is predictable.
    for (let l = 0; l < listCount; l++) {
      let head = 0;
      for (let i = (l + 1) * this.perList - 1; i >= l * this.perList; i--) {
        const entry = this.entries0 + i * stride;
        view.setUint32(entry + HashEntry.NEXT, head, true);
        view.setUint32(entry + HashEntry.LIST, l, true);
        head = entry;
      }
      view.setUint32(this.lists + l * LruList.SIZE + LruList.FREE, head, true);
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

  /** The entry holding the key at `keyAddress`, or 0. */
  protected find(keyAddress: number, hash: number): number {
    const view = this.view;
    const bytes = this.bytes;
    const size = this.spec.keySize;
    let entry = view.getUint32(this.bucketOf(hash), true);
    search: while (entry !== 0) {
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

  /** Takes a free entry of list `list`, evicting its least recently used one in LRU maps; 0 when full. */
  private allocate(view: DataView, list: number): number {
    const free = view.getUint32(list + LruList.FREE, true);
    if (free !== 0) {
      view.setUint32(list + LruList.FREE, view.getUint32(free + HashEntry.NEXT, true), true);
      return free;
    }
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
      const bucket = this.bucketOf(hash);
      view.setUint32(entry + HashEntry.NEXT, view.getUint32(bucket, true), true);
      view.setUint32(bucket, entry, true);
      if (this.lru) lruPushFront(view, list, entry);
      this.addCount(view, 1);
    }
    const to = entry + this.valueOffset;
    if (allCpus) bytes.copyWithin(to, valueAddress, valueAddress + this.userValueSize);
    else bytes.copyWithin(to + (this.perCpu ? cpu * this.valueStride : 0), valueAddress, valueAddress + this.spec.valueSize);
    return undefined;
  }

  /** Deletes the element whose key is at `keyAddress`; false when there is none. */
  protected remove(keyAddress: number): boolean {
    const view = this.view;
    const entry = this.find(keyAddress, this.hashOf(keyAddress));
    if (entry === 0) return false;
    this.unchain(view, entry);
    const list = this.listOf(view, entry);
    if (this.lru) lruUnlink(view, list, entry);
    view.setUint32(entry + HashEntry.STATE, 0, true);
    view.setUint32(entry + HashEntry.NEXT, view.getUint32(list + LruList.FREE, true), true);
    view.setUint32(list + LruList.FREE, entry, true);
    this.addCount(view, -1);
    return true;
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
    const entry = this.find(at, this.hashOf(at));
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
    const value = this.lookupElem(key);
    if (value === undefined) throw this.error('ENOENT', 'no such key');
    this.remove(this.scratchKey);
    return value;
  }

  protected override nextKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
    this.reach();
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
    return this.find(at, this.hashOf(at)) !== 0;
  }

  // ---- data plane ----

  private keyAt(entry: number): Uint8Array {
    return this.bytes.slice(entry + this.keyOffset, entry + this.keyOffset + this.spec.keySize);
  }

  override lookupFromProgram(keyAddress: number, cpu: number): number {
    this.reach(keyAddress + this.spec.keySize);
    const entry = this.find(keyAddress, this.hashOf(keyAddress));
    if (entry === 0) return 0;
    if (this.perCpu && !(cpu >= 0 && cpu < this.copies)) return 0;
    if (this.lru) lruTouch(this.view, this.listOf(this.view, entry), entry);
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
      for (let e = view.getUint32(this.buckets + bucket * 4, true); e !== 0; e = view.getUint32(e + HashEntry.NEXT, true)) chain.push(e);
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
