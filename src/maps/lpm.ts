// LPM_TRIE: longest-prefix match over keys that are a u32 prefix length followed by data bytes
// (struct bpf_lpm_trie_key: prefixlen in host order, i.e. little-endian here; data in network
// order, most significant bit first). A path-compressed binary trie as in Linux: lookups walk
// from the root remembering the last real node that matched; intermediate nodes exist only to
// branch and always have two children, so there are fewer of them than real nodes and a pool
// of 2 x max_entries nodes, preallocated, is always enough.
//
// Layout after the common header (map.ts), little-endian u32 fields:
//
//   +32 root node (0 = empty)             +52 address of node 0
//   +36 free-node stack (through child 0) +56 node stride
//   +40 entries (real nodes)              +60 value offset in a node
//   +44 data size (key size - 4)          +64 node count
//   +48 max prefix length (data size x 8) +68 lock word and sequence (lock.ts)
//   +72 scratch key and value for user space (each rounded up to 8 bytes), then the nodes.
//
// A node: +0 child for bit 0, +4 child for bit 1 (node addresses, 0 = none), +8 prefix length,
// +12 flags (bit 0: intermediate, holds no value), +16 data, value at the value offset (16 + data
// size rounded up to 8). Node order for BPF_MAP_GET_NEXT_KEY is postorder, as in Linux: more
// specific prefixes come before the prefixes that contain them.
//
// Threads: inserts, deletes and key iteration hold the map's lock word. Lookups walk the trie
// without it and keep their result only if the lock word's sequence did not move meanwhile
// (otherwise they walk again under the lock), so a lookup never returns a node that was not the
// longest match at some instant; the returned value may be deleted concurrently (RCU semantics,
// see hash.ts). Walks are bounded by the key length, so a torn walk always ends.

import { negative, type Errno } from './errors.js';
import { sequence } from './lock.js';
import { BpfMap, MapHeader } from './map.js';
import type { MapRegistry } from './registry.js';
import { UpdateFlags, roundUp8, validUpdateFlags, type MapSpec } from './spec.js';

export const LpmLayout = {
  ROOT: MapHeader.SIZE,
  FREE: MapHeader.SIZE + 4,
  ENTRIES: MapHeader.SIZE + 8,
  DATA_SIZE: MapHeader.SIZE + 12,
  MAX_PREFIXLEN: MapHeader.SIZE + 16,
  NODES: MapHeader.SIZE + 20,
  NODE_STRIDE: MapHeader.SIZE + 24,
  VALUE_OFFSET: MapHeader.SIZE + 28,
  NODE_COUNT: MapHeader.SIZE + 32,
  LOCK: MapHeader.SIZE + 36,
  SCRATCH_KEY: MapHeader.SIZE + 40,
} as const;

export const LpmNode = { CHILD0: 0, CHILD1: 4, PREFIXLEN: 8, FLAGS: 12, DATA: 16 } as const;

const INTERMEDIATE = 1;

export class LpmTrieMap extends BpfMap {
  private readonly dataSize: number;
  private readonly maxPrefixlen: number;
  private readonly nodes: number;
  private readonly stride: number;
  private readonly valueOffset: number;
  private readonly rootSlot: number;
  private readonly scratchKey: number;
  private readonly scratchValue: number;

  constructor(registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) {
    const dataSize = spec.keySize - 4;
    const valueOffset = roundUp8(LpmNode.DATA + dataSize);
    const stride = roundUp8(valueOffset + spec.valueSize);
    const scratchValueAt = LpmLayout.SCRATCH_KEY + roundUp8(spec.keySize);
    const nodesAt = scratchValueAt + roundUp8(spec.valueSize);
    const nodeCount = 2 * spec.maxEntries;
    super(registry, id, spec, nodesAt + nodeCount * stride, attachAt);
    this.dataSize = dataSize;
    this.maxPrefixlen = dataSize * 8;
    this.nodes = this.address + nodesAt;
    this.stride = stride;
    this.valueOffset = valueOffset;
    this.rootSlot = this.address + LpmLayout.ROOT;
    if (this.attached) {
      // The scratch space in the block belongs to the thread that created the map.
      this.scratchKey = registry.allocate(roundUp8(spec.keySize) + roundUp8(spec.valueSize), this.describe());
      this.scratchValue = this.scratchKey + roundUp8(spec.keySize);
      return;
    }
    this.scratchKey = this.address + LpmLayout.SCRATCH_KEY;
    this.scratchValue = this.address + scratchValueAt;
    const view = this.memory.view;
    const header = (offset: number, value: number) => view.setUint32(this.address + offset, value, true);
    header(LpmLayout.DATA_SIZE, dataSize);
    header(LpmLayout.MAX_PREFIXLEN, this.maxPrefixlen);
    header(LpmLayout.NODES, this.nodes);
    header(LpmLayout.NODE_STRIDE, stride);
    header(LpmLayout.VALUE_OFFSET, valueOffset);
    header(LpmLayout.NODE_COUNT, nodeCount);
    let head = 0;
    for (let i = nodeCount - 1; i >= 0; i--) {
      const node = this.nodes + i * stride;
      view.setUint32(node + LpmNode.CHILD0, head, true);
      head = node;
    }
    header(LpmLayout.FREE, head);
  }

  /** Prefixes in the trie. */
  get count(): number {
    this.reach();
    return this.u32(this.address + LpmLayout.ENTRIES);
  }

  // ---- the trie, on addresses ----

  private u32(address: number): number {
    return this.view.getUint32(address, true);
  }

  private set32(address: number, value: number): void {
    this.view.setUint32(address, value, true);
  }

  private isIntermediate(node: number): boolean {
    return (this.u32(node + LpmNode.FLAGS) & INTERMEDIATE) !== 0;
  }

  private bit(dataAddress: number, index: number): number {
    return (this.bytes[dataAddress + (index >>> 3)] >> (7 - (index & 7))) & 1;
  }

  /** Leading bits the node and the key share, up to the shorter of their prefix lengths. */
  private matchLength(node: number, keyAddress: number): number {
    const bytes = this.bytes;
    const limit = Math.min(this.u32(node + LpmNode.PREFIXLEN), this.u32(keyAddress));
    const a = node + LpmNode.DATA;
    const b = keyAddress + 4;
    let matched = 0;
    for (let i = 0; matched < limit && i < this.dataSize; i++) {
      const diff = bytes[a + i] ^ bytes[b + i];
      if (diff !== 0) {
        matched += Math.clz32(diff) - 24;
        break;
      }
      matched += 8;
    }
    return Math.min(matched, limit);
  }

  /** The real node with the longest prefix containing the key, or 0. */
  private longestMatch(keyAddress: number): number {
    let found = 0;
    let steps = this.maxPrefixlen + 2;
    for (let node = this.u32(this.rootSlot); node !== 0 && steps-- > 0; ) {
      const matched = this.matchLength(node, keyAddress);
      if (matched === this.maxPrefixlen) return this.isIntermediate(node) ? found : node;
      const prefixlen = this.u32(node + LpmNode.PREFIXLEN);
      if (matched < prefixlen) break;
      if (!this.isIntermediate(node)) found = node;
      node = this.u32(node + this.bit(keyAddress + 4, prefixlen) * 4);
    }
    return found;
  }

  /** The real node whose prefix is exactly the key's, or 0. */
  private exactMatch(keyAddress: number): number {
    const prefixlen = this.u32(keyAddress);
    let node = this.u32(this.rootSlot);
    let steps = this.maxPrefixlen + 2;
    while (node !== 0 && steps-- > 0) {
      const matched = this.matchLength(node, keyAddress);
      const nodeLen = this.u32(node + LpmNode.PREFIXLEN);
      if (nodeLen !== matched || nodeLen === prefixlen) break;
      node = this.u32(node + this.bit(keyAddress + 4, nodeLen) * 4);
    }
    if (node === 0 || this.u32(node + LpmNode.PREFIXLEN) !== prefixlen || this.isIntermediate(node)) return 0;
    return this.matchLength(node, keyAddress) === prefixlen ? node : 0;
  }

  /** Runs a lock-free walk; repeats it under the lock if a writer ran meanwhile (a seqlock read). */
  private consistently(walk: () => number): number {
    this.reach();
    if (!this.concurrent) return walk();
    const index = (this.address + LpmLayout.LOCK) >> 2;
    const before = sequence(this.i32, index);
    const found = walk();
    if ((before & 1) === 0 && sequence(this.i32, index) === before) return found;
    return this.locked(LpmLayout.LOCK, walk);
  }

  private allocNode(): number {
    const node = this.u32(this.address + LpmLayout.FREE);
    if (node !== 0) {
      this.set32(this.address + LpmLayout.FREE, this.u32(node + LpmNode.CHILD0));
      this.set32(node + LpmNode.CHILD0, 0);
      this.set32(node + LpmNode.CHILD1, 0);
      this.set32(node + LpmNode.FLAGS, 0);
    }
    return node;
  }

  private freeNode(node: number): void {
    this.set32(node + LpmNode.CHILD0, this.u32(this.address + LpmLayout.FREE));
    this.set32(node + LpmNode.CHILD1, 0);
    this.set32(node + LpmNode.FLAGS, 0);
    this.set32(this.address + LpmLayout.FREE, node);
  }

  private addEntries(delta: number): void {
    this.set32(this.address + LpmLayout.ENTRIES, this.count + delta);
  }

  /** Makes `node` the real node of the key and value given. */
  private fill(node: number, keyAddress: number, valueAddress: number): void {
    const bytes = this.bytes;
    this.set32(node + LpmNode.PREFIXLEN, this.u32(keyAddress));
    this.set32(node + LpmNode.FLAGS, 0);
    bytes.copyWithin(node + LpmNode.DATA, keyAddress + 4, keyAddress + 4 + this.dataSize);
    bytes.copyWithin(node + this.valueOffset, valueAddress, valueAddress + this.spec.valueSize);
  }

  /** trie_update_elem: the new prefix replaces an equal one, or hangs below the last node it extends. */
  private insert(keyAddress: number, valueAddress: number, flags: number): Errno | undefined {
    if (!validUpdateFlags(flags)) return 'EINVAL';
    const prefixlen = this.u32(keyAddress);
    if (prefixlen > this.maxPrefixlen) return 'EINVAL';
    const full = this.count >= this.spec.maxEntries;
    let slot = this.rootSlot;
    let node = this.u32(slot);
    let matched = 0;
    while (node !== 0) {
      matched = this.matchLength(node, keyAddress);
      const nodeLen = this.u32(node + LpmNode.PREFIXLEN);
      if (nodeLen !== matched || nodeLen === prefixlen || nodeLen === this.maxPrefixlen) break;
      slot = node + this.bit(keyAddress + 4, nodeLen) * 4;
      node = this.u32(slot);
    }
    if (node !== 0 && this.u32(node + LpmNode.PREFIXLEN) === matched) {
      // The same prefix: overwrite a real node in place, or give an intermediate one a value.
      if (!this.isIntermediate(node)) {
        if (flags === UpdateFlags.NOEXIST) return 'EEXIST';
        this.fill(node, keyAddress, valueAddress);
        return undefined;
      }
      if (flags === UpdateFlags.EXIST) return 'ENOENT';
      if (full) return 'ENOSPC';
      this.fill(node, keyAddress, valueAddress);
      this.addEntries(1);
      return undefined;
    }
    if (flags === UpdateFlags.EXIST) return 'ENOENT';
    if (full) return 'ENOSPC';
    const fresh = this.allocNode();
    if (fresh === 0) return 'ENOMEM';
    this.fill(fresh, keyAddress, valueAddress);
    if (node === 0) {
      this.set32(slot, fresh);
    } else if (matched === prefixlen) {
      // The new prefix contains the node: it becomes the node's parent.
      this.set32(fresh + this.bit(node + LpmNode.DATA, matched) * 4, node);
      this.set32(slot, fresh);
    } else {
      // They diverge after `matched` bits: an intermediate node branches to both.
      const branch = this.allocNode();
      if (branch === 0) {
        this.freeNode(fresh);
        return 'ENOMEM';
      }
      this.set32(branch + LpmNode.PREFIXLEN, matched);
      this.set32(branch + LpmNode.FLAGS, INTERMEDIATE);
      this.bytes.copyWithin(branch + LpmNode.DATA, node + LpmNode.DATA, node + LpmNode.DATA + this.dataSize);
      const freshBit = this.bit(keyAddress + 4, matched);
      this.set32(branch + freshBit * 4, fresh);
      this.set32(branch + (1 - freshBit) * 4, node);
      this.set32(slot, branch);
    }
    this.addEntries(1);
    return undefined;
  }

  /** trie_delete_elem: exact prefix only; keeps every intermediate node with two children. */
  private remove(keyAddress: number): Errno | undefined {
    const prefixlen = this.u32(keyAddress);
    if (prefixlen > this.maxPrefixlen) return 'EINVAL';
    let parentSlot = this.rootSlot;
    let slot = this.rootSlot;
    let parent = 0;
    let node = this.u32(slot);
    let matched = 0;
    while (node !== 0) {
      matched = this.matchLength(node, keyAddress);
      const nodeLen = this.u32(node + LpmNode.PREFIXLEN);
      if (nodeLen !== matched || nodeLen === prefixlen) break;
      parent = node;
      parentSlot = slot;
      slot = node + this.bit(keyAddress + 4, nodeLen) * 4;
      node = this.u32(slot);
    }
    if (node === 0 || this.u32(node + LpmNode.PREFIXLEN) !== prefixlen || matched !== prefixlen || this.isIntermediate(node)) {
      return 'ENOENT';
    }
    this.addEntries(-1);
    const child0 = this.u32(node + LpmNode.CHILD0);
    const child1 = this.u32(node + LpmNode.CHILD1);
    if (child0 !== 0 && child1 !== 0) {
      this.set32(node + LpmNode.FLAGS, INTERMEDIATE);
      return undefined;
    }
    if (parent !== 0 && this.isIntermediate(parent) && child0 === 0 && child1 === 0) {
      // The parent would branch to one child only: its other child takes its place.
      const sibling = this.u32(parent + LpmNode.CHILD0) === node ? this.u32(parent + LpmNode.CHILD1) : this.u32(parent + LpmNode.CHILD0);
      this.set32(parentSlot, sibling);
      this.freeNode(parent);
      this.freeNode(node);
      return undefined;
    }
    this.set32(slot, child0 !== 0 ? child0 : child1);
    this.freeNode(node);
    return undefined;
  }

  /** The first real node in postorder below `root`. */
  private leftmost(root: number): number {
    let next = 0;
    for (let node = root; node !== 0; ) {
      if (this.isIntermediate(node)) {
        node = this.u32(node + LpmNode.CHILD0);
      } else {
        next = node;
        node = this.u32(node + LpmNode.CHILD0);
        if (node === 0) node = this.u32(next + LpmNode.CHILD1);
      }
    }
    return next;
  }

  /** trie_get_next_key: the real node after the key's in postorder; the first one if the key is not in the trie. */
  private following(keyAddress: number | undefined): number {
    const root = this.u32(this.rootSlot);
    if (root === 0) return 0;
    if (keyAddress === undefined || this.u32(keyAddress) > this.maxPrefixlen) return this.leftmost(root);
    const prefixlen = this.u32(keyAddress);
    const path: number[] = [];
    let node = root;
    let matched = 0;
    while (node !== 0) {
      path.push(node);
      matched = this.matchLength(node, keyAddress);
      const nodeLen = this.u32(node + LpmNode.PREFIXLEN);
      if (nodeLen !== matched || nodeLen === prefixlen) break;
      node = this.u32(node + this.bit(keyAddress + 4, nodeLen) * 4);
    }
    if (node === 0 || this.u32(node + LpmNode.PREFIXLEN) !== matched || this.isIntermediate(node)) return this.leftmost(root);
    while (path.length > 1) {
      const parent = path[path.length - 2];
      if (this.u32(parent + LpmNode.CHILD0) === node) {
        const right = this.u32(parent + LpmNode.CHILD1);
        if (right !== 0) return this.leftmost(right);
      }
      if (!this.isIntermediate(parent)) return parent;
      node = parent;
      path.pop();
    }
    return 0;
  }

  private keyOf(node: number): Uint8Array {
    const key = new Uint8Array(this.spec.keySize);
    new DataView(key.buffer).setUint32(0, this.u32(node + LpmNode.PREFIXLEN), true);
    key.set(this.bytes.subarray(node + LpmNode.DATA, node + LpmNode.DATA + this.dataSize), 4);
    return key;
  }

  // ---- user space ----

  private scratch(key: Uint8Array): number {
    this.reach();
    this.bytes.set(key, this.scratchKey);
    return this.scratchKey;
  }

  /** Longest-prefix match, as BPF_MAP_LOOKUP_ELEM does on an LPM trie. */
  protected override lookupElem(key: Uint8Array): Uint8Array | undefined {
    const node = this.consistently(() => this.longestMatch(this.scratch(key)));
    return node === 0 ? undefined : this.bytes.slice(node + this.valueOffset, node + this.valueOffset + this.spec.valueSize);
  }

  protected override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    const at = this.scratch(key);
    this.bytes.set(value, this.scratchValue);
    const failed = this.locked(LpmLayout.LOCK, () => this.insert(at, this.scratchValue, flags));
    if (failed !== undefined) throw this.error(failed, this.reason(failed, flags, at));
  }

  protected override deleteElem(key: Uint8Array): void {
    const at = this.scratch(key);
    const failed = this.locked(LpmLayout.LOCK, () => this.remove(at));
    if (failed !== undefined) throw this.error(failed, this.reason(failed, 0, at));
  }

  protected override nextKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
    return this.locked(LpmLayout.LOCK, () => {
      const node = this.following(key === undefined ? undefined : this.scratch(key));
      return node === 0 ? undefined : this.keyOf(node);
    });
  }

  protected override containsKey(key: Uint8Array): boolean {
    const at = this.scratch(key);
    return this.u32(at) <= this.maxPrefixlen && this.consistently(() => this.exactMatch(at)) !== 0;
  }

  private reason(errno: Errno, flags: number, keyAddress: number): string {
    switch (errno) {
      case 'EINVAL':
        return this.u32(keyAddress) > this.maxPrefixlen ? `prefix length ${this.u32(keyAddress)} exceeds ${this.maxPrefixlen}` : `invalid update flags ${flags}`;
      case 'ENOENT':
        return 'no such prefix';
      case 'EEXIST':
        return 'the prefix exists and NOEXIST was given';
      case 'ENOSPC':
        return `the trie is full (max_entries ${this.spec.maxEntries})`;
      default:
        return errno;
    }
  }

  // ---- data plane ----

  override lookupFromProgram(keyAddress: number, _cpu: number): number {
    this.reach(keyAddress + this.spec.keySize);
    const node = this.consistently(() => this.longestMatch(keyAddress));
    return node === 0 ? 0 : node + this.valueOffset;
  }

  override updateFromProgram(keyAddress: number, valueAddress: number, flags: number, _cpu: number): number {
    this.reach(Math.max(keyAddress + this.spec.keySize, valueAddress + this.spec.valueSize));
    const failed = this.locked(LpmLayout.LOCK, () => this.insert(keyAddress, valueAddress, flags));
    return failed === undefined ? 0 : negative(failed);
  }

  override deleteFromProgram(keyAddress: number, _cpu: number): number {
    this.reach(keyAddress + this.spec.keySize);
    const failed = this.locked(LpmLayout.LOCK, () => this.remove(keyAddress));
    return failed === undefined ? 0 : negative(failed);
  }
}
