// What a bpf_tail_call that does not jump answers, per ABI. Linux: the tail-call helper's own
// result (-ENOENT). ebpf-for-windows: -EBPF_INVALID_ARGUMENT when the slot holds no program,
// -EBPF_NO_MORE_TAIL_CALLS once the invocation has used its tail calls (src/abi/efw.ts).
import { EFW_RESULT } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import type { TailCallFailure } from '../vm/interpreter.js';

const efwTailCallFailure = (reason: TailCallFailure): number => (reason === 'limit' ? -EFW_RESULT.NO_MORE_TAIL_CALLS : -EFW_RESULT.INVALID_ARGUMENT);

/** The engines' `tailCallFailure` option for programs of this ABI (undefined: the helper's result). */
export function tailCallFailureFor(abi: Abi): ((reason: TailCallFailure) => number) | undefined {
  return abi === 'efw' ? efwTailCallFailure : undefined;
}
