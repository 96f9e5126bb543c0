// Shapes of the ABI tables in linux.ts and efw.ts. Plain data: no stage of the
// pipeline is imported here, so every stage (elf, verifier, vm, program types)
// may import src/abi/.

/** A helper function as a program calls it: `call <id>`. */
export interface HelperDef {
  /** Call number (the `imm` of a `call` instruction with src_reg 0). */
  readonly id: number;
  /** Name without the `bpf_` prefix, as in `BPF_FUNC_<name>`. */
  readonly name: string;
  /** C prototype as a program sees it (present where we document one). */
  readonly proto?: string;
}

/** One field of a C struct, byte offsets for the BPF target (LP64). */
export interface FieldLayout {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** C type as written in the documented header, e.g. `uint32_t`, `void *`, `uint8_t[16]`. */
  readonly type: string;
}

/** A C struct: total size (with tail padding) and fields in declaration order. */
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly FieldLayout[];
}

/**
 * A program context: the struct a program gets in r1, plus which fields are
 * the packet pointers the verifier must treat as `data` / `data_end` /
 * `data_meta` (offset of the field, or -1 when the context has none), as in
 * the context descriptors of ebpf-for-windows and the Linux verifier's
 * ctx-access rules. `pointerSize` is 4 for Linux (`__u32 data`) and 8 for
 * EfW (`void *data`).
 */
export interface ContextLayout extends StructLayout {
  readonly data: number;
  readonly dataEnd: number;
  readonly dataMeta: number;
  readonly pointerSize: 4 | 8;
}

/** Name -> value. */
export type NumberTable = Readonly<Record<string, number>>;
