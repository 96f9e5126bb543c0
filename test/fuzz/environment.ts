// The world a fuzzed XDP program runs in: one execution context (a linear memory that is not
// shared, so a deadlocked bpf_spin_lock faults instead of hanging), its maps, an xdp_md context
// and a packet buffer between two guard zones. Everything is allocated above 16 MiB so that small
// numbers a program computes never look like addresses (the pointer-leak check relies on it).
// The maps, by the fd a generated program names them with (`map_fd N`, `map_value[fd:N]`):
//   1 `arr`    array, 4 entries of 16 bytes (spin locks live here too)
//   2 `other`  array, 1 entry of 8 bytes (an access from arr's value into it is a finding)
//   3 `q`      queue of 4 u64 values (empty or full per input)
//   4 `rodata` frozen array, 1 entry of 16 bytes holding printf formats

import { ExecutionContext } from '../../src/runtime/index.js';
import { buildHelperRegistry } from '../../src/helpers/index.js';
import { verifierRules } from '../../src/program-types/rules.js';
import { ArrayMap, MapType, QueueStackMap, type BpfMap } from '../../src/maps/index.js';
import type { HelperRegistry, LinearMemory } from '../../src/vm/index.js';
import type { MapInfo, ProgramTypeRules } from '../../src/verifier/index.js';

export const CTX_SIZE = 24;
/** Largest packet an input has. */
export const PACKET_MAX = 512;
/** Bytes of metadata room before the packet (data_meta may start there). */
export const META_MAX = 32;
/** Unowned memory on either side of the packet buffer: wrapped pointers land there, not in a fault. */
export const GUARD = 1024;
export const GUARD_BYTE = 0x5a;

export interface Region {
  readonly start: number;
  readonly end: number;
}

export interface FuzzMap {
  readonly fd: number;
  readonly map: BpfMap;
  readonly info: MapInfo;
  /** Each value's bytes in linear memory (arrays); empty for the queue. */
  readonly values: readonly Region[];
  readonly readOnly: boolean;
}

export class Environment {
  readonly context: ExecutionContext;
  readonly memory: LinearMemory;
  readonly rules: ProgramTypeRules;
  readonly helpers: HelperRegistry;
  readonly ctx: number;
  /** Start of [guard | meta room | packet | guard]. */
  readonly area: number;
  readonly areaSize = GUARD + META_MAX + PACKET_MAX + GUARD;
  /** Where data points (the packet's first byte). */
  readonly data: number;
  readonly maps: ReadonlyMap<number, FuzzMap>;
  readonly byAddress: ReadonlyMap<number, FuzzMap>;
  readonly queue: QueueStackMap;
  /** A scratch u64 for moving queue elements. */
  readonly scratch: number;

  constructor() {
    const rules = verifierRules('xdp', 'linux');
    if (rules === undefined) throw new Error('no verifier rules for linux xdp');
    this.rules = rules;
    this.context = new ExecutionContext({ memory: { initialPages: 300, maximumPages: 300, shared: false } });
    this.memory = this.context.memory;
    this.memory.alloc(16 << 20, 16); // nothing below 16 MiB but the padding
    const maps = new Map<number, FuzzMap>();
    const add = (fd: number, name: string, type: number, keySize: number, valueSize: number, maxEntries: number, readOnly = false): BpfMap => {
      const map = this.context.maps.create({ name, type, keySize, valueSize, maxEntries, flags: 0 });
      const values = map instanceof ArrayMap ? Array.from({ length: maxEntries }, (_, i) => ({ start: map.valueAddress(i), end: map.valueAddress(i) + valueSize })) : [];
      maps.set(fd, { fd, map, values, readOnly, info: { name, type, keySize, valueSize, maxEntries, readOnly } });
      return map;
    };
    add(1, 'arr', MapType.ARRAY, 4, 16, 4);
    add(2, 'other', MapType.ARRAY, 4, 8, 1);
    this.queue = add(3, 'q', MapType.QUEUE, 0, 8, 4) as QueueStackMap;
    const rodata = add(4, 'rodata', MapType.ARRAY, 4, 16, 1, true);
    rodata.update(Uint8Array.of(0, 0, 0, 0), new TextEncoder().encode('%llx-%d\0%llx\0\0\0\0'));
    rodata.freeze();
    this.maps = maps;
    this.byAddress = new Map([...maps.values()].map((m) => [m.map.address, m]));
    this.helpers = buildHelperRegistry(this.context.host, 'linux', 'xdp');
    this.ctx = this.memory.alloc(64, 8);
    this.area = this.memory.alloc(this.areaSize, 16);
    this.data = this.area + GUARD + META_MAX;
    this.scratch = this.memory.alloc(16, 8);
  }

  /** Address windows an honest program never writes out as a number (objects it may point at). */
  addressWindows(stacks: readonly Region[]): Region[] {
    const near = (r: Region): Region => ({ start: r.start - 16, end: r.end + 16 });
    const windows = [near({ start: this.ctx, end: this.ctx + CTX_SIZE }), near({ start: this.area, end: this.area + this.areaSize }), ...stacks.map(near)];
    for (const m of this.maps.values()) {
      windows.push({ start: m.map.address, end: m.map.address + 64 });
      for (const v of m.values) windows.push(near(v));
    }
    return windows;
  }
}
