// Helper functions are looked up by id in a registry (ethereumjs-style: extensions pass more in).
// An implementation sees its arguments through HelperArguments, so 32-bit values need no BigInt.

import type { LinearMemory } from './memory.js';

/**
 * The kind of one helper argument or result, for the verifier: how the value is used decides
 * which abstract values may be passed. Kept open (string) so extensions can add kinds.
 */
export interface HelperPrototype {
  readonly ret: string;
  readonly args: readonly string[];
}

/** Arguments r1-r5 of a helper call, readable without allocating. */
export interface HelperArguments {
  readonly memory: LinearMemory;
  /** Unsigned 64-bit value of argument `n` (1-5). */
  u64(n: number): bigint;
  /** Signed 64-bit value of argument `n`. */
  i64(n: number): bigint;
  /** Low 32 bits of argument `n`, unsigned (pointers are these). */
  u32(n: number): number;
  /** Low 32 bits of argument `n`, signed. */
  i32(n: number): number;
  /** The CPU the program runs on (per-CPU maps index by it). */
  readonly cpu: number;
  /**
   * Runs the program-local function starting at slot `target` with r1-r5 = `args` and returns
   * its r0: how helpers such as bpf_loop call back into the program.
   */
  callFunction(target: number, args: readonly (number | bigint)[]): bigint;
}

/** Returns r0: a safe integer (negative ones are sign-extended) or a bigint (taken mod 2^64). */
export type HelperFunction = (args: HelperArguments) => number | bigint;

export interface HelperDefinition {
  readonly id: number;
  readonly name: string;
  readonly prototype: HelperPrototype;
  readonly call: HelperFunction;
  /**
   * `tail-call`: the engine itself replaces the running program (bpf_tail_call); `call` is only
   * consulted for its failure result.
   */
  readonly kind?: 'tail-call';
}

export class HelperRegistry {
  private readonly byId = new Map<number, HelperDefinition>();

  constructor(definitions: Iterable<HelperDefinition> = []) {
    for (const d of definitions) this.register(d);
  }

  register(definition: HelperDefinition): this {
    if (!Number.isInteger(definition.id) || definition.id < 0 || definition.id > 0x7fffffff) {
      throw new RangeError(`helper ${definition.name}: invalid id ${definition.id}`);
    }
    const existing = this.byId.get(definition.id);
    if (existing !== undefined) {
      throw new Error(`helper id ${definition.id} is taken by ${existing.name}; cannot register ${definition.name}`);
    }
    this.byId.set(definition.id, definition);
    return this;
  }

  get(id: number): HelperDefinition | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** A new registry with these definitions and `more`. */
  with(more: Iterable<HelperDefinition>): HelperRegistry {
    return new HelperRegistry([...this.byId.values(), ...more]);
  }

  get size(): number {
    return this.byId.size;
  }

  [Symbol.iterator](): IterableIterator<HelperDefinition> {
    return this.byId.values();
  }
}
