import { encode, type InstructionFields } from '../../src/isa/index.js';
import { HelperRegistry, Interpreter, LinearMemory, prepareProgram, type HelperDefinition, type RunArguments } from '../../src/vm/index.js';

export const sharedMemory = new LinearMemory({ initialPages: 2, maximumPages: 64, shared: true });

/** Runs instructions on the interpreter; everything it allocates is freed afterwards. */
export function runInsns(
  insns: readonly InstructionFields[],
  args: RunArguments = {},
  helpers: Iterable<HelperDefinition> = [],
): bigint {
  const mark = sharedMemory.mark();
  try {
    const program = prepareProgram(encode(insns), { helpers: new HelperRegistry(helpers) });
    return new Interpreter(program, { memory: sharedMemory }).run(args);
  } finally {
    sharedMemory.release(mark);
  }
}

export const hex = (v: bigint): string => '0x' + v.toString(16);
