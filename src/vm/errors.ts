/** Why a running program was stopped. Stable strings: tools and tests match on them. */
export type RuntimeFault =
  | 'out-of-bounds' // memory access outside the linear memory
  | 'null-dereference' // memory access inside the null guard
  | 'misaligned-atomic'
  | 'call-depth' // more than MAX_CALL_DEPTH nested frames
  | 'bad-jump' // control left the program (jump outside it, or fell off its end)
  | 'unknown-helper' // callx to an id no helper has
  | 'instruction-limit'
  | 'helper-error' // a helper implementation threw
  | 'no-packet' // a legacy packet load with no packet to read
  | 'internal'; // a bug in the engine, still reported as a typed error

/** A program stopped at run time. Never escapes as anything but this type. */
export class BpfRuntimeError extends Error {
  override readonly name = 'BpfRuntimeError';
  constructor(
    readonly fault: RuntimeFault,
    readonly pc: number,
    detail: string,
  ) {
    super(`pc ${pc}: ${detail}`);
  }
}

/** Why a program cannot be loaded. Stable strings, like RuntimeFault. */
export type LoadFault =
  | 'decode' // the bytes are not valid instructions
  | 'empty'
  | 'too-large'
  | 'bad-jump' // a jump or local call lands outside the program or inside an lddw
  | 'frame-pointer-write' // writes r10
  | 'unknown-helper'
  | 'unsupported'; // valid instruction the engine cannot run in this context (e.g. unresolved map lddw)

export class ProgramLoadError extends Error {
  override readonly name = 'ProgramLoadError';
  constructor(
    readonly fault: LoadFault,
    readonly pc: number | undefined,
    detail: string,
  ) {
    super(pc === undefined ? detail : `pc ${pc}: ${detail}`);
  }
}
