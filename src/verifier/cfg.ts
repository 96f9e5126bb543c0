// The control-flow graph of a program at instruction level: successors, jump validation, loop
// heads (targets of DFS back edges, where the analysis widens) and a reverse post-order used to
// pick the next node to analyse.

import type { Instruction } from '../isa/instruction.js';
import { callTarget, jumpTarget } from '../isa/instruction.js';
import { LddwSrc } from '../isa/opcodes.js';
import { Violation } from './errors.js';

export interface Cfg {
  readonly byPc: ReadonlyMap<number, Instruction>;
  /** Slot count: reaching this pc means falling off the end of the program. */
  readonly end: number;
  /** Intra-procedural successors (a local call falls through to the next instruction). */
  readonly succ: ReadonlyMap<number, readonly number[]>;
  readonly loopHeads: ReadonlySet<number>;
  /** `from>to` for every back edge. */
  readonly backEdges: ReadonlySet<string>;
  readonly order: ReadonlyMap<number, number>;
  readonly functionEntries: ReadonlySet<number>;
  /**
   * Per pc, a bit mask of the registers whose value at that point may reach a conditional jump
   * that tests it before being overwritten (the analysis keeps paths apart by their constants).
   */
  readonly branchLive: ReadonlyMap<number, number>;
}

export interface AssumeEdges {
  /** pc -> which edge of that conditional jump exists. */
  readonly get: (pc: number) => 'taken' | 'fallthrough' | undefined;
}

export function isConditional(insn: Instruction): boolean {
  return insn.spec.form === 'jmp-imm' || insn.spec.form === 'jmp-reg';
}

/** Target of a function-pointer lddw (src=4): from `targets` (the loader's), else pc + 1 + imm. */
export function codeAddress(insn: Instruction, targets?: ReadonlyMap<number, number>): number {
  return targets?.get(insn.pc) ?? insn.pc + 1 + insn.imm;
}

export function buildCfg(insns: readonly Instruction[], assumes: AssumeEdges, funcTargets?: ReadonlyMap<number, number>): Cfg {
  const byPc = new Map<number, Instruction>();
  let end = 0;
  for (const insn of insns) {
    byPc.set(insn.pc, insn);
    end = Math.max(end, insn.pc + insn.spec.slots);
  }
  const valid = (pc: number): boolean => byPc.has(pc) || pc === end;
  const succ = new Map<number, number[]>();
  const functionEntries = new Set<number>([insns[0]?.pc ?? 0]);
  for (const insn of insns) {
    const next = insn.pc + insn.spec.slots;
    const out: number[] = [];
    const form = insn.spec.form;
    if (form === 'exit') {
      // no successor inside the function
    } else if (form === 'ja' || form === 'ja32') {
      out.push(jumpTarget(insn));
    } else if (isConditional(insn)) {
      const edge = assumes.get(insn.pc);
      if (edge !== 'taken') out.push(next);
      if (edge !== 'fallthrough') out.push(jumpTarget(insn));
    } else {
      out.push(next);
    }
    if (form === 'lddw' && insn.src === LddwSrc.CODE_ADDR) {
      // A callback: analysed from its helper's call site, but its loops need their heads found.
      const t = codeAddress(insn, funcTargets);
      if (!byPc.has(t)) throw new Violation('invalid-jump', `the function pointer at ${insn.pc} targets ${t}, which is not the start of an instruction`, insn.pc);
      functionEntries.add(t);
    }
    if (form === 'call-local') {
      const t = callTarget(insn);
      if (!byPc.has(t)) throw new Violation('invalid-jump', `the local call at ${insn.pc} targets ${t}, which is not the start of an instruction`, insn.pc);
      functionEntries.add(t);
    }
    for (const t of out) {
      if (!valid(t)) throw new Violation('invalid-jump', `the jump at ${insn.pc} targets ${t}, which is not the start of an instruction`, insn.pc);
    }
    succ.set(insn.pc, [...new Set(out)]);
  }
  // Iterative DFS from every function entry: edges to a node on the stack are back edges.
  const loopHeads = new Set<number>();
  const backEdges = new Set<string>();
  const post: number[] = [];
  const state = new Map<number, 1 | 2>();
  for (const entry of functionEntries) {
    if (state.has(entry)) continue;
    const stack: [number, number][] = [[entry, 0]];
    state.set(entry, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = succ.get(top[0]) ?? [];
      if (top[1] < out.length) {
        const t = out[top[1]++];
        const st = state.get(t);
        if (st === 1) {
          loopHeads.add(t);
          backEdges.add(`${top[0]}>${t}`);
        } else if (st === undefined) {
          state.set(t, 1);
          stack.push([t, 0]);
        }
      } else {
        state.set(top[0], 2);
        post.push(top[0]);
        stack.pop();
      }
    }
  }
  const order = new Map<number, number>();
  post.reverse().forEach((pc, i) => order.set(pc, i));
  return { byPc, end, succ, loopHeads, backEdges, order, functionEntries, branchLive: branchLiveness(insns, succ) };
}

/**
 * The registers whose value before `insn` may flow into a value tested by a conditional jump or
 * passed to a helper, given those (`out`) after it: tested registers and helper arguments, and
 * the operands of arithmetic that computes such a value (a flag shifted before its test counts).
 */
function liveBefore(insn: Instruction, out: number): number {
  const bit = (r: number): number => 1 << r;
  const d = bit(insn.dst);
  switch (insn.spec.form) {
    case 'jmp-imm': return out | d;
    case 'jmp-reg': return out | d | bit(insn.src);
    case 'alu-imm': case 'neg': case 'endian':
      return insn.spec.op === 'mov' ? out & ~d : out;
    case 'alu-reg':
      if ((out & d) === 0) return out & ~d;
      return insn.spec.op === 'mov' || insn.spec.op.startsWith('movsx') ? (out & ~d) | bit(insn.src) : out | bit(insn.src);
    // A pointer that is dereferenced counts as used: paths where it points to different kinds
    // of memory stay apart until then.
    case 'ldx': return (out & ~d) | bit(insn.src);
    case 'st': case 'stx': return out | d;
    case 'lddw': return out & ~d;
    case 'atomic': return (out & ~(bit(insn.src) | bit(0))) | d;
    // Helper arguments count as tested: a size that differs by path must stay with its buffer.
    case 'call': return (out & ~0x3f) | 0x3e;
    case 'callx': case 'call-local': case 'ldabs': case 'ldind': return out & ~0x3f;
    default: return out;
  }
}

function branchLiveness(insns: readonly Instruction[], succ: ReadonlyMap<number, readonly number[]>): Map<number, number> {
  const live = new Map<number, number>();
  for (let changed = true; changed;) {
    changed = false;
    for (let k = insns.length - 1; k >= 0; k--) {
      const pc = insns[k].pc;
      let out = 0;
      for (const t of succ.get(pc) ?? []) out |= live.get(t) ?? 0;
      const value = liveBefore(insns[k], out);
      if (value !== (live.get(pc) ?? 0)) {
        live.set(pc, value);
        changed = true;
      }
    }
  }
  return live;
}
