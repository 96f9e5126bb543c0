// The hash of hash-map keys: MurmurHash3 (x86, 32-bit) over the key bytes, seeded per map. Only
// 32-bit multiplies, rotates and xors, so a WebAssembly implementation computes the same value.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3_x86_32 of `length` bytes of `bytes` from `offset`. */
export function murmur3(bytes: Uint8Array, offset: number, length: number, seed: number): number {
  let h = seed | 0;
  const end4 = offset + (length & ~3);
  let i = offset;
  for (; i < end4; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = bytes[i];
    if (tail > 1) k |= bytes[i + 1] << 8;
    if (tail > 2) k |= bytes[i + 2] << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
