// Programs that see a socket buffer (`struct __sk_buff`, Linux only): socket filters, tc
// classifiers and actions, cgroup skb, sk_skb, lwt. The test run fills the fields a packet
// determines: len, protocol, data, data_end, data_meta; legacy ABS/IND loads read the packet.
import type { ProgramType } from './types.js';
import { ProgramTypeError } from './types.js';

const SK_BUFF_SIZE = 192;
const OFFSET = { len: 0, protocol: 16, data: 76, dataEnd: 80, dataMeta: 140, wireLen: 160 } as const;
/** Fields BPF_PROG_TEST_RUN lets the caller set: mark, priority, ingress_ifindex, ifindex, cb[], tstamp, wire_len, gso_segs, gso_size. */
const SETTABLE: readonly [number, number][] = [[8, 4], [32, 4], [36, 4], [40, 4], [48, 20], [152, 8], [160, 4], [164, 4], [176, 4]];

export function skbProgramType(name: string): ProgramType {
  return {
    name,
    contextSize: () => SK_BUFF_SIZE,
    prepareRun(input, memory, abi) {
      if (abi === 'efw') throw new ProgramTypeError(`${name} programs (struct __sk_buff) exist only in the Linux ABI`);
      const data = input.data ?? new Uint8Array(0);
      const dataAt = memory.alloc(Math.max(data.length, 1), 8);
      memory.write(dataAt, data);
      const ctx = memory.alloc(SK_BUFF_SIZE, 8);
      if (input.ctx !== undefined) {
        if (input.ctx.length !== SK_BUFF_SIZE) throw new ProgramTypeError(`struct __sk_buff is ${SK_BUFF_SIZE} bytes; got ${input.ctx.length}`);
        for (let i = 0; i < SK_BUFF_SIZE; i++) {
          if (input.ctx[i] !== 0 && !SETTABLE.some(([o, s]) => i >= o && i < o + s)) {
            throw new ProgramTypeError(`byte ${i} of struct __sk_buff cannot be set for a test run`);
          }
        }
        memory.write(ctx, input.ctx);
      }
      const view = memory.view;
      view.setUint32(ctx + OFFSET.len, data.length, true);
      if (data.length >= 14) view.setUint32(ctx + OFFSET.protocol, view.getUint16(dataAt + 12, true), true);
      view.setUint32(ctx + OFFSET.data, dataAt, true);
      view.setUint32(ctx + OFFSET.dataEnd, dataAt + data.length, true);
      view.setUint32(ctx + OFFSET.dataMeta, dataAt, true);
      if (view.getUint32(ctx + OFFSET.wireLen, true) === 0) view.setUint32(ctx + OFFSET.wireLen, data.length, true);
      return {
        r1: ctx,
        packet: { address: dataAt, length: data.length },
        collect: () => ({ data: memory.read(dataAt, data.length), ctx: memory.read(ctx, SK_BUFF_SIZE) }),
      };
    },
  };
}
