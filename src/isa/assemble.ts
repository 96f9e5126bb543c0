// Assembler for the conformance-suite dialect (see ../shared/conformance/README.md), plus
// `lddw %rN, map_fd(N)`-style operands for the lddw pseudo sources the dialect has no words for.

import { encode, type InstructionFields } from './encode.js';
import { AssemblyError } from './errors.js';
import { NUM_REGISTERS } from './opcodes.js';
import { INSTRUCTIONS, specByName, type InstructionSpec } from './table.js';

interface Token {
  readonly text: string;
  /** 1-based column of the token's first character. */
  readonly column: number;
}

interface SourceLine {
  readonly line: number;
  readonly label?: Token;
  readonly mnemonic?: Token;
  readonly operands: Token[];
}

/** A jump or call target: a label name, or a slot offset relative to the next instruction. */
type Target = { label: string; token: Token } | { relative: number };

interface Pending {
  readonly spec: InstructionSpec;
  readonly line: number;
  readonly fields: {
    dst?: number;
    src?: number;
    offset?: number;
    imm?: number;
    nextImm?: number;
  };
  readonly target?: Target;
}

const bySyntax = new Map<string, InstructionSpec[]>();
for (const spec of INSTRUCTIONS) {
  if (spec.form === 'call' || spec.form === 'call-local' || spec.form === 'call-btf' || spec.form === 'callx') continue;
  if (spec.form === 'lddw') continue;
  const list = bySyntax.get(spec.mnemonic) ?? [];
  list.push(spec);
  bySyntax.set(spec.mnemonic, list);
}
const LDDW = specByName('lddw');

/** Spellings the dialect accepts for the same instruction. */
function canonicalMnemonic(word: string): string {
  if (/^swap(16|32|64)$/.test(word)) return 'b' + word;
  const m = /^([a-z]+?)64$/.exec(word);
  if (m !== null && bySyntax.has(m[1]) && !/^(be|le|bswap)$/.test(m[1])) return m[1];
  return word;
}

function splitLine(raw: string, line: number): SourceLine {
  let text = raw.replace(/\r$/, '');
  const hash = text.indexOf('#');
  if (hash >= 0) text = text.slice(0, hash);
  const tokens: Token[] = [];
  // Operands are comma-separated; the mnemonic is separated from them by spaces.
  const re = /\S+/g;
  let label: Token | undefined;
  let m: RegExpExecArray | null;
  const words: Token[] = [];
  while ((m = re.exec(text)) !== null) words.push({ text: m[0], column: m.index + 1 });
  if (words.length > 0 && words[0].text.endsWith(':')) {
    label = { text: words[0].text.slice(0, -1), column: words[0].column };
    words.shift();
  }
  if (words.length === 0) return { line, label, operands: [] };
  // The mnemonic may be several words: `lock fetch add32`, `call local`, `call runtime`.
  let mnemonicWords = 1;
  const first = words[0].text.toLowerCase();
  if (first === 'lock') {
    if (words.length < 2) {
      throw new AssemblyError(line, words[0].column, 'invalid number of operands for lock: expected an operation such as add, fetch add, xchg or cmpxchg');
    }
    mnemonicWords = 2;
    if (words[1]?.text.toLowerCase() === 'fetch') mnemonicWords = 3;
  } else if (first === 'call' && /^(local|runtime)$/i.test(words[1]?.text ?? '')) {
    mnemonicWords = 2;
  }
  const head = words.slice(0, mnemonicWords);
  const mnemonic: Token = { text: head.map((w) => w.text.toLowerCase()).join(' '), column: head[0].column };
  const restStart = words[mnemonicWords]?.column;
  if (restStart !== undefined) {
    const rest = text.slice(restStart - 1);
    let at = 0;
    for (const part of rest.split(',')) {
      const lead = part.length - part.trimStart().length;
      tokens.push({ text: part.trim(), column: restStart + at + lead });
      at += part.length + 1;
    }
  }
  return { line, label, mnemonic, operands: tokens };
}

function fail(line: number, token: Token, reason: string): never {
  throw new AssemblyError(line, token.column, reason);
}

function parseRegister(line: number, token: Token): number {
  const m = /^%r(\d+)$/i.exec(token.text);
  if (m === null) fail(line, token, `expected a register (%r0-%r10), found '${token.text}'`);
  const n = Number(m[1]);
  if (n >= NUM_REGISTERS) fail(line, token, `invalid register '${token.text}' (registers are %r0-%r10)`);
  return n;
}

function isRegister(token: Token): boolean {
  return /^%r\d+$/i.test(token.text);
}

function parseInteger(line: number, token: Token, what: string): bigint {
  const m = /^([+-]?)(0x[0-9a-f]+|\d+)$/i.exec(token.text);
  if (m === null) fail(line, token, `expected ${what}, found '${token.text}'`);
  const value = BigInt(m[2]);
  return m[1] === '-' ? -value : value;
}

/** Decimal immediates are signed 32-bit; hex ones may also spell the 32 bits unsigned. */
function parseImm32(line: number, token: Token): number {
  const v = parseInteger(line, token, 'an immediate');
  const isHex = /0x/i.test(token.text);
  const max = isHex ? 0xffffffffn : 0x7fffffffn;
  if (v < -0x80000000n || v > max) fail(line, token, `immediate ${token.text} does not fit in 32 bits${isHex ? '' : ' (signed)'}`);
  return Number(BigInt.asIntN(32, v));
}

function parseMemory(line: number, token: Token): { reg: number; offset: number } {
  const m = /^\[\s*(%r\d+)\s*(?:([+-])\s*(0x[0-9a-f]+|\d+)\s*)?\]$/i.exec(token.text);
  if (m === null) fail(line, token, `expected a memory operand like [%r1+8], found '${token.text}'`);
  const reg = parseRegister(line, { text: m[1], column: token.column + token.text.indexOf(m[1]) });
  let offset = 0;
  if (m[3] !== undefined) {
    offset = Number(BigInt(m[3])) * (m[2] === '-' ? -1 : 1);
    if (offset < -0x8000 || offset > 0x7fff) fail(line, token, `offset ${m[2]}${m[3]} does not fit in 16 bits`);
  }
  return { reg, offset };
}

function parseTarget(line: number, token: Token): Target {
  if (/^[+-]\d+$/.test(token.text)) return { relative: Number(token.text) };
  if (!/^[A-Za-z_.$][\w.$]*$/.test(token.text)) fail(line, token, `expected a label or +N/-N jump target, found '${token.text}'`);
  return { label: token.text, token };
}

const lddwPseudo: Record<string, { name: string; args: 1 | 2 }> = {
  map_fd: { name: 'lddw_map_fd', args: 1 },
  map_value: { name: 'lddw_map_value', args: 2 },
  var_addr: { name: 'lddw_var_addr', args: 1 },
  code_addr: { name: 'lddw_code_addr', args: 1 },
  map_idx: { name: 'lddw_map_idx', args: 1 },
  map_idx_value: { name: 'lddw_map_idx_value', args: 2 },
};

function expectOperands(src: SourceLine, count: number): void {
  const mnemonic = src.mnemonic as Token;
  if (src.operands.length !== count) {
    fail(src.line, mnemonic, `invalid number of operands for ${mnemonic.text}: expected ${count}, found ${src.operands.length}`);
  }
}

function parseLddw(src: SourceLine): Pending {
  // `lddw %r1, map_value(3, 8)` splits at its comma; glue the pseudo operand back together.
  const ops = src.operands;
  if (ops.length >= 2 && /\(/.test(ops[1].text) && !/\)/.test(ops[1].text)) {
    const joined = ops.slice(1).map((t) => t.text).join(', ');
    ops.splice(1, ops.length - 1, { text: joined, column: ops[1].column });
  }
  expectOperands(src, 2);
  const dst = parseRegister(src.line, ops[0]);
  const call = /^([a-z_]+)\(\s*([^,)]+?)\s*(?:,\s*([^)]+?)\s*)?\)$/i.exec(ops[1].text);
  if (call !== null) {
    const pseudo = lddwPseudo[call[1].toLowerCase()];
    if (pseudo === undefined) fail(src.line, ops[1], `unknown lddw operand '${call[1]}'`);
    const given = call[3] === undefined ? 1 : 2;
    if (given < pseudo.args) fail(src.line, ops[1], `${call[1]}() takes ${pseudo.args} arguments, found ${given}`);
    const imm = parseImm32(src.line, { text: call[2], column: ops[1].column });
    const nextImm = call[3] === undefined ? 0 : parseImm32(src.line, { text: call[3], column: ops[1].column });
    return { spec: specByName(pseudo.name), line: src.line, fields: { dst, imm, nextImm } };
  }
  const v = parseInteger(src.line, ops[1], 'a 64-bit immediate');
  if (v < -(1n << 63n) || v >= 1n << 64n) fail(src.line, ops[1], `immediate ${ops[1].text} does not fit in 64 bits`);
  const u = BigInt.asUintN(64, v);
  return {
    spec: LDDW,
    line: src.line,
    fields: { dst, imm: Number(BigInt.asIntN(32, u)), nextImm: Number(BigInt.asIntN(32, u >> 32n)) },
  };
}

function parseCall(src: SourceLine): Pending {
  const mnemonic = src.mnemonic as Token;
  const { line } = src;
  expectOperands(src, 1);
  const op = src.operands[0];
  if (mnemonic.text === 'call local') {
    return { spec: specByName('call_local'), line, fields: {}, target: parseTarget(line, op) };
  }
  if (mnemonic.text === 'call runtime') {
    return { spec: specByName('call_btf'), line, fields: { imm: parseImm32(line, op) } };
  }
  if (isRegister(op)) return { spec: specByName('callx'), line, fields: { dst: parseRegister(line, op) } };
  return { spec: specByName('call'), line, fields: { imm: parseImm32(line, op) } };
}

function parseInstruction(src: SourceLine): Pending {
  const mnemonic = src.mnemonic as Token;
  const { line, operands: ops } = src;
  if (mnemonic.text === 'lddw') return parseLddw(src);
  if (mnemonic.text.startsWith('call')) return parseCall(src);
  const specs = bySyntax.get(canonicalMnemonic(mnemonic.text));
  if (specs === undefined) fail(line, mnemonic, `unknown mnemonic '${mnemonic.text}'`);
  const form = specs[0].form;
  const pick = (wanted: InstructionSpec['form']): InstructionSpec =>
    specs.find((s) => s.form === wanted) ?? fail(line, mnemonic, `${mnemonic.text} has no ${wanted} form`);
  switch (form) {
    case 'alu-imm':
    case 'alu-reg': {
      expectOperands(src, 2);
      const dst = parseRegister(line, ops[0]);
      if (isRegister(ops[1])) return { spec: pick('alu-reg'), line, fields: { dst, src: parseRegister(line, ops[1]) } };
      return { spec: pick('alu-imm'), line, fields: { dst, imm: parseImm32(line, ops[1]) } };
    }
    case 'neg':
    case 'endian':
      expectOperands(src, 1);
      return { spec: specs[0], line, fields: { dst: parseRegister(line, ops[0]) } };
    case 'ldabs':
      expectOperands(src, 1);
      return { spec: specs[0], line, fields: { imm: parseImm32(line, ops[0]) } };
    case 'ldind':
      expectOperands(src, 2);
      return { spec: specs[0], line, fields: { src: parseRegister(line, ops[0]), imm: parseImm32(line, ops[1]) } };
    case 'ldx': {
      expectOperands(src, 2);
      const dst = parseRegister(line, ops[0]);
      const mem = parseMemory(line, ops[1]);
      return { spec: specs[0], line, fields: { dst, src: mem.reg, offset: mem.offset } };
    }
    case 'st': {
      expectOperands(src, 2);
      const mem = parseMemory(line, ops[0]);
      return { spec: specs[0], line, fields: { dst: mem.reg, offset: mem.offset, imm: parseImm32(line, ops[1]) } };
    }
    case 'stx':
    case 'atomic': {
      expectOperands(src, 2);
      const mem = parseMemory(line, ops[0]);
      return { spec: specs[0], line, fields: { dst: mem.reg, offset: mem.offset, src: parseRegister(line, ops[1]) } };
    }
    case 'jmp-imm':
    case 'jmp-reg': {
      expectOperands(src, 3);
      const dst = parseRegister(line, ops[0]);
      const target = parseTarget(line, ops[2]);
      if (isRegister(ops[1])) return { spec: pick('jmp-reg'), line, fields: { dst, src: parseRegister(line, ops[1]) }, target };
      return { spec: pick('jmp-imm'), line, fields: { dst, imm: parseImm32(line, ops[1]) }, target };
    }
    case 'ja':
    case 'ja32':
      expectOperands(src, 1);
      return { spec: specs[0], line, fields: {}, target: parseTarget(line, ops[0]) };
    case 'exit':
      expectOperands(src, 0);
      return { spec: specs[0], line, fields: {} };
    default:
      return fail(line, mnemonic, `unknown mnemonic '${mnemonic.text}'`);
  }
}

/** Assembles conformance-dialect text into instruction fields (encode them with `encode`). */
export function assemble(text: string): InstructionFields[] {
  const lines = text.split('\n').map((raw, i) => splitLine(raw, i + 1));
  const labels = new Map<string, number>();
  const pending: Pending[] = [];
  const slotOf: number[] = [];
  let slot = 0;
  let implicitExit: number | undefined;
  for (const src of lines) {
    if (src.label !== undefined) {
      if (!/^[A-Za-z_.$][\w.$]*$/.test(src.label.text)) fail(src.line, src.label, `invalid label name '${src.label.text}'`);
      if (labels.has(src.label.text)) fail(src.line, src.label, `duplicate label '${src.label.text}'`);
      labels.set(src.label.text, slot);
    }
    if (src.mnemonic === undefined) continue;
    const p = parseInstruction(src);
    if (p.spec.form === 'exit' && implicitExit === undefined) implicitExit = slot;
    pending.push(p);
    slotOf.push(slot);
    slot += p.spec.slots;
  }
  if (implicitExit !== undefined && !labels.has('exit')) labels.set('exit', implicitExit);

  return pending.map((p, i) => {
    if (p.target === undefined) return { spec: p.spec, ...p.fields };
    let relative: number;
    if ('relative' in p.target) {
      relative = p.target.relative;
    } else {
      const at = labels.get(p.target.label);
      if (at === undefined) fail(p.line, p.target.token, `undefined label '${p.target.label}'`);
      relative = at - (slotOf[i] + 1);
    }
    const inImm = p.spec.form === 'ja32' || p.spec.form === 'call-local';
    if (!inImm && (relative < -0x8000 || relative > 0x7fff)) {
      throw new AssemblyError(p.line, 1, `jump offset ${relative} does not fit in 16 bits`);
    }
    return { spec: p.spec, ...p.fields, ...(inImm ? { imm: relative } : { offset: relative }) };
  });
}

/** Assembles conformance-dialect text straight to bytes. */
export function assembleBytes(text: string): Uint8Array {
  return encode(assemble(text));
}
