// Typed views of raw values: the bytes of a map value or data section, read as the BTF type
// describes them. Offsets come from the (possibly hostile) BTF, so every read is checked
// against the bytes given, and a budget caps how many values one call may produce (zero-size
// elements and overlapping members could otherwise multiply without bound).
import type { Btf } from './btf.js';
import { BtfError, BtfKind, describe, MAX_DEPTH, type BtfType } from './types.js';

const BASE_BUDGET = 1 << 16;
const ASCII = new TextDecoder('ascii');

function toNumberOrBigInt(v: bigint, bits: number): number | bigint {
  return bits > 32 ? v : Number(v);
}

class Decoder {
  private budget: number;
  private readonly view: DataView;

  constructor(
    private readonly btf: Btf,
    private readonly bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = BASE_BUDGET + 4 * bytes.length;
  }

  private spend(count: number, t: BtfType): void {
    this.budget -= count;
    if (this.budget < 0) throw new BtfError(`decode: ${describe(t)} produces too many values for ${this.bytes.length} bytes`);
  }

  private need(byteStart: number, byteCount: number, t: BtfType): void {
    if (byteStart + byteCount > this.bytes.length) {
      throw new BtfError(`decode: ${describe(t)} at byte ${byteStart} (${byteCount} bytes) lies outside the ${this.bytes.length}-byte value`);
    }
  }

  /** Unsigned value of `width` bits starting `bitStart` bits into the value (little-endian bit order). */
  private bits(bitStart: number, width: number, t: BtfType): bigint {
    const first = Math.floor(bitStart / 8);
    const last = Math.ceil((bitStart + width) / 8);
    this.need(first, last - first, t);
    let v = 0n;
    for (let i = last - 1; i >= first; i--) v = (v << 8n) | BigInt(this.bytes[i]);
    return (v >> BigInt(bitStart - first * 8)) & ((1n << BigInt(width)) - 1n);
  }

  /** Value of type `id` at bit `bitStart`; only ints may start inside a byte. */
  value(id: number, bitStart: number, depth: number): unknown {
    const t = this.btf.type(id);
    if (depth > MAX_DEPTH) throw new BtfError(`decode: ${describe(t)} is nested more than ${MAX_DEPTH} levels deep`);
    this.spend(1, t);
    if (t.kind !== BtfKind.INT && bitStart % 8 !== 0) throw new BtfError(`decode: ${describe(t)} at bit ${bitStart} is not byte-aligned`);
    const at = bitStart / 8;
    switch (t.kind) {
      case BtfKind.INT:
        return this.int(t, bitStart + (t.int?.offset ?? 0), t.int?.bits ?? 0);
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return this.enumValue(t, bitStart, (t.size ?? 0) * 8);
      case BtfKind.PTR: {
        this.need(at, 8, t);
        const v = this.view.getBigUint64(at, true);
        return v > BigInt(Number.MAX_SAFE_INTEGER) ? v : Number(v);
      }
      case BtfKind.FLOAT:
        this.need(at, t.size ?? 0, t);
        if (t.size === 4) return this.view.getFloat32(at, true);
        if (t.size === 8) return this.view.getFloat64(at, true);
        throw new BtfError(`decode: ${describe(t)}: ${t.size}-byte floats are not supported`);
      case BtfKind.TYPEDEF:
      case BtfKind.CONST:
      case BtfKind.VOLATILE:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
      case BtfKind.VAR:
        return this.value(t.type ?? 0, bitStart, depth + 1);
      case BtfKind.ARRAY:
        return this.array(t, at, depth);
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        this.need(at, t.size ?? 0, t);
        const out: Record<string, unknown> = {};
        this.members(t, bitStart, depth, out);
        return out;
      }
      case BtfKind.DATASEC: {
        this.need(at, t.size ?? 0, t);
        const out: Record<string, unknown> = {};
        for (const v of t.vars ?? []) {
          const variable = this.btf.type(v.type);
          if (variable.kind !== BtfKind.VAR) continue; // extern functions have no storage
          this.need(at + v.offset, v.size, variable);
          define(out, variable.name, this.value(v.type, (at + v.offset) * 8, depth + 1));
        }
        return out;
      }
      default:
        throw new BtfError(`decode: ${describe(t)} has no value to decode`);
    }
  }

  private int(t: BtfType, bitStart: number, width: number): unknown {
    const encoding = t.int?.encoding;
    if (bitStart % 8 === 0 && encoding !== 'bool' && (width === 8 || width === 16 || width === 32)) {
      const at = bitStart / 8;
      this.need(at, width / 8, t);
      const signed = encoding === 'signed';
      if (width === 8) return signed ? this.view.getInt8(at) : this.view.getUint8(at);
      if (width === 16) return signed ? this.view.getInt16(at, true) : this.view.getUint16(at, true);
      return signed ? this.view.getInt32(at, true) : this.view.getUint32(at, true);
    }
    const v = this.bits(bitStart, width, t);
    if (encoding === 'bool') return v !== 0n;
    return toNumberOrBigInt(encoding === 'signed' ? BigInt.asIntN(width, v) : v, width);
  }

  private enumValue(t: BtfType, bitStart: number, width: number): unknown {
    const raw = this.bits(bitStart, width, t);
    const v = t.signed === true ? BigInt.asIntN(width, raw) : raw;
    const match = t.enumValues?.find((e) => e.value === v);
    return match !== undefined ? match.name : toNumberOrBigInt(v, width);
  }

  private members(t: BtfType, bitStart: number, depth: number, out: Record<string, unknown>): void {
    for (const m of t.members ?? []) {
      const start = bitStart + m.bitOffset;
      let value: unknown;
      if (m.bitfieldSize > 0) {
        value = this.bitfield(m.type, start, m.bitfieldSize, t);
      } else {
        const target = this.btf.resolve(m.type);
        if (m.name === '' && (target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION)) {
          // C lets code name an anonymous struct's members directly, so they join this object.
          if (start % 8 !== 0) throw new BtfError(`decode: ${describe(target)} at bit ${start} is not byte-aligned`);
          if (depth + 1 > MAX_DEPTH) throw new BtfError(`decode: ${describe(target)} is nested more than ${MAX_DEPTH} levels deep`);
          this.spend(1, target);
          this.need(start / 8, target.size ?? 0, target);
          this.members(target, start, depth + 1, out);
          continue;
        }
        value = this.value(m.type, start, depth + 1);
      }
      // Unnamed bitfields are padding.
      if (m.name !== '') define(out, m.name, value);
    }
  }

  private bitfield(id: number, bitStart: number, width: number, container: BtfType): unknown {
    const t = this.btf.resolve(id);
    this.spend(1, t);
    if (t.kind === BtfKind.INT) return this.int(t, bitStart, width);
    if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) return this.enumValue(t, bitStart, width);
    throw new BtfError(`decode: ${describe(container)} has a bitfield of ${describe(t)}, expected an int or enum`);
  }

  private array(t: BtfType, at: number, depth: number): unknown {
    const { elemType = 0, nelems = 0 } = t.array ?? {};
    const elemSize = this.btf.sizeOf(elemType);
    this.need(at, nelems * elemSize, t);
    // Charged before the text scan too: overlapping members could rescan the same bytes forever.
    this.spend(nelems, t);
    if (this.isChar(elemType)) {
      const text = this.text(this.bytes.subarray(at, at + nelems));
      if (text !== undefined) return text;
    }
    const out: unknown[] = [];
    for (let i = 0; i < nelems; i++) out.push(this.value(elemType, (at + i * elemSize) * 8, depth + 1));
    return out;
  }

  /** Plain `char` (not `__u8`, not `unsigned char`): the C type of text. */
  private isChar(id: number): boolean {
    let t = this.btf.type(id);
    for (let hops = 0; hops < MAX_DEPTH && t.kind !== BtfKind.INT; hops++) {
      if (t.kind !== BtfKind.CONST && t.kind !== BtfKind.VOLATILE && t.kind !== BtfKind.RESTRICT && t.kind !== BtfKind.TYPE_TAG) return false;
      t = this.btf.type(t.type ?? 0);
    }
    return t.kind === BtfKind.INT && t.size === 1 && (t.name === 'char' || t.int?.encoding === 'char');
  }

  /** The string in a char array when it is printable text followed only by NULs. */
  private text(bytes: Uint8Array): string | undefined {
    const nul = bytes.indexOf(0);
    const end = nul < 0 ? bytes.length : nul;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (i < end ? !isPrintable(b) : b !== 0) return undefined;
    }
    return ASCII.decode(bytes.subarray(0, end));
  }
}

function isPrintable(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Sets a property even when the (untrusted) name is `__proto__`. */
function define(out: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
}

export function decodeValue(btf: Btf, id: number, bytes: Uint8Array): unknown {
  const t = btf.type(id);
  const size = btf.sizeOf(id);
  if (bytes.length < size) throw new BtfError(`decode: ${describe(t)} needs ${size} bytes, got ${bytes.length}`);
  return new Decoder(btf, bytes).value(id, 0, 0);
}
