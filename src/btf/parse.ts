// Reads the .BTF section's header, string section and type records into plain BtfType objects.
// Every length comes from the input, so each one is checked against the bytes actually present
// before it is used: a hostile count can never make us allocate or loop beyond the section.
import { BtfStrings } from './strings.js';
import { BtfError, BtfKind, describe, type BtfType, type IntEncoding } from './types.js';

export const BTF_MAGIC = 0xeb9f;
/** The magic as a little-endian reader sees a big-endian object's header. */
export const BTF_MAGIC_SWAPPED = 0x9feb;
const HEADER_SIZE = 24;
const TYPE_HEADER_SIZE = 12;
/** The kernel's BTF_MAX_TYPE: type ids are 20 bits wide in places. */
const MAX_TYPES = 0xfffff;
/** Bits of `info` that no kind uses (between vlen and kind, and above kind). */
const INFO_RESERVED = 0x60ff0000;

export interface ParsedBtf {
  types: BtfType[];
  strings: BtfStrings;
}

const INT_SIZES = new Set([1, 2, 4, 8, 16]);
const ENUM_SIZES = new Set([1, 2, 4, 8]);
const FLOAT_SIZES = new Set([2, 4, 8, 12, 16]);
const INT_ENCODINGS: ReadonlyMap<number, IntEncoding> = new Map([[0, 'unsigned'], [1, 'signed'], [2, 'char'], [4, 'bool']]);

/** Bytes of kind-specific data that follow the 12-byte common header. */
function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return vlen * 12;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return vlen * 8;
    default:
      return 0;
  }
}

/** Checks the common header shared by .BTF and .BTF.ext and returns its hdr_len. */
export function checkHeader(data: Uint8Array, view: DataView, section: string, minHeader: number): number {
  if (data.length < 8) throw new BtfError(`${section} section too short for a header (${data.length} bytes)`);
  const magic = view.getUint16(0, true);
  if (magic === BTF_MAGIC_SWAPPED) {
    throw new BtfError(`${section} section is big-endian (magic 0xeb9f stored as 9f eb); only little-endian objects are supported`);
  }
  if (magic !== BTF_MAGIC) throw new BtfError(`${section} section has bad magic 0x${magic.toString(16)}, expected 0xeb9f`);
  const version = data[2];
  if (version !== 1) throw new BtfError(`${section} version ${version} is not supported (expected 1)`);
  if (data[3] !== 0) throw new BtfError(`${section} header flags 0x${data[3].toString(16)} are not supported`);
  const hdrLen = view.getUint32(4, true);
  if (hdrLen < minHeader) throw new BtfError(`${section} header length ${hdrLen} is shorter than the ${minHeader}-byte header`);
  if (hdrLen > data.length) throw new BtfError(`${section} header length ${hdrLen} runs past the end of the section (${data.length} bytes)`);
  return hdrLen;
}

export function parseBtfData(data: Uint8Array): ParsedBtf {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // A header longer than ours comes from a newer producer: its extra fields are skipped.
  const hdrLen = checkHeader(data, view, 'BTF', HEADER_SIZE);
  const typeOff = view.getUint32(8, true);
  const typeLen = view.getUint32(12, true);
  const strOff = view.getUint32(16, true);
  const strLen = view.getUint32(20, true);
  const typeStart = hdrLen + typeOff;
  const strStart = hdrLen + strOff;
  if (typeStart + typeLen > data.length) {
    throw new BtfError(`BTF type section (${typeLen} bytes at offset ${typeOff}) runs past the end of the section (${data.length - hdrLen} bytes after the header)`);
  }
  if (strStart + strLen > data.length) {
    throw new BtfError(`BTF string section (${strLen} bytes at offset ${strOff}) runs past the end of the section (${data.length - hdrLen} bytes after the header)`);
  }
  const stringBytes = data.subarray(strStart, strStart + strLen);
  if (strLen > 0 && stringBytes[0] !== 0) throw new BtfError('BTF string section does not start with the empty string (a NUL byte)');
  if (strLen > 0 && stringBytes[strLen - 1] !== 0) throw new BtfError('BTF string section is not NUL-terminated');
  const strings = new BtfStrings(stringBytes);
  const types = readTypes(new DataView(data.buffer, data.byteOffset + typeStart, typeLen), strings);
  return { types, strings };
}

function readTypes(view: DataView, strings: BtfStrings): BtfType[] {
  const types: BtfType[] = [{ id: 0, kind: BtfKind.VOID, name: '' }];
  const end = view.byteLength;
  let at = 0;
  while (at < end) {
    const id = types.length;
    if (id > MAX_TYPES) throw new BtfError(`BTF has more than ${MAX_TYPES} types`);
    if (at + TYPE_HEADER_SIZE > end) throw new BtfError(`type ${id}: record truncated (${end - at} bytes left in the type section)`);
    const nameOff = view.getUint32(at, true);
    const info = view.getUint32(at + 4, true);
    const sizeOrType = view.getUint32(at + 8, true);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    if (kind === BtfKind.VOID || kind > BtfKind.ENUM64) throw new BtfError(`type ${id}: unknown kind ${kind}`);
    if ((info & INFO_RESERVED) !== 0) throw new BtfError(`type ${id}: reserved bits set in info 0x${info.toString(16)}`);
    const t: BtfType = { id, kind, name: strings.get(nameOff, `type ${id} name`) };
    const body = at + TYPE_HEADER_SIZE;
    const extra = extraSize(kind, vlen);
    if (body + extra > end) {
      throw new BtfError(`${describe(t)}: ${vlen === 0 ? 'data' : `${vlen} entries`} need ${extra} bytes but ${end - body} remain in the type section`);
    }
    readBody(t, view, body, vlen, kflag, sizeOrType, strings);
    types.push(t);
    at = body + extra;
  }
  return types;
}

function readBody(t: BtfType, view: DataView, at: number, vlen: number, kflag: boolean, sizeOrType: number, strings: BtfStrings): void {
  const u32 = (offset: number): number => view.getUint32(at + offset, true);
  const name = (offset: number, what: string): string => strings.get(offset, `${describe(t)} ${what}`);
  switch (t.kind) {
    case BtfKind.INT: {
      const data = u32(0);
      const encoding = INT_ENCODINGS.get((data >>> 24) & 0xf);
      const offset = (data >>> 16) & 0xff;
      const bits = data & 0xff;
      if ((data & 0xf000ff00) !== 0) throw new BtfError(`${describe(t)}: reserved bits set in int data 0x${data.toString(16)}`);
      if (encoding === undefined) throw new BtfError(`${describe(t)}: invalid int encoding ${(data >>> 24) & 0xf}`);
      if (!INT_SIZES.has(sizeOrType)) throw new BtfError(`${describe(t)}: invalid int size ${sizeOrType}`);
      if (offset + bits > sizeOrType * 8) throw new BtfError(`${describe(t)}: ${bits} bits at bit offset ${offset} do not fit in ${sizeOrType} bytes`);
      t.size = sizeOrType;
      t.int = { encoding, offset, bits };
      return;
    }
    case BtfKind.PTR:
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      t.type = sizeOrType;
      return;
    case BtfKind.ARRAY:
      t.array = { elemType: u32(0), indexType: u32(4), nelems: u32(8) };
      return;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      t.size = sizeOrType;
      t.members = [];
      for (let i = 0; i < vlen; i++) {
        const offset = u32(i * 12 + 8);
        // With the kind flag, the offset word packs the bitfield width above a 24-bit offset.
        t.members.push({
          name: name(u32(i * 12), `member ${i} name`),
          type: u32(i * 12 + 4),
          bitOffset: kflag ? offset & 0xffffff : offset,
          bitfieldSize: kflag ? offset >>> 24 : 0,
        });
      }
      return;
    case BtfKind.ENUM:
    case BtfKind.ENUM64: {
      if (!ENUM_SIZES.has(sizeOrType)) throw new BtfError(`${describe(t)}: invalid enum size ${sizeOrType}`);
      t.size = sizeOrType;
      t.signed = kflag;
      t.enumValues = [];
      const stride = t.kind === BtfKind.ENUM ? 8 : 12;
      for (let i = 0; i < vlen; i++) {
        let value: bigint;
        if (t.kind === BtfKind.ENUM) {
          value = BigInt(kflag ? view.getInt32(at + i * 8 + 4, true) : u32(i * 8 + 4));
        } else {
          const raw = (BigInt(u32(i * 12 + 8)) << 32n) | BigInt(u32(i * 12 + 4));
          value = kflag ? BigInt.asIntN(64, raw) : raw;
        }
        t.enumValues.push({ name: name(u32(i * stride), `enumerator ${i} name`), value });
      }
      return;
    }
    case BtfKind.FWD:
      t.fwdUnion = kflag;
      return;
    case BtfKind.FUNC:
      if (vlen > 2) throw new BtfError(`${describe(t)}: invalid linkage ${vlen}`);
      t.type = sizeOrType;
      t.linkage = vlen;
      return;
    case BtfKind.FUNC_PROTO:
      t.type = sizeOrType;
      t.params = [];
      for (let i = 0; i < vlen; i++) t.params.push({ name: name(u32(i * 8), `parameter ${i} name`), type: u32(i * 8 + 4) });
      return;
    case BtfKind.VAR: {
      const linkage = u32(0);
      if (linkage > 2) throw new BtfError(`${describe(t)}: invalid linkage ${linkage}`);
      t.type = sizeOrType;
      t.linkage = linkage;
      return;
    }
    case BtfKind.DATASEC:
      t.size = sizeOrType;
      t.vars = [];
      for (let i = 0; i < vlen; i++) t.vars.push({ type: u32(i * 12), offset: u32(i * 12 + 4), size: u32(i * 12 + 8) });
      return;
    case BtfKind.FLOAT:
      if (!FLOAT_SIZES.has(sizeOrType)) throw new BtfError(`${describe(t)}: invalid float size ${sizeOrType}`);
      t.size = sizeOrType;
      return;
    case BtfKind.DECL_TAG: {
      const componentIdx = view.getInt32(at, true);
      if (componentIdx < -1) throw new BtfError(`${describe(t)}: invalid component index ${componentIdx}`);
      t.type = sizeOrType;
      t.componentIdx = componentIdx;
      return;
    }
  }
}
