// Soundness against the interpreter: random packet-parsing XDP programs (bounds checks present or
// missing, constant and variable offsets, stack spills) are verified; every accepted one is run on
// packets of many lengths, and every memory access it makes must land in the packet, the context
// or the current stack frame. A failure prints the seed and the program.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { HelperRegistry, Interpreter, LinearMemory, prepareProgram } from '../../src/vm/index.js';
import { verify } from '../../src/verifier/index.js';
import { LINUX_XDP } from '../../src/program-types/base-rules.js';
import { seededRandom } from '../support/random.js';

const SEED = Number(process.env.VERIFIER_SEED ?? 99);

const rng = seededRandom;

function randomProgram(r: () => number): string {
  const int = (n: number): number => Math.floor(r() * n);
  const width = (): number => [1, 2, 4, 8][int(4)];
  const lines = ['r6 = r1', 'r2 = *(u32 *)(r6 + 0)', 'r3 = *(u32 *)(r6 + 4)', 'r0 = 0', 'r4 = 0', 'r5 = 0'];
  const n = 3 + int(8);
  let calls = false;
  for (let i = 0; i < n; i++) {
    switch (int(14)) {
      case 13: {
        // The low 32 bits of a packet-pointer difference, then used as an offset.
        lines.push('r7 = r2', `r7 += ${int(30)}`, 'w7 -= w2', 'r8 = r2', 'r8 += r7', 'r9 = r8', `r9 += ${int(8)}`,
          `if r9 > r3 goto <out>`, `r0 = *(u${8 * width()} *)(r8 + ${int(6)})`);
        break;
      }
      case 12: {
        // An offset that is one of two constants after a join, checked through a copy plus a
        // constant, used through the original (the zone's facts).
        lines.push(`r7 = ${int(30)}`, `r8 = *(u8 *)(r6 + ${12 + 4 * int(3)})`, `if r8 == 0 goto <j${i}>`, `r7 = ${int(30)}`,
          `<j${i}>:`, 'r9 = r7', `r9 += ${int(10)}`, 'r8 = r2', 'r8 += r9', `if r8 ${['>', '>='][int(2)]} r3 goto <out>`,
          'r8 = r2', 'r8 += r7', `r0 = *(u${8 * width()} *)(r8 + ${int(8)})`);
        break;
      }
      case 11: {
        // A bounds check's outcome kept in a flag and tested after the paths join.
        lines.push('r7 = r2', `r7 += ${int(40)}`, `if r7 > r3 goto <bad${i}>`, 'r9 = 0', `goto <j${i}>`, `<bad${i}>:`, `r9 = ${[-22, 1, 0][int(3)]}`,
          `<j${i}>:`, `if ${r() < 0.5 ? 'w' : 'r'}9 ${['!=', '==', 's<'][int(3)]} 0 goto <out>`, `r0 = *(u${8 * width()} *)(r2 + ${int(40) - 2})`);
        break;
      }
      case 10: {
        // Arithmetic on unknown numbers, a bound check, then the result as a stack offset.
        const w = r() < 0.5 ? 'r' : 'w';
        const ops = ['+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=', 's>>=', 's/=', 's%='];
        lines.push(`r0 = *(u32 *)(r6 + ${12 + 4 * int(3)})`, `r5 = *(${r() < 0.5 ? 's' : 'u'}${[8, 16, 32][int(3)]} *)(r6 + 16)`);
        for (let k = 0; k < 1 + int(4); k++) {
          const op = ops[int(ops.length)];
          const operand = r() < 0.5 ? `${w}5` : String(int(70) - 5);
          lines.push(r() < 0.15 ? `${w}0 = -${w}0` : r() < 0.1 ? `r0 = ${['be16', 'le32', 'swap64', 'be32'][int(4)]} r0`
            : r() < 0.1 ? `${w}0 s${[8, 16, 32][int(3)]}= r5` : `${w}0 ${op} ${operand}`);
        }
        const cw = r() < 0.3 ? 'w' : 'r';
        lines.push(`if ${cw}0 ${['>', '>=', '<', '<=', 's>', 's>=', 's<', 's<=', '==', '!='][int(10)]} ${int(80) - 10} goto <out>`);
        if (r() < 0.5) lines.push(`if ${cw}0 ${['>', '>=', '<', '<=', 's>', 's>=', 's<', 's<='][int(8)]} ${int(80) - 10} goto <out>`);
        for (let k = 0; k < 8; k++) lines.push(`*(u64 *)(r10 - ${8 * (k + 1)}) = r4`);
        lines.push('r8 = r10', 'r8 += -64', 'r8 += r0', 'r5 = *(u8 *)(r8 + 0)', 'r4 = 0');
        break;
      }
      case 9:
        // A bound checked on a copy, used through the original.
        lines.push('*(u64 *)(r10 - 8) = r4', 'r9 = r0', `if r9 ${['>', '>=', 's>'][int(3)]} ${int(10)} goto <out>`,
          ...(r() < 0.3 ? ['r0 += 1'] : []), 'r8 = r10', 'r8 += -8', 'r8 += r0', 'r5 = *(u8 *)(r8 + 0)');
        break;
      case 8:
        // A local call that gets a pointer into this frame.
        calls = true;
        lines.push(`*(u64 *)(r10 - 16) = r0`, 'r1 = r10', `r1 += -${8 * (1 + int(3))}`, 'call <f>', 'r2 = *(u32 *)(r6 + 0)', 'r3 = *(u32 *)(r6 + 4)');
        break;
      case 0:
        lines.push('r7 = r2', `r7 += ${int(40)}`, `if r7 ${['>', '>=', 's>'][int(3)]} r3 goto <out>`);
        break;
      case 1:
        lines.push(`r0 = *(u${8 * width()} *)(r2 + ${int(40) - 2})`);
        break;
      case 2:
        lines.push(`*(u${8 * width()} *)(r2 + ${int(40)}) = r0`);
        break;
      case 3: {
        const w = width();
        lines.push(`*(u${8 * w} *)(r10 - ${w * (1 + int(8))}) = r0`, `r5 = *(u${8 * w} *)(r10 - ${w * (1 + int(8))})`);
        break;
      }
      case 4:
        lines.push(`r4 = *(u8 *)(r2 + ${int(20)})`, `r4 &= ${[7, 15, 63][int(3)]}`, 'r8 = r2', 'r8 += r4',
          'r9 = r8', `r9 += ${int(12)}`, `if r9 > r3 goto <out>`, `r0 = *(u${8 * width()} *)(r8 + ${int(10)})`);
        break;
      case 5:
        lines.push(`r0 ${['+=', '-=', '*=', '&=', '|=', '^=', '<<=', '>>='][int(8)]} ${int(100)}`);
        break;
      case 6:
        lines.push(`if r0 ${['==', '>', '<'][int(3)]} ${int(8)} goto <out>`);
        break;
      default:
        lines.push('r7 = r3', `r7 -= ${int(30)}`, `if r7 < r2 goto <out>`, `r0 = *(u8 *)(r7 + ${int(4)})`);
    }
  }
  lines.push('<out>:', 'r0 = 2', 'exit');
  if (calls) {
    lines.push('<f>:', `r0 = *(u${8 * width()} *)(r1 + ${int(24) - 8})`, 'r2 = 7', `*(u64 *)(r10 - ${8 * (1 + int(4))}) = r2`,
      `r0 = *(u64 *)(r10 - ${8 * (1 + int(4))})`, 'exit');
  }
  return lines.join('\n');
}

/**
 * Runs an accepted program on packets of every length in `lengths` (random contents) with a
 * trace that records each memory access outside the context, the packet and the live stack
 * frames; returns the first problem (an access outside, a fault, running past the instruction
 * limit) or undefined.
 */
function runOnPackets(memory: LinearMemory, ctx: number, packet: number, fields: Parameters<typeof encode>[0], lengths: readonly number[], r: () => number, instructionLimit?: number): string | undefined {
  const prepared = prepareProgram(encode(fields), { helpers: new HelperRegistry() });
  const mark = memory.mark(); // each interpreter takes a stack from the linear memory
  let frame = 0;
  let length = 0;
  const outside: string[] = [];
  const interpreter = new Interpreter(prepared, {
    memory,
    ...(instructionLimit === undefined ? {} : { instructionLimit }),
    trace: ({ pc, instruction: insn, registers, depth }) => {
      const form = insn.spec.form;
      if (form !== 'ldx' && form !== 'st' && form !== 'stx' && form !== 'atomic') return;
      const base = form === 'ldx' ? insn.src : insn.dst;
      const at = Number(BigInt.asUintN(32, registers[base] + BigInt(insn.offset)));
      const end = at + insn.spec.width / 8;
      const inside = (lo: number, hi: number): boolean => at >= lo && end <= hi;
      // The live frames: the entry frame and, above it in this engine, one per active call.
      const stack = inside(frame - 512, frame + 512 * depth);
      if (!inside(ctx, ctx + 24) && !inside(packet, packet + length) && !stack) outside.push(`pc ${pc} address ${at}`);
    },
  });
  frame = interpreter.framePointer;
  try {
    for (length of lengths) {
      const view = memory.view;
      for (let i = 0; i < 256; i++) view.setUint8(packet + i, Math.floor(r() * 256));
      view.setUint32(ctx, packet, true);
      view.setUint32(ctx + 4, packet + length, true);
      view.setUint32(ctx + 8, packet, true);
      for (let i = 12; i < 24; i++) view.setUint8(ctx + i, r() < 0.3 ? [0, 1, 0xff, 0x80, 0x7f][int(r, 5)] : int(r, 256));
      try {
        interpreter.run({ r1: ctx });
      } catch (e) {
        return `packet length ${length}: the accepted program faulted or did not stop in time: ${String(e)}`;
      }
      if (outside.length > 0) return `packet length ${length}: the accepted program accessed memory outside its regions: ${outside.join(', ')}`;
    }
    return undefined;
  } finally {
    memory.release(mark);
  }
}

test(`every program the verifier accepts stays in bounds when run (seed ${SEED})`, () => {
  const r = rng(SEED);
  const memory = new LinearMemory({ initialPages: 4, maximumPages: 4, shared: false });
  const ctx = memory.alloc(64, 8);
  const packet = memory.alloc(256, 8);
  let accepted = 0;
  for (let iter = 0; iter < 300; iter++) {
    const text = randomProgram(r);
    const fields = assembleLlvm(text).instructions;
    const report = verify({ instructions: decode(encode(fields)), maps: new Map(), programType: LINUX_XDP });
    if (!report.ok) continue;
    accepted++;
    const lengths: number[] = [];
    for (let length = 0; length <= 64; length += 1 + int(r, 3)) lengths.push(length);
    const problem = runOnPackets(memory, ctx, packet, fields, lengths, r);
    assert.equal(problem, undefined, `seed ${SEED} iter ${iter}, ${problem ?? ''}\n${text}`);
  }
  process.stdout.write(`differential: ${accepted} of 300 random programs accepted and run\n`);
  assert.ok(accepted > 10, `only ${accepted} of 300 random programs were accepted: the generator needs tuning`);
});

/**
 * A random loop over the packet, in the shapes clang emits: a counter (any step, up or down, 32-
 * or 64-bit exit test with any operator) or a shifted copy of one, a pointer that steps through the
 * packet or is recomputed from the counter, a bounds check before each access (sometimes one
 * that is too short: those programs must be refused), maybe a second exit.
 */
function randomPacketLoop(r: () => number): string {
  const i = (n: number): number => int(r, n);
  const w = r() < 0.4 ? 'w' : 'r';
  const step = [1, 1, 2, 3, 4, -1, -2, 16][i(8)];
  const up = step > 0;
  const start = up ? i(4) : 20 + i(60);
  const bound = up ? start + 1 + i(120) : i(10);
  const op = up ? ['<', '<=', '!=', 's<', 's<='][i(5)] : ['>', '>=', '!=', 's>', 's>='][i(5)];
  const exitBound = op === '!=' ? start + step * (1 + i(60)) : bound;
  const width = [1, 2, 4, 8][i(4)];
  const off = i(4);
  const checked = off + width - (r() < 0.2 ? 1 : 0) + (r() < 0.3 ? i(3) : 0);
  const shifted = r() < 0.25;
  const lines = ['r2 = *(u32 *)(r1 + 0)', 'r3 = *(u32 *)(r1 + 4)', 'r0 = 0', `r7 = ${start}`, 'r8 = r2', 'r6 = 0', '<loop>:'];
  const recompute = r() < 0.5;
  if (recompute) lines.push('r8 = r7', `r8 &= ${[63, 127, 255][i(3)]}`, 'r8 += r2');
  lines.push('r9 = r8', `r9 += ${checked}`, `if r9 > r3 goto <out>`, `r5 = *(u${8 * width} *)(r8 + ${off})`, 'r0 += r5');
  if (r() < 0.3) lines.push(`if r5 == ${i(4)} goto <out>`);
  if (!recompute) lines.push(`r8 += ${1 + i(4)}`);
  if (shifted) lines.push(`r6 += ${1 << 28}`);
  lines.push(`r7 += ${step}`);
  lines.push(shifted && r() < 0.5 ? `if r6 != ${(1 + i(15)) << 28} goto <loop>` : `if ${w}7 ${op} ${exitBound} goto <loop>`);
  lines.push('<out>:', 'r0 = 2', 'exit');
  return lines.join('\n');
}

test(`every packet loop the verifier accepts stays in bounds on every packet length and stops within its bound (seed ${SEED})`, () => {
  const r = rng(SEED + 31);
  const memory = new LinearMemory({ initialPages: 4, maximumPages: 4, shared: false });
  const ctx = memory.alloc(64, 8);
  const packet = memory.alloc(512, 8);
  let accepted = 0;
  const lengths = Array.from({ length: 130 }, (_, k) => k);
  for (let iter = 0; iter < 200; iter++) {
    const text = randomPacketLoop(r);
    const fields = assembleLlvm(text).instructions;
    const report = verify({ instructions: decode(encode(fields)), maps: new Map(), programType: LINUX_XDP }, { termination: true });
    if (!report.ok) continue;
    accepted++;
    const bound = Math.max(...(report.loopBounds ?? []).map((b) => b.iterations), 0);
    // Each pass runs at most the loop's instructions; the back edge is taken at most `bound` times.
    const problem = runOnPackets(memory, ctx, packet, fields, lengths, r, fields.length * (bound + 1) + 10);
    assert.equal(problem, undefined, `seed ${SEED} iter ${iter} (bound ${bound}), ${problem ?? ''}\n${text}`);
  }
  process.stdout.write(`packet-loop differential: ${accepted} of 200 random packet loops accepted and run on ${lengths.length} packet lengths\n`);
  assert.ok(accepted > 40, `only ${accepted} of 200 random packet loops were accepted: the generator needs tuning`);
});

function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

test(`every loop the termination check accepts stops within its reported bound (seed ${SEED})`, () => {
  const r = rng(SEED + 17);
  const memory = new LinearMemory({ initialPages: 4, maximumPages: 4, shared: false });
  const ctx = memory.alloc(64, 8);
  let accepted = 0;
  for (let iter = 0; iter < 150; iter++) {
    const w = r() < 0.3 ? 'w' : 'r';
    const step = [1, 2, 3, -1, -2, 0, 7][int(r, 7)];
    const start = r() < 0.3 ? `r7 = *(u${[8, 16, 32][int(r, 3)]} *)(r1 + 12)` : `r7 = ${int(r, 40) - 20}`;
    const op = ['<', '<=', '>', '>=', 's<', 's<=', 's>', 's>=', '!=', '=='][int(r, 10)];
    const text = [
      start, 'r0 = 0', '<loop>:', 'r0 += 1', ...(r() < 0.3 ? [`if r0 > ${int(r, 50)} goto <out>`] : []),
      `${w}7 += ${step}`, `if ${w}7 ${op} ${int(r, 60) - 20} goto <loop>`, '<out>:', 'r0 = 2', 'exit',
    ].join('\n');
    const fields = assembleLlvm(text).instructions;
    const report = verify({ instructions: decode(encode(fields)), maps: new Map(), programType: LINUX_XDP }, { termination: true });
    if (!report.ok) continue;
    accepted++;
    const bound = Math.max(...(report.loopBounds ?? []).map((b) => b.iterations), 0);
    const mark = memory.mark();
    const interpreter = new Interpreter(prepareProgram(encode(fields), { helpers: new HelperRegistry() }), { memory, instructionLimit: 10 * (bound + 2) + 20 });
    for (let k = 0; k < 5; k++) {
      for (let i = 12; i < 24; i++) memory.view.setUint8(ctx + i, int(r, 256));
      try {
        interpreter.run({ r1: ctx });
      } catch (e) {
        assert.fail(`seed ${SEED} iter ${iter}: accepted loop (bound ${bound}) did not stop in time: ${String(e)}\n${text}`);
      }
    }
    memory.release(mark);
  }
  process.stdout.write(`termination differential: ${accepted} of 150 random loops accepted and run\n`);
  assert.ok(accepted > 10);
});
