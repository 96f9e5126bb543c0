// Program types with no test-run support of their own (tracing, cgroup, …): r1 points at a
// context region holding the bytes the user gives (`ctx`, else `data`), zero-filled up to at least
// the size the verifier lets the program read, so a verified program stays inside it.
import { verifierRules } from './rules.js';
import type { ProgramType } from './types.js';

export function rawProgramType(name: string): ProgramType {
  return {
    name,
    contextSize: (abi) => verifierRules(name, abi)?.context.size ?? 0,
    prepareRun(input, memory, abi) {
      const bytes = input.ctx ?? input.data ?? new Uint8Array(0);
      const size = Math.max(bytes.length, verifierRules(name, abi)?.context.size ?? 0, 8);
      const ctx = memory.alloc(size, 8);
      memory.write(ctx, bytes);
      return {
        r1: ctx,
        r2: bytes.length,
        packet: { address: ctx, length: bytes.length },
        collect: () => ({ ctx: memory.read(ctx, bytes.length) }),
      };
    },
  };
}
