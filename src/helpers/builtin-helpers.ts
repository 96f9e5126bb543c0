// The built-in C memory functions (src/abi/builtins.ts): memset, memcpy, memmove and memcmp with
// their C arguments (the size is the third). The loader turns clang's calls of these undefined
// functions into helper calls; the verifier checks them against their prototypes.
import type { HelperArguments } from '../vm/helpers.js';
import type { HelperHost } from './host.js';
import { HelperFault, type HelperImplementation } from './implementation.js';
import { checkRange } from './memory-access.js';

/** The size in r3; one no memory could hold is a fault before anything is touched. */
function sizeOf(h: HelperHost, a: HelperArguments, what: string): number {
  const n = a.u64(3);
  if (n > BigInt(h.memory.size)) throw new HelperFault(`${what}: size ${n} is larger than the program's memory`);
  return Number(n);
}

/** memcpy and memmove: the same here, since copyWithin moves overlapping ranges correctly. */
const copy = (name: string): HelperImplementation => ({
  name,
  prototype: { ret: 'void', args: ['ptr_to_uninit_mem', 'ptr_to_mem', 'const_size_or_zero'] },
  make: (h) => (a) => {
    const n = sizeOf(h, a, name);
    const dst = a.u32(1);
    const src = a.u32(2);
    checkRange(h.memory, dst, n, `${name} destination`);
    checkRange(h.memory, src, n, `${name} source`);
    h.memory.bytes.copyWithin(dst, src, src + n);
    return 0;
  },
});

/** By the C names (memset, not EfW's bpf_memset, which takes its arguments in another order). */
export const BUILTIN_IMPLEMENTATIONS: readonly HelperImplementation[] = [
  {
    name: 'memset',
    prototype: { ret: 'void', args: ['ptr_to_uninit_mem', 'anything', 'const_size_or_zero'] },
    make: (h) => (a) => {
      const n = sizeOf(h, a, 'memset');
      const dst = a.u32(1);
      checkRange(h.memory, dst, n, 'memset destination');
      h.memory.bytes.fill(a.u32(2) & 0xff, dst, dst + n);
      return 0;
    },
  },
  copy('memcpy'),
  copy('memmove'),
  {
    name: 'memcmp',
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => {
      const n = sizeOf(h, a, 'memcmp');
      const x = a.u32(1);
      const y = a.u32(2);
      checkRange(h.memory, x, n, 'memcmp first');
      checkRange(h.memory, y, n, 'memcmp second');
      const bytes = h.memory.bytes;
      for (let i = 0; i < n; i++) {
        if (bytes[x + i] !== bytes[y + i]) return bytes[x + i] < bytes[y + i] ? -1 : 1;
      }
      return 0;
    },
  },
];
