// Helpers over maps. A map argument is the address of the map's header in linear memory (what
// `lddw rX, map` loads); key and value arguments are addresses too, so nothing is copied here.
import type { BpfMap } from '../maps/index.js';
import type { HelperArguments } from '../vm/helpers.js';
import type { HelperHost } from './host.js';
import { HelperFault, type HelperImplementation } from './implementation.js';
import { checkRange } from './memory-access.js';

export function mapArgument(host: HelperHost, args: HelperArguments, n: number): BpfMap {
  const address = args.u32(n);
  const map = host.maps.byAddress(address);
  if (map === undefined) throw new HelperFault(`argument ${n} (0x${address.toString(16)}) is not a map`);
  return map;
}

const keyOf = (host: HelperHost, map: BpfMap, address: number): number => {
  checkRange(host.memory, address, map.spec.keySize, `key of map ${map.spec.name}`);
  return address;
};
const valueOf = (host: HelperHost, map: BpfMap, address: number): number => {
  checkRange(host.memory, address, map.spec.valueSize, `value for map ${map.spec.name}`);
  return address;
};

export const MAP_HELPERS: readonly HelperImplementation[] = [
  {
    name: 'map_lookup_elem',
    prototype: { ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      return map.lookupFromProgram(keyOf(host, map, a.u32(2)), a.cpu);
    },
  },
  {
    name: 'map_update_elem',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      return map.updateFromProgram(keyOf(host, map, a.u32(2)), valueOf(host, map, a.u32(3)), Number(a.u64(4) & 0xffffffffn), a.cpu);
    },
  },
  {
    name: 'map_delete_elem',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      return map.deleteFromProgram(keyOf(host, map, a.u32(2)), a.cpu);
    },
  },
  {
    name: 'map_push_elem',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_value', 'anything'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      return map.pushFromProgram(valueOf(host, map, a.u32(2)), Number(a.u64(3) & 0xffffffffn));
    },
  },
  {
    name: 'map_pop_elem',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      return map.popFromProgram(valueOf(host, map, a.u32(2)));
    },
  },
  {
    name: 'map_peek_elem',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      return map.peekFromProgram(valueOf(host, map, a.u32(2)));
    },
  },
  {
    // ebpf-for-windows: returns a copy of the value (the entry is gone), or pops a queue/stack.
    name: 'map_lookup_and_delete_elem',
    prototype: { ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key_or_null'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      const scratch = host.scratchFor(map);
      if (scratch === undefined) throw new HelperFault(`map ${map.spec.name} has no scratch buffer (it was not loaded with its object)`);
      if (map.spec.keySize === 0) return map.popFromProgram(scratch) === 0 ? scratch : 0;
      const key = keyOf(host, map, a.u32(2));
      const value = map.lookupFromProgram(key, a.cpu);
      if (value === 0) return 0;
      host.memory.bytes.copyWithin(scratch, value, value + map.spec.valueSize);
      return map.deleteFromProgram(key, a.cpu) === 0 ? scratch : 0;
    },
  },
  {
    name: 'for_each_map_elem',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'] },
    make: (host) => (a) => {
      const map = mapArgument(host, a, 1);
      const callback = a.u32(2);
      const context = a.u64(3);
      if (a.u64(4) !== 0n) return -22;
      // The callback returns 0 to go on, 1 to stop (Linux semantics).
      return map.forEachFromProgram(a.cpu, (key, value) => a.callFunction(callback, [map.address, key, value, context]) === 0n);
    },
  },
];
