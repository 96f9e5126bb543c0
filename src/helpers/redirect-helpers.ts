// bpf_redirect and bpf_redirect_map for XDP programs: they name the interface the frame goes out
// of (recorded in the host's redirect slot, which the datapath reads after the run) and return
// the action the program should return: XDP_REDIRECT, or what the program asked for when there
// is nowhere to go.
import { isDeviceMap } from '../maps/devmap.js';
import type { HelperImplementation } from './implementation.js';

/** XDP's actions, as Linux numbers them. */
const XDP_ABORTED = 0;
const XDP_REDIRECT = 4;

export const REDIRECT_HELPERS: readonly HelperImplementation[] = [
  {
    // bpf_redirect(ifindex, flags): XDP_REDIRECT; XDP_ABORTED for flags XDP does not define.
    name: 'redirect',
    prototype: { ret: 'integer', args: ['anything', 'anything'] },
    make: (host) => (a) => {
      if (a.u64(2) !== 0n) return XDP_ABORTED;
      host.redirect.ifindex = a.u32(1);
      return XDP_REDIRECT;
    },
  },
  {
    // bpf_redirect_map(map, key, flags): XDP_REDIRECT to the interface the slot names; when it
    // names none, the lower two bits of flags (the action the program chose for that case).
    name: 'redirect_map',
    prototype: { ret: 'integer', args: ['const_map_ptr', 'anything', 'anything'] },
    make: (host) => (a) => {
      const map = host.maps.byAddress(a.u32(1));
      const ifindex = isDeviceMap(map) && a.u64(2) <= 0xffffffffn ? map.interfaceAt(a.u32(2)) : undefined;
      if (ifindex === undefined) return Number(a.u64(3) & 3n);
      host.redirect.ifindex = ifindex;
      return XDP_REDIRECT;
    },
  },
];
