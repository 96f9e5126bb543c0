// BTF and BTF.ext: the type information clang emits beside eBPF code (Documentation/bpf/btf.rst).
export { Btf, isModifier } from './btf.js';
export { CORE_RELOCATION_KINDS, parseBtfExt, type BtfExt, type CoreRelocation, type FuncInfo, type LineInfo } from './ext.js';
export type { FormatOptions } from './format.js';
export type { BtfStrings } from './strings.js';
export { BtfError, BtfKind, KIND_NAMES, MAX_DEPTH, kindName, type BtfMember, type BtfType, type IntEncoding } from './types.js';
