// The shapes of parsed BTF (Documentation/bpf/btf.rst), shared by the parser, formatter and
// decoder. A BtfType is a plain object: only the fields its kind uses are present.

export class BtfError extends Error {
  override readonly name = 'BtfError';
}

export const enum BtfKind {
  VOID = 0,
  INT = 1,
  PTR = 2,
  ARRAY = 3,
  STRUCT = 4,
  UNION = 5,
  ENUM = 6,
  FWD = 7,
  TYPEDEF = 8,
  VOLATILE = 9,
  CONST = 10,
  RESTRICT = 11,
  FUNC = 12,
  FUNC_PROTO = 13,
  VAR = 14,
  DATASEC = 15,
  FLOAT = 16,
  DECL_TAG = 17,
  TYPE_TAG = 18,
  ENUM64 = 19,
}

/** Kind names as the kernel spells them (BTF_KIND_*), for messages. */
export const KIND_NAMES: readonly string[] = [
  'VOID', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE',
  'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
];

export type IntEncoding = 'signed' | 'char' | 'bool' | 'unsigned';

export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member from the start of its struct, in bits. */
  bitOffset: number;
  /** Width of a bitfield member in bits; 0 for an ordinary member. */
  bitfieldSize: number;
}

export interface BtfType {
  id: number;
  kind: BtfKind;
  name: string;
  /** INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC */
  size?: number;
  /** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO (return type), VAR, DECL_TAG, TYPE_TAG */
  type?: number;
  int?: { encoding: IntEncoding; offset: number; bits: number };
  /** STRUCT, UNION */
  members?: BtfMember[];
  /** ENUM, ENUM64 */
  enumValues?: { name: string; value: bigint }[];
  /** ENUM, ENUM64: the kind flag, set when the enumerators are signed. */
  signed?: boolean;
  array?: { elemType: number; indexType: number; nelems: number };
  /** FUNC_PROTO; a last parameter with type 0 and no name stands for `...`. */
  params?: { name: string; type: number }[];
  /** FUNC (0 static, 1 global, 2 extern) and VAR (0 static, 1 global, 2 extern). */
  linkage?: number;
  /** DATASEC */
  vars?: { type: number; offset: number; size: number }[];
  /** FWD: true for `union x;`, false for `struct x;`. */
  fwdUnion?: boolean;
  /** DECL_TAG: -1 when the tag is on the type itself, else the member or parameter index. */
  componentIdx?: number;
}

/** How deep resolve, sizeOf, format and decode follow references before giving up. */
export const MAX_DEPTH = 64;

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? `kind ${kind}`;
}

/** `type 5 (STRUCT flow)`: how messages name a type. */
export function describe(t: BtfType): string {
  return `type ${t.id} (${kindName(t.kind)}${t.name === '' ? '' : ` ${t.name}`})`;
}
