// What `verify` returns, and a plain-text rendering of it.

import type { ErrorCode } from './errors.js';

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly text: string;
}

export interface VerifierError {
  readonly code: ErrorCode;
  /** Slot of the failing instruction (-1 when the failure is not tied to one). */
  readonly pc: number;
  /** The instruction in llvm syntax. */
  readonly instruction: string;
  readonly message: string;
  readonly source?: SourceLocation;
  /** Abstract values of the registers the instruction reads, e.g. `{ r1: 'packet+[0, 4]' }`. */
  readonly registers: Readonly<Record<string, string>>;
  /** Inlined local calls leading here (call-site pcs, outermost first). */
  readonly callStack?: readonly number[];
}

export interface LoopBound {
  /** pc of the loop head. */
  readonly pc: number;
  /** Upper bound on the number of times a back edge to the head is taken (in any one context). */
  readonly iterations: number;
  /**
   * How the bound is known: every iteration was analysed apart ('explored', as Linux does), or
   * the iterations after the unrolled ones share a summary whose ranking register bounds them.
   */
  readonly proof: 'explored' | 'ranking';
  /** With 'ranking': the register whose change bounds the loop. */
  readonly register?: string;
  readonly source?: SourceLocation;
}

interface Common {
  readonly instructions: number;
  readonly statesVisited: number;
  /** With `verbose`: the invariant before each reachable instruction (joined over call contexts). */
  readonly invariants?: ReadonlyMap<number, string>;
}

export interface VerificationSuccess extends Common {
  readonly ok: true;
  readonly loopBounds?: readonly LoopBound[];
}

export interface VerificationFailure extends Common {
  readonly ok: false;
  readonly errors: readonly VerifierError[];
}

export type VerificationReport = VerificationSuccess | VerificationFailure;

export function formatReport(report: VerificationReport): string {
  if (report.ok) {
    const loops = report.loopBounds?.map((l) => {
      const where = l.source === undefined ? '' : ` (${l.source.file}:${l.source.line})`;
      const how = l.proof === 'explored' ? 'every iteration explored' : `${l.register ?? '?'} bounds the rest`;
      return `  loop at ${l.pc}${where}: at most ${l.iterations} iterations (${how})`;
    }) ?? [];
    return [`verified: ${report.instructions} instructions, ${report.statesVisited} states visited`, ...loops].join('\n');
  }
  const lines: string[] = [];
  for (const e of report.errors) {
    lines.push(`${e.pc}: ${e.instruction}`);
    lines.push(`  error ${e.code}: ${e.message}`);
    if (e.source !== undefined) lines.push(`  at ${e.source.file}:${e.source.line}:${e.source.column}: ${e.source.text.trim()}`);
    for (const [r, v] of Object.entries(e.registers)) lines.push(`  ${r} = ${v}`);
  }
  return lines.join('\n');
}
