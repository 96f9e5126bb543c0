// A program type is a plain module (DESIGN.md, "Hooks (program types) and extensions"): what a
// program of that type gets in r1, the helpers only it may call, and what its return codes mean.
// Built-in types use exactly this interface; extensions register theirs the same way.
import type { Abi } from '../elf/spec.js';
import type { HelperImplementation } from '../helpers/implementation.js';
import type { HelperHost } from '../helpers/host.js';
import type { LinearMemory } from '../vm/memory.js';
import type { ProgramTypeRules } from '../verifier/index.js';

export interface TestRunInput {
  /** Packet (or other data) the program sees. */
  readonly data?: Uint8Array;
  /** Context struct as bytes; fields the type fills itself (packet pointers) must be zero. */
  readonly ctx?: Uint8Array;
}

export interface PreparedRun {
  readonly r1: number;
  readonly r2?: number;
  /** Packet for legacy ABS/IND loads. */
  readonly packet?: { readonly address: number; readonly length: number };
  /** The data and context as the program left them. */
  collect(): { data?: Uint8Array; ctx?: Uint8Array };
}

export interface ProgramType {
  /** Name as in section conventions and `--type` (xdp, socket_filter…). */
  readonly name: string;
  /** Context struct size for the given ABI (bytes a user may pass as ctx). */
  contextSize(abi: Abi): number;
  /** Lays out one test run in memory (allocations are freed by the caller). */
  prepareRun(input: TestRunInput, memory: LinearMemory, abi: Abi): PreparedRun;
  /** Helpers only this type has, or whose behaviour depends on it. */
  helpers?(host: HelperHost): readonly HelperImplementation[];
  /** Name of a return value, for display (XDP_DROP…). */
  returnName?(value: bigint, abi: Abi): string | undefined;
  /** What the verifier must know of this type (built-in types take theirs from rules.ts). */
  verifierRules?(abi: Abi): ProgramTypeRules | undefined;
}

export class ProgramTypeError extends Error {
  override readonly name = 'ProgramTypeError';
}
