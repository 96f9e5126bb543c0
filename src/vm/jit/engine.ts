// Choosing an engine: the interpreter (reference semantics, tracing, instruction counts) or the
// JIT (compiled WebAssembly). Both run the same PreparedProgram with the same results.

import { Interpreter, type RunArguments } from '../interpreter.js';
import type { PreparedProgram } from '../program.js';
import { JitProgram, type JitOptions } from './jit-program.js';

export type Engine = 'interpreter' | 'jit';
export const ENGINES: readonly Engine[] = ['interpreter', 'jit'];

export interface ProgramRunner {
  /** Runs once; returns r0 (unsigned). Throws BpfRuntimeError. */
  run(args?: RunArguments): bigint;
  /** Instructions executed by the last run, when the engine counts them (the JIT does not). */
  readonly instructionsExecuted: number | undefined;
}

export type EngineOptions = JitOptions;

export function createEngine(kind: Engine, prepared: PreparedProgram, options: EngineOptions): ProgramRunner {
  if (kind === 'jit') return new JitProgram(prepared, options);
  return new Interpreter(prepared, options);
}
