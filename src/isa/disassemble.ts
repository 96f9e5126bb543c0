import type { Instruction } from './instruction.js';
import { lddwValue } from './instruction.js';
import type { Operation } from './table.js';
import { LddwSrc } from './opcodes.js';

/**
 * `conformance`: the assembly dialect of the bpf_conformance suite (`add32 %r0, 1`), which the
 * assembler reads back. `llvm`: the C-like syntax of llvm-objdump and the Linux verifier log
 * (`w0 += 1`, `r0 = *(u32 *)(r1 + 4)`, `if r1 > r2 goto +3`).
 */
export type Syntax = 'conformance' | 'llvm';

export interface FormatOptions {
  /** Names helper ids in calls (e.g. `bpf_map_lookup_elem`); `call 1` when it returns undefined. */
  readonly helperName?: (id: number) => string | undefined;
  /** What an lddw loads, when the caller knows better (`map[counters]`); llvm syntax only. */
  readonly lddwText?: (insn: Instruction) => string | undefined;
}

const signed = (n: number): string => (n < 0 ? `-${-n}` : `+${n}`);

/** Small immediates in decimal, large ones as hex of their 32 bits (what a reader recognises). */
function immText(imm: number): string {
  if (imm > -4096 && imm < 4096) return String(imm);
  return '0x' + (imm >>> 0).toString(16);
}

function memOperand(reg: number, offset: number): string {
  return `[%r${reg}${offset < 0 ? '-' : '+'}${Math.abs(offset)}]`;
}

function lddwOperand(insn: Instruction): string {
  const next = insn.nextImm ?? 0;
  // The second imm only means something for the map-value forms; shown elsewhere when set.
  const extra = next === 0 ? '' : `, ${next}`;
  switch (insn.src) {
    case LddwSrc.IMM64:
      return '0x' + lddwValue(insn).toString(16);
    case LddwSrc.MAP_FD:
      return `map_fd(${insn.imm}${extra})`;
    case LddwSrc.MAP_VALUE:
      return `map_value(${insn.imm}, ${next})`;
    case LddwSrc.VAR_ADDR:
      return `var_addr(${insn.imm}${extra})`;
    case LddwSrc.CODE_ADDR:
      return `code_addr(${insn.imm}${extra})`;
    case LddwSrc.MAP_IDX:
      return `map_idx(${insn.imm}${extra})`;
    default:
      return `map_idx_value(${insn.imm}, ${next})`;
  }
}

function formatConformance(insn: Instruction): string {
  const { spec } = insn;
  const mn = spec.mnemonic;
  switch (spec.form) {
    case 'alu-imm':
      return `${mn} %r${insn.dst}, ${immText(insn.imm)}`;
    case 'alu-reg':
      return `${mn} %r${insn.dst}, %r${insn.src}`;
    case 'neg':
    case 'endian':
      return `${mn} %r${insn.dst}`;
    case 'lddw':
      return `${mn} %r${insn.dst}, ${lddwOperand(insn)}`;
    case 'ldabs':
      return `${mn} ${immText(insn.imm)}`;
    case 'ldind':
      return `${mn} %r${insn.src}, ${immText(insn.imm)}`;
    case 'ldx':
      return `${mn} %r${insn.dst}, ${memOperand(insn.src, insn.offset)}`;
    case 'st':
      return `${mn} ${memOperand(insn.dst, insn.offset)}, ${immText(insn.imm)}`;
    case 'stx':
    case 'atomic':
      return `${mn} ${memOperand(insn.dst, insn.offset)}, %r${insn.src}`;
    case 'jmp-imm':
      return `${mn} %r${insn.dst}, ${immText(insn.imm)}, ${signed(insn.offset)}`;
    case 'jmp-reg':
      return `${mn} %r${insn.dst}, %r${insn.src}, ${signed(insn.offset)}`;
    case 'ja':
      return `${mn} ${signed(insn.offset)}`;
    case 'ja32':
      return `${mn} ${signed(insn.imm)}`;
    case 'call':
      return `call ${insn.imm}`;
    case 'call-local':
      return `call local ${signed(insn.imm)}`;
    case 'call-btf':
      return `call runtime ${insn.imm}`;
    case 'callx':
      return `call %r${insn.dst}`;
    case 'exit':
      return 'exit';
  }
}

const llvmAluOperator: Partial<Record<Operation, string>> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', sdiv: 's/=', or: '|=', and: '&=', lsh: '<<=',
  rsh: '>>=', mod: '%=', smod: 's%=', xor: '^=', mov: '=', arsh: 's>>=',
};

const llvmJmpOperator: Partial<Record<Operation, string>> = {
  jeq: '==', jgt: '>', jge: '>=', jset: '&', jne: '!=', jsgt: 's>', jsge: 's>=', jlt: '<',
  jle: '<=', jslt: 's<', jsle: 's<=',
};

const atomicWord: Partial<Record<Operation, string>> = {
  atomic_add: '+=', atomic_or: '|=', atomic_and: '&=', atomic_xor: '^=',
};

function llvmAddr(reg: number, offset: number): string {
  return `r${reg} ${offset < 0 ? '-' : '+'} ${Math.abs(offset)}`;
}

function llvmLddw(insn: Instruction): string {
  const next = insn.nextImm ?? 0;
  const plus = next === 0 ? '' : ` + ${next}`;
  switch (insn.src) {
    case LddwSrc.IMM64:
      return '0x' + lddwValue(insn).toString(16);
    case LddwSrc.MAP_FD:
      return `map[fd:${insn.imm}]`;
    case LddwSrc.MAP_VALUE:
      return `map_value[fd:${insn.imm}]${plus}`;
    case LddwSrc.VAR_ADDR:
      return `var[${insn.imm}]`;
    case LddwSrc.CODE_ADDR:
      return `code[pc${signed(insn.imm)}]`;
    case LddwSrc.MAP_IDX:
      return `map[idx:${insn.imm}]`;
    default:
      return `map_value[idx:${insn.imm}]${plus}`;
  }
}

function formatLlvm(insn: Instruction, options: FormatOptions): string {
  const { spec } = insn;
  const r = spec.width === 32 ? 'w' : 'r';
  const size = `u${spec.width}`;
  switch (spec.form) {
    case 'alu-imm':
      return `${r}${insn.dst} ${llvmAluOperator[spec.op]} ${insn.imm}`;
    case 'alu-reg':
      if (spec.op.startsWith('movsx')) return `${r}${insn.dst} = (s${spec.op.slice(5)})${r}${insn.src}`;
      return `${r}${insn.dst} ${llvmAluOperator[spec.op]} ${r}${insn.src}`;
    case 'neg':
      return `${r}${insn.dst} = -${r}${insn.dst}`;
    case 'endian':
      return `r${insn.dst} = ${spec.op}${spec.width} r${insn.dst}`;
    case 'lddw':
      return `r${insn.dst} = ${options.lddwText?.(insn) ?? llvmLddw(insn)} ll`;
    case 'ldabs':
      return `r0 = *(${size} *)skb[${insn.imm}]`;
    case 'ldind':
      return `r0 = *(${size} *)skb[r${insn.src} + ${insn.imm}]`;
    case 'ldx':
      return `r${insn.dst} = *(${spec.op === 'ldxs' ? 's' : 'u'}${spec.width} *)(${llvmAddr(insn.src, insn.offset)})`;
    case 'st':
      return `*(${size} *)(${llvmAddr(insn.dst, insn.offset)}) = ${insn.imm}`;
    case 'stx':
      return `*(${size} *)(${llvmAddr(insn.dst, insn.offset)}) = r${insn.src}`;
    case 'atomic': {
      const addr = llvmAddr(insn.dst, insn.offset);
      const word = atomicWord[spec.op];
      if (word !== undefined) return `lock *(${size} *)(${addr}) ${word} ${r}${insn.src}`;
      if (spec.op === 'atomic_xchg') return `${r}${insn.src} = xchg${spec.width === 32 ? '32' : ''}_${spec.width}(${addr}, ${r}${insn.src})`;
      if (spec.op === 'atomic_cmpxchg') return `${r}0 = cmpxchg${spec.width === 32 ? '32' : ''}_${spec.width}(${addr}, ${r}0, ${r}${insn.src})`;
      return `${r}${insn.src} = ${spec.op}((${size} *)(${addr}), ${r}${insn.src})`;
    }
    case 'jmp-imm':
      return `if ${r}${insn.dst} ${llvmJmpOperator[spec.op]} ${insn.imm} goto ${signed(insn.offset)}`;
    case 'jmp-reg':
      return `if ${r}${insn.dst} ${llvmJmpOperator[spec.op]} ${r}${insn.src} goto ${signed(insn.offset)}`;
    case 'ja':
      return `goto ${signed(insn.offset)}`;
    case 'ja32':
      return `gotol ${signed(insn.imm)}`;
    case 'call': {
      const name = options.helperName?.(insn.imm);
      return name === undefined ? `call ${insn.imm}` : `call ${name}#${insn.imm}`;
    }
    case 'call-local':
      return `call pc${signed(insn.imm)}`;
    case 'call-btf':
      return `call btf#${insn.imm}`;
    case 'callx':
      return `callx r${insn.dst}`;
    case 'exit':
      return 'exit';
  }
}

/** Formats one instruction in the given syntax. */
export function formatInstruction(insn: Instruction, syntax: Syntax = 'llvm', options: FormatOptions = {}): string {
  return syntax === 'conformance' ? formatConformance(insn) : formatLlvm(insn, options);
}

export interface DisassembleOptions extends FormatOptions {
  readonly syntax?: Syntax;
  /** Prefix each line with its slot number (`  12: `). Default true for llvm, false for conformance. */
  readonly pcs?: boolean;
  /** Show the raw bytes of each slot, as llvm-objdump does. */
  readonly bytes?: Uint8Array;
}

/** Disassembles a decoded program into one line per instruction. */
export function disassemble(insns: readonly Instruction[], options: DisassembleOptions = {}): string[] {
  const syntax = options.syntax ?? 'llvm';
  const pcs = options.pcs ?? syntax === 'llvm';
  const width = String(Math.max(0, (insns.at(-1)?.pc ?? 0))).length;
  return insns.map((insn) => {
    let line = formatInstruction(insn, syntax, options);
    if (options.bytes !== undefined) {
      const raw = Array.from(options.bytes.subarray(insn.pc * 8, insn.pc * 8 + 8), (b) => b.toString(16).padStart(2, '0'));
      line = `${raw.join(' ')}  ${line}`;
    }
    return pcs ? `${String(insn.pc).padStart(width)}: ${line}` : line;
  });
}
