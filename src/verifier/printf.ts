// Format helpers (bpf_trace_printk, bpf_snprintf): the verifier reads the format string, which
// must be a constant it knows (in a frozen map value such as .rodata, or stored on the stack as
// constants), so that it knows which arguments a %s dereferences. Such an argument must point to
// a string whose NUL is proven to lie inside its object: the helper reads up to that NUL, never
// past the object. Every other argument stays a number.

import { printfConversions } from '../abi/printf.js';
import { isConst } from './domain/interval.js';
import { type Reg, type State, STACK_NUMBER, T, only, showReg } from './domain/state.js';
import { fail } from './errors.js';
import { checkStackRange } from './memory.js';
import type { Env } from './transfer.js';

/** Longest format string read (the helpers' own limit for %s and snprintf formats). */
const MAX_FORMAT = 4096;

/** The byte at stack offset `at`, when a constant stored there says what it is. */
function stackByte(s: State, at: number, bigEndian: boolean): number | undefined {
  if (s.bytes[at] !== STACK_NUMBER) return undefined;
  for (const [off, c] of s.cells) {
    if (at < off || at >= off + c.width) continue;
    const n = c.reg.num.u;
    if (!only(c.reg, T.number) || n.lo !== n.hi) return undefined;
    const k = bigEndian ? c.width - 1 - (at - off) : at - off;
    return Number((n.lo >> BigInt(8 * k)) & 0xffn);
  }
  return undefined;
}

/**
 * The bytes a string at pointer `reg` is made of up to its NUL (not included), reading at most
 * `limit` bytes within its object; undefined where they are not all known. `terminated`: the NUL
 * was found.
 */
function knownString(s: State, env: Env, reg: Reg, limit: number): { bytes: number[]; terminated: boolean } | undefined {
  if (only(reg, T.stack) && isConst(reg.stack)) {
    const start = Number(reg.stack.lo);
    const end = Math.min(start + limit, Number(reg.stackFrame));
    if (reg.stackFrame < 0n || start < Number(reg.stackFrame) - env.frameSize || start >= end) return undefined;
    const bytes: number[] = [];
    for (let at = start; at < end; at++) {
      const b = stackByte(s, at, env.bigEndian === true);
      if (b === undefined) return undefined;
      if (b === 0) return { bytes, terminated: true };
      bytes.push(b);
    }
    return { bytes, terminated: false };
  }
  const frozen = reg.sharedMap?.frozen;
  if (only(reg, T.shared) && !reg.nullable && isConst(reg.shared) && frozen !== undefined) {
    const start = Number(reg.shared.lo);
    if (start < 0 || start >= frozen.length) return undefined;
    const bytes: number[] = [];
    for (let at = start; at < Math.min(frozen.length, start + limit); at++) {
      if (frozen[at] === 0) return { bytes, terminated: true };
      bytes.push(frozen[at]);
    }
    return { bytes, terminated: false };
  }
  return undefined;
}

/** The conversions of the format string at register `r` (at most `limit` bytes long). */
export function formatConversions(s: State, env: Env, r: number, limit: number, helper: string): string[] {
  const reg = s.regs[r];
  const text = knownString(s, env, reg, Math.min(limit, MAX_FORMAT));
  if (text === undefined) {
    fail('bad-helper-argument', `${helper}: the format string in r${r} must be a constant the verifier can read (a string in .rodata, or one stored on the stack as constants), so that its %s arguments can be checked (r${r} is ${showReg(reg)})`);
  }
  return printfConversions(String.fromCharCode(...text.bytes));
}

/** A %s argument: a pointer to a string whose NUL lies inside its object. */
export function checkStringArgument(s: State, env: Env, r: number, helper: string): void {
  const reg = s.regs[r];
  if (only(reg, T.stack)) checkStackRange(s, env, reg, reg.stack, 1n, `${helper}: the %s string in r${r}`);
  const text = knownString(s, env, reg, MAX_FORMAT);
  if (text === undefined || !text.terminated) {
    fail('bad-helper-argument', `${helper}: a %s argument (r${r}) must point to a string whose terminating NUL is proven to lie in its object: a constant string in .rodata or on the stack (r${r} is ${showReg(reg)})`);
  }
}
