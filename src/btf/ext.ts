// The .BTF.ext section: per-ELF-section function info, line info and CO-RE relocations, all
// referring to types and strings of the object's .BTF. Record sizes are read from the section,
// not assumed, so records a newer compiler extends still parse (their extra bytes are skipped).
import type { Btf } from './btf.js';
import { checkHeader } from './parse.js';
import { BtfError, BtfKind, describe } from './types.js';

export interface FuncInfo {
  /** Instruction index within its ELF section. */
  insnOffset: number;
  typeId: number;
  name: string;
}

export interface LineInfo {
  /** Instruction index within its ELF section. */
  insnOffset: number;
  fileName: string;
  line: number;
  column: number;
  lineText: string;
}

export interface CoreRelocation {
  /** Instruction index within its ELF section. */
  insnOffset: number;
  typeId: number;
  /** Member indices such as `0:1:2`; for type and enum relocations, a single index. */
  accessString: string;
  kind: number;
  kindName: string;
}

/** Each map is keyed by ELF section name (`xdp`, `.text`, ...). */
export interface BtfExt {
  funcInfo: Map<string, FuncInfo[]>;
  lineInfo: Map<string, LineInfo[]>;
  coreRelocations: Map<string, CoreRelocation[]>;
}

/** Relocation kind names as libbpf prints them (enum bpf_core_relo_kind order). */
export const CORE_RELOCATION_KINDS: readonly string[] = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
  'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
];

/** magic..line_info_len; the CO-RE fields follow when hdr_len says they are there. */
const MIN_HEADER = 24;
const CORE_HEADER = 32;
const INSN_SIZE = 8;
const ACCESS_STRING = /^\d+(:\d+)*$/;

type RecordReader<T> = (view: DataView, at: number, where: string) => T;

export function parseBtfExt(data: Uint8Array, btf: Btf): BtfExt {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hdrLen = checkHeader(data, view, 'BTF.ext', MIN_HEADER);
  const sub = <T>(field: number, what: string, minRecord: number, read: RecordReader<T>): Map<string, T[]> =>
    readSubsection(data, view, btf, hdrLen, view.getUint32(field, true), view.getUint32(field + 4, true), what, minRecord, read);
  const insnOffset = (v: DataView, at: number, where: string): number => {
    const bytes = v.getUint32(at, true);
    if (bytes % INSN_SIZE !== 0) throw new BtfError(`${where}: instruction offset ${bytes} is not a multiple of ${INSN_SIZE}`);
    return bytes / INSN_SIZE;
  };
  const funcInfo = sub(8, 'func_info', 8, (v, at, where): FuncInfo => {
    const typeId = v.getUint32(at + 4, true);
    const t = btf.type(typeId);
    if (t.kind !== BtfKind.FUNC) throw new BtfError(`${where}: refers to ${describe(t)}, expected a FUNC`);
    return { insnOffset: insnOffset(v, at, where), typeId, name: t.name };
  });
  const lineInfo = sub(16, 'line_info', 16, (v, at, where): LineInfo => {
    const lineCol = v.getUint32(at + 12, true);
    return {
      insnOffset: insnOffset(v, at, where),
      fileName: btf.strings.get(v.getUint32(at + 4, true), `${where} file name`),
      // The line number sits above a 10-bit column.
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
      lineText: btf.strings.get(v.getUint32(at + 8, true), `${where} line text`),
    };
  });
  const coreRelocations =
    hdrLen < CORE_HEADER
      ? new Map<string, CoreRelocation[]>()
      : sub(24, 'CO-RE relocation', 16, (v, at, where): CoreRelocation => {
          const typeId = v.getUint32(at + 4, true);
          if (typeId >= btf.types.length) throw new BtfError(`${where}: type ${typeId} does not exist (${btf.types.length} types)`);
          const accessString = btf.strings.get(v.getUint32(at + 8, true), `${where} access string`);
          if (!ACCESS_STRING.test(accessString)) throw new BtfError(`${where}: malformed access string ${JSON.stringify(accessString)}`);
          const kind = v.getUint32(at + 12, true);
          const kindName = CORE_RELOCATION_KINDS[kind];
          if (kindName === undefined) throw new BtfError(`${where}: unknown relocation kind ${kind}`);
          return { insnOffset: insnOffset(v, at, where), typeId, accessString, kind, kindName };
        });
  return { funcInfo, lineInfo, coreRelocations };
}

/**
 * A sub-section is a record size followed by groups: an ELF section name, a record count and
 * that many records.
 */
function readSubsection<T>(
  data: Uint8Array,
  view: DataView,
  btf: Btf,
  hdrLen: number,
  offset: number,
  length: number,
  what: string,
  minRecord: number,
  read: RecordReader<T>,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  if (length === 0) return out;
  const start = hdrLen + offset;
  const end = start + length;
  if (end > data.length) {
    throw new BtfError(`BTF.ext ${what} sub-section (${length} bytes at offset ${offset}) runs past the end of the section (${data.length - hdrLen} bytes after the header)`);
  }
  if (length < 4) throw new BtfError(`BTF.ext ${what} sub-section is too short for its record size (${length} bytes)`);
  const recSize = view.getUint32(start, true);
  if (recSize < minRecord || recSize % 4 !== 0) {
    throw new BtfError(`BTF.ext ${what} record size ${recSize} is invalid (at least ${minRecord}, a multiple of 4)`);
  }
  let at = start + 4;
  while (at < end) {
    if (at + 8 > end) throw new BtfError(`BTF.ext ${what}: section header truncated at offset ${at - hdrLen}`);
    const section = btf.strings.get(view.getUint32(at, true), `BTF.ext ${what} section name`);
    const count = view.getUint32(at + 4, true);
    at += 8;
    if (count === 0) throw new BtfError(`BTF.ext ${what} for section ${section} has no records`);
    if (count * recSize > end - at) {
      throw new BtfError(`BTF.ext ${what} for section ${section}: ${count} records of ${recSize} bytes run past the end of the sub-section (${end - at} bytes left)`);
    }
    let list = out.get(section);
    if (list === undefined) out.set(section, (list = []));
    for (let i = 0; i < count; i++, at += recSize) list.push(read(view, at, `BTF.ext ${what} ${i} of section ${section}`));
  }
  return out;
}
