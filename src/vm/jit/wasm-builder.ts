// One typed façade over the WebAssembly binary format (WebAssembly Core Specification 2.0 §5,
// plus the sign-extension and threads proposals), so the compiler never touches raw bytes: a
// ModuleBuilder collects types, imports, functions and exports; a FunctionBuilder emits one
// function body through named methods, one per instruction the JIT uses.

export const enum ValType {
  I32 = 0x7f,
  I64 = 0x7e,
  F64 = 0x7c,
}

/** Block signature: no result, or one value. */
export type BlockType = 'void' | ValType;

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface MemoryLimits {
  readonly initial: number;
  readonly maximum?: number;
  readonly shared: boolean;
}

const UTF8 = new TextEncoder();

/** A growable byte buffer with the LEB128 encodings of the binary format (§5.2.2). */
class ByteWriter {
  private buf: Uint8Array<ArrayBuffer>;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b & 0xff;
  }

  bytes(data: Uint8Array | readonly number[]): void {
    this.ensure(data.length);
    if (data instanceof Uint8Array) {
      this.buf.set(data, this.length);
      this.length += data.length;
      return;
    }
    for (let i = 0; i < data.length; i++) this.buf[this.length++] = data[i] & 0xff;
  }

  /** Appends bytes [from, to) of `other`. */
  append(other: ByteWriter, from = 0, to = other.length): void {
    this.ensure(to - from);
    this.buf.set(other.buf.subarray(from, to), this.length);
    this.length += to - from;
  }

  u32(value: number): void {
    let v = value >>> 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
  }

  s32(value: number): void {
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  s64(value: bigint): void {
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a safe integer, without BigInt. */
  sSafe(value: number): void {
    let v = value;
    for (;;) {
      const b = v & 0x7f; // & keeps the low bits of any safe integer
      v = Math.floor(v / 128);
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  name(text: string): void {
    const data = UTF8.encode(text);
    this.u32(data.length);
    this.bytes(data);
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
}

/** Memory instructions: opcode in the low byte, natural alignment (log2 of the size) above. */

export const enum Load {
  i64_load = 0x29 | (3 << 8),
  i32_load = 0x28 | (2 << 8),
  i64_load8_u = 0x31 | (0 << 8),
  i64_load8_s = 0x30 | (0 << 8),
  i64_load16_u = 0x33 | (1 << 8),
  i64_load16_s = 0x32 | (1 << 8),
  i64_load32_u = 0x35 | (2 << 8),
  i64_load32_s = 0x34 | (2 << 8),
  i32_load8_u = 0x2d | (0 << 8),
  i32_load16_u = 0x2f | (1 << 8),
}

export const enum Store {
  i64_store = 0x37 | (3 << 8),
  i32_store = 0x36 | (2 << 8),
  i64_store8 = 0x3c | (0 << 8),
  i64_store16 = 0x3d | (1 << 8),
  i64_store32 = 0x3e | (2 << 8),
}


/** Operators without immediates. */
export const enum Op {
  unreachable = 0x00,
  drop = 0x1a,
  select = 0x1b,
  i32_eqz = 0x45,
  i32_eq = 0x46,
  i32_ne = 0x47,
  i32_lt_s = 0x48,
  i32_lt_u = 0x49,
  i32_gt_s = 0x4a,
  i32_gt_u = 0x4b,
  i32_le_s = 0x4c,
  i32_le_u = 0x4d,
  i32_ge_s = 0x4e,
  i32_ge_u = 0x4f,
  i64_eqz = 0x50,
  i64_eq = 0x51,
  i64_ne = 0x52,
  i64_lt_s = 0x53,
  i64_lt_u = 0x54,
  i64_gt_s = 0x55,
  i64_gt_u = 0x56,
  i64_le_s = 0x57,
  i64_le_u = 0x58,
  i64_ge_s = 0x59,
  i64_ge_u = 0x5a,
  i32_add = 0x6a,
  i32_sub = 0x6b,
  i32_mul = 0x6c,
  i32_div_s = 0x6d,
  i32_div_u = 0x6e,
  i32_rem_s = 0x6f,
  i32_rem_u = 0x70,
  i32_and = 0x71,
  i32_or = 0x72,
  i32_xor = 0x73,
  i32_shl = 0x74,
  i32_shr_s = 0x75,
  i32_shr_u = 0x76,
  i32_rotl = 0x77,
  i32_rotr = 0x78,
  i64_add = 0x7c,
  i64_sub = 0x7d,
  i64_mul = 0x7e,
  i64_div_s = 0x7f,
  i64_div_u = 0x80,
  i64_rem_s = 0x81,
  i64_rem_u = 0x82,
  i64_and = 0x83,
  i64_or = 0x84,
  i64_xor = 0x85,
  i64_shl = 0x86,
  i64_shr_s = 0x87,
  i64_shr_u = 0x88,
  i64_rotl = 0x89,
  i64_rotr = 0x8a,
  i32_wrap_i64 = 0xa7,
  i64_extend_i32_s = 0xac,
  i64_extend_i32_u = 0xad,
  i32_extend8_s = 0xc0,
  i32_extend16_s = 0xc1,
  i64_extend8_s = 0xc2,
  i64_extend16_s = 0xc3,
  i64_extend32_s = 0xc4,
}


/** Atomic read-modify-write operators (threads proposal, prefix 0xfe). */
export const enum AtomicRmw {
  i32_atomic_rmw_add = 0x1e | (2 << 8),
  i64_atomic_rmw_add = 0x1f | (3 << 8),
  i32_atomic_rmw_and = 0x2c | (2 << 8),
  i64_atomic_rmw_and = 0x2d | (3 << 8),
  i32_atomic_rmw_or = 0x33 | (2 << 8),
  i64_atomic_rmw_or = 0x34 | (3 << 8),
  i32_atomic_rmw_xor = 0x3a | (2 << 8),
  i64_atomic_rmw_xor = 0x3b | (3 << 8),
  i32_atomic_rmw_xchg = 0x41 | (2 << 8),
  i64_atomic_rmw_xchg = 0x42 | (3 << 8),
  i32_atomic_rmw_cmpxchg = 0x48 | (2 << 8),
  i64_atomic_rmw_cmpxchg = 0x49 | (3 << 8),
}


/** Emits one function body. Locals are numbered after the parameters. */
export class FunctionBuilder {
  private readonly locals: ValType[] = [];
  /** Open structured instructions, to check that every `end` closes something. */
  private depth = 0;
  /** This function's code is arena[codeStart, codeEnd); the end is set when the next one starts. */
  private readonly codeStart: number;
  private codeEnd = -1;

  constructor(
    readonly typeIndex: number,
    private readonly paramCount: number,
    /** Shared by the functions of a module, which are emitted one after the other. */
    private readonly code: ByteWriter,
  ) {
    this.codeStart = code.length;
  }

  /** Called when the module starts its next function: no more code for this one. */
  close(): void {
    if (this.codeEnd < 0) this.codeEnd = this.code.length;
  }

  /** Declares a local; returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  op(code: Op): this {
    this.code.byte(code);
    return this;
  }

  i32Const(value: number): this {
    this.code.byte(0x41);
    this.code.s32(value);
    return this;
  }

  i64Const(value: bigint | number): this {
    this.code.byte(0x42);
    if (typeof value === 'number' && Number.isSafeInteger(value)) this.code.sSafe(value);
    else this.code.s64(BigInt(value));
    return this;
  }

  localGet(index: number): this {
    this.code.byte(0x20);
    this.code.u32(index);
    return this;
  }

  localSet(index: number): this {
    this.code.byte(0x21);
    this.code.u32(index);
    return this;
  }

  localTee(index: number): this {
    this.code.byte(0x22);
    this.code.u32(index);
    return this;
  }

  globalGet(index: number): this {
    this.code.byte(0x23);
    this.code.u32(index);
    return this;
  }

  globalSet(index: number): this {
    this.code.byte(0x24);
    this.code.u32(index);
    return this;
  }

  load(op: Load, offset = 0): this {
    this.code.byte(op & 0xff);
    this.code.u32(op >> 8);
    this.code.u32(offset);
    return this;
  }

  store(op: Store, offset = 0): this {
    this.code.byte(op & 0xff);
    this.code.u32(op >> 8);
    this.code.u32(offset);
    return this;
  }

  atomic(op: AtomicRmw, offset = 0): this {
    this.code.byte(0xfe);
    this.code.u32(op & 0xff);
    this.code.u32(op >> 8);
    this.code.u32(offset);
    return this;
  }

  memorySize(): this {
    this.code.byte(0x3f);
    this.code.byte(0x00);
    return this;
  }

  private blockType(type: BlockType): void {
    this.code.byte(type === 'void' ? 0x40 : type);
  }

  block(type: BlockType = 'void'): this {
    this.code.byte(0x02);
    this.blockType(type);
    this.depth++;
    return this;
  }

  loop(type: BlockType = 'void'): this {
    this.code.byte(0x03);
    this.blockType(type);
    this.depth++;
    return this;
  }

  if(type: BlockType = 'void'): this {
    this.code.byte(0x04);
    this.blockType(type);
    this.depth++;
    return this;
  }

  else(): this {
    this.code.byte(0x05);
    return this;
  }

  end(): this {
    if (this.depth === 0) throw new Error('wasm-builder: end without an open block');
    this.depth--;
    this.code.byte(0x0b);
    return this;
  }

  br(label: number): this {
    this.code.byte(0x0c);
    this.code.u32(label);
    return this;
  }

  brIf(label: number): this {
    this.code.byte(0x0d);
    this.code.u32(label);
    return this;
  }

  brTable(labels: readonly number[], defaultLabel: number): this {
    this.code.byte(0x0e);
    this.code.u32(labels.length);
    for (const l of labels) this.code.u32(l);
    this.code.u32(defaultLabel);
    return this;
  }

  return(): this {
    this.code.byte(0x0f);
    return this;
  }

  call(funcIndex: number): this {
    this.code.byte(0x10);
    this.code.u32(funcIndex);
    return this;
  }

  /** Writes the body (local declarations, code, end), without the size prefix. */
  encodeTo(out: ByteWriter): void {
    if (this.depth !== 0) throw new Error(`wasm-builder: ${this.depth} blocks left open`);
    this.close();
    // Run-length encode the locals' types.
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    out.u32(groups.length);
    for (const [n, t] of groups) {
      out.u32(n);
      out.byte(t);
    }
    out.append(this.code, this.codeStart, this.codeEnd);
    out.byte(0x0b);
  }
}

type Import =
  | { readonly module: string; readonly name: string; readonly kind: 'func'; readonly type: number }
  | { readonly module: string; readonly name: string; readonly kind: 'memory'; readonly limits: MemoryLimits }
  | { readonly module: string; readonly name: string; readonly kind: 'global'; readonly type: ValType; readonly mutable: boolean };

interface GlobalDef {
  readonly type: ValType;
  readonly mutable: boolean;
  readonly init: number | bigint;
}

/** Collects a module's parts; `encode` writes the binary. Functions are indexed after imports. */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly imports: Import[] = [];
  private importedFuncs = 0;
  private importedGlobals = 0;
  private readonly globals: GlobalDef[] = [];
  private readonly functions: FunctionBuilder[] = [];
  private readonly exports: { name: string; kind: 0 | 3; index: number }[] = [];
  /** The code of every function, back to back. */
  private readonly arena = new ByteWriter(4096);

  /** Index of the function type (deduplicated). */
  type(params: readonly ValType[], results: readonly ValType[]): number {
    const key = params.join(',') + '>' + results.join(',');
    const known = this.typeKeys.get(key);
    if (known !== undefined) return known;
    this.types.push({ params, results });
    this.typeKeys.set(key, this.types.length - 1);
    return this.types.length - 1;
  }

  /** Imports a function; returns its function index. Import all functions before defining any. */
  importFunction(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.functions.length > 0) throw new Error('wasm-builder: imports must come before functions');
    this.imports.push({ module, name, kind: 'func', type: this.type(params, results) });
    return this.importedFuncs++;
  }

  importMemory(module: string, name: string, limits: MemoryLimits): void {
    this.imports.push({ module, name, kind: 'memory', limits });
  }

  /** Imports a global; returns its global index. Import all globals before defining any. */
  importGlobal(module: string, name: string, type: ValType, mutable: boolean): number {
    if (this.globals.length > 0) throw new Error('wasm-builder: global imports must come first');
    this.imports.push({ module, name, kind: 'global', type, mutable });
    return this.importedGlobals++;
  }

  /** Defines a global initialised to a constant; returns its index. */
  global(type: ValType, mutable: boolean, init: number | bigint): number {
    this.globals.push({ type, mutable, init });
    return this.importedGlobals + this.globals.length - 1;
  }

  /** Starts a function; its index is `funcIndex(builder)`. */
  function(params: readonly ValType[], results: readonly ValType[]): FunctionBuilder {
    this.functions[this.functions.length - 1]?.close();
    const f = new FunctionBuilder(this.type(params, results), params.length, this.arena);
    this.functions.push(f);
    return f;
  }

  /** Index of the next function `function()` will define. */
  get nextFunctionIndex(): number {
    return this.importedFuncs + this.functions.length;
  }

  exportFunction(name: string, index: number): void {
    this.exports.push({ name, kind: 0, index });
  }

  encode(): Uint8Array<ArrayBuffer> {
    const out = new ByteWriter(this.arena.length + 1024);
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, write: (w: ByteWriter) => void): void => {
      const body = new ByteWriter(id === 10 ? this.arena.length + 64 * this.functions.length + 16 : 256);
      write(body);
      out.byte(id);
      out.u32(body.length);
      out.append(body);
    };
    section(1, (w) => {
      w.u32(this.types.length);
      for (const t of this.types) {
        w.byte(0x60);
        w.u32(t.params.length);
        for (const p of t.params) w.byte(p);
        w.u32(t.results.length);
        for (const r of t.results) w.byte(r);
      }
    });
    if (this.imports.length > 0) {
      section(2, (w) => {
        w.u32(this.imports.length);
        for (const imp of this.imports) {
          w.name(imp.module);
          w.name(imp.name);
          if (imp.kind === 'func') {
            w.byte(0x00);
            w.u32(imp.type);
          } else if (imp.kind === 'memory') {
            w.byte(0x02);
            const { initial, maximum, shared } = imp.limits;
            w.byte(maximum === undefined ? 0x00 : shared ? 0x03 : 0x01);
            w.u32(initial);
            if (maximum !== undefined) w.u32(maximum);
          } else {
            w.byte(0x03);
            w.byte(imp.type);
            w.byte(imp.mutable ? 1 : 0);
          }
        }
      });
    }
    section(3, (w) => {
      w.u32(this.functions.length);
      for (const f of this.functions) w.u32(f.typeIndex);
    });
    if (this.globals.length > 0) {
      section(6, (w) => {
        w.u32(this.globals.length);
        for (const g of this.globals) {
          w.byte(g.type);
          w.byte(g.mutable ? 1 : 0);
          if (g.type === ValType.I64) {
            w.byte(0x42);
            w.s64(BigInt(g.init));
          } else {
            w.byte(0x41);
            w.s32(Number(g.init));
          }
          w.byte(0x0b);
        }
      });
    }
    section(7, (w) => {
      w.u32(this.exports.length);
      for (const e of this.exports) {
        w.name(e.name);
        w.byte(e.kind);
        w.u32(e.index);
      }
    });
    section(10, (w) => {
      w.u32(this.functions.length);
      const body = new ByteWriter(1024);
      for (const f of this.functions) {
        body.length = 0;
        f.encodeTo(body);
        w.u32(body.length);
        w.append(body);
      }
    });
    return out.finish();
  }
}
