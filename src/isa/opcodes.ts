// The numeric building blocks of eBPF opcodes (RFC 9669 §3-§5). These are the only place in the
// project where opcode numbers are written down; everything else composes or imports them.
// `const enum` so that the interpreter's `switch` sees literal cases and V8 can build a jump table.

/** Instruction class: the low 3 bits of the opcode. */
export const enum InsnClass {
  LD = 0x00,
  LDX = 0x01,
  ST = 0x02,
  STX = 0x03,
  ALU = 0x04,
  JMP = 0x05,
  JMP32 = 0x06,
  ALU64 = 0x07,
}

/** Source bit of arithmetic and jump opcodes. */
export const enum Source {
  K = 0x00,
  X = 0x08,
}

/** Operation code of ALU/ALU64 instructions (high 4 bits). */
export const enum AluOp {
  ADD = 0x00,
  SUB = 0x10,
  MUL = 0x20,
  DIV = 0x30,
  OR = 0x40,
  AND = 0x50,
  LSH = 0x60,
  RSH = 0x70,
  NEG = 0x80,
  MOD = 0x90,
  XOR = 0xa0,
  MOV = 0xb0,
  ARSH = 0xc0,
  END = 0xd0,
}

/** Operation code of JMP/JMP32 instructions (high 4 bits). */
export const enum JmpOp {
  JA = 0x00,
  JEQ = 0x10,
  JGT = 0x20,
  JGE = 0x30,
  JSET = 0x40,
  JNE = 0x50,
  JSGT = 0x60,
  JSGE = 0x70,
  CALL = 0x80,
  EXIT = 0x90,
  JLT = 0xa0,
  JLE = 0xb0,
  JSLT = 0xc0,
  JSLE = 0xd0,
}

/** Size field of load/store opcodes. */
export const enum MemSize {
  W = 0x00,
  H = 0x08,
  B = 0x10,
  DW = 0x18,
}

/** Mode field of load/store opcodes. */
export const enum MemMode {
  IMM = 0x00,
  ABS = 0x20,
  IND = 0x40,
  MEM = 0x60,
  MEMSX = 0x80,
  ATOMIC = 0xc0,
}

/** The `imm` field of atomic instructions. */
export const enum AtomicOp {
  ADD = 0x00,
  OR = 0x40,
  AND = 0x50,
  XOR = 0xa0,
  /** Flag: the old value is returned in src. FETCH alone is FETCH_ADD. */
  FETCH = 0x01,
  FETCH_ADD = ADD | FETCH,
  FETCH_OR = 0x41,
  FETCH_AND = 0x51,
  FETCH_XOR = 0xa1,
  XCHG = 0xe1,
  CMPXCHG = 0xf1,
}

/** `src` field of the lddw instruction: how the 64-bit immediate is to be read (RFC 9669 §5.4). */
export const enum LddwSrc {
  IMM64 = 0,
  MAP_FD = 1,
  MAP_VALUE = 2,
  VAR_ADDR = 3,
  CODE_ADDR = 4,
  MAP_IDX = 5,
  MAP_IDX_VALUE = 6,
}

/** `src` field of the call instruction. */
export const enum CallSrc {
  HELPER = 0,
  LOCAL = 1,
  BTF_ID = 2,
}

/** Every opcode byte the ISA defines, by name. */
export const enum Opcode {
  // ALU (32-bit)
  ADD32_IMM = InsnClass.ALU | AluOp.ADD | Source.K,
  ADD32_REG = InsnClass.ALU | AluOp.ADD | Source.X,
  SUB32_IMM = InsnClass.ALU | AluOp.SUB | Source.K,
  SUB32_REG = InsnClass.ALU | AluOp.SUB | Source.X,
  MUL32_IMM = InsnClass.ALU | AluOp.MUL | Source.K,
  MUL32_REG = InsnClass.ALU | AluOp.MUL | Source.X,
  DIV32_IMM = InsnClass.ALU | AluOp.DIV | Source.K,
  DIV32_REG = InsnClass.ALU | AluOp.DIV | Source.X,
  OR32_IMM = InsnClass.ALU | AluOp.OR | Source.K,
  OR32_REG = InsnClass.ALU | AluOp.OR | Source.X,
  AND32_IMM = InsnClass.ALU | AluOp.AND | Source.K,
  AND32_REG = InsnClass.ALU | AluOp.AND | Source.X,
  LSH32_IMM = InsnClass.ALU | AluOp.LSH | Source.K,
  LSH32_REG = InsnClass.ALU | AluOp.LSH | Source.X,
  RSH32_IMM = InsnClass.ALU | AluOp.RSH | Source.K,
  RSH32_REG = InsnClass.ALU | AluOp.RSH | Source.X,
  NEG32 = InsnClass.ALU | AluOp.NEG | Source.K,
  MOD32_IMM = InsnClass.ALU | AluOp.MOD | Source.K,
  MOD32_REG = InsnClass.ALU | AluOp.MOD | Source.X,
  XOR32_IMM = InsnClass.ALU | AluOp.XOR | Source.K,
  XOR32_REG = InsnClass.ALU | AluOp.XOR | Source.X,
  MOV32_IMM = InsnClass.ALU | AluOp.MOV | Source.K,
  MOV32_REG = InsnClass.ALU | AluOp.MOV | Source.X,
  ARSH32_IMM = InsnClass.ALU | AluOp.ARSH | Source.K,
  ARSH32_REG = InsnClass.ALU | AluOp.ARSH | Source.X,
  LE = InsnClass.ALU | AluOp.END | Source.K,
  BE = InsnClass.ALU | AluOp.END | Source.X,
  // ALU64
  ADD64_IMM = InsnClass.ALU64 | AluOp.ADD | Source.K,
  ADD64_REG = InsnClass.ALU64 | AluOp.ADD | Source.X,
  SUB64_IMM = InsnClass.ALU64 | AluOp.SUB | Source.K,
  SUB64_REG = InsnClass.ALU64 | AluOp.SUB | Source.X,
  MUL64_IMM = InsnClass.ALU64 | AluOp.MUL | Source.K,
  MUL64_REG = InsnClass.ALU64 | AluOp.MUL | Source.X,
  DIV64_IMM = InsnClass.ALU64 | AluOp.DIV | Source.K,
  DIV64_REG = InsnClass.ALU64 | AluOp.DIV | Source.X,
  OR64_IMM = InsnClass.ALU64 | AluOp.OR | Source.K,
  OR64_REG = InsnClass.ALU64 | AluOp.OR | Source.X,
  AND64_IMM = InsnClass.ALU64 | AluOp.AND | Source.K,
  AND64_REG = InsnClass.ALU64 | AluOp.AND | Source.X,
  LSH64_IMM = InsnClass.ALU64 | AluOp.LSH | Source.K,
  LSH64_REG = InsnClass.ALU64 | AluOp.LSH | Source.X,
  RSH64_IMM = InsnClass.ALU64 | AluOp.RSH | Source.K,
  RSH64_REG = InsnClass.ALU64 | AluOp.RSH | Source.X,
  NEG64 = InsnClass.ALU64 | AluOp.NEG | Source.K,
  MOD64_IMM = InsnClass.ALU64 | AluOp.MOD | Source.K,
  MOD64_REG = InsnClass.ALU64 | AluOp.MOD | Source.X,
  XOR64_IMM = InsnClass.ALU64 | AluOp.XOR | Source.K,
  XOR64_REG = InsnClass.ALU64 | AluOp.XOR | Source.X,
  MOV64_IMM = InsnClass.ALU64 | AluOp.MOV | Source.K,
  MOV64_REG = InsnClass.ALU64 | AluOp.MOV | Source.X,
  ARSH64_IMM = InsnClass.ALU64 | AluOp.ARSH | Source.K,
  ARSH64_REG = InsnClass.ALU64 | AluOp.ARSH | Source.X,
  BSWAP = InsnClass.ALU64 | AluOp.END | Source.K,
  // Jumps (64-bit compare)
  JA = InsnClass.JMP | JmpOp.JA,
  JEQ_IMM = InsnClass.JMP | JmpOp.JEQ | Source.K,
  JEQ_REG = InsnClass.JMP | JmpOp.JEQ | Source.X,
  JGT_IMM = InsnClass.JMP | JmpOp.JGT | Source.K,
  JGT_REG = InsnClass.JMP | JmpOp.JGT | Source.X,
  JGE_IMM = InsnClass.JMP | JmpOp.JGE | Source.K,
  JGE_REG = InsnClass.JMP | JmpOp.JGE | Source.X,
  JSET_IMM = InsnClass.JMP | JmpOp.JSET | Source.K,
  JSET_REG = InsnClass.JMP | JmpOp.JSET | Source.X,
  JNE_IMM = InsnClass.JMP | JmpOp.JNE | Source.K,
  JNE_REG = InsnClass.JMP | JmpOp.JNE | Source.X,
  JSGT_IMM = InsnClass.JMP | JmpOp.JSGT | Source.K,
  JSGT_REG = InsnClass.JMP | JmpOp.JSGT | Source.X,
  JSGE_IMM = InsnClass.JMP | JmpOp.JSGE | Source.K,
  JSGE_REG = InsnClass.JMP | JmpOp.JSGE | Source.X,
  CALL = InsnClass.JMP | JmpOp.CALL | Source.K,
  CALLX = InsnClass.JMP | JmpOp.CALL | Source.X,
  EXIT = InsnClass.JMP | JmpOp.EXIT,
  JLT_IMM = InsnClass.JMP | JmpOp.JLT | Source.K,
  JLT_REG = InsnClass.JMP | JmpOp.JLT | Source.X,
  JLE_IMM = InsnClass.JMP | JmpOp.JLE | Source.K,
  JLE_REG = InsnClass.JMP | JmpOp.JLE | Source.X,
  JSLT_IMM = InsnClass.JMP | JmpOp.JSLT | Source.K,
  JSLT_REG = InsnClass.JMP | JmpOp.JSLT | Source.X,
  JSLE_IMM = InsnClass.JMP | JmpOp.JSLE | Source.K,
  JSLE_REG = InsnClass.JMP | JmpOp.JSLE | Source.X,
  // Jumps (32-bit compare)
  JA32 = InsnClass.JMP32 | JmpOp.JA,
  JEQ32_IMM = InsnClass.JMP32 | JmpOp.JEQ | Source.K,
  JEQ32_REG = InsnClass.JMP32 | JmpOp.JEQ | Source.X,
  JGT32_IMM = InsnClass.JMP32 | JmpOp.JGT | Source.K,
  JGT32_REG = InsnClass.JMP32 | JmpOp.JGT | Source.X,
  JGE32_IMM = InsnClass.JMP32 | JmpOp.JGE | Source.K,
  JGE32_REG = InsnClass.JMP32 | JmpOp.JGE | Source.X,
  JSET32_IMM = InsnClass.JMP32 | JmpOp.JSET | Source.K,
  JSET32_REG = InsnClass.JMP32 | JmpOp.JSET | Source.X,
  JNE32_IMM = InsnClass.JMP32 | JmpOp.JNE | Source.K,
  JNE32_REG = InsnClass.JMP32 | JmpOp.JNE | Source.X,
  JSGT32_IMM = InsnClass.JMP32 | JmpOp.JSGT | Source.K,
  JSGT32_REG = InsnClass.JMP32 | JmpOp.JSGT | Source.X,
  JSGE32_IMM = InsnClass.JMP32 | JmpOp.JSGE | Source.K,
  JSGE32_REG = InsnClass.JMP32 | JmpOp.JSGE | Source.X,
  JLT32_IMM = InsnClass.JMP32 | JmpOp.JLT | Source.K,
  JLT32_REG = InsnClass.JMP32 | JmpOp.JLT | Source.X,
  JLE32_IMM = InsnClass.JMP32 | JmpOp.JLE | Source.K,
  JLE32_REG = InsnClass.JMP32 | JmpOp.JLE | Source.X,
  JSLT32_IMM = InsnClass.JMP32 | JmpOp.JSLT | Source.K,
  JSLT32_REG = InsnClass.JMP32 | JmpOp.JSLT | Source.X,
  JSLE32_IMM = InsnClass.JMP32 | JmpOp.JSLE | Source.K,
  JSLE32_REG = InsnClass.JMP32 | JmpOp.JSLE | Source.X,
  // Loads and stores
  LDDW = InsnClass.LD | MemMode.IMM | MemSize.DW,
  LDABSW = InsnClass.LD | MemMode.ABS | MemSize.W,
  LDABSH = InsnClass.LD | MemMode.ABS | MemSize.H,
  LDABSB = InsnClass.LD | MemMode.ABS | MemSize.B,
  LDINDW = InsnClass.LD | MemMode.IND | MemSize.W,
  LDINDH = InsnClass.LD | MemMode.IND | MemSize.H,
  LDINDB = InsnClass.LD | MemMode.IND | MemSize.B,
  LDXW = InsnClass.LDX | MemMode.MEM | MemSize.W,
  LDXH = InsnClass.LDX | MemMode.MEM | MemSize.H,
  LDXB = InsnClass.LDX | MemMode.MEM | MemSize.B,
  LDXDW = InsnClass.LDX | MemMode.MEM | MemSize.DW,
  LDXSW = InsnClass.LDX | MemMode.MEMSX | MemSize.W,
  LDXSH = InsnClass.LDX | MemMode.MEMSX | MemSize.H,
  LDXSB = InsnClass.LDX | MemMode.MEMSX | MemSize.B,
  STW = InsnClass.ST | MemMode.MEM | MemSize.W,
  STH = InsnClass.ST | MemMode.MEM | MemSize.H,
  STB = InsnClass.ST | MemMode.MEM | MemSize.B,
  STDW = InsnClass.ST | MemMode.MEM | MemSize.DW,
  STXW = InsnClass.STX | MemMode.MEM | MemSize.W,
  STXH = InsnClass.STX | MemMode.MEM | MemSize.H,
  STXB = InsnClass.STX | MemMode.MEM | MemSize.B,
  STXDW = InsnClass.STX | MemMode.MEM | MemSize.DW,
  ATOMIC32 = InsnClass.STX | MemMode.ATOMIC | MemSize.W,
  ATOMIC64 = InsnClass.STX | MemMode.ATOMIC | MemSize.DW,
}

export const NUM_REGISTERS = 11;
/** r10, the read-only frame pointer. */
export const FRAME_POINTER = 10;
export const INSN_SIZE = 8;

export function insnClass(opcode: number): InsnClass {
  return (opcode & 0x07) as InsnClass;
}
