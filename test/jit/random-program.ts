// Random valid eBPF programs for the interpreter-vs-JIT differential test. Seeded (xorshift32), so
// a failure is reproduced by its seed. Shapes: ALU64/ALU32 on random and edge values (including
// div/mod/shift/signed ops), byte swaps, conditional forward jumps and if/else, bounded loops with
// a counter (r9) including loops entered in the middle (irreducible), stack stores/loads of every size, atomics on the stack, bpf-to-bpf calls and
// calls to a test helper; a few programs also read through an arbitrary register (faults).
//
// Conventions: r9 is only a loop counter; r10 is only a base address. Programs also read registers
// a local call clobbers (r1-r5 after it, r0/r6-r9 in the callee before writing them): strictly
// invalid for a verifier, but the interpreter gives them a meaning and the JIT must agree.

import { insn, type InstructionFields } from '../../src/isa/index.js';

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

export const TEST_HELPER_ID = 1;

const EDGE32 = [0, 1, -1, 2, 7, 31, 32, 63, 64, -2, 0x7fffffff, -0x80000000, 0xffff, 0x8000, 0xff, 0x80, 0x12345678, -0x12345678];
const EDGE64: [number, number][] = [
  [0, 0], [-1, -1], [0, -0x80000000], [-1, 0x7fffffff], [0, 1], [-1, 0], [0x89abcdef, 0x01234567], [1, -0x80000000],
];

const ALU_OPS = ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh'];
const JMP_OPS = ['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle'];
const SIZES = [
  { suffix: 'b', bytes: 1 },
  { suffix: 'h', bytes: 2 },
  { suffix: 'w', bytes: 4 },
  { suffix: 'dw', bytes: 8 },
];
const ATOMICS = ['add', 'or', 'and', 'xor', 'fetch_add', 'fetch_or', 'fetch_and', 'fetch_xor', 'xchg', 'cmpxchg'];

/** One generated program: its instructions and how many functions it has. */
export interface RandomProgram {
  readonly insns: InstructionFields[];
  readonly functions: number;
}

type Item = InstructionFields[];

export function randomProgram(rng: Rng, options: { faults: boolean }): RandomProgram {
  const subCount = rng.int(3); // sub-functions 1..subCount, laid out after main
  const bodies: Item[] = [];
  // Writable registers: r0-r8 in main (r9 counts loops); callees also avoid r9 for simplicity.
  const writable = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const readable = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const imm32 = (): number => (rng.chance(0.6) ? rng.pick(EDGE32) : rng.next() | 0);

  const alu = (): Item => {
    const op = rng.pick(ALU_OPS);
    const width = rng.chance(0.5) ? 64 : 32;
    const suffix = width === 64 ? '64' : '32';
    const dst = rng.pick(writable);
    const r = rng.int(100);
    if (r < 4) return [insn(`neg${suffix}`, { dst })];
    if (r < 10) {
      const kind = rng.pick(['le', 'be', 'bswap']);
      return [insn(`${kind}${rng.pick([16, 32, 64])}`, { dst })];
    }
    if (r < 15) {
      const bits = rng.pick(width === 64 ? [8, 16, 32] : [8, 16]);
      return [insn(`movsx${bits}_${width}_reg`, { dst, src: rng.pick(readable) })];
    }
    if (r < 20) {
      const [lo, hi] = rng.chance(0.5) ? rng.pick(EDGE64) : [rng.next() | 0, rng.next() | 0];
      return [insn('lddw', { dst, imm: lo, nextImm: hi })];
    }
    if (rng.chance(0.5)) return [insn(`${op}${suffix}_imm`, { dst, imm: imm32() })];
    return [insn(`${op}${suffix}_reg`, { dst, src: rng.pick(readable) })];
  };

  const stackAccess = (): Item => {
    const s = rng.pick(SIZES);
    const off = -(s.bytes + rng.int(512 - s.bytes + 1));
    const r = rng.int(3);
    if (r === 0) return [insn(`stx${s.suffix}`, { dst: 10, src: rng.pick(readable), offset: off })];
    if (r === 1) return [insn(`st${s.suffix}`, { dst: 10, offset: off, imm: imm32() })];
    const signed = s.bytes < 8 && rng.chance(0.3);
    return [insn(`ldx${signed ? 's' : ''}${s.suffix}`, { dst: rng.pick(writable), src: 10, offset: off })];
  };

  const atomic = (): Item => {
    const wide = rng.chance(0.5);
    const bytes = wide ? 8 : 4;
    const off = -bytes * (1 + rng.int(512 / bytes));
    const op = rng.pick(ATOMICS);
    // The fetch forms write src: keep it off r9.
    return [insn(`lock_${op}${wide ? 64 : 32}`, { dst: 10, src: rng.pick(writable), offset: off })];
  };

  const helperCall = (): Item => [insn('call', { imm: TEST_HELPER_ID })];

  const wildLoad = (): Item => {
    const s = rng.pick(SIZES);
    return [insn(`ldx${s.suffix}`, { dst: rng.pick(writable), src: rng.pick(readable), offset: rng.int(64) - 32 })];
  };

  const condition = (): InstructionFields => {
    const op = rng.pick(JMP_OPS);
    const wide = rng.chance(0.6) ? '' : '32';
    if (rng.chance(0.5)) return insn(`${op}${wide}_imm`, { dst: rng.pick(readable), imm: imm32() });
    return insn(`${op}${wide}_reg`, { dst: rng.pick(readable), src: rng.pick(readable) });
  };

  const slotsOf = (items: Item): number => items.reduce((n, i) => n + i.spec.slots, 0);
  const withOffset = (f: InstructionFields, offset: number): InstructionFields => ({ ...f, offset });

  const block = (size: number, fn: number, inLoop: boolean, nest: number): Item => {
    const out: Item = [];
    for (let i = 0; i < size; i++) {
      const r = rng.int(100);
      if (r < 45) out.push(...alu());
      else if (r < 58) out.push(...stackAccess());
      else if (r < 63) out.push(...atomic());
      else if (r < 67) out.push(...helperCall());
      else if (r < 79 && nest < 3) {
        const then = block(1 + rng.int(4), fn, inLoop, nest + 1);
        if (rng.chance(0.4)) {
          const other = block(1 + rng.int(4), fn, inLoop, nest + 1);
          out.push(withOffset(condition(), slotsOf(then) + 1), ...then, insn('ja', { offset: slotsOf(other) }), ...other);
        } else {
          out.push(withOffset(condition(), slotsOf(then)), ...then);
        }
      } else if (r < 86 && !inLoop && nest < 2) {
        const body = block(1 + rng.int(6), fn, true, nest + 1);
        const iterations = 1 + rng.int(12);
        body.push(insn('sub64_imm', { dst: 9, imm: 1 }));
        const back = -(slotsOf(body) + 1);
        out.push(insn('mov64_imm', { dst: 9, imm: iterations }), ...body, insn('jne_imm', { dst: 9, imm: 0, offset: back }));
      } else if (r < 88 && !inLoop && nest < 2) {
        // A loop entered in its middle as well as at its head: an irreducible CFG.
        const a = block(1 + rng.int(3), fn, true, nest + 1);
        const b = block(1 + rng.int(3), fn, true, nest + 1);
        b.push(insn('sub64_imm', { dst: 9, imm: 1 }));
        const back = -(slotsOf(a) + slotsOf(b) + 1);
        out.push(insn('mov64_imm', { dst: 9, imm: 1 + rng.int(8) }), withOffset(condition(), slotsOf(a)), ...a, ...b);
        out.push(insn('jne_imm', { dst: 9, imm: 0, offset: back }));
      } else if (r < 92 && fn < subCount) {
        // Call a later function (no recursion), then rewrite the clobbered r1-r5.
        const target = fn + 1 + rng.int(subCount - fn);
        out.push({ ...insn('call_local'), imm: target });
        // Often read what the callee left in r1-r5: the engines share that behaviour too.
        if (rng.chance(0.5)) for (let n = 1; n <= 5; n++) out.push(insn('mov64_imm', { dst: n, imm: imm32() }));
      } else if (r < 94 && options.faults) {
        out.push(...wildLoad());
      } else {
        out.push(...stackAccess());
      }
    }
    return out;
  };

  for (let fn = 0; fn <= subCount; fn++) {
    const body: Item = [];
    for (const r of [0, 6, 7, 8, 9]) {
      // Callees sometimes start from the caller's r0 and r6-r9, as the interpreter passes them.
      if (fn > 0 && rng.chance(0.4)) continue;
      if (rng.chance(0.3)) {
        const [lo, hi] = rng.pick(EDGE64);
        body.push(insn('lddw', { dst: r, imm: lo, nextImm: hi }));
      } else {
        body.push(insn('mov64_imm', { dst: r, imm: imm32() }));
      }
    }
    body.push(...block(4 + rng.int(fn === 0 ? 24 : 10), fn, false, 0));
    // Fold every register into r0 so the result depends on all of them.
    for (let r = 1; r <= 9; r++) body.push(insn(rng.chance(0.5) ? 'xor64_reg' : 'add64_reg', { dst: 0, src: r }));
    body.push(insn('exit'));
    bodies.push(body);
  }
  // Lay the functions out and resolve the local calls (imm holds the callee's index until now).
  const starts: number[] = [];
  let at = 0;
  for (const b of bodies) {
    starts.push(at);
    at += slotsOf(b);
  }
  const insns: InstructionFields[] = [];
  let slot = 0;
  for (const b of bodies) {
    for (const i of b) {
      if (i.spec.form === 'call-local') insns.push({ ...i, imm: starts[i.imm ?? 0] - (slot + 1) });
      else insns.push(i);
      slot += i.spec.slots;
    }
  }
  return { insns, functions: bodies.length };
}
