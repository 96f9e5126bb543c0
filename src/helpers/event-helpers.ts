// Helpers that send records to user space: ring buffers and perf event arrays.
import { PerfEventArrayMap, RingBufMap } from '../maps/index.js';
import type { HelperHost } from './host.js';
import { HelperFault, type HelperImplementation } from './implementation.js';
import { mapArgument } from './map-helpers.js';

function ringOf(host: HelperHost, map: unknown, what: string): RingBufMap {
  if (!(map instanceof RingBufMap)) throw new HelperFault(`${what}: the map is not a ring buffer`);
  return map;
}

/** The ring buffer a reserved record lives in (submit/discard only get the record's address). */
function ringContaining(host: HelperHost, address: number): RingBufMap {
  const ring = RingBufMap.fromRecord(host.maps, address);
  if (ring === undefined) throw new HelperFault(`0x${address.toString(16)} is not a record reserved in a ring buffer`);
  return ring;
}

export const EVENT_HELPERS: readonly HelperImplementation[] = [
  {
    name: 'ringbuf_output',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'ptr_to_mem', 'const_size_or_zero', 'anything'] },
    make: (h) => (a) => ringOf(h, mapArgument(h, a, 1), 'bpf_ringbuf_output').outputFromProgram(a.u32(2), a.u32(3), Number(a.u64(4) & 0xffffffffn)),
  },
  {
    name: 'ringbuf_reserve',
    prototype: { ret: 'ptr_to_alloc_mem_or_null', args: ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'] },
    make: (h) => (a) => ringOf(h, mapArgument(h, a, 1), 'bpf_ringbuf_reserve').reserveFromProgram(Number(a.u64(2) & 0xffffffffn), Number(a.u64(3) & 0xffffffffn)),
  },
  {
    name: 'ringbuf_submit',
    prototype: { ret: 'void', args: ['ptr_to_alloc_mem', 'anything'] },
    make: (h) => (a) => {
      ringContaining(h, a.u32(1)).submitFromProgram(a.u32(1), Number(a.u64(2) & 0xffffffffn));
      return 0;
    },
  },
  {
    name: 'ringbuf_discard',
    prototype: { ret: 'void', args: ['ptr_to_alloc_mem', 'anything'] },
    make: (h) => (a) => {
      ringContaining(h, a.u32(1)).discardFromProgram(a.u32(1), Number(a.u64(2) & 0xffffffffn));
      return 0;
    },
  },
  {
    name: 'ringbuf_query',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'anything'] },
    make: (h) => (a) => ringOf(h, mapArgument(h, a, 1), 'bpf_ringbuf_query').queryFromProgram(Number(a.u64(2) & 0xffffffffn)),
  },
  {
    name: 'perf_event_output',
    prototype: { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => {
      const map = mapArgument(h, a, 2);
      if (!(map instanceof PerfEventArrayMap)) throw new HelperFault('bpf_perf_event_output: the map is not a perf event array');
      return map.outputFromProgram(a.cpu, Number(a.u64(3) & 0xffffffffn), a.u32(4), a.u32(5));
    },
  },
];
