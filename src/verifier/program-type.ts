// What the verifier needs to know of a program type, as types: its context layout (which fields
// are packet pointers, which are read-only), its helpers with Linux-bpf_func_proto-like argument
// kinds, and its return range. The rules of each program type are data in src/program-types/.

export type ArgKind =
  | 'anything' | 'const_map_ptr' | 'const_prog_array_ptr' | 'ptr_to_map_key' | 'ptr_to_map_value'
  | 'ptr_to_uninit_map_value' | 'ptr_to_ctx' | 'ptr_to_mem' | 'ptr_to_mem_or_null' | 'ptr_to_uninit_mem'
  | 'const_size' | 'const_size_or_zero' | 'ptr_to_func' | 'ptr_to_stack_or_null' | 'ptr_to_const_str'
  | 'ptr_to_alloc_mem' | 'const_alloc_size_or_zero' | 'ptr_to_spin_lock'
  /** A value the helper may ignore (trace_printk's unused arguments): uninitialised is allowed, a pointer is not. */
  | 'unused_or_value'
  /** Any initialised value, a pointer included: the helper only uses it as an address to read safely (probe_read's source). */
  | 'anything_or_pointer'
  /** The context pointer itself or the number 0 (ARG_PTR_TO_CTX_OR_NULL). */
  | 'ptr_to_ctx_or_null';

export type RetKind = 'integer' | 'void' | 'ptr_to_map_value_or_null' | 'ptr_to_alloc_mem_or_null';

export interface HelperRule {
  readonly name: string;
  readonly args: readonly ArgKind[];
  readonly ret: RetKind;
  /** Known range of an integer result (e.g. a u32), when narrower than 64 bits. */
  readonly retRange?: readonly [bigint, bigint];
  /** The helper may move or resize the packet: every packet pointer is invalid afterwards. */
  readonly changesPacket?: boolean;
  /** Linux map types the map argument may have (any when absent). */
  readonly mapTypes?: readonly number[];
  /**
   * The helper runs the function in its ptr_to_func argument zero or more times: `loop` passes
   * (index, ctx), `for_each_map_elem` passes (map, key, value, ctx); ctx is the caller's r3.
   */
  readonly callback?: 'loop' | 'for_each_map_elem';
  /** The register (1-5) holding the size of every memory argument (memcpy's r3); default: the next argument. */
  readonly sizeRegister?: number;
  /**
   * What the helper writes into its ptr_to_uninit_* buffer on every outcome, errors included:
   * only that is initialised afterwards. Default: the whole buffer (a map value, or as many bytes
   * as its size argument's smallest value). 'nothing': it may write nothing (an empty queue, a
   * failed copy). `{ size, ifAtMost }`: the size in register `size`, when that is proven to be at
   * most the size in register `ifAtMost` (memcpy_s fails, writing nothing, otherwise).
   */
  readonly writes?: 'nothing' | { readonly size: number; readonly ifAtMost: number };
  /**
   * A printf-style helper: the register of its format string (and of the format's size, when it
   * has one), and where its arguments are: the registers from `args` on, or (`array`) a u64
   * array in `args` whose size in bytes is in the next register.
   */
  readonly printf?: { readonly format: number; readonly formatSize?: number; readonly args: number; readonly array?: boolean };
  /** The helper changes its map argument (update, delete, push, pop): refused on read-only maps. */
  readonly changesMap?: boolean;
}

export type ContextFieldKind = 'scalar' | 'packet' | 'packet_end' | 'packet_meta';

export interface ContextField {
  readonly offset: number;
  readonly size: number;
  readonly kind: ContextFieldKind;
  readonly readOnly: boolean;
}

export interface ProgramTypeRules {
  readonly name: string;
  readonly context: { readonly size: number; readonly fields: readonly ContextField[] };
  readonly helpers: ReadonlyMap<number, HelperRule>;
  /** Allowed values of r0 at exit; absent: any number. */
  readonly returnRange?: readonly [bigint, bigint];
  /** Whether r0 must hold a number at exit (PREVAIL's generic test platform does not ask). */
  readonly checkReturn?: boolean;
  /** Context accesses need not start at a multiple of their size (PREVAIL's test platform). */
  readonly misalignedContext?: boolean;
  /**
   * Atomic operations need no natural alignment (PREVAIL's test platform). Never on ebpf-ts' own
   * types: WebAssembly's atomics trap on a misaligned address.
   */
  readonly misalignedAtomics?: boolean;
  /**
   * Which instruction classes beyond the portable ones the type allows: `legacyPacketLoads`, the
   * ld_abs/ld_ind loads from the packet of an skb context (Linux: socket filters and tc only).
   */
  readonly legacyPacketLoads?: boolean;
  /**
   * Whether exits (and tail calls) while a ring-buffer reservation may be held are errors. Only
   * PREVAIL's generic test platform, which does not track references, turns this off.
   */
  readonly checkReleased?: boolean;
}
