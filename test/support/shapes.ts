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

/** Conformance-dialect text of a program of `size` instructions (about, and never fewer than 16). */
export function shapeText(shape: Shape, size: number): string {
  const lines: string[] = [];
  let count = 0;
  /** Instructions and labels (`name:`); only instructions count. */
  const emit = (...items: string[]): void => {
    for (const item of items) {
      lines.push(item);
      if (!item.endsWith(':')) count++;
    }
  };
  const n = Math.max(size, 16);
  switch (shape) {
    case 'straight': {
      emit('mov %r0, 0', 'mov %r2, 1');
      while (count < n - 2) emit(`add %r0, ${count & 255}`, 'stxdw [%r10-8], %r0', 'ldxdw %r2, [%r10-8]', 'xor %r0, %r2');
      break;
    }
    case 'branchy': {
      emit('ldxw %r2, [%r1+0]', 'ldxw %r3, [%r1+4]', 'mov %r6, 0');
      // The failed bounds checks of a chunk of blocks leave through an exit placed after it (a
      // 16-bit jump offset cannot reach one shared exit in a large program).
      for (let b = 0; count < n - 2; b++) {
        const chunk = b >> 8;
        const off = 8 + (b % 32) * 4;
        emit('mov %r4, %r2', `add %r4, ${off + 4}`, `jgt %r4, %r3, out${chunk}`, `ldxw %r5, [%r2+${off}]`,
          `jeq %r5, 0, skip${b}`, 'add %r6, %r5', `skip${b}:`, 'and %r6, 65535');
        if ((b & 255) === 255 || count >= n - 2) emit(`ja next${chunk}`, `out${chunk}:`, 'mov %r0, 1', 'exit', `next${chunk}:`);
      }
      break;
    }
    case 'loops': {
      // Each loop jumps back to the start of the previous one while r6 (always 1) is 0.
      emit('mov %r5, 0', 'h:', 'jeq %r5, 7, +0', 'mov %r6, 1');
      let previous = 'h';
      for (let k = 0; count < n - 3; k++) {
        emit(`p${k}:`, 'mov %r0, 0', `jeq %r6, 0, ${previous}`);
        previous = `p${k}`;
      }
      emit('mov %r0, 0');
      break;
    }
  }
  emit('mov %r0, 2', 'exit');
  return lines.join('\n') + '\n';
}

export function shapeProgram(shape: Shape, size: number): Instruction[] {
  return decode(assembleBytes(shapeText(shape, size)));
}
