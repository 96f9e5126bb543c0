// A sound static analyzer for eBPF programs, in the style of PREVAIL: abstract interpretation over
// the control-flow graph.
//
// Design
// - cfg.ts builds instruction-level successors, validates jump targets and finds loop heads (DFS
//   back-edge targets). Local (bpf-to-bpf) calls are inlined: an analysis node is (call stack, pc),
//   so a function is analysed once per calling context, as PREVAIL does.
// - domain/interval.ts: signed and unsigned interval views of 64-bit values with the machine
//   arithmetic of eBPF (wrap-around, 32-bit sub-registers). domain/state.ts: per register a set of
//   possible types with one component per type (pointer offsets, number intervals), the stack as
//   per-byte initialisation plus typed cells (8-byte spills keep pointers), packet_size and
//   metadata-size bounds learned from pointer comparisons, null-check identities, caller frames.
// - transfer.ts / memory.ts / helpers.ts: one transfer function per instruction form; each check
//   that fails throws a Violation with a stable code (errors.ts). The path stops there, so one root
//   cause gives one error.
// - This file runs a worklist fixpoint (priority: reverse post-order) and joins at merge points.
//   Loops: see docs/verifier-loops.md. Natural loops are first unrolled, iteration by iteration
//   (iteration.ts: analysis nodes are keyed by the iteration each enclosing loop is in), as the
//   Linux verifier explores them; a loop that is still going when its unrolling budget runs out
//   continues in one summary node per context, which joins, widens to the nearest of the
//   program's own compared constants (cfg.ts thresholds), and, with `termination`, must be proven
//   bounded by a ranking register: one that moves by at least 1 in the same direction on every
//   back edge (tracked as per-loop deltas in the state) and is bounded on the back edges.
//   Irreducible loops are not unrolled: they get the summary treatment from their first pass.
// - Callbacks (bpf_loop, bpf_for_each_map_elem): the function pointer's target is analysed as a
//   call from the helper site, in a fresh frame, with the arguments the helper passes (index or
//   map/key/value, and the caller's ctx pointer). The helper may run it zero or more times: the
//   state after the call joins the state before it with the state after every run, and each run's
//   end re-enters the callback (its entry widens like a loop head). A callback returns 0 or 1.
// - Acquired references (ring-buffer reservations, a bpf_spin_lock) are tracked in the state as
//   "may be held"; a reservation is dropped on its null branch and by submit/discard (after which
//   every copy of the pointer is marked released), and none may be held at exit or a tail call.
// - Numbers also carry their known low bits (value mod 2^k), which tightens bounds at branches
//   (a counter stepping by 2 that stops at `!= 64`), and a variable packet offset remembers the
//   number register it came from, so a bounds check on the pointer bounds that register too.
// - Anything unexpected (an exception, a budget overrun) is a rejection ('verifier-limit'), never
//   an acceptance.

import type { Instruction } from '../isa/instruction.js';
import { callTarget } from '../isa/instruction.js';
import { formatInstruction } from '../isa/disassemble.js';
import { type Itv, S64_MAX, S64_MIN, itv } from './domain/interval.js';
import {
  type MapInfo, type Reg, type State, PACKET_MAX, POINTER_TYPES, T, UNINIT, cloneState, eqState, joinState, numberReg, only,
  pointerReg, showReg, showState,
} from './domain/state.js';
import { type Cfg, buildCfg } from './cfg.js';
import { type Iteration, OUTSIDE_LOOPS, SUMMARY, Unroller, type UnrollLimits, entryOf, iterationKey } from './iteration.js';
import { Budget, BudgetExceeded } from './budget.js';
import { type ErrorCode, Violation } from './errors.js';
import { type CallbackRun, callHelper, helperIdOf } from './helpers.js';
import { requireInit } from './memory.js';
import type { ProgramTypeRules } from './program-type.js';
import type { LoopBound, VerificationReport, VerifierError } from './report.js';
import { type Env, type MapRef, alu, assume, atomic, checkExit, edgeRelation, lddw, legacyLoad, load, store } from './transfer.js';
import { afterAlu, afterOther, assumeRelation, beforeAlu } from './domain/relational.js';
import { forget, newZone } from './domain/zone.js';

export * from './program-type.js';
export * from './report.js';
export { ERROR_CODES, type ErrorCode } from './errors.js';
export type { MapInfo, State } from './domain/state.js';
export type { MapRef } from './transfer.js';

export interface VerifierInput {
  readonly instructions: readonly Instruction[];
  /** What each lddw of a map (by its pc) refers to. */
  readonly maps: ReadonlyMap<number, MapRef>;
  readonly programType: ProgramTypeRules;
  /** Source line per pc (from BTF line info). */
  readonly lineInfo?: readonly ({ fileName: string; line: number; column: number; lineText: string } | undefined)[];
  /** Function entries (from BTF/symbols). Not needed: call and callback targets come from the code. */
  readonly functionStarts?: ReadonlySet<number>;
  /**
   * Target of each function-pointer lddw (src=4), by its pc, when the loader resolved it without
   * patching the immediate (ProgramSpec references of kind 'function'). Default: pc + 1 + imm.
   */
  readonly functionPointers?: ReadonlyMap<number, number>;
  /** Conditional jumps that only refine (PREVAIL's `assume`): the edge that exists. */
  readonly assumptions?: readonly { readonly pc: number; readonly edge: 'taken' | 'fallthrough' }[];
}

export interface VerifierOptions {
  /** Prove that every loop terminates. Default false. */
  readonly termination?: boolean;
  /** Division by a possibly-zero divisor is allowed (x/0 = 0, x%0 = x). Default true. */
  readonly allowDivisionByZero?: boolean;
  /** Byte order for be/le swaps. Default little-endian. */
  readonly bigEndian?: boolean;
  /** Record the invariant before each instruction. */
  readonly verbose?: boolean;
  /** Running past the last instruction is an exit (PREVAIL's tests) rather than an error. */
  readonly fallOffIsExit?: boolean;
  /** Entry state; default: r1 = context, r10 = top of the stack, everything else uninitialised. */
  readonly entryState?: State;
  /**
   * PREVAIL's stack model: all call frames form one region and an access may reach into the
   * frames of callers. Default false: an access must stay within the frame its pointer comes from.
   */
  readonly sharedStack?: boolean;
  /**
   * Pointers may become numbers that leave the program (returned, stored in maps or packets,
   * moved to 32 bits, subtracted, compared with numbers), as Linux allows privileged loaders.
   * Default false (PREVAIL's and unprivileged Linux's rule). Memory safety is the same either
   * way: such a number can never be used as a pointer.
   */
  readonly allowPointerLeaks?: boolean;
  /**
   * Pointers are 32-bit addresses (ebpf-ts' memory model, DESIGN.md): a 32-bit move of a pointer
   * keeps it. Default true; PREVAIL's test platform has 64-bit pointers (false).
   */
  readonly addresses32?: boolean;
  /**
   * The budget every pass (CFG, liveness, fixpoint, termination proof, invariants) counts
   * against, from the moment verify() is called: node visits (default 2,000,000), wall-clock
   * milliseconds (default 20,000) and memory growth in MB, heap and ArrayBuffers (default 1024).
   * Running out is a 'verifier-limit' rejection that names the budget and the pass.
   */
  readonly maxSteps?: number;
  readonly timeLimitMs?: number;
  readonly maxMemoryMb?: number;
  /** How far loops are unrolled before their summary (default DEFAULT_UNROLL; tests lower it). */
  readonly unroll?: UnrollLimits;
}

export const FRAME_SIZE = 512;
export const MAX_FRAMES = 8;
export const STACK_SIZE = FRAME_SIZE * MAX_FRAMES;
/** Passes over a loop head that is not unrolled (an irreducible loop) before it widens. */
const WIDEN_DELAY = 40;
/** Passes over a summary node before it widens: the unrolled iterations before it were exact. */
const SUMMARY_WIDEN_DELAY = 3;
/** Paths with different tested constants kept apart per program point, at most. */
const MAX_PARTITIONS = 32;
const MAX_LOOP_ITERATIONS = 100000;

/** A state where every register is uninitialised, the stack is empty and nothing is known. */
export function emptyState(): State {
  return {
    regs: Array.from({ length: 11 }, () => UNINIT),
    bytes: new Uint8Array(STACK_SIZE),
    cells: new Map(),
    pktLo: 0n,
    pktHi: PACKET_MAX,
    metaLo: 0n,
    metaHi: PACKET_MAX,
    frameTop: BigInt(STACK_SIZE),
    frames: [],
    deltas: new Map(),
    pktVars: new Map(),
    refs: new Set(),
    lock: '',
    zone: newZone(),
  };
}

/** The state a program starts in: r1 = context, r10 = frame pointer. */
export function defaultEntryState(rules: ProgramTypeRules): State {
  const s = emptyState();
  s.regs[1] = pointerReg('ctx', { ctx: itv(0n) });
  s.regs[10] = pointerReg('stack', { stack: itv(BigInt(STACK_SIZE)), stackFrame: BigInt(STACK_SIZE) });
  // Without a data_meta field nothing precedes the packet; with one, the metadata size is unknown.
  if (!rules.context.fields.some((f) => f.kind === 'packet_meta')) s.metaHi = 0n;
  return s;
}

interface Node {
  readonly key: string;
  readonly calls: readonly number[];
  readonly pc: number;
  /** The iteration of each enclosing natural loop this node's paths are in. */
  readonly iter: Iteration;
  state: State;
  visits: number;
  queued: boolean;
}

class Heap {
  private items: [number, Node][] = [];
  push(p: number, n: Node): void {
    const a = this.items;
    a.push([p, n]);
    let i = a.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (a[up][0] <= a[i][0]) break;
      [a[up], a[i]] = [a[i], a[up]];
      i = up;
    }
  }
  pop(): Node | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0][1];
    const last = a.pop() as [number, Node];
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l][0] < a[m][0]) m = l;
        if (r < a.length && a[r][0] < a[m][0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

function readRegisters(insn: Instruction | undefined, rules: ProgramTypeRules): number[] {
  if (insn === undefined) return [0];
  const f = insn.spec.form;
  switch (f) {
    case 'alu-imm': return insn.spec.op === 'mov' ? [] : [insn.dst];
    case 'alu-reg': return insn.spec.op === 'mov' || insn.spec.op.startsWith('movsx') ? [insn.src] : [insn.dst, insn.src];
    case 'neg': case 'endian': case 'st': case 'jmp-imm': case 'callx': return [insn.dst];
    case 'ldx': return [insn.src];
    case 'stx': case 'jmp-reg': return [insn.dst, insn.src];
    case 'atomic': return insn.spec.op === 'atomic_cmpxchg' ? [insn.dst, insn.src, 0] : [insn.dst, insn.src];
    case 'ldabs': return [6];
    case 'ldind': return [6, insn.src];
    case 'call': {
      const n = rules.helpers.get(insn.imm)?.args.length ?? 5;
      return [1, 2, 3, 4, 5].slice(0, n);
    }
    case 'exit': return [0];
    default: return [];
  }
}

/** Verifies a program; never throws. */
export function verify(program: VerifierInput, options: VerifierOptions = {}): VerificationReport {
  // The clock starts here: everything verify() does counts against the caller's budget.
  const budget = new Budget(options);
  try {
    return run(program, options, budget);
  } catch (e) {
    if (e instanceof BudgetExceeded) return limit(program, e.steps, e.message);
    const message = e instanceof Violation ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
    const code: ErrorCode = e instanceof Violation ? e.code : 'verifier-limit';
    const pc = e instanceof Violation ? (e.pc ?? -1) : -1;
    const insn = program.instructions.find((i) => i.pc === pc);
    const instruction = insn === undefined ? '' : formatInstruction(insn, 'llvm');
    return { ok: false, instructions: program.instructions.length, statesVisited: budget.steps, errors: [{ code, pc, instruction, message, registers: {} }] };
  }
}

function run(program: VerifierInput, options: VerifierOptions, budget: Budget): VerificationReport {
  const insns = program.instructions;
  const rules = program.programType;
  if (insns.length === 0) throw new Violation('no-exit', 'the program has no instructions');
  const assumeMap = new Map((program.assumptions ?? []).map((a) => [a.pc, a.edge]));
  const cfg: Cfg = buildCfg(insns, { get: (pc) => assumeMap.get(pc) }, program.functionPointers, budget);
  const env: Env = {
    rules, frameSize: FRAME_SIZE, stackSize: STACK_SIZE, allowDivisionByZero: options.allowDivisionByZero ?? true,
    bigEndian: options.bigEndian ?? false, maps: program.maps, sharedStack: options.sharedStack ?? false,
    allowPointerLeaks: options.allowPointerLeaks ?? false,
    addresses32: options.addresses32 ?? true,
    ...(program.functionPointers === undefined ? {} : { funcTargets: program.functionPointers }),
  };
  /** Callback entries (node keys): the helper may run them again, so they widen like loop heads. */
  const callbackEntries = new Set<string>();
  /** Helper call site -> the callback it runs. */
  const siteTargets = new Map<number, number>();
  const termination = options.termination ?? false;

  const nodes = new Map<string, Node>();
  const heap = new Heap();
  const errors = new Map<number, VerifierError>();
  /** Per loop-head node that needs a ranking proof: per back-edge source pc, the joined state on that edge. */
  const backStates = new Map<string, Map<number, State>>();
  const unroller = new Unroller(cfg, options.unroll);
  let steps = 0;

  /** (call stack, pc, iteration) as a string: also the key of a loop's deltas in the state. */
  const placeKey = (calls: readonly number[], pc: number, iter: Iteration): string => {
    const it = iterationKey(iter);
    return it === '' ? `${calls.join('/')}|${pc}` : `${calls.join('/')}|${pc}@${it}`;
  };
  const nodeFor = (calls: readonly number[], pc: number, iter: Iteration, partition = ''): Node => {
    const place = placeKey(calls, pc, iter);
    const key = partition === '' ? place : `${place}#${partition}`;
    let n = nodes.get(key);
    if (n === undefined) {
      n = { key, calls, pc, iter, state: undefined as unknown as State, visits: 0, queued: false };
      nodes.set(key, n);
      if (unroller.unrolls(pc)) {
        const e = entryOf(iter, calls.length, pc);
        if (e !== undefined) unroller.noteNode(pc, e.k);
      }
    }
    return n;
  };
  /** Whether the node at a loop head is one of the loop's unrolled iterations (no widening, no proof). */
  const unrolledIteration = (n: Node): boolean => {
    const e = unroller.unrolls(n.pc) ? entryOf(n.iter, n.calls.length, n.pc) : undefined;
    return e !== undefined && e.k !== SUMMARY;
  };
  const priority = (n: Node): number => (cfg.order.get(n.pc) ?? cfg.end) * (MAX_FRAMES + 1) + n.calls.length;

  /** Partitions opened per (call stack, pc): paths beyond the limit share the last one. */
  const partitions = new Map<string, Set<string>>();
  /**
   * Which paths reaching `pc` are kept apart: those whose registers tested later hold different
   * constants (a flag that records whether a bounds check passed, tested after the paths join).
   * Loop heads and callback entries are never split: their single state carries the widening
   * and the termination proof.
   */
  const partitionOf = (calls: readonly number[], pc: number, iter: Iteration, s: State): string => {
    const mask = cfg.branchLive.get(pc) ?? 0;
    if (mask === 0 || cfg.loopHeads.has(pc)) return '';
    // Most points have nothing to tell paths apart by: find out before building strings.
    let any = false;
    for (let r = 0; r <= 9 && !any; r++) {
      if ((mask & (1 << r)) === 0) continue;
      const x = s.regs[r];
      any = only(x, T.number) ? x.num.s.lo === x.num.s.hi : (x.types & POINTER_TYPES) !== 0;
    }
    if (!any) return '';
    const base = placeKey(calls, pc, iter);
    if (callbackEntries.has(base)) return '';
    let sig = '';
    for (let r = 0; r <= 9; r++) {
      if ((mask & (1 << r)) === 0) continue;
      const x = s.regs[r];
      if (only(x, T.number)) {
        if (x.num.s.lo === x.num.s.hi) sig += `r${r}=${x.num.s.lo},`;
      } else if ((x.types & POINTER_TYPES) !== 0) {
        // What kind of memory it points to (a buffer on the stack on one path, a map value on another).
        // A stack pointer's place too (a pointer to one of two buffers, each with its size).
        sig += only(x, T.stack) ? `r${r}@${x.stack.lo}:${x.stack.hi},` : `r${r}:${x.types},`;
      }
    }
    if (sig === '') return '';
    let open = partitions.get(base);
    if (open === undefined) partitions.set(base, (open = new Set()));
    if (open.has(sig)) return sig;
    if (open.size >= MAX_PARTITIONS) return '*';
    open.add(sig);
    return sig;
  };

  const propagate = (calls: readonly number[], pc: number, s: State, iter: Iteration): void => {
    const n = nodeFor(calls, pc, iter, partitionOf(calls, pc, iter, s));
    if (n.state === undefined) {
      n.state = s;
    } else {
      const head = cfg.loopHeads.has(pc) || callbackEntries.has(n.key);
      const summary = head && unroller.unrolls(pc) && !unrolledIteration(n);
      const widenHere = head && n.visits >= (summary ? SUMMARY_WIDEN_DELAY : WIDEN_DELAY);
      const joined = joinState(n.state, s, widenHere ? cfg.thresholds : false);
      if (eqState(joined, n.state)) return;
      n.state = joined;
    }
    if (!n.queued) {
      n.queued = true;
      heap.push(priority(n), n);
    }
  };

  const entry = options.entryState ?? defaultEntryState(rules);
  propagate([], insns[0].pc, cloneState(entry), unroller.enter(OUTSIDE_LOOPS, 0, insns[0].pc));

  const record = (node: Node, v: Violation, s: State): void => {
    if (errors.has(node.pc)) return;
    const insn = cfg.byPc.get(node.pc);
    const registers: Record<string, string> = {};
    for (const r of readRegisters(insn, rules)) registers[`r${r}`] = showReg(s.regs[r]);
    const line = program.lineInfo?.[node.pc];
    errors.set(node.pc, {
      code: v.code, pc: node.pc, instruction: insn === undefined ? '(end of program)' : formatInstruction(insn, 'llvm'),
      message: v.code === 'unbounded-loop' ? v.message : `${v.message}${whichIteration(node.iter)}`, registers,
      ...(line === undefined ? {} : { source: { file: line.fileName, line: line.line, column: line.column, text: line.lineText } }),
      ...(node.calls.length > 0 ? { callStack: node.calls } : {}),
    });
  };

  for (;;) {
    const node = heap.pop();
    if (node === undefined) break;
    node.queued = false;
    node.visits++;
    budget.step(node.pc);
    steps++;
    // A node's state is kept only where it is needed again: at loop heads and callback entries
    // (joins with later passes, widening, the termination proof) and for --verbose. Elsewhere
    // the step takes it over without a copy; a path that arrives later starts the node afresh,
    // which is sound (its successors join what it brings) and rare in reverse post-order.
    const keep = options.verbose === true || cfg.loopHeads.has(node.pc) || callbackEntries.has(node.key);
    const s = keep ? cloneState(node.state) : node.state;
    if (!keep) node.state = undefined as unknown as State;
    if (termination && cfg.loopHeads.has(node.pc) && !unrolledIteration(node)) {
      s.deltas.set(placeKey(node.calls, node.pc, node.iter), Array.from({ length: 11 }, (_, r) => ({ from: r, by: itv(0n) })));
    }
    try {
      step(node, s);
    } catch (e) {
      if (e instanceof Violation) record(node, e, s);
      else throw e;
    }
  }

  function step(node: Node, s: State): void {
    const { pc, calls } = node;
    const insn = cfg.byPc.get(pc);
    const out = (to: number, st: State): void => {
      const it = advance(calls, node.iter, to, st);
      if (termination && cfg.backEdges.has(`${pc}>${to}`)) {
        // Going round an unrolled iteration (k to k + 1), or from the last one into the
        // summary, is progress; any other back edge closes a cycle of the analysis and needs
        // the ranking proof.
        const before = entryOf(node.iter, calls.length, to);
        const after = entryOf(it, calls.length, to);
        const progress = before !== undefined && before.k !== SUMMARY && after !== undefined && (after.k === before.k + 1 || after.k === SUMMARY);
        if (!progress) {
          const key = placeKey(calls, to, it);
          let edges = backStates.get(key);
          if (edges === undefined) backStates.set(key, (edges = new Map()));
          const old = edges.get(pc);
          edges.set(pc, old === undefined ? cloneState(st) : joinState(old, st));
        }
      }
      propagate(calls, to, st, it);
    };
    if (insn === undefined) {
      if (!options.fallOffIsExit) throw new Violation('no-exit', `execution can run past the last instruction (pc ${pc})`);
      return doExit(node, s, false);
    }
    const next = pc + insn.spec.slots;
    switch (insn.spec.form) {
      case 'alu-imm': case 'alu-reg': case 'neg': case 'endian': {
        if (isZeroExtensionOfFit(insn, s)) return out(next + 1, s);
        const before = beforeAlu(s, insn);
        alu(s, insn, env);
        afterAlu(s, insn, before);
        return out(next, s);
      }
      case 'lddw':
        lddw(s, insn, env);
        afterOther(s, insn, false);
        return out(next, s);
      case 'ldx':
        load(s, insn, env);
        afterOther(s, insn, false);
        return out(next, s);
      case 'st': case 'stx':
        store(s, insn, env);
        afterOther(s, insn, false);
        return out(next, s);
      case 'atomic':
        atomic(s, insn, env);
        afterOther(s, insn, false);
        return out(next, s);
      case 'ldabs': case 'ldind':
        legacyLoad(s, insn, env);
        afterOther(s, insn, false);
        return out(next, s);
      case 'ja': case 'ja32':
        return out((cfg.succ.get(pc) ?? [])[0], s);
      case 'jmp-imm': case 'jmp-reg': {
        const edge = assumeMap.get(pc);
        const target = pc + 1 + insn.offset;
        if (edge !== 'fallthrough') {
          const t = assume(cloneState(s), insn, true, env.allowPointerLeaks);
          if (t !== undefined && assumeRelation(t, insn, edgeRelation(insn, true))) out(edge === undefined ? target : next, t);
        }
        if (edge !== 'taken') {
          // The last use of this step's state: no copy.
          const f = assume(s, insn, false, env.allowPointerLeaks);
          if (f !== undefined && assumeRelation(f, insn, edgeRelation(insn, false))) out(next, f);
        }
        return;
      }
      case 'call': case 'callx': {
        const id = insn.spec.form === 'call' ? insn.imm : helperIdOf(s, insn.dst);
        const cb = callHelper(s, env, id, pc);
        afterOther(s, insn, rules.helpers.get(id)?.changesPacket === true);
        // The helper may not run its callback at all (this path), or run it any number of times.
        if (cb !== undefined) enterCallback(calls, node.iter, pc, s, cb);
        return out(next, s);
      }
      case 'call-btf':
        throw new Violation('unsupported', `kfunc calls (call_btf ${insn.imm}) are not supported yet`);
      case 'call-local':
        return localCall(node, s, insn);
      case 'exit':
        return doExit(node, s);
    }
  }

  /**
   * `rX <<= 32; rX >>= 32` (how clang without alu32 zero-extends a counter it tests as 32 bits)
   * on a number that already fits in 32 bits changes nothing: both are skipped, so the register
   * keeps its links to its copies and its loop deltas. Only when nothing jumps between the two.
   */
  function isZeroExtensionOfFit(insn: Instruction, s: State): boolean {
    if (insn.spec.form !== 'alu-imm' || insn.spec.op !== 'lsh' || insn.spec.width === 32 || insn.imm !== 32) return false;
    const second = cfg.byPc.get(insn.pc + 1);
    if (second === undefined || second.spec.form !== 'alu-imm' || second.spec.op !== 'rsh' || second.spec.width === 32) return false;
    if (second.dst !== insn.dst || second.imm !== 32 || cfg.predecessorCount(second.pc) !== 1 || cfg.loopHeads.has(second.pc)) return false;
    const x = s.regs[insn.dst];
    return only(x, T.number) && x.num.u.hi < 1n << 32n;
  }

  /** Entry pcs of the functions active in call stack `calls` (outermost first). */
  function activeFunctions(calls: readonly number[]): number[] {
    return [insns[0].pc, ...calls.map((c) => {
      const site = cfg.byPc.get(c) as Instruction;
      return site.spec.form === 'call-local' ? callTarget(site) : (siteTargets.get(c) ?? -1);
    })];
  }

  /** Runs callback `cb` of the helper called at `site`, from caller state `caller` (not changed). */
  function enterCallback(calls: readonly number[], iter: Iteration, site: number, caller: State, cb: CallbackRun): void {
    if (calls.length + 1 >= MAX_FRAMES) throw new Violation('invalid-call', 'too many call stack frames');
    if (!cfg.byPc.has(cb.target)) throw new Violation('invalid-jump', `the callback at ${cb.target} is not the start of an instruction`);
    const known = siteTargets.get(site);
    if (known !== undefined && known !== cb.target) throw new Violation('invalid-call', `the helper call at ${site} is given different callbacks (${known} and ${cb.target}) on different paths`);
    siteTargets.set(site, cb.target);
    if (activeFunctions(calls).includes(cb.target)) throw new Violation('invalid-call', `illegal recursion: the callback at ${cb.target} is already active`);
    const st = cloneState(caller);
    st.zone = newZone();
    st.frames.push({ saved: st.regs.slice(6, 11), frameTop: st.frameTop, deltas: new Map(st.deltas), args: cb.args });
    const r10 = st.regs[10];
    st.frameTop -= BigInt(FRAME_SIZE);
    st.regs[10] = only(r10, T.stack)
      ? { ...r10, stack: itv(r10.stack.lo - BigInt(FRAME_SIZE), r10.stack.hi - BigInt(FRAME_SIZE)), stackFrame: st.frameTop }
      : pointerReg('stack', { stack: itv(st.frameTop), stackFrame: st.frameTop });
    st.regs[0] = UNINIT;
    for (let r = 1; r <= 5; r++) st.regs[r] = cb.args[r - 1];
    for (let r = 6; r <= 9; r++) st.regs[r] = UNINIT;
    for (const key of [...st.deltas.keys()]) st.deltas.set(key, (st.deltas.get(key) ?? []).map(() => undefined));
    const callee = [...calls, site];
    // The callback's runs share one entry node (it widens like a loop head); its own loops unroll.
    callbackEntries.add(nodeFor(callee, cb.target, iter).key);
    propagate(callee, cb.target, st, iter);
  }

  function localCall(node: Node, s: State, insn: Instruction): void {
    const target = callTarget(insn);
    if (s.lock !== '') throw new Violation('spin-lock', 'a function call while a bpf_spin_lock may be held (Linux forbids it too)');
    if (node.calls.length + 1 >= MAX_FRAMES) throw new Violation('invalid-call', 'too many call stack frames');
    const active = activeFunctions(node.calls);
    if (active.includes(target)) throw new Violation('invalid-call', `illegal recursion: the function at ${target} is already active`);
    s.frames.push({ saved: s.regs.slice(6, 11), frameTop: s.frameTop, deltas: new Map(s.deltas) });
    forget(s.zone, 10);
    const r10 = s.regs[10];
    s.frameTop -= BigInt(FRAME_SIZE);
    if (only(r10, T.stack)) s.regs[10] = { ...r10, stack: itv(r10.stack.lo - BigInt(FRAME_SIZE), r10.stack.hi - BigInt(FRAME_SIZE)), stackFrame: s.frameTop };
    for (const key of [...s.deltas.keys()]) s.deltas.set(key, (s.deltas.get(key) ?? []).map(() => undefined));
    propagate([...node.calls, node.pc], target, s, unroller.enter(node.iter, node.calls.length + 1, target));
  }

  function doExit(node: Node, s: State, explicit = true): void {
    if (node.calls.length === 0) {
      if (explicit) checkExit(s, env);
      return;
    }
    const site = node.calls[node.calls.length - 1];
    const isCallback = cfg.byPc.get(site)?.spec.form !== 'call-local';
    if (isCallback) {
      const r0 = requireInit(s, 0);
      if (!only(r0, T.number) || r0.num.s.lo < 0n || r0.num.s.hi > 1n) {
        throw new Violation('bad-return-value', `a callback must return 0 (continue) or 1 (stop), but r0 is ${showReg(r0)}`);
      }
    }
    const frame = s.frames.pop();
    if (frame === undefined) throw new Error('frame stack underflow');
    // Every register but the result changes or comes back from the frame: the relations the
    // callee learned about them are about other values.
    for (let r = 0; r <= 10; r++) forget(s.zone, r);
    for (let r = 6; r <= 10; r++) s.regs[r] = frame.saved[r - 6];
    for (let r = 1; r <= 5; r++) s.regs[r] = UNINIT;
    // The callee's frame is gone: the next call may get different memory there.
    const lo = Number(s.frameTop) - FRAME_SIZE;
    const hi = Number(s.frameTop);
    if (lo >= 0) s.bytes.fill(0, lo, hi);
    for (const at of [...s.cells.keys()]) if (at >= lo && at < hi) s.cells.delete(at);
    s.frameTop = frame.frameTop;
    // r6-r10 come back unchanged, so their distance from a loop head in the caller does too.
    s.deltas.clear();
    for (const [key, d] of frame.deltas) s.deltas.set(key, d.map((x, r) => (r >= 6 ? x : undefined)));
    const callerCalls = node.calls.slice(0, -1);
    const callerIter = unroller.leave(node.iter, callerCalls.length);
    if (isCallback) {
      const target = siteTargets.get(site);
      if (target === undefined || frame.args === undefined) throw new Error('callback frame without its target or arguments');
      // The helper may run the callback again, from the state this run left behind...
      enterCallback(callerCalls, callerIter, site, s, { target, args: frame.args });
      // ...or return: r0 is the helper's result.
      s.regs[0] = numberReg();
      for (let r = 1; r <= 5; r++) s.regs[r] = UNINIT;
    }
    propagate(callerCalls, site + 1, s, advance(callerCalls, callerIter, site + 1, s));
  }

  /** Where in the enclosing loops a failing path was: the pass of each, innermost first. */
  function whichIteration(iter: Iteration): string {
    if (iter.length === 0) return '';
    const passes = [...iter].reverse().map((e) => (e.k === SUMMARY
      ? `after the first ${unroller.limitOf(e.head)} passes of the loop at ${e.head}`
      : `on pass ${e.k + 1} of the loop at ${e.head}`));
    return ` (${passes.join(', ')})`;
  }

  /**
   * The iteration context after an edge to `to` in the frame of `calls`. The deltas of summarised
   * loops the edge leaves are dropped from `st` (keyed by the place of their summary node): they
   * are about iterations that are over.
   */
  function advance(calls: readonly number[], iter: Iteration, to: number, st: State): Iteration {
    const { it, left } = unroller.advance(iter, calls.length, to);
    for (const e of left) {
      if (e.k === SUMMARY) st.deltas.delete(placeKey(calls.slice(0, e.depth), e.head, iter.slice(0, iter.indexOf(e) + 1)));
    }
    return it;
  }

  let invariants: Map<number, string> | undefined;
  if (options.verbose) {
    const joined = new Map<number, State>();
    for (const n of nodes.values()) {
      if (n.state === undefined) continue;
      budget.tick('joining the invariants', n.pc);
      const old = joined.get(n.pc);
      joined.set(n.pc, old === undefined ? n.state : joinState(old, n.state));
    }
    invariants = new Map([...joined].sort((a, b) => a[0] - b[0]).map(([pc, st]) => {
      budget.tick('printing the invariants', pc);
      return [pc, showState(st)];
    }));
  }

  let loopBounds: LoopBound[] | undefined;
  if (termination && errors.size === 0) {
    // Per loop head pc, the most back edges any context can take: the unrolled iterations, then
    // what the ranking proof of its summary nodes allows.
    const ranked = new Map<number, { iterations: number; register: string }>();
    for (const [key, edges] of backStates) {
      const headNode = nodes.get(key);
      if (headNode === undefined) continue;
      budget.check('the termination proof', headNode.pc);
      const backs = [...edges.values()];
      const bound = rankLoop(key, headNode.state, backs);
      if (bound === undefined) {
        record(headNode, new Violation('unbounded-loop', explainLoop(headNode, backs)), headNode.state);
        continue;
      }
      const entered = unrolledIteration(headNode) ? 0 : unroller.unrolls(headNode.pc) ? (unroller.deepest.get(headNode.pc) ?? -1) + 1 : 0;
      const total = { iterations: entered + bound.iterations, register: bound.register };
      const old = ranked.get(headNode.pc);
      if (old === undefined || old.iterations < total.iterations) ranked.set(headNode.pc, total);
    }
    loopBounds = [];
    const heads = new Set([...unroller.deepest.keys(), ...ranked.keys()]);
    for (const pc of [...heads].sort((a, b) => a - b)) {
      const r = ranked.get(pc);
      const line = program.lineInfo?.[pc];
      const source = line === undefined ? {} : { source: { file: line.fileName, line: line.line, column: line.column, text: line.lineText } };
      loopBounds.push(r === undefined
        ? { pc, iterations: unroller.deepest.get(pc) ?? 0, proof: 'explored', ...source }
        : { pc, iterations: r.iterations, proof: 'ranking', register: r.register, ...source });
    }
  }

  /**
   * Why the loop at `head` has no ranking proof, in terms a person can act on: each exit test
   * of the loop, the registers it tests, what the analysis knew of them at the loop head and how
   * far they move per iteration.
   */
  function explainLoop(head: Node, backs: readonly State[]): string {
    const pc = head.pc;
    const line = program.lineInfo?.[pc];
    const where = `the loop at ${pc}${line === undefined ? '' : ` (${line.fileName}:${line.line})`}`;
    const key = placeKey(head.calls, pc, head.iter);
    const exits: string[] = [];
    for (const [q, insn] of cfg.byPc) {
      if (insn.spec.form !== 'jmp-imm' && insn.spec.form !== 'jmp-reg') continue;
      const inLoop = unroller.unrolls(pc) ? unroller.inBody(q, pc) : cfg.backEdges.has(`${q}>${pc}`);
      if (!inLoop) continue;
      const succ = cfg.succ.get(q) ?? [];
      if (unroller.unrolls(pc) && succ.every((t) => unroller.inBody(t, pc))) continue;
      const regs = insn.spec.form === 'jmp-reg' ? [insn.dst, insn.src] : [insn.dst];
      const facts = regs.map((r) => {
        let moves: Itv | undefined;
        let known = true;
        for (const b of backs) {
          const d = b.deltas.get(key)?.[r];
          if (d === undefined || d.from !== r) known = false;
          else moves = moves === undefined ? d.by : itv(d.by.lo < moves.lo ? d.by.lo : moves.lo, d.by.hi > moves.hi ? d.by.hi : moves.hi);
        }
        const by = !known || moves === undefined ? 'does not move by a known amount per iteration' : `moves by ${moves.lo === moves.hi ? String(moves.lo) : `[${moves.lo}, ${moves.hi}]`} per iteration`;
        return `r${r} is ${showReg(head.state.regs[r])} at the loop head and ${by}`;
      });
      exits.push(`the exit test at ${q} (${formatInstruction(insn, 'llvm')}): ${facts.join('; ')}`);
    }
    const tail = `a register must move by at least 1 in one direction on every iteration towards a bound reached within ${MAX_LOOP_ITERATIONS} iterations`;
    if (exits.length === 0) return `${where} never ends: no conditional jump leaves it`;
    return `${where} is not proven to terminate: ${exits.join('; ')}. ${tail[0].toUpperCase()}${tail.slice(1)}`;
  }

  const statesVisited = steps;
  if (errors.size > 0) {
    return { ok: false, instructions: insns.length, statesVisited, errors: [...errors.values()].sort((a, b) => a.pc - b.pc), ...(invariants ? { invariants } : {}) };
  }
  return { ok: true, instructions: insns.length, statesVisited, ...(loopBounds ? { loopBounds } : {}), ...(invariants ? { invariants } : {}) };
}

/** The quantity of a register that a loop can count with: a number's value or a pointer's offset. */
function measure(r: Reg): Itv | undefined {
  if (only(r, T.number)) return r.num.s;
  for (const [t, key] of [[T.stack, 'stack'], [T.packet, 'pkt'], [T.shared, 'shared'], [T.ctx, 'ctx']] as const) {
    if (only(r, t)) return t === T.packet && r.pktVar !== 0 ? undefined : r[key];
  }
  return undefined;
}

function rankLoop(head: string, headState: State, backs: State[]): { iterations: number; register: string } | undefined {
  let best: { iterations: number; register: string } | undefined;
  for (let r = 0; r <= 10; r++) {
    const at = measure(headState.regs[r]);
    if (at === undefined) continue;
    for (const dir of [1, -1] as const) {
      let worst = 0n;
      let ok = true;
      for (const b of backs) {
        // Only the register's own progress counts, not a copy of another's (B9: `r1 = r2; r1 += 1`).
        const delta = b.deltas.get(head)?.[r];
        const d = delta?.from === r ? delta.by : undefined;
        const v = measure(b.regs[r]);
        if (d === undefined || v === undefined) {
          ok = false;
          break;
        }
        if (dir === 1 ? d.lo < 1n : d.hi > -1n) {
          ok = false;
          break;
        }
        // Each pass moves r by |d| >= step; on the back edge it is still within v.
        const stepSize = dir === 1 ? d.lo : -d.hi;
        const span = dir === 1 ? v.hi - at.lo : at.hi - v.lo;
        if (v.hi >= S64_MAX || v.lo <= S64_MIN || at.lo <= S64_MIN || at.hi >= S64_MAX) {
          ok = false;
          break;
        }
        const n = span < 0n ? 1n : span / stepSize + 1n;
        if (n > worst) worst = n;
      }
      if (!ok || worst > BigInt(MAX_LOOP_ITERATIONS)) continue;
      if (best === undefined || Number(worst) < best.iterations) best = { iterations: Number(worst), register: `r${r}` };
    }
  }
  return best;
}

function limit(program: VerifierInput, steps: number, message: string): VerificationReport {
  return { ok: false, instructions: program.instructions.length, statesVisited: steps, errors: [{ code: 'verifier-limit', pc: -1, instruction: '', message, registers: {} }] };
}

export type { MapInfo as MapDescriptor };
