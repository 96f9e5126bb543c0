// The one instruction table of ebpf-ts (RFC 9669 §4-§5, Appendix A, plus callx).
// The decoder, encoder, both disassemblers, the assembler, the interpreter and the verifier read
// their knowledge of instructions from here; none of them spells an opcode out on its own.

import {
  AluOp,
  AtomicOp,
  CallSrc,
  InsnClass,
  JmpOp,
  LddwSrc,
  MemMode,
  MemSize,
  Opcode,
  Source,
} from './opcodes.js';

/** Conformance groups of RFC 9669 §2.2, plus the two the bpf_conformance runner adds. */
export type Group =
  | 'base32'
  | 'base64'
  | 'atomic32'
  | 'atomic64'
  | 'divmul32'
  | 'divmul64'
  | 'packet'
  | 'callx';

export const ALL_GROUPS: readonly Group[] = [
  'base32',
  'base64',
  'atomic32',
  'atomic64',
  'divmul32',
  'divmul64',
  'packet',
  'callx',
];

/** ISA ("CPU") version, as clang's -mcpu=v1..v4 and the conformance runner use it. */
export type CpuVersion = 1 | 2 | 3 | 4;

/** The operand shape of an instruction: decides its assembly and disassembly syntax. */
export type Form =
  | 'alu-imm' // add32 %r0, 1
  | 'alu-reg' // add32 %r0, %r1
  | 'neg' // neg32 %r0
  | 'endian' // be16 %r0  (width in imm)
  | 'lddw' // lddw %r0, 0x1122334455667788  (two slots)
  | 'ldabs' // ldabsw 12
  | 'ldind' // ldindw %r1, 12
  | 'ldx' // ldxw %r0, [%r1+2]
  | 'st' // stw [%r1+2], 7
  | 'stx' // stxw [%r1+2], %r0
  | 'atomic' // lock fetch add [%r10-8], %r1
  | 'jmp-imm' // jeq %r1, 7, +3
  | 'jmp-reg' // jeq %r1, %r2, +3
  | 'ja' // ja +3
  | 'ja32' // ja32 +3   (target in imm)
  | 'call' // call 5
  | 'call-local' // call local +3
  | 'call-btf' // call runtime 5
  | 'callx' // call %r2
  | 'exit';

/**
 * The rule for one field of an instruction: `any` value, a register number (0-10), zero (the
 * field is reserved), or one exact value that, together with the opcode, selects this entry.
 */
export type FieldRule = 'any' | 'reg' | 'zero' | { readonly eq: number };

/** Semantic operation, shared by interpreter, JIT and verifier. */
export type Operation =
  | 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'or' | 'and' | 'lsh' | 'rsh' | 'neg' | 'mod'
  | 'smod' | 'xor' | 'mov' | 'movsx8' | 'movsx16' | 'movsx32' | 'arsh' | 'le' | 'be' | 'bswap'
  | 'ja' | 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt'
  | 'jsle' | 'call' | 'callx' | 'exit' | 'lddw' | 'ldabs' | 'ldind' | 'ldx' | 'ldxs' | 'st'
  | 'stx' | 'atomic_add' | 'atomic_or' | 'atomic_and' | 'atomic_xor' | 'atomic_fetch_add'
  | 'atomic_fetch_or' | 'atomic_fetch_and' | 'atomic_fetch_xor' | 'atomic_xchg'
  | 'atomic_cmpxchg';

export interface InstructionSpec {
  /** Unique, stable name of this entry, e.g. `add32_imm`, `lddw_map_fd`, `lock_fetch_add64`. */
  readonly name: string;
  /** Mnemonic in the conformance-suite assembly dialect (without operands). */
  readonly mnemonic: string;
  readonly opcode: number;
  readonly form: Form;
  readonly op: Operation;
  /** Operation width in bits for ALU/jumps/endian; memory access size in bits for loads/stores. */
  readonly width: 8 | 16 | 32 | 64;
  readonly dst: FieldRule;
  readonly src: FieldRule;
  readonly offset: FieldRule;
  readonly imm: FieldRule;
  readonly group: Group;
  readonly cpu: CpuVersion;
  /** Slots the instruction occupies: 2 for lddw, else 1. */
  readonly slots: 1 | 2;
  /** What it does, in the notation of RFC 9669. */
  readonly description: string;
}

const ANY: FieldRule = 'any';
const REG: FieldRule = 'reg';
const ZERO: FieldRule = 'zero';
const eq = (value: number): FieldRule => ({ eq: value });

const entries: InstructionSpec[] = [];

function add(spec: Omit<InstructionSpec, 'slots'> & { slots?: 1 | 2 }): void {
  entries.push({ slots: 1, ...spec });
}

// --- Arithmetic (RFC 9669 §4.1) ---------------------------------------------------------------

interface AluDef {
  op: Operation;
  code: AluOp;
  offset?: number;
  c: string; // semantics, with `x` for the second operand
  divmul?: boolean;
  cpu?: CpuVersion;
  immOnly?: boolean;
  regOnly?: boolean;
}

const aluDefs: AluDef[] = [
  { op: 'add', code: AluOp.ADD, c: 'dst += x' },
  { op: 'sub', code: AluOp.SUB, c: 'dst -= x' },
  { op: 'mul', code: AluOp.MUL, c: 'dst *= x', divmul: true },
  { op: 'div', code: AluOp.DIV, c: 'dst = (x != 0) ? (dst / x) : 0', divmul: true },
  { op: 'sdiv', code: AluOp.DIV, offset: 1, c: 'dst = (x != 0) ? (dst s/ x) : 0', divmul: true, cpu: 4 },
  { op: 'or', code: AluOp.OR, c: 'dst |= x' },
  { op: 'and', code: AluOp.AND, c: 'dst &= x' },
  { op: 'lsh', code: AluOp.LSH, c: 'dst <<= (x & mask)' },
  { op: 'rsh', code: AluOp.RSH, c: 'dst >>= (x & mask)' },
  { op: 'mod', code: AluOp.MOD, c: 'dst = (x != 0) ? (dst % x) : dst', divmul: true },
  { op: 'smod', code: AluOp.MOD, offset: 1, c: 'dst = (x != 0) ? (dst s% x) : dst', divmul: true, cpu: 4 },
  { op: 'xor', code: AluOp.XOR, c: 'dst ^= x' },
  { op: 'mov', code: AluOp.MOV, c: 'dst = x' },
  { op: 'movsx8', code: AluOp.MOV, offset: 8, c: 'dst = (s8)src', regOnly: true, cpu: 4 },
  { op: 'movsx16', code: AluOp.MOV, offset: 16, c: 'dst = (s16)src', regOnly: true, cpu: 4 },
  { op: 'movsx32', code: AluOp.MOV, offset: 32, c: 'dst = (s32)src', regOnly: true, cpu: 4 },
  { op: 'arsh', code: AluOp.ARSH, c: 'dst s>>= (x & mask)' },
];

function aluMnemonic(def: AluDef, width: 32 | 64): string {
  if (def.op.startsWith('movsx')) return `movsx${def.op.slice(5)}${width}`;
  return width === 32 ? `${def.op}32` : def.op;
}

for (const width of [32, 64] as const) {
  const cls = width === 32 ? InsnClass.ALU : InsnClass.ALU64;
  const suffix = width === 32 ? '32' : '64';
  for (const def of aluDefs) {
    if (def.op === 'movsx32' && width === 32) continue; // (s32) of a 32-bit value is a plain mov32
    const group = def.divmul ? (`divmul${suffix}` as Group) : (`base${suffix}` as Group);
    const offset = def.offset === undefined ? ZERO : eq(def.offset);
    const cpu = def.cpu ?? 1;
    const semantics = width === 32 ? `${def.c} (32-bit, result zero-extended)` : def.c;
    if (!def.regOnly) {
      add({
        name: `${def.op}${suffix}_imm`, mnemonic: aluMnemonic(def, width), opcode: cls | def.code | Source.K,
        form: 'alu-imm', op: def.op, width, dst: REG, src: ZERO, offset, imm: ANY, group, cpu,
        description: semantics.replace(/\bx\b/g, 'imm'),
      });
    }
    add({
      name: def.op.startsWith('movsx') ? `${def.op}_${width}_reg` : `${def.op}${suffix}_reg`, mnemonic: aluMnemonic(def, width), opcode: cls | def.code | Source.X,
      form: 'alu-reg', op: def.op, width, dst: REG, src: REG, offset, imm: ZERO, group, cpu,
      description: semantics.replace(/\bx\b/g, 'src'),
    });
  }
  add({
    name: `neg${suffix}`, mnemonic: width === 32 ? 'neg32' : 'neg', opcode: cls | AluOp.NEG,
    form: 'neg', op: 'neg', width, dst: REG, src: ZERO, offset: ZERO, imm: ZERO,
    group: `base${suffix}` as Group, cpu: 1, description: 'dst = -dst',
  });
}

// --- Byte swaps (RFC 9669 §4.2) ---------------------------------------------------------------

for (const bits of [16, 32, 64] as const) {
  const group: Group = bits === 64 ? 'base64' : 'base32';
  add({
    name: `le${bits}`, mnemonic: `le${bits}`, opcode: Opcode.LE, form: 'endian', op: 'le', width: bits,
    dst: REG, src: ZERO, offset: ZERO, imm: eq(bits), group, cpu: 1,
    description: `dst = htole${bits}(dst)`,
  });
  add({
    name: `be${bits}`, mnemonic: `be${bits}`, opcode: Opcode.BE, form: 'endian', op: 'be', width: bits,
    dst: REG, src: ZERO, offset: ZERO, imm: eq(bits), group, cpu: 1,
    description: `dst = htobe${bits}(dst)`,
  });
  add({
    name: `bswap${bits}`, mnemonic: `bswap${bits}`, opcode: Opcode.BSWAP, form: 'endian', op: 'bswap',
    width: bits, dst: REG, src: ZERO, offset: ZERO, imm: eq(bits), group, cpu: 4,
    description: `dst = bswap${bits}(dst)`,
  });
}

// --- Jumps (RFC 9669 §4.3) --------------------------------------------------------------------

interface JmpDef {
  op: Operation;
  code: JmpOp;
  c: string;
  cpu: CpuVersion;
}

const jmpDefs: JmpDef[] = [
  { op: 'jeq', code: JmpOp.JEQ, c: '==', cpu: 1 },
  { op: 'jgt', code: JmpOp.JGT, c: '>', cpu: 1 },
  { op: 'jge', code: JmpOp.JGE, c: '>=', cpu: 1 },
  { op: 'jset', code: JmpOp.JSET, c: '&', cpu: 1 },
  { op: 'jne', code: JmpOp.JNE, c: '!=', cpu: 1 },
  { op: 'jsgt', code: JmpOp.JSGT, c: 's>', cpu: 1 },
  { op: 'jsge', code: JmpOp.JSGE, c: 's>=', cpu: 1 },
  { op: 'jlt', code: JmpOp.JLT, c: '<', cpu: 2 },
  { op: 'jle', code: JmpOp.JLE, c: '<=', cpu: 2 },
  { op: 'jslt', code: JmpOp.JSLT, c: 's<', cpu: 2 },
  { op: 'jsle', code: JmpOp.JSLE, c: 's<=', cpu: 2 },
];

for (const width of [32, 64] as const) {
  const cls = width === 32 ? InsnClass.JMP32 : InsnClass.JMP;
  const suffix = width === 32 ? '32' : '';
  const group: Group = width === 32 ? 'base32' : 'base64';
  for (const def of jmpDefs) {
    const cpu: CpuVersion = width === 32 ? 3 : def.cpu;
    const lhs = width === 32 ? '(u32)dst' : 'dst';
    add({
      name: `${def.op}${width === 32 ? '32' : ''}_imm`, mnemonic: `${def.op}${suffix}`,
      opcode: cls | def.code | Source.K, form: 'jmp-imm', op: def.op, width, dst: REG, src: ZERO,
      offset: ANY, imm: ANY, group, cpu, description: `if ${lhs} ${def.c} imm goto +offset`,
    });
    add({
      name: `${def.op}${width === 32 ? '32' : ''}_reg`, mnemonic: `${def.op}${suffix}`,
      opcode: cls | def.code | Source.X, form: 'jmp-reg', op: def.op, width, dst: REG, src: REG,
      offset: ANY, imm: ZERO, group, cpu,
      description: `if ${lhs} ${def.c} ${width === 32 ? '(u32)src' : 'src'} goto +offset`,
    });
  }
}

add({
  name: 'ja', mnemonic: 'ja', opcode: Opcode.JA, form: 'ja', op: 'ja', width: 64, dst: ZERO, src: ZERO,
  offset: ANY, imm: ZERO, group: 'base32', cpu: 1, description: 'goto +offset',
});
add({
  name: 'ja32', mnemonic: 'ja32', opcode: Opcode.JA32, form: 'ja32', op: 'ja', width: 32, dst: ZERO,
  src: ZERO, offset: ZERO, imm: ANY, group: 'base32', cpu: 4, description: 'goto +imm (gotol)',
});
add({
  name: 'call', mnemonic: 'call', opcode: Opcode.CALL, form: 'call', op: 'call', width: 64, dst: ZERO,
  src: eq(CallSrc.HELPER), offset: ZERO, imm: ANY, group: 'base32', cpu: 1,
  description: 'call helper function imm',
});
add({
  name: 'call_local', mnemonic: 'call local', opcode: Opcode.CALL, form: 'call-local', op: 'call',
  width: 64, dst: ZERO, src: eq(CallSrc.LOCAL), offset: ZERO, imm: ANY, group: 'base32', cpu: 3,
  description: 'call the program-local function at pc + imm + 1',
});
add({
  name: 'call_btf', mnemonic: 'call runtime', opcode: Opcode.CALL, form: 'call-btf', op: 'call',
  width: 64, dst: ZERO, src: eq(CallSrc.BTF_ID), offset: ZERO, imm: ANY, group: 'base32', cpu: 3,
  description: 'call the helper function with BTF id imm',
});
add({
  name: 'callx', mnemonic: 'call', opcode: Opcode.CALLX, form: 'callx', op: 'callx', width: 64, dst: REG,
  src: ZERO, offset: ZERO, imm: ZERO, group: 'callx', cpu: 1,
  description: 'call the helper function whose id is in dst',
});
add({
  name: 'exit', mnemonic: 'exit', opcode: Opcode.EXIT, form: 'exit', op: 'exit', width: 64, dst: ZERO,
  src: ZERO, offset: ZERO, imm: ZERO, group: 'base32', cpu: 1, description: 'return',
});

// --- 64-bit immediate loads (RFC 9669 §5.4) --------------------------------------------------

const lddwDefs: { name: string; src: LddwSrc; description: string }[] = [
  { name: 'lddw', src: LddwSrc.IMM64, description: 'dst = (next_imm << 32) | imm' },
  { name: 'lddw_map_fd', src: LddwSrc.MAP_FD, description: 'dst = map_by_fd(imm)' },
  { name: 'lddw_map_value', src: LddwSrc.MAP_VALUE, description: 'dst = map_val(map_by_fd(imm)) + next_imm' },
  { name: 'lddw_var_addr', src: LddwSrc.VAR_ADDR, description: 'dst = var_addr(imm)' },
  { name: 'lddw_code_addr', src: LddwSrc.CODE_ADDR, description: 'dst = code_addr(imm)' },
  { name: 'lddw_map_idx', src: LddwSrc.MAP_IDX, description: 'dst = map_by_idx(imm)' },
  { name: 'lddw_map_idx_value', src: LddwSrc.MAP_IDX_VALUE, description: 'dst = map_val(map_by_idx(imm)) + next_imm' },
];
for (const def of lddwDefs) {
  add({
    name: def.name, mnemonic: 'lddw', opcode: Opcode.LDDW, form: 'lddw', op: 'lddw', width: 64, dst: REG,
    src: eq(def.src), offset: ZERO, imm: ANY, group: 'base64', cpu: 1, slots: 2,
    description: def.description,
  });
}

// --- Loads and stores (RFC 9669 §5.1-§5.3, §5.5) ----------------------------------------------

const sizes: { size: MemSize; bits: 8 | 16 | 32 | 64; suffix: string; c: string }[] = [
  { size: MemSize.W, bits: 32, suffix: 'w', c: 'u32' },
  { size: MemSize.H, bits: 16, suffix: 'h', c: 'u16' },
  { size: MemSize.B, bits: 8, suffix: 'b', c: 'u8' },
  { size: MemSize.DW, bits: 64, suffix: 'dw', c: 'u64' },
];

for (const s of sizes) {
  const group: Group = s.bits === 64 ? 'base64' : 'base32';
  add({
    name: `ldx${s.suffix}`, mnemonic: `ldx${s.suffix}`, opcode: InsnClass.LDX | MemMode.MEM | s.size,
    form: 'ldx', op: 'ldx', width: s.bits, dst: REG, src: REG, offset: ANY, imm: ZERO, group, cpu: 1,
    description: `dst = *(${s.c} *)(src + offset)`,
  });
  if (s.bits !== 64) {
    add({
      name: `ldxs${s.suffix}`, mnemonic: `ldxs${s.suffix}`, opcode: InsnClass.LDX | MemMode.MEMSX | s.size,
      form: 'ldx', op: 'ldxs', width: s.bits, dst: REG, src: REG, offset: ANY, imm: ZERO, group: 'base64',
      cpu: 4, description: `dst = *(s${s.bits} *)(src + offset)`,
    });
    add({
      name: `ldabs${s.suffix}`, mnemonic: `ldabs${s.suffix}`, opcode: InsnClass.LD | MemMode.ABS | s.size,
      form: 'ldabs', op: 'ldabs', width: s.bits, dst: ZERO, src: ZERO, offset: ZERO, imm: ANY,
      group: 'packet', cpu: 1, description: `r0 = ntoh(*(${s.c} *)(skb->data + imm)) (legacy)`,
    });
    add({
      name: `ldind${s.suffix}`, mnemonic: `ldind${s.suffix}`, opcode: InsnClass.LD | MemMode.IND | s.size,
      form: 'ldind', op: 'ldind', width: s.bits, dst: ZERO, src: REG, offset: ZERO, imm: ANY,
      group: 'packet', cpu: 1, description: `r0 = ntoh(*(${s.c} *)(skb->data + src + imm)) (legacy)`,
    });
  }
  add({
    name: `st${s.suffix}`, mnemonic: `st${s.suffix}`, opcode: InsnClass.ST | MemMode.MEM | s.size,
    form: 'st', op: 'st', width: s.bits, dst: REG, src: ZERO, offset: ANY, imm: ANY, group, cpu: 1,
    description: `*(${s.c} *)(dst + offset) = imm`,
  });
  add({
    name: `stx${s.suffix}`, mnemonic: `stx${s.suffix}`, opcode: InsnClass.STX | MemMode.MEM | s.size,
    form: 'stx', op: 'stx', width: s.bits, dst: REG, src: REG, offset: ANY, imm: ZERO, group, cpu: 1,
    description: `*(${s.c} *)(dst + offset) = src`,
  });
}

// --- Atomics (RFC 9669 §5.3) ------------------------------------------------------------------

const atomicDefs: { op: Operation; imm: AtomicOp; words: string; c: string }[] = [
  { op: 'atomic_add', imm: AtomicOp.ADD, words: 'add', c: 'lock *(uN *)(dst + offset) += src' },
  { op: 'atomic_or', imm: AtomicOp.OR, words: 'or', c: 'lock *(uN *)(dst + offset) |= src' },
  { op: 'atomic_and', imm: AtomicOp.AND, words: 'and', c: 'lock *(uN *)(dst + offset) &= src' },
  { op: 'atomic_xor', imm: AtomicOp.XOR, words: 'xor', c: 'lock *(uN *)(dst + offset) ^= src' },
  { op: 'atomic_fetch_add', imm: AtomicOp.FETCH_ADD, words: 'fetch add', c: 'src = atomic_fetch_add((uN *)(dst + offset), src)' },
  { op: 'atomic_fetch_or', imm: AtomicOp.FETCH_OR, words: 'fetch or', c: 'src = atomic_fetch_or((uN *)(dst + offset), src)' },
  { op: 'atomic_fetch_and', imm: AtomicOp.FETCH_AND, words: 'fetch and', c: 'src = atomic_fetch_and((uN *)(dst + offset), src)' },
  { op: 'atomic_fetch_xor', imm: AtomicOp.FETCH_XOR, words: 'fetch xor', c: 'src = atomic_fetch_xor((uN *)(dst + offset), src)' },
  { op: 'atomic_xchg', imm: AtomicOp.XCHG, words: 'xchg', c: 'src = xchg((uN *)(dst + offset), src)' },
  { op: 'atomic_cmpxchg', imm: AtomicOp.CMPXCHG, words: 'cmpxchg', c: 'r0 = cmpxchg((uN *)(dst + offset), r0, src)' },
];

for (const width of [32, 64] as const) {
  for (const def of atomicDefs) {
    add({
      name: `lock_${def.words.replace(' ', '_')}${width}`,
      mnemonic: `lock ${def.words}${width === 32 ? '32' : ''}`,
      opcode: width === 32 ? Opcode.ATOMIC32 : Opcode.ATOMIC64, form: 'atomic', op: def.op, width,
      dst: REG, src: REG, offset: ANY, imm: eq(def.imm), group: width === 32 ? 'atomic32' : 'atomic64',
      cpu: 3, description: def.c.replace('uN', `u${width}`),
    });
  }
}

/** Every instruction of the ISA, in a stable order. */
export const INSTRUCTIONS: readonly InstructionSpec[] = Object.freeze(entries);

const byName = new Map<string, InstructionSpec>();
const byOpcode: InstructionSpec[][] = Array.from({ length: 256 }, () => []);
for (const spec of INSTRUCTIONS) {
  if (byName.has(spec.name)) throw new Error(`duplicate instruction table entry ${spec.name}`);
  byName.set(spec.name, spec);
  byOpcode[spec.opcode].push(spec);
}

export function specByName(name: string): InstructionSpec {
  const spec = byName.get(name);
  if (spec === undefined) throw new Error(`no instruction named ${name}`);
  return spec;
}

/** Table entries sharing one opcode byte (several when src, offset or imm select the operation). */
export function specsForOpcode(opcode: number): readonly InstructionSpec[] {
  return byOpcode[opcode & 0xff];
}

/** Which field, if any, distinguishes entries sharing an opcode byte. */
export function discriminant(spec: InstructionSpec): { field: 'src' | 'offset' | 'imm'; value: number } | undefined {
  for (const field of ['src', 'offset', 'imm'] as const) {
    const rule = spec[field];
    if (typeof rule === 'object') return { field, value: rule.eq };
  }
  return undefined;
}
