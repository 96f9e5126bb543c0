// Program types with no test-run support of their own (tracing, cgroup, …): r1 points at the
// context bytes the user gives; with none, r1/r2 are the data buffer and its length.
import type { ProgramType } from './types.js';

export function rawProgramType(name: string): ProgramType {
  return {
    name,
    contextSize: () => 0,
    prepareRun(input, memory) {
      const data = input.data ?? new Uint8Array(0);
      const dataAt = data.length > 0 ? memory.alloc(data.length, 8) : 0;
      if (data.length > 0) memory.write(dataAt, data);
      let ctxAt = 0;
      if (input.ctx !== undefined && input.ctx.length > 0) {
        ctxAt = memory.alloc(input.ctx.length, 8);
        memory.write(ctxAt, input.ctx);
      }
      return {
        r1: ctxAt !== 0 ? ctxAt : dataAt,
        r2: ctxAt !== 0 ? 0 : data.length,
        packet: { address: dataAt, length: data.length },
        collect: () => ({
          data: data.length > 0 ? memory.read(dataAt, data.length) : undefined,
          ctx: ctxAt !== 0 ? memory.read(ctxAt, input.ctx?.length ?? 0) : undefined,
        }),
      };
    },
  };
}
