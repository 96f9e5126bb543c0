// A tiny writer of .BTF and .BTF.ext bytes for tests, written from Documentation/bpf/btf.rst's
// layouts. It writes whatever it is told (hostile values included); checking is the parser's job.

const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

/** INT encoding bits. */
export const SIGNED = 1;
export const CHAR = 2;
export const BOOL = 4;

export type Member = [name: string, type: number, bitOffset: number, bitfieldSize?: number];

export class BtfBuilder {
  private readonly stringBytes: number[] = [0];
  private readonly offsets = new Map<string, number>([['', 0]]);
  private readonly words: number[] = [];
  private nextId = 1;

  /** Offset of `s` in the string section, adding it on first use. */
  str(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const at = this.stringBytes.length;
    for (const byte of new TextEncoder().encode(s)) this.stringBytes.push(byte);
    this.stringBytes.push(0);
    this.offsets.set(s, at);
    return at;
  }

  /** The id the next type will get. */
  nextTypeId(): number {
    return this.nextId;
  }

  /** Appends one type record from raw fields; returns its id. */
  raw(nameOff: number, info: number, sizeOrType: number, extra: number[] = []): number {
    this.words.push(nameOff, info >>> 0, sizeOrType >>> 0);
    for (const w of extra) this.words.push(w >>> 0);
    return this.nextId++;
  }

  private add(name: string, kind: number, vlen: number, sizeOrType: number, extra: number[] = [], kflag = false): number {
    return this.raw(this.str(name), ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, extra);
  }

  int(name: string, size: number, encoding = 0, bits = size * 8, offset = 0): number {
    return this.add(name, KIND.INT, 0, size, [(encoding << 24) | (offset << 16) | bits]);
  }
  ptr(type: number): number {
    return this.add('', KIND.PTR, 0, type);
  }
  array(elemType: number, indexType: number, nelems: number): number {
    return this.add('', KIND.ARRAY, 0, 0, [elemType, indexType, nelems]);
  }
  /** With `kflag`, member offsets carry a bitfield size in their top 8 bits. */
  struct(name: string, size: number, members: Member[], kflag = false, union = false): number {
    const extra = members.flatMap(([n, type, bitOffset, bitfieldSize = 0]) => [this.str(n), type, kflag ? (bitfieldSize << 24) | bitOffset : bitOffset]);
    return this.add(name, union ? KIND.UNION : KIND.STRUCT, members.length, size, extra, kflag);
  }
  union(name: string, size: number, members: Member[]): number {
    return this.struct(name, size, members, false, true);
  }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    return this.add(name, KIND.ENUM, values.length, size, values.flatMap(([n, v]) => [this.str(n), v]), signed);
  }
  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const extra = values.flatMap(([n, v]) => {
      const u = BigInt.asUintN(64, v);
      return [this.str(n), Number(u & 0xffffffffn), Number(u >> 32n)];
    });
    return this.add(name, KIND.ENUM64, values.length, size, extra, signed);
  }
  fwd(name: string, union = false): number {
    return this.add(name, KIND.FWD, 0, 0, [], union);
  }
  typedef(name: string, type: number): number {
    return this.add(name, KIND.TYPEDEF, 0, type);
  }
  volatile(type: number): number {
    return this.add('', KIND.VOLATILE, 0, type);
  }
  const(type: number): number {
    return this.add('', KIND.CONST, 0, type);
  }
  restrict(type: number): number {
    return this.add('', KIND.RESTRICT, 0, type);
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.add(name, KIND.FUNC, linkage, proto);
  }
  funcProto(returnType: number, params: [name: string, type: number][]): number {
    return this.add('', KIND.FUNC_PROTO, params.length, returnType, params.flatMap(([n, t]) => [this.str(n), t]));
  }
  var(name: string, type: number, linkage = 1): number {
    return this.add(name, KIND.VAR, 0, type, [linkage]);
  }
  datasec(name: string, size: number, vars: [type: number, offset: number, size: number][]): number {
    return this.add(name, KIND.DATASEC, vars.length, size, vars.flat());
  }
  float(name: string, size: number): number {
    return this.add(name, KIND.FLOAT, 0, size);
  }
  declTag(name: string, type: number, componentIdx = -1): number {
    return this.add(name, KIND.DECL_TAG, 0, type, [componentIdx]);
  }
  typeTag(name: string, type: number): number {
    return this.add(name, KIND.TYPE_TAG, 0, type);
  }

  /** The .BTF section: 24-byte header, types, then strings. */
  build(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + this.stringBytes.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xeb9f, true);
    out[2] = 1;
    view.setUint32(4, 24, true);
    view.setUint32(8, 0, true);
    view.setUint32(12, typeLen, true);
    view.setUint32(16, typeLen, true);
    view.setUint32(20, this.stringBytes.length, true);
    this.words.forEach((w, i) => view.setUint32(24 + i * 4, w, true));
    out.set(this.stringBytes, 24 + typeLen);
    return out;
  }
}

/** One .BTF.ext sub-section: a record size and groups of records (u32 words) per ELF section name offset. */
export interface ExtSubsection {
  recSize: number;
  groups: { section: number; records: number[][] }[];
}

export interface ExtParts {
  /** Defaults to 32 (with the CO-RE fields). Longer headers are zero-padded. */
  hdrLen?: number;
  func?: ExtSubsection;
  line?: ExtSubsection;
  core?: ExtSubsection;
}

function subsectionBytes(sub: ExtSubsection | undefined): number[] {
  if (sub === undefined) return [];
  const words = [sub.recSize];
  for (const g of sub.groups) {
    words.push(g.section, g.records.length);
    for (const r of g.records) words.push(...r, ...new Array<number>(Math.max(0, sub.recSize / 4 - r.length)).fill(0));
  }
  return words;
}

/** The .BTF.ext section; string offsets in records come from the BtfBuilder of the matching .BTF. */
export function buildExt(parts: ExtParts): Uint8Array {
  const hdrLen = parts.hdrLen ?? 32;
  const subs = [parts.func, parts.line, parts.core].map(subsectionBytes);
  const bodyWords = subs.flat();
  const out = new Uint8Array(hdrLen + bodyWords.length * 4);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  view.setUint32(4, hdrLen, true);
  let offset = 0;
  subs.forEach((words, i) => {
    const field = 8 + i * 8;
    if (field + 8 <= hdrLen) {
      view.setUint32(field, offset, true);
      view.setUint32(field + 4, words.length * 4, true);
    }
    offset += words.length * 4;
  });
  bodyWords.forEach((w, i) => view.setUint32(hdrLen + i * 4, w >>> 0, true));
  return out;
}
