// The control-flow graph of a program at instruction level: successors, jump validation, loop
// heads (targets of DFS back edges, where the analysis widens) and a reverse post-order used to
// pick the next node to analyse.

import type { Instruction } from '../isa/instruction.js';
import { callTarget, jumpTarget } from '../isa/instruction.js';
import { LddwSrc } from '../isa/opcodes.js';
import type { Budget } from './budget.js';
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

/**
 * A read-only map from pc to a value, kept in an array indexed by pc: the analysis looks things
 * up by pc millions of times, and a million-instruction program would make a Map slow to build.
 * `absent` says which stored values mean "no entry".
 */
class PcMap<V> implements ReadonlyMap<number, V> {
  private count = -1;
  constructor(private readonly at: ArrayLike<V | undefined>, private readonly absent: (v: V) => boolean = () => false) {}
  get(pc: number): V | undefined {
    const v = this.at[pc];
    return v === undefined || this.absent(v) ? undefined : v;
  }
  has(pc: number): boolean {
    return this.get(pc) !== undefined;
  }
  get size(): number {
    if (this.count < 0) {
      this.count = 0;
      for (const _ of this.keys()) this.count++;
    }
    return this.count;
  }
  *entries(): MapIterator<[number, V]> {
    for (let pc = 0; pc < this.at.length; pc++) {
      const v = this.get(pc);
      if (v !== undefined) yield [pc, v];
    }
  }
  *keys(): MapIterator<number> {
    for (const [pc] of this.entries()) yield pc;
  }
  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): MapIterator<[number, V]> {
    return this.entries();
  }
  forEach(f: (value: V, key: number, map: ReadonlyMap<number, V>) => void): void {
    for (const [pc, v] of this.entries()) f(v, pc, this);
  }
}

const NO_SUCCESSORS: readonly number[] = [];

/**
 * Builds the CFG in time linear in the program (the budget, when given, is looked at as it goes:
 * this runs on programs of any size before the analysis does).
 */
export function buildCfg(insns: readonly Instruction[], assumes: AssumeEdges, funcTargets?: ReadonlyMap<number, number>, budget?: Budget): Cfg {
  let end = 0;
  for (const insn of insns) {
    if (!Number.isSafeInteger(insn.pc) || insn.pc < 0) throw new Violation('invalid-jump', `instruction pc ${insn.pc} is not a slot index`);
    end = Math.max(end, insn.pc + insn.spec.slots);
  }
  const insnAt: (Instruction | undefined)[] = new Array<Instruction | undefined>(end + 1).fill(undefined);
  for (const insn of insns) insnAt[insn.pc] = insn;
  const valid = (pc: number): boolean => pc === end || (pc >= 0 && pc < end && insnAt[pc] !== undefined);
  const succAt: (readonly number[] | undefined)[] = new Array<readonly number[] | undefined>(end + 1).fill(undefined);
  const functionEntries = new Set<number>([insns[0]?.pc ?? 0]);
  for (const insn of insns) {
    budget?.tick('building the control-flow graph', insn.pc);
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
      if (!valid(t) || t === end) throw new Violation('invalid-jump', `the function pointer at ${insn.pc} targets ${t}, which is not the start of an instruction`, insn.pc);
      functionEntries.add(t);
    }
    if (form === 'call-local') {
      const t = callTarget(insn);
      if (!valid(t) || t === end) throw new Violation('invalid-jump', `the local call at ${insn.pc} targets ${t}, which is not the start of an instruction`, insn.pc);
      functionEntries.add(t);
    }
    for (const t of out) {
      if (!valid(t)) throw new Violation('invalid-jump', `the jump at ${insn.pc} targets ${t}, which is not the start of an instruction`, insn.pc);
    }
    succAt[insn.pc] = out.length === 2 && out[0] === out[1] ? [out[0]] : out.length === 0 ? NO_SUCCESSORS : out;
  }
  // Iterative DFS from every function entry: edges to a node on the stack are back edges.
  const loopHeads = new Set<number>();
  const backEdges = new Set<string>();
  const post = new Int32Array(end + 1);
  let posts = 0;
  const state = new Uint8Array(end + 1); // 0 unseen, 1 on the stack, 2 done
  const stackPc = new Int32Array(end + 1);
  const stackEdge = new Int32Array(end + 1);
  for (const entry of functionEntries) {
    if (state[entry] !== 0) continue;
    let depth = 0;
    stackPc[depth] = entry;
    stackEdge[depth++] = 0;
    state[entry] = 1;
    while (depth > 0) {
      budget?.tick('ordering the control-flow graph', stackPc[depth - 1]);
      const pc = stackPc[depth - 1];
      const out = succAt[pc] ?? NO_SUCCESSORS;
      if (stackEdge[depth - 1] < out.length) {
        const t = out[stackEdge[depth - 1]++];
        if (state[t] === 1) {
          loopHeads.add(t);
          backEdges.add(`${pc}>${t}`);
        } else if (state[t] === 0) {
          state[t] = 1;
          stackPc[depth] = t;
          stackEdge[depth++] = 0;
        }
      } else {
        state[pc] = 2;
        post[posts++] = pc;
        depth--;
      }
    }
  }
  const orderAt = new Int32Array(end + 1).fill(-1);
  for (let i = 0; i < posts; i++) orderAt[post[posts - 1 - i]] = i;
  return {
    byPc: new PcMap(insnAt), end, succ: new PcMap(succAt), loopHeads, backEdges, order: new PcMap(orderAt, (i) => i < 0), functionEntries,
    branchLive: new PcMap(branchLiveness(insnAt, succAt, budget), (mask) => mask === 0),
  };
}

/**
 * The registers whose value before `insn` may flow into a value tested by a conditional jump or
 * passed to a helper, given those (`out`) after it: tested registers and helper arguments, and
 * the operands of arithmetic that computes such a value (a flag shifted before its test counts).
 */
export function liveBefore(insn: Instruction, out: number): number {
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

/**
 * `liveBefore` to its least fixpoint over the CFG. A worklist: a pc is looked at again only when
 * the mask of one of its successors grew. Masks only grow (liveBefore is monotone) and have at
 * most 16 bits, so each pc changes a bounded number of times and the whole takes time linear in
 * the number of edges, whatever the loop structure (repeating whole-program passes until nothing
 * changes took one pass per interleaved loop: quadratic).
 */
function branchLiveness(insnAt: readonly (Instruction | undefined)[], succAt: readonly (readonly number[] | undefined)[], budget?: Budget): Int32Array {
  const size = insnAt.length;
  // Predecessors, packed: those of pc are from[predStart[pc]] .. from[predStart[pc + 1] - 1].
  const predStart = new Int32Array(size + 1);
  for (let pc = 0; pc < size; pc++) for (const t of succAt[pc] ?? NO_SUCCESSORS) predStart[t + 1]++;
  for (let pc = 0; pc < size; pc++) predStart[pc + 1] += predStart[pc];
  const from = new Int32Array(predStart[size]);
  const fill = predStart.slice(0, size);
  for (let pc = 0; pc < size; pc++) for (const t of succAt[pc] ?? NO_SUCCESSORS) from[fill[t]++] = pc;
  const live = new Int32Array(size);
  // Every instruction once, the last first (the order a backward pass would take), then the
  // predecessors of whatever changed.
  const work = new Int32Array(size);
  const queued = new Uint8Array(size);
  let top = 0;
  for (let pc = 0; pc < size; pc++) {
    if (insnAt[pc] === undefined) continue;
    work[top++] = pc;
    queued[pc] = 1;
  }
  while (top > 0) {
    const pc = work[--top];
    queued[pc] = 0;
    budget?.tick('computing branch liveness', pc);
    let out = 0;
    for (const t of succAt[pc] ?? NO_SUCCESSORS) out |= live[t];
    const value = liveBefore(insnAt[pc] as Instruction, out);
    if (value === live[pc]) continue;
    live[pc] = value;
    for (let k = predStart[pc]; k < predStart[pc + 1]; k++) {
      const p = from[k];
      if (queued[p] === 0) {
        queued[p] = 1;
        work[top++] = p;
      }
    }
  }
  return live;
}
