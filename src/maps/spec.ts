// What a map is, before it exists: the bpf_attr fields of BPF_MAP_CREATE, and the checks the
// kernel's map_create and each type's alloc_check make on them. Numbers are Linux UAPI values so
// objects built against libbpf's headers need no translation.

import { LINUX_MAP_TYPES } from '../abi/index.js';
import { MapError, type Errno } from './errors.js';
import { EXTENSION_MAP_TYPE_BASE, mapTypeDefinition } from '../extension/registry.js';

const T = LINUX_MAP_TYPES;
/** The map types ebpf-ts implements, by their Linux UAPI numbers (src/abi). */
export const MapType = {
  UNSPEC: T.UNSPEC,
  HASH: T.HASH,
  ARRAY: T.ARRAY,
  PROG_ARRAY: T.PROG_ARRAY,
  PERF_EVENT_ARRAY: T.PERF_EVENT_ARRAY,
  PERCPU_HASH: T.PERCPU_HASH,
  PERCPU_ARRAY: T.PERCPU_ARRAY,
  LRU_HASH: T.LRU_HASH,
  LRU_PERCPU_HASH: T.LRU_PERCPU_HASH,
  LPM_TRIE: T.LPM_TRIE,
  ARRAY_OF_MAPS: T.ARRAY_OF_MAPS,
  HASH_OF_MAPS: T.HASH_OF_MAPS,
  QUEUE: T.QUEUE,
  STACK: T.STACK,
  RINGBUF: T.RINGBUF,
  DEVMAP: T.DEVMAP,
  DEVMAP_HASH: T.DEVMAP_HASH,
} as const;

export type MapTypeName = keyof typeof MapType;

/** BPF_F_* map creation flags. */
export const MapFlags = {
  NO_PREALLOC: 0x1,
  NO_COMMON_LRU: 0x2,
  NUMA_NODE: 0x4,
  RDONLY: 0x8,
  WRONLY: 0x10,
  STACK_BUILD_ID: 0x20,
  ZERO_SEED: 0x40,
  RDONLY_PROG: 0x80,
  WRONLY_PROG: 0x100,
  CLONE: 0x200,
  MMAPABLE: 0x400,
  PRESERVE_ELEMS: 0x800,
  INNER_MAP: 0x1000,
} as const;

/** BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK: the flags of an update. */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

export interface MapSpec {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** The template every inner map of an ARRAY_OF_MAPS or HASH_OF_MAPS must match. */
  readonly innerMap?: MapSpec;
}

/** Largest kmalloc; the kernel bounds key and value sizes by it so user space can copy them. */
export const KMALLOC_MAX_SIZE = 1 << 22;
/** Per-CPU values live in per-CPU chunks of at least this size (PCPU_MIN_UNIT_SIZE). */
export const PERCPU_VALUE_MAX = 32768;
/** Ring buffer sizes are multiples of the kernel page size. */
export const RINGBUF_PAGE_SIZE = 4096;
/** bpf_lpm_trie_key: a u32 prefix length, then 1 to 256 data bytes. */
export const LPM_PREFIXLEN_SIZE = 4;
export const LPM_DATA_SIZE_MAX = 256;
/** sizeof(struct htab_elem) on 64-bit Linux, part of the hash map size bound. */
const HTAB_ELEM_SIZE = 48;

const { NO_PREALLOC, NO_COMMON_LRU, NUMA_NODE, RDONLY, WRONLY, ZERO_SEED, RDONLY_PROG, WRONLY_PROG } = MapFlags;
const { MMAPABLE, PRESERVE_ELEMS, INNER_MAP } = MapFlags;
const ACCESS_MASK = RDONLY | WRONLY | RDONLY_PROG | WRONLY_PROG;
const ARRAY_FLAGS = NUMA_NODE | MMAPABLE | ACCESS_MASK | PRESERVE_ELEMS | INNER_MAP;
const HASH_FLAGS = NO_PREALLOC | NO_COMMON_LRU | NUMA_NODE | ACCESS_MASK | ZERO_SEED;
const LPM_FLAGS = NO_PREALLOC | NUMA_NODE | ACCESS_MASK;
const QUEUE_STACK_FLAGS = NUMA_NODE | ACCESS_MASK;
const RINGBUF_FLAGS = NUMA_NODE;

const TYPE_NAMES = new Map<number, string>(Object.entries(MapType).map(([name, value]) => [value, name]));

/** The UAPI name without the BPF_MAP_TYPE_ prefix (an extension's type: its name), or `type N` for numbers we do not know. */
export function mapTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? (type >= EXTENSION_MAP_TYPE_BASE ? mapTypeDefinition(type)?.name : undefined) ?? `type ${type}`;
}

const LABELS = new Map<number, string>(Object.entries(LINUX_MAP_TYPES).map(([name, value]) => [value, name.toLowerCase()]));

/**
 * How people see a map type (bpftool's spelling): the lower-case UAPI name of any Linux type,
 * implemented here or not (hash, sockmap …), an extension's type by its name, else `type N`.
 */
export function mapTypeLabel(type: number): string {
  return LABELS.get(type) ?? (type >= EXTENSION_MAP_TYPE_BASE ? mapTypeDefinition(type)?.name.toLowerCase() : undefined) ?? `type ${type}`;
}

export function isPerCpu(type: number): boolean {
  return type === MapType.PERCPU_ARRAY || type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;
}

export function isMapInMap(type: number): boolean {
  return type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
}

export const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0 && n <= 0x80000000;

/**
 * Checks `spec` as BPF_MAP_CREATE would and returns the spec the map is created with (a frozen
 * copy; per-CPU LRU lists round max_entries to a multiple of `cpus`, as the kernel does).
 * Throws MapError naming the offending field.
 */
export function validateSpec(spec: MapSpec, cpus: number): MapSpec {
  const where = `map "${spec.name}" (${mapTypeName(spec.type)})`;
  const fail = (errno: Errno, reason: string): never => {
    throw new MapError(errno, `${where}: ${reason}`);
  };
  for (const field of ['type', 'keySize', 'valueSize', 'maxEntries', 'flags'] as const) {
    if (!isU32(spec[field])) fail('EINVAL', `${field} must be a 32-bit unsigned integer, got ${String(spec[field])}`);
  }
  // bpf_obj_name_cpy: names are what bpftool can print. Length is not limited here: the kernel's
  // 15 bytes is a libbpf concern (it truncates), and the full name helps diagnostics.
  if (typeof spec.name !== 'string' || !/^[A-Za-z0-9_.]*$/.test(spec.name)) {
    fail('EINVAL', 'name may only contain letters, digits, "_" and "."');
  }
  const { type, keySize, valueSize, flags } = spec;
  let maxEntries = spec.maxEntries;
  if ((flags & RDONLY && flags & WRONLY) || (flags & RDONLY_PROG && flags & WRONLY_PROG)) {
    fail('EINVAL', 'flags ask for a map both read-only and write-only');
  }
  if (spec.innerMap !== undefined && !isMapInMap(type)) fail('EINVAL', 'innerMap is only for ARRAY_OF_MAPS and HASH_OF_MAPS');
  const needFlags = (allowed: number): void => {
    const bad = flags & ~allowed;
    if (bad !== 0) fail('EINVAL', `flags 0x${(bad >>> 0).toString(16)} are not allowed for this map type`);
  };
  const need = (ok: boolean, reason: string): void => {
    if (!ok) fail('EINVAL', reason);
  };
  const checkArray = (): void => {
    needFlags(ARRAY_FLAGS);
    need(keySize === 4, `keySize must be 4, got ${keySize}`);
    need(valueSize !== 0, 'valueSize must not be 0');
    need(maxEntries !== 0, 'maxEntries must not be 0');
    if (type === MapType.PERCPU_ARRAY && flags & MMAPABLE) fail('EINVAL', 'per-CPU arrays cannot be MMAPABLE');
    if (type !== MapType.PERF_EVENT_ARRAY && flags & PRESERVE_ELEMS) fail('EINVAL', 'PRESERVE_ELEMS is only for PERF_EVENT_ARRAY');
    if (valueSize > KMALLOC_MAX_SIZE) fail('E2BIG', `valueSize ${valueSize} exceeds ${KMALLOC_MAX_SIZE}`);
    if (isPerCpu(type) && roundUp8(valueSize) > PERCPU_VALUE_MAX) fail('E2BIG', `per-CPU valueSize ${valueSize} exceeds ${PERCPU_VALUE_MAX}`);
  };
  const checkFdArray = (): void => {
    // Slots hold ids (file descriptors in Linux), never data a program could write.
    need(valueSize === 4, `valueSize must be 4 (a u32 id), got ${valueSize}`);
    need((flags & (RDONLY_PROG | WRONLY_PROG)) === 0, 'RDONLY_PROG and WRONLY_PROG are not allowed for this map type');
    checkArray();
  };
  const checkHash = (): void => {
    const lru = type === MapType.LRU_HASH || type === MapType.LRU_PERCPU_HASH;
    needFlags(HASH_FLAGS);
    if (lru && flags & NO_PREALLOC) fail('ENOTSUPP', 'LRU maps are always preallocated: NO_PREALLOC is not supported');
    if (!lru && flags & NO_COMMON_LRU) fail('EINVAL', 'NO_COMMON_LRU is only for LRU maps');
    need(maxEntries !== 0, 'maxEntries must not be 0');
    need(keySize !== 0, 'keySize must not be 0');
    need(valueSize !== 0, 'valueSize must not be 0');
    if (keySize + valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) fail('E2BIG', `keySize + valueSize exceeds ${KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE}`);
    if (isPerCpu(type) && roundUp8(valueSize) > PERCPU_VALUE_MAX) fail('E2BIG', `per-CPU valueSize ${valueSize} exceeds ${PERCPU_VALUE_MAX}`);
    if (lru && flags & NO_COMMON_LRU) {
      // htab_map_alloc: every CPU's LRU list gets the same number of elements, at least one.
      const rounded = Math.ceil(maxEntries / cpus) * cpus;
      maxEntries = rounded <= 0xffffffff ? rounded : Math.floor(maxEntries / cpus) * cpus;
    }
  };

  switch (type) {
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      checkArray();
      break;
    case MapType.PROG_ARRAY:
    case MapType.PERF_EVENT_ARRAY:
    case MapType.ARRAY_OF_MAPS:
      checkFdArray();
      break;
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
      checkHash();
      break;
    case MapType.HASH_OF_MAPS:
      need(valueSize === 4, `valueSize must be 4 (a u32 map id), got ${valueSize}`);
      checkHash();
      break;
    case MapType.LPM_TRIE:
      need(maxEntries !== 0, 'maxEntries must not be 0');
      need((flags & NO_PREALLOC) !== 0, 'LPM tries must be created with NO_PREALLOC');
      needFlags(LPM_FLAGS);
      need(
        keySize >= LPM_PREFIXLEN_SIZE + 1 && keySize <= LPM_PREFIXLEN_SIZE + LPM_DATA_SIZE_MAX,
        `keySize must be 5 to ${LPM_PREFIXLEN_SIZE + LPM_DATA_SIZE_MAX} (u32 prefixlen + 1 to ${LPM_DATA_SIZE_MAX} data bytes), got ${keySize}`,
      );
      need(valueSize >= 1 && valueSize <= KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - HTAB_ELEM_SIZE, `valueSize ${valueSize} is out of range`);
      break;
    case MapType.QUEUE:
    case MapType.STACK:
      need(maxEntries !== 0, 'maxEntries must not be 0');
      need(keySize === 0, `keySize must be 0, got ${keySize}`);
      need(valueSize !== 0, 'valueSize must not be 0');
      needFlags(QUEUE_STACK_FLAGS);
      if (valueSize > KMALLOC_MAX_SIZE) fail('E2BIG', `valueSize ${valueSize} exceeds ${KMALLOC_MAX_SIZE}`);
      break;
    case MapType.DEVMAP:
    case MapType.DEVMAP_HASH:
      // A u32 key; a u32 ifindex, or struct bpf_devmap_val (ifindex and a program fd).
      need(keySize === 4, `keySize must be 4, got ${keySize}`);
      need(valueSize === 4 || valueSize === 8, `valueSize must be 4 (an ifindex) or 8 (struct bpf_devmap_val), got ${valueSize}`);
      need(maxEntries !== 0, 'maxEntries must not be 0');
      needFlags(NUMA_NODE | RDONLY | WRONLY | RDONLY_PROG | WRONLY_PROG);
      break;
    case MapType.RINGBUF:
      needFlags(RINGBUF_FLAGS);
      need(keySize === 0, `keySize must be 0, got ${keySize}`);
      need(valueSize === 0, `valueSize must be 0, got ${valueSize}`);
      need(
        isPowerOfTwo(maxEntries) && maxEntries % RINGBUF_PAGE_SIZE === 0,
        `maxEntries must be a power of two and a multiple of ${RINGBUF_PAGE_SIZE}, got ${maxEntries}`,
      );
      break;
    default: {
      // An extension's map type checks its own specs.
      const extension = mapTypeDefinition(type);
      if (extension === undefined || type < EXTENSION_MAP_TYPE_BASE) fail('EINVAL', `unsupported map type ${type}`);
      extension?.validate?.(spec);
    }
  }

  let innerMap: MapSpec | undefined;
  if (isMapInMap(type)) {
    if (spec.innerMap === undefined) fail('EINVAL', 'innerMap (the inner map template) is required');
    const inner = spec.innerMap as MapSpec;
    if (isMapInMap(inner.type)) fail('EINVAL', 'innerMap cannot itself be a map of maps');
    if (inner.type === MapType.PROG_ARRAY) fail('ENOTSUPP', 'innerMap cannot be a PROG_ARRAY');
    innerMap = validateSpec(inner, cpus);
  }
  return Object.freeze({ name: spec.name, type, keySize, valueSize, maxEntries, flags, ...(innerMap ? { innerMap } : {}) });
}

/**
 * Whether an update's flags are valid: ANY, NOEXIST or EXIST. BPF_F_LOCK needs a bpf_spin_lock in
 * the value, which maps here never have, so the kernel's answer to it is EINVAL as well.
 */
export function validUpdateFlags(flags: number): boolean {
  return flags === UpdateFlags.ANY || flags === UpdateFlags.NOEXIST || flags === UpdateFlags.EXIST;
}

/** Why an update with valid `flags` fails when the key does (or does not) exist; undefined if it may proceed. */
export function existenceError(flags: number, exists: boolean): 'EEXIST' | 'ENOENT' | undefined {
  if (exists && flags === UpdateFlags.NOEXIST) return 'EEXIST';
  if (!exists && flags === UpdateFlags.EXIST) return 'ENOENT';
  return undefined;
}
