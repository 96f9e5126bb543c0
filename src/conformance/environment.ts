// The execution environment the conformance vectors assume (../shared/conformance/README.md,
// "Execution environment the tests assume"): r1/r2 = input buffer and its length (0/0 without
// one), a 512-byte stack per frame, and helper 5, which returns its first argument.

import { HelperRegistry } from '../vm/helpers.js';
import { createEngine, type Engine } from '../vm/jit/engine.js';
import { LinearMemory } from '../vm/memory.js';
import { prepareProgram } from '../vm/program.js';

export { ENGINES, type Engine } from '../vm/jit/engine.js';

export const conformanceHelpers = new HelperRegistry([
  {
    id: 5,
    name: 'conformance_return_arg',
    prototype: { ret: 'scalar', args: ['anything'] },
    call: (args) => args.u64(1),
  },
]);

export interface ConformanceRun {
  /** r0 at exit, unsigned. */
  readonly r0: bigint;
  /** Instructions executed (undefined when the engine does not count them, as the JIT). */
  readonly instructions: number | undefined;
}

/**
 * Runs one conformance program. Load and run-time failures surface as ProgramLoadError and
 * BpfRuntimeError. `memory` is reused between runs when given (everything allocated is freed).
 */
export function runConformanceProgram(
  code: Uint8Array,
  input: Uint8Array,
  options: { engine?: Engine; memory?: LinearMemory; instructionLimit?: number } = {},
): ConformanceRun {
  const memory = options.memory ?? new LinearMemory({ initialPages: 1, maximumPages: 16, shared: false });
  const mark = memory.mark();
  try {
    // Conformance programs are not verified: this is the one place an unverified program runs.
    const program = prepareProgram(code, { helpers: conformanceHelpers });
    const vm = createEngine(options.engine ?? 'interpreter', program, {
      memory,
      instructionLimit: options.instructionLimit ?? 10_000_000,
    });
    let r1 = 0;
    if (input.length > 0) {
      r1 = memory.alloc(input.length, 8);
      memory.write(r1, input);
    }
    const r0 = vm.run({ r1, r2: input.length });
    return { r0, instructions: vm.instructionsExecuted };
  } finally {
    memory.release(mark);
  }
}
