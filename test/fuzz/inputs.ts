// The inputs an accepted program is run on, chosen to reach the edges: every packet length from
// 0 to 64 and a sample above, packet bytes random or adversarial (all 0, all 0xff, words near
// 2^31 and 2^32, words that make `data + V` wrap to just before the packet, small numbers), a
// metadata area of 0 to 32 bytes, context fields, map values, and a queue that is empty, partly
// filled or full. An input is plain data, so a finding can be replayed and printed.

import { META_MAX, PACKET_MAX } from './environment.js';
import type { Rng } from './rng.js';

export interface Input {
  readonly length: number;
  /** The packet bytes (exactly `length`). */
  readonly bytes: Uint8Array;
  readonly metaLength: number;
  /** xdp_md fields after the pointers: ingress_ifindex, rx_queue_index, egress_ifindex. */
  readonly ctxWords: readonly number[];
  /** Bytes of every array value, in map fd order (arr's 4 values, then other's). */
  readonly arrays: Uint8Array;
  readonly queue: readonly bigint[];
}

/** Bytes of `arr` (4 x 16) then `other` (8). */
export const ARRAY_BYTES = 4 * 16 + 8;

const EDGE_WORDS = [0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffff0, 0xfffffff8, 0x7ffffff0, 0x10, 0x100, 0xffff, 0x10000];

function fillBytes(r: Rng, length: number): Uint8Array {
  const b = new Uint8Array(length);
  const mode = r.int(7);
  const view = new DataView(b.buffer);
  for (let i = 0; i < length; i++) {
    switch (mode) {
      case 0: b[i] = 0; break;
      case 1: b[i] = 0xff; break;
      case 2: b[i] = r.int(16); break;
      default: b[i] = r.int(256);
    }
  }
  if (mode >= 4) {
    // Words that make offsets wrap: edges, and 2^32 - k so that data + V lands k bytes before data.
    for (let at = 0; at + 4 <= length; at += 4) {
      if (!r.chance(mode === 6 ? 0.9 : 0.4)) continue;
      const word = r.chance(0.5) ? r.pick(EDGE_WORDS) : (2 ** 32 - r.range(1, 600)) >>> 0;
      view.setUint32(at, word, true);
    }
  }
  return b;
}

/** The i-th input of a program's run: lengths 0..64 first, then random lengths up to PACKET_MAX. */
export function makeInput(r: Rng, i: number): Input {
  const length = i <= 64 ? i : r.chance(0.3) ? r.range(65, 80) : r.range(65, PACKET_MAX);
  const arrays = new Uint8Array(ARRAY_BYTES);
  if (r.chance(0.5)) for (let k = 0; k < ARRAY_BYTES; k++) arrays[k] = r.int(256);
  const queueLength = r.pick([0, 0, 1, 4]);
  return {
    length,
    bytes: fillBytes(r, length),
    metaLength: r.pick([0, 0, 0, 8, META_MAX]),
    ctxWords: [r.chance(0.5) ? r.int(8) : r.u32(), r.int(4), r.chance(0.3) ? 0xffffffff : r.int(16)],
    arrays,
    queue: Array.from({ length: queueLength }, () => BigInt(r.u32())),
  };
}

export function describeInput(input: Input): string {
  const hex = Buffer.from(input.bytes).toString('hex');
  return `packet length ${input.length}, metadata ${input.metaLength} bytes, ctx words [${input.ctxWords.join(', ')}], queue [${input.queue.join(', ')}]\n` +
    `  packet: ${hex.length > 0 ? hex : '(empty)'}\n  arrays: ${Buffer.from(input.arrays).toString('hex')}`;
}
