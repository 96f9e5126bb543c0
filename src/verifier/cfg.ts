// The control-flow graph of a program at instruction level: successors, jump validation, loop
// heads (targets of DFS back edges, where the analysis widens) and a reverse post-order used to
// pick the next node to analyse.

import type { Instruction } from '../isa/instruction.js';
import { callTarget, jumpTarget, lddwValue } from '../isa/instruction.js';
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
  /**
   * The loop-nesting forest: per loop head, its body size in slots, the head of the loop around
   * it (-1: none) and whether it is reducible (its head dominates its body).
   */
  readonly loops: ReadonlyMap<number, Loop>;
  /** Per pc, the head of the innermost natural loop containing it. */
  readonly innermostLoop: ReadonlyMap<number, number>;
  /**
   * The constants the program compares with or moves into registers (c - 1, c and c + 1 for
   * each, in every reading a comparison may use), sorted: the thresholds the analysis widens loop
   * counters to.
   */
  readonly thresholds: readonly bigint[];
  /** How many intra-procedural edges lead to pc. */
  predecessorCount(pc: number): number;
}

export interface Loop {
  /** Slots in the loop's body, inner loops included. */
  readonly size: number;
  /** Head of the enclosing loop, or -1. */
  readonly parent: number;
  /** False when the body can be entered other than through the head. */
  readonly reducible: boolean;
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
  const preds = predecessors(succAt);
  const { loops, innermost } = naturalLoops(end, succAt, functionEntries, preds, budget);
  return {
    byPc: new PcMap(insnAt), end, succ: new PcMap(succAt), loopHeads, backEdges, order: new PcMap(orderAt, (i) => i < 0), functionEntries,
    branchLive: new PcMap(branchLiveness(insnAt, succAt, preds, budget), (mask) => mask === 0),
    loops, innermostLoop: new PcMap(innermost, (h) => h < 0), thresholds: comparedConstants(insns),
    predecessorCount: (pc) => (pc >= 0 && pc < end ? preds.start[pc + 1] - preds.start[pc] : 0),
  };
}

/** Predecessors, packed: those of pc are from[start[pc]] .. from[start[pc + 1] - 1]. */
interface Preds {
  readonly start: Int32Array;
  readonly from: Int32Array;
}

function predecessors(succAt: readonly (readonly number[] | undefined)[]): Preds {
  const size = succAt.length;
  const start = new Int32Array(size + 1);
  for (let pc = 0; pc < size; pc++) for (const t of succAt[pc] ?? NO_SUCCESSORS) start[t + 1]++;
  for (let pc = 0; pc < size; pc++) start[pc + 1] += start[pc];
  const from = new Int32Array(start[size]);
  const fill = start.slice(0, size);
  for (let pc = 0; pc < size; pc++) for (const t of succAt[pc] ?? NO_SUCCESSORS) from[fill[t]++] = pc;
  return { start, from };
}

/**
 * The loop-nesting forest, by Havlak's algorithm (Tarjan's interval finding over a depth-first
 * spanning tree, with union-find, extended to irreducible loops): near-linear in the size of the
 * graph whatever its loop structure. A header's loop is the part of its DFS subtree that reaches
 * one of its back-edge sources without passing it; inner loops are collapsed into their headers
 * as the outer ones are found (headers are visited in reverse preorder). A loop whose body has a
 * predecessor outside the header's subtree can be entered without passing the header: it is
 * irreducible, and not unrolled.
 */
function naturalLoops(
  end: number, succAt: readonly (readonly number[] | undefined)[], entries: ReadonlySet<number>, preds: Preds, budget?: Budget,
): { loops: Map<number, Loop>; innermost: Int32Array } {
  // Preorder numbers and the last number in each subtree.
  const number = new Int32Array(end + 1).fill(-1);
  const last = new Int32Array(end + 1);
  const nodeAt: number[] = [];
  const stack: number[] = [];
  const edge: number[] = [];
  for (const root of entries) {
    if (number[root] >= 0) continue;
    number[root] = nodeAt.length;
    nodeAt.push(root);
    stack.push(root);
    edge.push(0);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const pc = stack[top];
      budget?.tick('finding loops', pc);
      const out = succAt[pc] ?? NO_SUCCESSORS;
      if (edge[top] < out.length) {
        const t = out[edge[top]++];
        if (number[t] < 0) {
          number[t] = nodeAt.length;
          nodeAt.push(t);
          stack.push(t);
          edge.push(0);
        }
      } else {
        last[number[pc]] = nodeAt.length - 1;
        stack.pop();
        edge.pop();
      }
    }
  }
  const n = nodeAt.length;
  const isAncestor = (w: number, v: number): boolean => w <= v && v <= last[w];
  // Union-find over preorder numbers: find(x) is the outermost header found so far around x.
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    let r = x;
    while (parent[r] !== r) r = parent[r];
    while (parent[x] !== r) {
      const up = parent[x];
      parent[x] = r;
      x = up;
    }
    return r;
  };
  const header = new Int32Array(n).fill(-1);
  const size = new Int32Array(n).fill(1);
  const loops = new Map<number, Loop>();
  const irreducible = new Set<number>();
  const inBody = new Uint8Array(n);
  /** Havlak's extra edges: entries that bypass an irreducible loop's header, charged to the header. */
  const entriesInto = new Map<number, number[]>();
  for (let w = n - 1; w >= 0; w--) {
    const pcW = nodeAt[w];
    const body: number[] = [];
    let isHeader = false;
    for (let k = preds.start[pcW]; k < preds.start[pcW + 1]; k++) {
      const v = number[preds.from[k]];
      if (v < 0 || !isAncestor(w, v)) continue;
      isHeader = true;
      if (v === w) continue;
      const x = find(v);
      if (inBody[x] === 0 && x !== w) {
        inBody[x] = 1;
        body.push(x);
      }
    }
    if (!isHeader) continue;
    for (let i = 0; i < body.length; i++) {
      const x = body[i];
      budget?.tick('finding loops', nodeAt[x]);
      const pcX = nodeAt[x];
      const visit = (v: number): void => {
        const y = find(v);
        if (!isAncestor(w, y)) {
          // An entry into w's loop that bypasses w; the loops around w see it as an edge into w.
          irreducible.add(pcW);
          const list = entriesInto.get(w);
          if (list === undefined) entriesInto.set(w, [y]);
          else list.push(y);
        } else if (inBody[y] === 0 && y !== w) {
          inBody[y] = 1;
          body.push(y);
        }
      };
      for (let k = preds.start[pcX]; k < preds.start[pcX + 1]; k++) {
        const v = number[preds.from[k]];
        // A back edge into x is x's own (its loop is already collapsed into x).
        if (v >= 0 && !isAncestor(x, v)) visit(v);
      }
      for (const v of entriesInto.get(x) ?? []) visit(v);
    }
    let total = 1;
    for (const x of body) {
      inBody[x] = 0;
      header[x] = w;
      parent[x] = w;
      total += size[x];
    }
    size[w] = total;
    loops.set(pcW, { size: total, parent: -1, reducible: true });
  }
  const innermost = new Int32Array(end + 1).fill(-1);
  for (let v = 0; v < n; v++) {
    const pc = nodeAt[v];
    const outer = header[v] < 0 ? -1 : nodeAt[header[v]];
    const loop = loops.get(pc);
    if (loop !== undefined) {
      loops.set(pc, { size: loop.size, parent: outer, reducible: !irreducible.has(pc) });
      innermost[pc] = pc;
    } else {
      innermost[pc] = outer;
    }
  }
  return { loops, innermost };
}

function comparedConstants(insns: readonly Instruction[]): bigint[] {
  const seen = new Set<bigint>();
  for (const insn of insns) {
    // Immediate comparisons, and constants moved into a register (clang often hoists a loop's
    // bound into one and compares with that).
    const moved = (insn.spec.form === 'alu-imm' && insn.spec.op === 'mov') || insn.spec.form === 'lddw';
    if (insn.spec.form !== 'jmp-imm' && !moved) continue;
    if (insn.spec.form === 'lddw' && insn.src !== LddwSrc.IMM64) continue;
    const c = insn.spec.form === 'lddw' ? BigInt.asIntN(64, lddwValue(insn)) : BigInt(insn.imm);
    for (const v of [c, BigInt.asUintN(64, c), BigInt.asUintN(32, c), BigInt.asIntN(32, c)]) {
      seen.add(v - 1n);
      seen.add(v);
      seen.add(v + 1n);
    }
  }
  return [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
function branchLiveness(insnAt: readonly (Instruction | undefined)[], succAt: readonly (readonly number[] | undefined)[], preds: Preds, budget?: Budget): Int32Array {
  const size = insnAt.length;
  const { start: predStart, from } = preds;
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
