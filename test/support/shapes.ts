// Generated XDP programs of a chosen size and shape, for the verifier's scale tests and benchmark
// (bench/verifier-scale.ts). Each is valid: the verifier accepts it when its budget allows.
//   straight: loop-free arithmetic and stack spills, no branch at all
//   branchy:  packet parsing, a bounds check and an if/else diamond per 8-instruction block
//   loops:    the interleaved loops of red-team case C1 (../shared/verifier-tests/redteam): loop k
//             jumps back into loop k-1, so liveness facts travel one loop per backward pass
import { assembleBytes } from '../../src/isa/assemble.js';
import { decode } from '../../src/isa/decode.js';
import type { Instruction } from '../../src/isa/instruction.js';

export type Shape = 'straight' | 'branchy' | 'loops';
export const SHAPES: readonly Shape[] = ['straight', 'branchy', 'loops'];

/** Conformance-dialect text of a program of about `size` instructions (never fewer than 8). */
export function shapeText(shape: Shape, size: number): string {
  const lines: string[] = [];
  const n = Math.max(size, 8);
  switch (shape) {
    case 'straight': {
      lines.push('mov %r0, 0', 'mov %r2, 1');
      while (lines.length < n - 2) {
        const k = lines.length;
        lines.push(`add %r0, ${k & 255}`, 'stxdw [%r10-8], %r0', 'ldxdw %r2, [%r10-8]', 'xor %r0, %r2');
      }
      break;
    }
    case 'branchy': {
      lines.push('ldxw %r2, [%r1+0]', 'ldxw %r3, [%r1+4]', 'mov %r6, 0');
      // The failed bounds checks of a chunk of blocks leave through an exit placed after it (a
      // 16-bit jump offset cannot reach one shared exit in a large program).
      for (let b = 0; lines.length < n - 2; b++) {
        const chunk = b >> 8;
        const off = 8 + (b % 32) * 4;
        lines.push('mov %r4, %r2', `add %r4, ${off + 4}`, `jgt %r4, %r3, out${chunk}`, `ldxw %r5, [%r2+${off}]`,
          `jeq %r5, 0, skip${b}`, 'add %r6, %r5', `skip${b}:`, 'and %r6, 65535');
        if ((b & 255) === 255 || lines.length >= n - 2) lines.push(`ja next${chunk}`, `out${chunk}:`, 'mov %r0, 1', 'exit', `next${chunk}:`);
      }
      break;
    }
    case 'loops': {
      // Each loop jumps back to the start of the previous one while r6 (always 1) is 0.
      lines.push('mov %r5, 0', 'h1:', 'jeq %r5, 7, +0', 'mov %r6, 1');
      let previous = 'h1';
      for (let k = 0; lines.length - k < n - 3; k++) {
        lines.push(`p${k}:`, 'mov %r0, 0', `jeq %r6, 0, ${previous}`);
        previous = `p${k}`;
      }
      lines.push('mov %r0, 0');
      break;
    }
  }
  lines.push('mov %r0, 2', 'exit');
  return lines.join('\n') + '\n';
}

export function shapeProgram(shape: Shape, size: number): Instruction[] {
  return decode(assembleBytes(shapeText(shape, size)));
}
