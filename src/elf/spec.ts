// The plain, inspectable result of opening an object (cilium/ebpf's CollectionSpec): no maps
// created, nothing run. `load` in src/runtime turns it into live maps and programs.
import type { Instruction } from '../isa/index.js';
import type { Btf, BtfExt, LineInfo } from '../btf/index.js';

/** Which headers the object was built against: decides helper ids, map type ids and layouts. */
export type Abi = 'linux' | 'efw';

export interface MapDefinition {
  readonly name: string;
  /** Map type number in the Linux numbering (EfW numbers are translated when the object is opened). */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly pinning: number;
  /** Template of the inner maps of an array/hash of maps. */
  readonly innerMap?: MapDefinition;
  /** Contents of a global-data map (.data, .rodata, .bss): its single value. */
  readonly initialValue?: Uint8Array;
  /** .rodata: programs may read but not write, user space may not change it after load. */
  readonly readOnly: boolean;
  /** Initial slots of a map-in-map or prog array: slot index -> map or program name. */
  readonly initialSlots?: readonly { readonly index: number; readonly name: string }[];
  readonly btfKeyType?: number;
  readonly btfValueType?: number;
  /** Where it was declared: BTF `.maps`, legacy `maps` section, or a global-data section. */
  readonly origin: 'btf' | 'legacy' | 'data';
  /** ebpf-for-windows legacy definitions carry ids that name inner maps. */
  readonly efwId?: number;
  readonly efwInnerId?: number;
  readonly efwInnerMapIndex?: number;
}

/** How one instruction of a program refers to something outside it. */
export type ProgramReference =
  | { readonly pc: number; readonly kind: 'map'; readonly map: string }
  | { readonly pc: number; readonly kind: 'map-value'; readonly map: string; readonly offset: number }
  | { readonly pc: number; readonly kind: 'function'; readonly target: number }
  | { readonly pc: number; readonly kind: 'call'; readonly target: number; readonly name: string };

export interface ProgramSpec {
  /** Function name (the FUNC symbol). */
  readonly name: string;
  /** ELF section it lives in, e.g. `xdp`, `socket`, `tracepoint/syscalls/sys_enter_open`. */
  readonly section: string;
  /** Program type inferred from the section name, e.g. `xdp`; `unspec` when unknown. */
  readonly type: string;
  /** Attach type or target from the section name (e.g. `connect4`), when it has one. */
  readonly attachTo?: string;
  /** The program and the subprograms it calls, linked into one instruction stream. */
  readonly instructions: readonly Instruction[];
  /** The linked code as bytes (lddw of maps keep imm 0 until load). */
  readonly code: Uint8Array;
  readonly references: readonly ProgramReference[];
  /** Source position of each instruction slot, when the object has BTF line info. */
  readonly lineInfo: readonly (LineInfo | undefined)[];
  /** Functions in the linked stream: entry at 0, subprograms after it. */
  readonly functions: readonly { readonly pc: number; readonly name: string }[];
  /** BTF type name of the context parameter (`xdp_md`, `xdp_md_t`…), when BTF says. */
  readonly contextType?: string;
  readonly license: string;
  /**
   * Why this program cannot be linked (a kfunc call, an unknown extern…): the rest of the object
   * still opens, but this program has no instructions and cannot be loaded.
   */
  readonly unsupported?: string;
}

export interface ObjectSpec {
  readonly path?: string;
  readonly abi: Abi;
  /** Why that ABI: an explicit option or the evidence found. */
  readonly abiReason: string;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapDefinition[];
  readonly license: string;
  readonly kernelVersion?: number;
  readonly btf?: Btf;
  readonly btfExt?: BtfExt;
}
