// An assembler for the C-like llvm syntax (llvm-objdump, the Linux verifier log and PREVAIL's YAML
// verifier tests): `w1 += r2`, `r1 = *(u32 *)(r2 + 4)`, `if r1 > r2 goto <out>`, `r0 = 7 ll`.
// It reads back everything formatInstruction(…, 'llvm') prints, plus PREVAIL's extra forms
// (`r1 s8= r2`, `lock … += r1 fetch`, `x=`/`cx=`, `map_fd N`, `assume …`, labels `<name>:`).
// Every instruction is built through the ISA table (`insn(name, …)`), never from raw opcodes.

import { insn, type InstructionFields } from './encode.js';
import { LddwSrc } from './opcodes.js';

/** A conditional jump that PREVAIL's `assume` turned into a one-way refinement. */
export interface Assumption {
  /** Slot of the jump instruction that encodes the condition (its offset is 0). */
  readonly pc: number;
  /** Which edge of the jump the assumption keeps: `taken` unless the condition had to be negated. */
  readonly edge: 'taken' | 'fallthrough';
}

export interface LlvmProgram {
  readonly instructions: InstructionFields[];
  /** Slot of each label (labels are written `<name>:` or `name:`). */
  readonly labels: ReadonlyMap<string, number>;
  /** For each instruction, the 0-based index of the source line it came from. */
  readonly lines: readonly number[];
  readonly assumptions: readonly Assumption[];
}

export class LlvmAssemblyError extends Error {
  constructor(readonly line: number, readonly text: string, reason: string) {
    super(`line ${line + 1}: ${reason}: ${text.trim()}`);
    this.name = 'LlvmAssemblyError';
  }
}

const ALU_OPS: Record<string, string> = {
  '+=': 'add', '-=': 'sub', '*=': 'mul', '/=': 'div', 's/=': 'sdiv', '%=': 'mod', 's%=': 'smod',
  '|=': 'or', '&=': 'and', '^=': 'xor', '<<=': 'lsh', '>>=': 'rsh', 's>>=': 'arsh', '=': 'mov',
};

// `&!=` (jump when no bit is shared) has no opcode: it is jset with the edges swapped.
const JMP_OPS: Record<string, string> = {
  '==': 'jeq', '!=': 'jne', '<': 'jlt', '<=': 'jle', '>': 'jgt', '>=': 'jge', 's<': 'jslt',
  's<=': 'jsle', 's>': 'jsgt', 's>=': 'jsge', '&': 'jset', '&==': 'jset',
};

const ATOMIC_OPS: Record<string, string> = { '+=': 'add', '|=': 'or', '&=': 'and', '^=': 'xor' };

const SIZE_SUFFIX: Record<string, string> = { 8: 'b', 16: 'h', 32: 'w', 64: 'dw' };

const REG = String.raw`([rw])(\d+)`;
const NUM = String.raw`([-+]?\s*(?:0x[0-9a-fA-F]+|\d+))`;
const MEM = String.raw`\*\(\s*([us])(8|16|32|64)\s*\*\s*\)\s*\(\s*r(\d+)\s*(?:([-+])\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*)?\)`;

function parseBig(text: string): bigint {
  const t = text.replace(/\s+/g, '');
  const neg = t.startsWith('-');
  const body = t.replace(/^[-+]/, '');
  const v = BigInt(body);
  return neg ? -v : v;
}

/** A 32-bit immediate: anything in [-2^31, 2^32) is accepted and stored as its low 32 bits. */
function imm32(text: string, line: number, src: string): number {
  const v = parseBig(text);
  if (v < -(1n << 31n) || v >= 1n << 32n) throw new LlvmAssemblyError(line, src, `immediate ${text} does not fit in 32 bits`);
  return Number(BigInt.asIntN(32, v));
}

function reg(n: string, line: number, src: string): number {
  const r = Number(n);
  if (r > 10) throw new LlvmAssemblyError(line, src, `no register r${n}`);
  return r;
}

interface Pending {
  fields: InstructionFields;
  target?: string; // label to resolve into offset (jumps) or imm (local calls)
  targetField?: 'offset' | 'imm';
}

/** Removes a `;` or `//` comment and surrounding blanks. */
function stripComment(line: string): string {
  let s = line;
  const semi = s.indexOf(';');
  if (semi >= 0) s = s.slice(0, semi);
  const slashes = s.indexOf('//');
  if (slashes >= 0) s = s.slice(0, slashes);
  return s.trim();
}

/**
 * Assembles a program in llvm syntax. Each non-empty line holds one instruction or one label.
 * A leading `N:` slot number (as the disassembler prints it) is ignored.
 */
export function assembleLlvm(text: string): LlvmProgram {
  const pending: Pending[] = [];
  const lines: number[] = [];
  const labels = new Map<string, number>();
  const assumptions: Assumption[] = [];
  let slot = 0;
  const source = text.split('\n');

  const emit = (p: Pending, line: number): void => {
    pending.push(p);
    lines.push(line);
    slot += p.fields.spec.slots;
  };

  for (let li = 0; li < source.length; li++) {
    let s = stripComment(source[li]);
    if (s === '') continue;
    // Labels, possibly followed by an instruction on the same line.
    for (;;) {
      const m = /^<([^>]+)>\s*:\s*(.*)$/.exec(s) ?? /^([A-Za-z_.][\w.]*)\s*:\s*(.*)$/.exec(s);
      if (m === null) break;
      labels.set(m[1], slot);
      s = m[2];
    }
    s = s.replace(/^\d+\s*:\s*/, '');
    if (s === '') continue;
    for (const p of parseLine(s, li, source[li], slot, assumptions)) emit(p, li);
  }

  const instructions = pending.map((p, i) => {
    if (p.target === undefined) return p.fields;
    const at = labels.get(p.target);
    if (at === undefined) throw new LlvmAssemblyError(lines[i], source[lines[i]], `unknown label <${p.target}>`);
    let here = 0;
    for (let k = 0; k < i; k++) here += pending[k].fields.spec.slots;
    const rel = at - here - 1;
    return { ...p.fields, [p.targetField ?? 'offset']: rel };
  });
  return { instructions, labels, lines, assumptions };
}

function jumpTargetOf(rest: string, line: number, src: string): { offset?: number; label?: string } {
  const label = /<([^>]+)>/.exec(rest);
  if (label !== null) return { label: label[1] };
  const rel = /^([-+]\s*\d+)$/.exec(rest.trim());
  if (rel !== null) return { offset: Number(rel[1].replace(/\s+/g, '')) };
  const bare = /^([A-Za-z_.][\w.]*)$/.exec(rest.trim());
  if (bare !== null) return { label: bare[1] };
  throw new LlvmAssemblyError(line, src, 'bad jump target');
}

function withTarget(fields: InstructionFields, t: { offset?: number; label?: string }, field: 'offset' | 'imm' = 'offset'): Pending {
  if (t.label !== undefined) return { fields, target: t.label, targetField: field };
  return { fields: { ...fields, [field]: t.offset ?? 0 } };
}

function parseLine(s: string, li: number, src: string, slot: number, assumptions: Assumption[]): Pending[] {
  const fail = (why: string): never => {
    throw new LlvmAssemblyError(li, src, why);
  };
  let m: RegExpExecArray | null;

  if (s === 'exit') return [{ fields: insn('exit') }];

  // Conditional jumps and PREVAIL's assume.
  m = new RegExp(String.raw`^(if|assume)\s+${REG}\s*(&==|&!=|&|==|!=|s<=|s>=|s<|s>|<=|>=|<|>)\s*(?:${REG}|${NUM})\s*(?:goto\s+(.*))?$`).exec(s);
  if (m !== null) {
    const [, kw, rw, rd, op, , rs, imm, target] = m;
    const width = rw === 'w' ? '32' : '';
    const name = JMP_OPS[op] ?? 'jset';
    const negated = op === '&!=';
    const base = rs !== undefined
      ? insn(`${name}${width}_reg`, { dst: reg(rd, li, src), src: reg(rs, li, src) })
      : insn(`${name}${width}_imm`, { dst: reg(rd, li, src), imm: imm32(imm, li, src) });
    if (kw === 'assume') {
      if (target !== undefined) fail('assume takes no target');
      assumptions.push({ pc: slot, edge: negated ? 'fallthrough' : 'taken' });
      return [{ fields: { ...base, offset: 0 } }];
    }
    if (target === undefined) fail('missing goto');
    const t = jumpTargetOf(target ?? '', li, src);
    if (!negated) return [withTarget(base, t)];
    // if (x & y) == 0 goto L  ==  if x & y goto +1; goto L
    return [{ fields: { ...base, offset: 1 } }, withTarget(insn('ja'), t)];
  }
  m = /^goto(l?)\s+(.*)$/.exec(s);
  if (m !== null) {
    // `goto +N <L>`: the label wins, N is informational.
    const t = jumpTargetOf(m[2], li, src);
    return m[1] === 'l' ? [withTarget(insn('ja32'), t, 'imm')] : [withTarget(insn('ja'), t)];
  }

  // Calls.
  m = /^callx\s+r(\d+)$/.exec(s);
  if (m !== null) return [{ fields: insn('callx', { dst: reg(m[1], li, src) }) }];
  m = /^call\s+(?:local\s+)?<([^>]+)>$/.exec(s);
  if (m !== null) return [{ fields: insn('call_local'), target: m[1], targetField: 'imm' }];
  m = /^call\s+pc([-+]\d+)$/.exec(s);
  if (m !== null) return [{ fields: insn('call_local', { imm: Number(m[1]) }) }];
  m = /^call(?:_btf\s+|\s+btf#)(-?\d+)(?:\s+module\s+\S+)?$/.exec(s);
  if (m !== null) return [{ fields: insn('call_btf', { imm: Number(m[1]) }) }];
  m = /^call\s+(?:[A-Za-z_]\w*#)?(0x[0-9a-fA-F]+|-?\d+)$/.exec(s);
  if (m !== null) return [{ fields: insn('call', { imm: imm32(m[1], li, src) }) }];

  // Atomics: `lock *(u64 *)(r1 + 2) += r3 [fetch]`, `x=`, `cx=`, and the llvm printer's call forms.
  m = new RegExp(String.raw`^lock\s+${MEM}\s*(\+=|\|=|&=|\^=|x=|cx=)\s*${REG}\s*(fetch)?$`).exec(s);
  if (m !== null) {
    const [, , bits, rb, sign, off, op, , rs, fetch] = m;
    if (bits !== '32' && bits !== '64') fail('atomics are 32 or 64 bits wide');
    const offset = memOffset(sign, off);
    const words = op === 'x=' ? 'xchg' : op === 'cx=' ? 'cmpxchg' : `${fetch === undefined ? '' : 'fetch_'}${ATOMIC_OPS[op]}`;
    return [{ fields: insn(`lock_${words}${bits}`, { dst: reg(rb, li, src), src: reg(rs, li, src), offset }) }];
  }
  m = new RegExp(String.raw`^${REG}\s*=\s*(atomic_fetch_add|atomic_fetch_or|atomic_fetch_and|atomic_fetch_xor)\(\s*\(\s*u(32|64)\s*\*\s*\)\s*\(\s*r(\d+)\s*([-+])\s*(\d+)\s*\)\s*,\s*${REG}\s*\)$`).exec(s);
  if (m !== null) {
    const [, , , fn, bits, rb, sign, off, , rs] = m;
    return [{ fields: insn(`lock_fetch_${fn.slice(13)}${bits}`, { dst: reg(rb, li, src), src: reg(rs, li, src), offset: memOffset(sign, off) }) }];
  }
  m = new RegExp(String.raw`^${REG}\s*=\s*(xchg|cmpxchg)(?:32)?_(32|64)\(\s*r(\d+)\s*([-+])\s*(\d+)\s*,\s*${REG}\s*(?:,\s*${REG}\s*)?\)$`).exec(s);
  if (m !== null) {
    const [, , , fn, bits, rb, sign, off, , r1, , r2] = m;
    const rs = fn === 'cmpxchg' ? r2 : r1;
    if (rs === undefined) fail('cmpxchg needs three operands');
    return [{ fields: insn(`lock_${fn}${bits}`, { dst: reg(rb, li, src), src: reg(rs, li, src), offset: memOffset(sign, off) }) }];
  }

  // Stores.
  m = new RegExp(String.raw`^${MEM}\s*=\s*(?:${REG}|${NUM})$`).exec(s);
  if (m !== null) {
    const [, , bits, rb, sign, off, , rs, imm] = m;
    const offset = memOffset(sign, off);
    const sfx = SIZE_SUFFIX[bits];
    if (rs !== undefined) return [{ fields: insn(`stx${sfx}`, { dst: reg(rb, li, src), src: reg(rs, li, src), offset }) }];
    return [{ fields: insn(`st${sfx}`, { dst: reg(rb, li, src), offset, imm: imm32(imm, li, src) }) }];
  }

  // Loads.
  m = new RegExp(String.raw`^${REG}\s*=\s*${MEM}$`).exec(s);
  if (m !== null) {
    const [, , rd, us, bits, rb, sign, off] = m;
    const sfx = SIZE_SUFFIX[bits];
    if (us === 's' && bits === '64') fail('there is no sign-extending 64-bit load');
    return [{ fields: insn(`${us === 's' ? 'ldxs' : 'ldx'}${sfx}`, { dst: reg(rd, li, src), src: reg(rb, li, src), offset: memOffset(sign, off) }) }];
  }
  m = /^r0\s*=\s*\*\(\s*u(8|16|32)\s*\*\s*\)\s*skb\[\s*(?:r(\d+)\s*(?:\+\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*)?|(-?(?:0x[0-9a-fA-F]+|\d+)))\]$/.exec(s);
  if (m !== null) {
    const [, bits, rs, indImm, absImm] = m;
    const sfx = SIZE_SUFFIX[bits];
    if (rs !== undefined) return [{ fields: insn(`ldind${sfx}`, { src: reg(rs, li, src), imm: indImm === undefined ? 0 : imm32(indImm, li, src) }) }];
    return [{ fields: insn(`ldabs${sfx}`, { imm: imm32(absImm, li, src) }) }];
  }

  // lddw and its pseudo forms.
  const lddw = parseLddw(s, li, src);
  if (lddw !== undefined) return [{ fields: lddw }];

  // Unary: negation, byte swaps, sign-extending moves.
  m = new RegExp(String.raw`^${REG}\s*=\s*-\s*${REG}$`).exec(s);
  if (m !== null) {
    if (m[2] !== m[4] || m[1] !== m[3]) fail('negation must have the same source and destination');
    return [{ fields: insn(m[1] === 'w' ? 'neg32' : 'neg64', { dst: reg(m[2], li, src) }) }];
  }
  m = /^r(\d+)\s*=\s*(be|le|bswap|swap)(16|32|64)\s+r(\d+)$/.exec(s);
  if (m !== null) {
    if (m[1] !== m[4]) fail('a byte swap must have the same source and destination');
    const kind = m[2] === 'swap' ? 'bswap' : m[2];
    return [{ fields: insn(`${kind}${m[3]}`, { dst: reg(m[1], li, src) }) }];
  }
  m = new RegExp(String.raw`^${REG}\s*(?:=\s*\(s(8|16|32)\)\s*|s(8|16|32)=\s*)${REG}$`).exec(s);
  if (m !== null) {
    const [, rw, rd, a, b, , rs] = m;
    const bits = a ?? b;
    const width = rw === 'w' ? 32 : 64;
    if (bits === '32' && width === 32) return [{ fields: insn('mov32_reg', { dst: reg(rd, li, src), src: reg(rs, li, src) }) }];
    return [{ fields: insn(`movsx${bits}_${width}_reg`, { dst: reg(rd, li, src), src: reg(rs, li, src) }) }];
  }

  // Binary ALU.
  m = new RegExp(String.raw`^${REG}\s*(s>>=|s/=|s%=|<<=|>>=|\+=|-=|\*=|/=|%=|\|=|&=|\^=|=)\s*(?:${REG}|${NUM})$`).exec(s);
  if (m !== null) {
    const [, rw, rd, op, , rs, imm] = m;
    const suffix = rw === 'w' ? '32' : '64';
    const name = ALU_OPS[op];
    if (rs !== undefined) return [{ fields: insn(`${name}${suffix}_reg`, { dst: reg(rd, li, src), src: reg(rs, li, src) }) }];
    return [{ fields: insn(`${name}${suffix}_imm`, { dst: reg(rd, li, src), imm: imm32(imm, li, src) }) }];
  }
  return fail('unrecognised instruction');
}

function memOffset(sign: string | undefined, off: string | undefined): number {
  if (off === undefined) return 0;
  // `r1 + -4` is accepted as `r1 - 4`.
  const v = Number(parseBig(off));
  return sign === '-' ? -v : v;
}

function lddwFields(dst: number, src: LddwSrc, imm: number, nextImm = 0): InstructionFields {
  const names: Record<number, string> = {
    [LddwSrc.IMM64]: 'lddw', [LddwSrc.MAP_FD]: 'lddw_map_fd', [LddwSrc.MAP_VALUE]: 'lddw_map_value',
    [LddwSrc.VAR_ADDR]: 'lddw_var_addr', [LddwSrc.CODE_ADDR]: 'lddw_code_addr', [LddwSrc.MAP_IDX]: 'lddw_map_idx',
    [LddwSrc.MAP_IDX_VALUE]: 'lddw_map_idx_value',
  };
  return insn(names[src], { dst, imm, nextImm });
}

function parseLddw(s: string, li: number, src: string): InstructionFields | undefined {
  const head = /^r(\d+)\s*=\s*(.*?)\s*$/.exec(s);
  if (head === null) return undefined;
  const dst = reg(head[1], li, src);
  let rest = head[2];
  const ll = /^(.*?)\s*ll$/.exec(rest);
  if (ll !== null) rest = ll[1];
  let m = /^([-+]?\s*(?:0x[0-9a-fA-F]+|\d+))$/.exec(rest);
  if (m !== null) {
    if (ll === null) return undefined;
    const v = parseBig(m[1]);
    if (v < -(1n << 63n) || v >= 1n << 64n) throw new LlvmAssemblyError(li, src, 'constant does not fit in 64 bits');
    const u = BigInt.asUintN(64, v);
    return lddwFields(dst, LddwSrc.IMM64, Number(BigInt.asIntN(32, u)), Number(BigInt.asIntN(32, u >> 32n)));
  }
  const plus = (k: string | undefined): number => (k === undefined ? 0 : Number(parseBig(k)));
  const K = String.raw`(?:\s*\+\s*(-?\s*\d+))?`;
  if ((m = /^map(?:_fd\s+|\[fd:)(-?\d+)\]?$/.exec(rest)) !== null) return lddwFields(dst, LddwSrc.MAP_FD, Number(m[1]));
  if ((m = new RegExp(String.raw`^(?:map_val\((-?\d+)\)|map_value\[fd:(-?\d+)\])${K}$`).exec(rest)) !== null) {
    return lddwFields(dst, LddwSrc.MAP_VALUE, Number(m[1] ?? m[2]), plus(m[3]));
  }
  if ((m = /^(?:map_by_idx\((-?\d+)\)|map\[idx:(-?\d+)\])$/.exec(rest)) !== null) return lddwFields(dst, LddwSrc.MAP_IDX, Number(m[1] ?? m[2]));
  if ((m = new RegExp(String.raw`^(?:mva\(map_by_idx\((-?\d+)\)\)|map_value\[idx:(-?\d+)\])${K}$`).exec(rest)) !== null) {
    return lddwFields(dst, LddwSrc.MAP_IDX_VALUE, Number(m[1] ?? m[2]), plus(m[3]));
  }
  if ((m = /^(?:variable_addr\((-?\d+)\)|var\[(-?\d+)\])$/.exec(rest)) !== null) return lddwFields(dst, LddwSrc.VAR_ADDR, Number(m[1] ?? m[2]));
  if ((m = /^(?:code_addr\((-?\d+)\)|code\[pc([-+]\d+)\])$/.exec(rest)) !== null) return lddwFields(dst, LddwSrc.CODE_ADDR, Number(m[1] ?? m[2]));
  return undefined;
}
