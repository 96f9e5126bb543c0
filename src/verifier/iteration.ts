// Which iteration of which loop a path is in: the analysis unrolls natural loops, as the Linux
// verifier does, before it summarises them.
//
// A path's iteration context lists the natural loops it is inside (outermost first, across the
// inlined call frames) and, for each, how many times it has gone round: 0 on entry through the
// head, k + 1 after a back edge from iteration k. Analysis nodes are keyed by it, so the states of
// different iterations are never joined: every iteration of a small loop is analysed with exact
// constants, and the facts that tie induction variables to each other (a counter shifted left by
// 28 and a pointer stepping through the packet in step) need no relational domain to survive.
//
// Once a loop has been unrolled as far as its budget allows (`limit`), the rest of its iterations
// share one summary node (k = SUMMARY), where the analysis joins, widens to the program's own
// constants and proves termination with a ranking register (index.ts). Leaving a loop's body
// drops its entry, so the paths leaving different iterations join after the loop.
//
// Termination of the unrolled part needs no proof: k grows on every back edge of a natural loop
// and is reset only by leaving the loop, and in a reducible graph every cycle has a head whose
// body holds the whole cycle, so its k grows on every turn until it reaches SUMMARY. Irreducible
// loops (cfg.loops marks them) are never unrolled: they keep one node, which widens and
// needs its ranking proof.

import type { Cfg } from './cfg.js';

/** The iteration count of a loop whose remaining iterations share one summary node. */
export const SUMMARY = -1;

export interface LoopEntry {
  /** Call depth of the frame the loop runs in. */
  readonly depth: number;
  readonly head: number;
  /** Iterations done (the number of back edges taken), or SUMMARY. */
  readonly k: number;
}

export type Iteration = readonly LoopEntry[];

export const OUTSIDE_LOOPS: Iteration = [];

export function iterationKey(it: Iteration): string {
  let key = '';
  for (const e of it) key += `${key === '' ? '' : ','}${e.head}:${e.k === SUMMARY ? '*' : e.k}`;
  return key;
}

export interface UnrollLimits {
  /** At most this many iterations of one loop in one context are analysed apart. */
  readonly maxIterations: number;
  /** At most this many body slots analysed per loop over all its unrolled iterations. */
  readonly maxSlots: number;
}

export const DEFAULT_UNROLL: UnrollLimits = { maxIterations: 1024, maxSlots: 20_000 };

export class Unroller {
  /** Unrolled iteration nodes created per loop head, over every context. */
  private readonly created = new Map<number, number>();
  /** The largest iteration count reached per loop head (for the report). */
  readonly deepest = new Map<number, number>();

  constructor(private readonly cfg: Cfg, private readonly limits: UnrollLimits = DEFAULT_UNROLL) {}

  /** Whether `pc` heads a natural loop (one that is unrolled). */
  unrolls(pc: number): boolean {
    return this.cfg.loops.get(pc)?.reducible === true;
  }

  /** Whether pc lies in the body of the natural loop headed by `head`. */
  inBody(pc: number, head: number): boolean {
    for (let h = this.cfg.innermostLoop.get(pc) ?? -1; h >= 0; h = this.cfg.loops.get(h)?.parent ?? -1) {
      if (h === head) return true;
    }
    return false;
  }

  /** The analysis created a node for iteration `k` of the loop at `head`. */
  noteNode(head: number, k: number): void {
    if (k === SUMMARY) return;
    this.created.set(head, (this.created.get(head) ?? 0) + 1);
    if (k > (this.deepest.get(head) ?? -1)) this.deepest.set(head, k);
  }

  /** How many iterations of the loop at `head` the analysis unrolls before it summarises. */
  limitOf(head: number): number {
    const size = this.cfg.loops.get(head)?.size ?? 1;
    return Math.max(1, Math.min(this.limits.maxIterations, Math.floor(this.limits.maxSlots / size)));
  }

  private exhausted(head: number): boolean {
    const size = this.cfg.loops.get(head)?.size ?? 1;
    return (this.created.get(head) ?? 0) * size >= this.limits.maxSlots;
  }

  /**
   * The context after an edge to `to` in the frame at `depth`, and the entries it left (their
   * loops were exited).
   */
  advance(it: Iteration, depth: number, to: number): { it: Iteration; left: LoopEntry[] } {
    const left: LoopEntry[] = [];
    let out: LoopEntry[] | undefined;
    for (let i = 0; i < it.length; i++) {
      const e = it[i];
      if (e.depth !== depth || this.inBody(to, e.head)) continue;
      // This loop and every loop inside it are left.
      out = it.slice(0, i) as LoopEntry[];
      left.push(...it.slice(i));
      break;
    }
    let next: Iteration = out ?? it;
    if (this.unrolls(to)) {
      const last = next.length > 0 ? next[next.length - 1] : undefined;
      if (last !== undefined && last.depth === depth && last.head === to) {
        const k = last.k === SUMMARY || last.k + 1 >= this.limitOf(to) || this.exhausted(to) ? SUMMARY : last.k + 1;
        next = [...next.slice(0, -1), { depth, head: to, k }];
      } else {
        next = [...next, { depth, head: to, k: this.exhausted(to) ? SUMMARY : 0 }];
      }
    }
    return { it: next, left };
  }

  /** The context on entry to a function at `depth` (a local call or a callback). */
  enter(it: Iteration, depth: number, entry: number): Iteration {
    return this.unrolls(entry) ? [...it, { depth, head: entry, k: this.exhausted(entry) ? SUMMARY : 0 }] : it;
  }

  /** The context back in the frame at `depth` after a return. */
  leave(it: Iteration, depth: number): Iteration {
    const keep = it.findIndex((e) => e.depth > depth);
    return keep < 0 ? it : it.slice(0, keep);
  }
}

/** The entry for the loop at `head` in the frame at `depth`, if the path is inside it. */
export function entryOf(it: Iteration, depth: number, head: number): LoopEntry | undefined {
  for (let i = it.length - 1; i >= 0; i--) if (it[i].depth === depth && it[i].head === head) return it[i];
  return undefined;
}
