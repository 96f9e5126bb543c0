// The parsed .BTF section: type lookup, qualifier resolution and sizes. Formatting and decoding
// live in their own modules and see this class only through its public methods.
import { decodeValue } from './decode.js';
import { formatType, type FormatOptions } from './format.js';
import { parseBtfData } from './parse.js';
import type { BtfStrings } from './strings.js';
import { BtfError, BtfKind, describe, MAX_DEPTH, type BtfType } from './types.js';
import { validateTypes } from './validate.js';

/** Kinds that only rename or qualify the type they point at. */
export function isModifier(kind: BtfKind): boolean {
  return (
    kind === BtfKind.TYPEDEF || kind === BtfKind.CONST || kind === BtfKind.VOLATILE || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG
  );
}

export class Btf {
  private byName: Map<string, BtfType[]> | undefined;

  private constructor(
    /** Index = type id; types[0] is void. */
    readonly types: readonly BtfType[],
    /** The string section, which .BTF.ext refers into as well. */
    readonly strings: BtfStrings,
  ) {}

  /** Parses the contents of a .BTF section. Throws BtfError on anything malformed. */
  static parse(data: Uint8Array): Btf {
    const { types, strings } = parseBtfData(data);
    validateTypes(types);
    return new Btf(types, strings);
  }

  type(id: number): BtfType {
    if (!Number.isInteger(id) || id < 0 || id >= this.types.length) {
      throw new BtfError(`type ${id} does not exist (${this.types.length} types)`);
    }
    return this.types[id];
  }

  /** Follows typedefs, qualifiers and type tags to the type they stand for. */
  resolve(id: number): BtfType {
    const start = this.type(id);
    let t = start;
    for (let hops = 0; isModifier(t.kind); hops++) {
      if (hops === MAX_DEPTH) throw new BtfError(`${describe(start)}: more than ${MAX_DEPTH} typedefs and qualifiers in a row`);
      t = this.type(t.type ?? 0);
    }
    return t;
  }

  /** Size in bytes of a value of type `id`. */
  sizeOf(id: number): number {
    return this.size(id, 0);
  }

  private size(id: number, depth: number): number {
    const t = this.type(id);
    if (depth > MAX_DEPTH) throw new BtfError(`${describe(t)}: nested more than ${MAX_DEPTH} levels deep`);
    switch (t.kind) {
      case BtfKind.INT:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.DATASEC:
        return t.size ?? 0;
      case BtfKind.PTR:
        return 8;
      case BtfKind.TYPEDEF:
      case BtfKind.CONST:
      case BtfKind.VOLATILE:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
      case BtfKind.VAR:
        return this.size(t.type ?? 0, depth + 1);
      case BtfKind.ARRAY: {
        const nelems = t.array?.nelems ?? 0;
        const elem = this.size(t.array?.elemType ?? 0, depth + 1);
        const total = nelems * elem;
        if (total > Number.MAX_SAFE_INTEGER) throw new BtfError(`${describe(t)}: ${nelems} elements of ${elem} bytes are too large`);
        return total;
      }
      default:
        throw new BtfError(`${describe(t)} has no size`);
    }
  }

  /** The first type with this name (and kind, when given), in id order. */
  findByName(name: string, kind?: BtfKind): BtfType | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const t of this.types) {
        if (t.name === '') continue;
        const list = this.byName.get(t.name);
        if (list === undefined) this.byName.set(t.name, [t]);
        else list.push(t);
      }
    }
    const list = this.byName.get(name);
    return kind === undefined ? list?.[0] : list?.find((t) => t.kind === kind);
  }

  /** The DATASEC describing an ELF data section such as `.data`, `.rodata` or `.maps`. */
  datasec(name: string): BtfType | undefined {
    return this.findByName(name, BtfKind.DATASEC);
  }

  /** C-like text: `unsigned int`, `struct xdp_md`; with `expand`, the definition with its members. */
  format(id: number, options: FormatOptions = {}): string {
    return formatType(this, id, options);
  }

  /** A JavaScript view of a value of type `id` stored in `bytes` (little-endian). */
  decode(id: number, bytes: Uint8Array): unknown {
    return decodeValue(this, id, bytes);
  }
}
