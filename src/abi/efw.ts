// The ebpf-for-windows (EfW) ABI, as data: what an object compiled against the EfW headers
// contains, and how it translates to our native (Linux) numbering (DESIGN.md "ABI and
// compatibility"). include/efw/*.h declare the same facts for C programs; keep both in step.
//
// Sources (facts only; nothing here is copied code), all from the ebpf-for-windows project
// unless said otherwise:
// - include/ebpf_structs.h: enum bpf_map_type (EfW numbering), struct
//   _ebpf_map_definition_in_file, enum ebpf_helper_id_t (ids 1..32), enum bpf_prog_type,
//   enum bpf_attach_type, MAX_TAIL_CALL_CNT, the EBPF_MAP_FLAG_* perf-output flags.
// - include/bpf_helper_defs.h and its generated documentation: helper prototypes.
// - Helper ids 33 (get_current_process_start_key) and 34 (get_current_thread_create_time):
//   EfW pull request #4627 ("add bpf_get_current_thread_create_time and
//   bpf_get_current_process_start_key global helper functions") and the general helper
//   registry that lists them as helper_id 33 and 34. No id 35 could be found.
// - include/ebpf_nethooks.h (newest revision: BIND_PERMIT_SOFT/HARD, sock_addr verdict enum),
//   include/ebpf_xdp_test_hooks.h and XDP for Windows' eBPF hook header: contexts and
//   return codes, hook-specific helper ids (EXT_HELPER_FN_BASE 0xFFFF + n).
// - netebpfext program-info (context descriptors: which fields are data / data_end /
//   data_meta) and the section tables of netebpfext, the eBPF store and ntosebpfext
//   (section names `process`, `netevent_monitor`).
// Offsets were checked by compiling include/efw/*.h with `clang -target bpf` and asserting
// them (pointers are 8 bytes; enums are 4).

import type { ContextLayout, HelperDef, NumberTable, StructLayout } from './types.js';

/** Hook-specific helpers of a program type are numbered EFW_EXT_HELPER_FN_BASE + 1, + 2, ... */
export const EFW_EXT_HELPER_FN_BASE = 0xffff;

/** Largest chain of tail calls EfW allows (same value as Linux). */
export const EFW_MAX_TAIL_CALL_CNT = 33;

/**
 * ebpf_result_t values (include/ebpf_result.h) that EfW's helpers answer negated. bpf_tail_call
 * does: -EBPF_INVALID_ARGUMENT (-6) when the slot holds no program (empty, or an index past the
 * end), -EBPF_NO_MORE_TAIL_CALLS (-27) once the invocation has made its MAX_TAIL_CALL_CNT tail
 * calls, 0 when the tail call is set up.
 */
export const EFW_RESULT: NumberTable = Object.freeze({
  SUCCESS: 0,
  INVALID_ARGUMENT: 6,
  NO_MORE_TAIL_CALLS: 27,
});

/** Global helpers, available to every EfW program type. */
export const EFW_HELPERS: readonly HelperDef[] = Object.freeze([
  { id: 1, name: 'map_lookup_elem', proto: 'void *bpf_map_lookup_elem(void *map, const void *key)' },
  { id: 2, name: 'map_update_elem', proto: 'int64_t bpf_map_update_elem(void *map, const void *key, const void *value, uint64_t flags)' },
  { id: 3, name: 'map_delete_elem', proto: 'int64_t bpf_map_delete_elem(void *map, const void *key)' },
  { id: 4, name: 'map_lookup_and_delete_elem', proto: 'void *bpf_map_lookup_and_delete_elem(void *map, const void *key)' },
  { id: 5, name: 'tail_call', proto: 'int64_t bpf_tail_call(const void *ctx, const void *prog_array_map, uint32_t index)' },
  { id: 6, name: 'get_prandom_u32', proto: 'uint32_t bpf_get_prandom_u32(void)' },
  { id: 7, name: 'ktime_get_boot_ns', proto: 'uint64_t bpf_ktime_get_boot_ns(void)' },
  { id: 8, name: 'get_smp_processor_id', proto: 'uint64_t bpf_get_smp_processor_id(void)' },
  { id: 9, name: 'ktime_get_ns', proto: 'uint64_t bpf_ktime_get_ns(void)' },
  { id: 10, name: 'csum_diff', proto: 'int bpf_csum_diff(const void *from, int from_size, const void *to, int to_size, int seed)' },
  { id: 11, name: 'ringbuf_output', proto: 'int bpf_ringbuf_output(void *ring_buffer, const void *data, uint64_t size, uint64_t flags)' },
  { id: 12, name: 'trace_printk2', proto: 'long bpf_trace_printk2(const char *fmt, uint32_t fmt_size)' },
  { id: 13, name: 'trace_printk3', proto: 'long bpf_trace_printk3(const char *fmt, uint32_t fmt_size, uint64_t arg3)' },
  { id: 14, name: 'trace_printk4', proto: 'long bpf_trace_printk4(const char *fmt, uint32_t fmt_size, uint64_t arg3, uint64_t arg4)' },
  {
    id: 15,
    name: 'trace_printk5',
    proto: 'long bpf_trace_printk5(const char *fmt, uint32_t fmt_size, uint64_t arg3, uint64_t arg4, uint64_t arg5)',
  },
  { id: 16, name: 'map_push_elem', proto: 'int64_t bpf_map_push_elem(void *map, const void *value, uint64_t flags)' },
  { id: 17, name: 'map_pop_elem', proto: 'int64_t bpf_map_pop_elem(void *map, void *value)' },
  { id: 18, name: 'map_peek_elem', proto: 'int64_t bpf_map_peek_elem(void *map, void *value)' },
  { id: 19, name: 'get_current_pid_tgid', proto: 'uint64_t bpf_get_current_pid_tgid(void)' },
  { id: 20, name: 'get_current_logon_id', proto: 'uint64_t bpf_get_current_logon_id(const void *ctx)' },
  { id: 21, name: 'is_current_admin', proto: 'int32_t bpf_is_current_admin(const void *ctx)' },
  { id: 22, name: 'memcpy_s', proto: 'long bpf_memcpy_s(void *destination, size_t destination_size, const void *source, size_t source_size)' },
  { id: 23, name: 'memcmp_s', proto: 'int bpf_memcmp_s(const void *memory1, size_t memory1_size, const void *memory2, size_t memory2_size)' },
  { id: 24, name: 'memset', proto: 'long bpf_memset(void *memory, size_t size, int value)' },
  { id: 25, name: 'memmove_s', proto: 'long bpf_memmove_s(void *destination, size_t destination_size, const void *source, size_t source_size)' },
  { id: 26, name: 'get_socket_cookie', proto: 'int64_t bpf_get_socket_cookie(const void *ctx)' },
  { id: 27, name: 'strncpy_s', proto: 'int bpf_strncpy_s(char *dest, size_t dest_size, const char *src, size_t count)' },
  { id: 28, name: 'strncat_s', proto: 'int bpf_strncat_s(char *dest, size_t dest_size, const char *src, size_t count)' },
  { id: 29, name: 'strnlen_s', proto: 'size_t bpf_strnlen_s(const char *str, size_t str_size)' },
  { id: 30, name: 'ktime_get_boot_ms', proto: 'uint64_t bpf_ktime_get_boot_ms(void)' },
  { id: 31, name: 'ktime_get_ms', proto: 'uint64_t bpf_ktime_get_ms(void)' },
  {
    id: 32,
    name: 'perf_event_output',
    proto: 'int bpf_perf_event_output(void *ctx, void *perf_event_array, uint64_t flags, void *data, uint64_t size)',
  },
  // 33 and 34 get the program context implicitly (the runtime passes it as a 6th argument):
  // in C they take no arguments.
  { id: 33, name: 'get_current_process_start_key', proto: 'uint64_t bpf_get_current_process_start_key(void)' },
  { id: 34, name: 'get_current_thread_create_time', proto: 'int64_t bpf_get_current_thread_create_time(void)' },
]);

/** Helper name (without `bpf_`) -> EfW id. */
export const EFW_HELPER_IDS: NumberTable = Object.freeze(Object.fromEntries(EFW_HELPERS.map((h) => [h.name, h.id])));

/** Helpers of the `xdp` / `xdp_test` program types (ids relative to no other type). */
export const EFW_XDP_HELPERS: readonly HelperDef[] = Object.freeze([
  { id: EFW_EXT_HELPER_FN_BASE + 1, name: 'xdp_adjust_head', proto: 'int bpf_xdp_adjust_head(xdp_md_t *ctx, int delta)' },
]);

/**
 * Helpers of the cgroup sock_addr program type. Newer EfW headers declare only
 * set_redirect_context but keep both ids reserved.
 */
export const EFW_SOCK_ADDR_HELPERS: readonly HelperDef[] = Object.freeze([
  {
    id: EFW_EXT_HELPER_FN_BASE + 1,
    name: 'sock_addr_get_current_pid_tgid',
    proto: 'uint64_t bpf_sock_addr_get_current_pid_tgid(bpf_sock_addr_t *ctx)',
  },
  {
    id: EFW_EXT_HELPER_FN_BASE + 2,
    name: 'sock_addr_set_redirect_context',
    proto: 'int bpf_sock_addr_set_redirect_context(bpf_sock_addr_t *ctx, void *data, uint32_t data_size)',
  },
  {
    id: EFW_EXT_HELPER_FN_BASE + 3,
    name: 'sock_addr_get_network_context',
    proto: 'int bpf_sock_addr_get_network_context(bpf_sock_addr_t *ctx, void *data, uint32_t data_size)',
  },
]);

/** Helpers of the sock_ops program type (bpf_sock_ops_get_flow_id: the WFP flow id of the connection). */
export const EFW_SOCK_OPS_HELPERS: readonly HelperDef[] = Object.freeze([
  { id: EFW_EXT_HELPER_FN_BASE + 1, name: 'sock_ops_get_flow_id', proto: 'uint64_t bpf_sock_ops_get_flow_id(bpf_sock_ops_t *ctx)' },
]);

/** A program type's own helpers (ids above EFW_EXT_HELPER_FN_BASE), by ebpf-ts program type name. */
export const EFW_PROGRAM_TYPE_HELPERS: Readonly<Record<string, readonly HelperDef[]>> = Object.freeze({
  xdp: EFW_XDP_HELPERS,
  cgroup_sock_addr: EFW_SOCK_ADDR_HELPERS,
  sock_ops: EFW_SOCK_OPS_HELPERS,
});

/**
 * EfW global helper id -> Linux helper id with the same semantics and calling
 * convention, or undefined when the helper exists only on Windows (the runtime
 * must provide it under its EfW id). trace_printk2..5 all map to Linux
 * trace_printk (6): same registers (r1 fmt, r2 size, r3..r5 numbers), EfW just
 * fixes the count per id. EfW's csum_diff takes `int` sizes and seed where
 * Linux has __u32/__wsum; the bits passed are the same.
 */
export const EFW_TO_LINUX_HELPER: Readonly<Record<number, number | undefined>> = Object.freeze({
  1: 1, // map_lookup_elem
  2: 2, // map_update_elem
  3: 3, // map_delete_elem
  4: undefined, // map_lookup_and_delete_elem: a syscall command on Linux, not a helper
  5: 12, // tail_call
  6: 7, // get_prandom_u32
  7: 125, // ktime_get_boot_ns
  8: 8, // get_smp_processor_id
  9: 5, // ktime_get_ns
  10: 28, // csum_diff
  11: 130, // ringbuf_output
  12: 6, // trace_printk2 -> trace_printk
  13: 6, // trace_printk3
  14: 6, // trace_printk4
  15: 6, // trace_printk5
  16: 87, // map_push_elem
  17: 88, // map_pop_elem
  18: 89, // map_peek_elem
  19: 14, // get_current_pid_tgid
  20: undefined, // get_current_logon_id
  21: undefined, // is_current_admin
  22: undefined, // memcpy_s
  23: undefined, // memcmp_s
  24: undefined, // memset
  25: undefined, // memmove_s
  26: 46, // get_socket_cookie
  27: undefined, // strncpy_s
  28: undefined, // strncat_s
  29: undefined, // strnlen_s
  30: undefined, // ktime_get_boot_ms
  31: undefined, // ktime_get_ms
  32: 25, // perf_event_output
  33: undefined, // get_current_process_start_key
  34: undefined, // get_current_thread_create_time
});

/** Hook-specific helpers with a Linux equivalent, per EfW program type name. */
export const EFW_TO_LINUX_EXT_HELPER: Readonly<Record<string, Readonly<Record<number, number>>>> = Object.freeze({
  XDP: Object.freeze({ [EFW_EXT_HELPER_FN_BASE + 1]: 44 }), // xdp_adjust_head
  XDP_TEST: Object.freeze({ [EFW_EXT_HELPER_FN_BASE + 1]: 44 }),
});

/**
 * enum bpf_map_type of EfW (ebpf_map_type_t), without the BPF_MAP_TYPE_ prefix.
 * An EfW object carries these numbers both in legacy "maps" definitions and in
 * the `type` member of BTF-defined ".maps" (its __uint(type, ...) expands the
 * EfW enum), so both need EFW_TO_LINUX_MAP_TYPE.
 */
export const EFW_MAP_TYPES: NumberTable = Object.freeze({
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERCPU_HASH: 4,
  PERCPU_ARRAY: 5,
  HASH_OF_MAPS: 6,
  ARRAY_OF_MAPS: 7,
  LRU_HASH: 8,
  LPM_TRIE: 9,
  QUEUE: 10,
  LRU_PERCPU_HASH: 11,
  STACK: 12,
  RINGBUF: 13,
  PERF_EVENT_ARRAY: 14,
});

/** EfW map type number -> Linux map type number (every EfW type has one). */
export const EFW_TO_LINUX_MAP_TYPE: Readonly<Record<number, number>> = Object.freeze({
  0: 0, // UNSPEC
  1: 1, // HASH
  2: 2, // ARRAY
  3: 3, // PROG_ARRAY
  4: 5, // PERCPU_HASH
  5: 6, // PERCPU_ARRAY
  6: 13, // HASH_OF_MAPS
  7: 12, // ARRAY_OF_MAPS
  8: 9, // LRU_HASH
  9: 11, // LPM_TRIE
  10: 22, // QUEUE
  11: 10, // LRU_PERCPU_HASH
  12: 23, // STACK
  13: 27, // RINGBUF
  14: 4, // PERF_EVENT_ARRAY
});

/** Linux map type number -> EfW number, for the types EfW has. */
export const LINUX_TO_EFW_MAP_TYPE: Readonly<Record<number, number>> = Object.freeze(
  Object.fromEntries(Object.entries(EFW_TO_LINUX_MAP_TYPE).map(([efw, linux]) => [linux, Number(efw)])),
);

/**
 * Pinning values of a map definition, legacy or BTF (match libbpf's LIBBPF_PIN_*): the only two
 * EfW knows; its loader refuses a map with any other (EBPF_INVALID_ARGUMENT).
 */
export const EFW_PIN_TYPES: NumberTable = Object.freeze({
  LIBBPF_PIN_NONE: 0,
  LIBBPF_PIN_BY_NAME: 1,
});

/**
 * BPF_OBJ_NAME_LEN of EfW's ebpf_structs.h: a map (or program) name, with its terminating NUL,
 * fits in 64 bytes; ebpf_map_create refuses a name of 64 bytes or more ("Map name too long").
 */
export const EFW_OBJ_NAME_LEN = 64;

/**
 * EfW map types (EfW numbering) that may be declared with a zero key size, and those that may be
 * declared with a zero value size: ebpf_map_create refuses a zero size for every other type, and
 * a zero max_entries for all (the zero_length_key / zero_length_value columns of its map table).
 */
export const EFW_MAP_TYPES_WITHOUT_KEY: readonly number[] = Object.freeze([10, 12, 13, 14]); // QUEUE, STACK, RINGBUF, PERF_EVENT_ARRAY
export const EFW_MAP_TYPES_WITHOUT_VALUE: readonly number[] = Object.freeze([13, 14]); // RINGBUF, PERF_EVENT_ARRAY

/**
 * struct _ebpf_map_definition_in_file: eight uint32_t, 32 bytes, one per map
 * in the ELF section "maps". `inner_map_idx` is the index (in that section) of
 * the inner-map template of a map of maps; `id` names a map as a template and
 * `inner_id` refers to one (either may be used). `pinning` is EFW_PIN_TYPES.
 */
export const EFW_MAP_DEF: StructLayout = Object.freeze({
  name: '_ebpf_map_definition_in_file',
  size: 32,
  fields: Object.freeze([
    { name: 'type', offset: 0, size: 4, type: 'ebpf_map_type_t' },
    { name: 'key_size', offset: 4, size: 4, type: 'uint32_t' },
    { name: 'value_size', offset: 8, size: 4, type: 'uint32_t' },
    { name: 'max_entries', offset: 12, size: 4, type: 'uint32_t' },
    { name: 'inner_map_idx', offset: 16, size: 4, type: 'uint32_t' },
    { name: 'pinning', offset: 20, size: 4, type: 'ebpf_pin_type_t' },
    { name: 'id', offset: 24, size: 4, type: 'uint32_t' },
    { name: 'inner_id', offset: 28, size: 4, type: 'uint32_t' },
  ]),
});

/** enum bpf_prog_type of EfW, without the BPF_PROG_TYPE_ prefix. */
export const EFW_PROG_TYPES: NumberTable = Object.freeze({
  UNSPEC: 0,
  XDP: 1,
  BIND: 2,
  CGROUP_SOCK_ADDR: 3,
  SOCK_OPS: 4,
  NETEVENT: 5,
  PROCESS: 6,
  XDP_TEST: 998,
  SAMPLE: 999,
});

/**
 * enum bpf_attach_type of EfW, without the BPF_ / BPF_ATTACH_TYPE_ prefix
 * (BPF_XDP -> XDP, BPF_ATTACH_TYPE_BIND -> BIND, BPF_CGROUP_INET4_CONNECT ->
 * CGROUP_INET4_CONNECT).
 */
export const EFW_ATTACH_TYPES: NumberTable = Object.freeze({
  UNSPEC: 0,
  XDP: 1,
  BIND: 2,
  CGROUP_INET4_CONNECT: 3,
  CGROUP_INET6_CONNECT: 4,
  CGROUP_INET4_RECV_ACCEPT: 5,
  CGROUP_INET6_RECV_ACCEPT: 6,
  CGROUP_SOCK_OPS: 7,
  SAMPLE: 8,
  XDP_TEST: 9,
  NETEVENT: 10,
  PROCESS: 11,
});

/**
 * xdp_md_t (sections `xdp`, `xdp_test`): 64-bit packet pointers, 32 bytes with
 * tail padding. Context descriptor: data 0, data_end 8, data_meta 16.
 */
export const EFW_XDP_MD: ContextLayout = Object.freeze({
  name: 'xdp_md_t',
  size: 32,
  fields: Object.freeze([
    { name: 'data', offset: 0, size: 8, type: 'void *' },
    { name: 'data_end', offset: 8, size: 8, type: 'void *' },
    { name: 'data_meta', offset: 16, size: 8, type: 'uint64_t' },
    { name: 'ingress_ifindex', offset: 24, size: 4, type: 'uint32_t' },
  ]),
  data: 0,
  dataEnd: 8,
  dataMeta: 16,
  pointerSize: 8,
});

/** xdp_action_t of EfW. Note PASS and DROP are swapped relative to Linux. */
export const EFW_XDP_ACTIONS: NumberTable = Object.freeze({
  XDP_PASS: 1,
  XDP_DROP: 2,
  XDP_TX: 3,
});

/** EfW XDP return code -> Linux XDP return code. */
export const EFW_TO_LINUX_XDP_ACTION: Readonly<Record<number, number>> = Object.freeze({
  1: 2, // PASS
  2: 1, // DROP
  3: 3, // TX
});

/**
 * bind_md_t (section `bind`): app_id_start / app_id_end delimit the
 * application id like a packet (context descriptor data 0, data_end 8).
 * `operation` is a 4-byte enum (EFW_BIND_OPERATIONS). 56 bytes.
 */
export const EFW_BIND_MD: ContextLayout = Object.freeze({
  name: 'bind_md_t',
  size: 56,
  fields: Object.freeze([
    { name: 'app_id_start', offset: 0, size: 8, type: 'uint8_t *' },
    { name: 'app_id_end', offset: 8, size: 8, type: 'uint8_t *' },
    { name: 'process_id', offset: 16, size: 8, type: 'uint64_t' },
    { name: 'socket_address', offset: 24, size: 16, type: 'uint8_t[16]' },
    { name: 'socket_address_length', offset: 40, size: 1, type: 'uint8_t' },
    { name: 'operation', offset: 44, size: 4, type: 'bind_operation_t' },
    { name: 'protocol', offset: 48, size: 1, type: 'uint8_t' },
  ]),
  data: 0,
  dataEnd: 8,
  dataMeta: -1,
  pointerSize: 8,
});

export const EFW_BIND_OPERATIONS: NumberTable = Object.freeze({
  BIND_OPERATION_BIND: 0,
  BIND_OPERATION_POST_BIND: 1,
  BIND_OPERATION_UNBIND: 2,
});

/** bind_action_t: what a bind program returns. BIND_PERMIT (older name) = BIND_PERMIT_SOFT. */
export const EFW_BIND_ACTIONS: NumberTable = Object.freeze({
  BIND_PERMIT_SOFT: 0,
  BIND_DENY: 1,
  BIND_REDIRECT: 2,
  BIND_PERMIT_HARD: 3,
  BIND_PERMIT: 0,
});

/**
 * bpf_sock_addr_t (sections cgroup/connect4|6, cgroup/recv_accept4|6): no
 * packet pointers. The address structs hold a 16-byte union and a 2-byte port,
 * padded to 20 bytes. Addresses and ports are in network byte order. 64 bytes.
 */
export const EFW_BPF_SOCK_ADDR: ContextLayout = Object.freeze({
  name: 'bpf_sock_addr_t',
  size: 64,
  fields: Object.freeze([
    { name: 'family', offset: 0, size: 4, type: 'uint32_t' },
    { name: 'msg_src_ip4', offset: 4, size: 4, type: 'uint32_t' },
    { name: 'msg_src_ip6', offset: 4, size: 16, type: 'uint32_t[4]' },
    { name: 'msg_src_port', offset: 20, size: 2, type: 'uint16_t' },
    { name: 'user_ip4', offset: 24, size: 4, type: 'uint32_t' },
    { name: 'user_ip6', offset: 24, size: 16, type: 'uint32_t[4]' },
    { name: 'user_port', offset: 40, size: 2, type: 'uint16_t' },
    { name: 'protocol', offset: 44, size: 4, type: 'uint32_t' },
    { name: 'compartment_id', offset: 48, size: 4, type: 'uint32_t' },
    { name: 'interface_luid', offset: 56, size: 8, type: 'uint64_t' },
  ]),
  data: -1,
  dataEnd: -1,
  dataMeta: -1,
  pointerSize: 8,
});

/**
 * What a sock_addr program returns; any other value counts as REJECT.
 * BPF_SOCK_ADDR_VERDICT_PROCEED (older headers) = PROCEED_SOFT = 1.
 */
export const EFW_SOCK_ADDR_VERDICTS: NumberTable = Object.freeze({
  BPF_SOCK_ADDR_VERDICT_REJECT: 0,
  BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT: 1,
  BPF_SOCK_ADDR_VERDICT_PROCEED_HARD: 2,
  BPF_SOCK_ADDR_VERDICT_PROCEED: 1,
});

/** bpf_sock_ops_t (section `sockops`): no packet pointers; the program returns 0. 64 bytes. */
export const EFW_BPF_SOCK_OPS: ContextLayout = Object.freeze({
  name: 'bpf_sock_ops_t',
  size: 64,
  fields: Object.freeze([
    { name: 'op', offset: 0, size: 4, type: 'bpf_sock_op_type_t' },
    { name: 'family', offset: 4, size: 4, type: 'uint32_t' },
    { name: 'local_ip4', offset: 8, size: 4, type: 'uint32_t' },
    { name: 'local_ip6', offset: 8, size: 16, type: 'uint32_t[4]' },
    { name: 'local_port', offset: 24, size: 4, type: 'uint32_t' },
    { name: 'remote_ip4', offset: 28, size: 4, type: 'uint32_t' },
    { name: 'remote_ip6', offset: 28, size: 16, type: 'uint32_t[4]' },
    { name: 'remote_port', offset: 44, size: 4, type: 'uint32_t' },
    { name: 'protocol', offset: 48, size: 1, type: 'uint8_t' },
    { name: 'compartment_id', offset: 52, size: 4, type: 'uint32_t' },
    { name: 'interface_luid', offset: 56, size: 8, type: 'uint64_t' },
  ]),
  data: -1,
  dataEnd: -1,
  dataMeta: -1,
  pointerSize: 8,
});

/** bpf_sock_op_type_t (the `op` field). Numbers differ from Linux's BPF_SOCK_OPS_*_CB. */
export const EFW_SOCK_OPS_OPS: NumberTable = Object.freeze({
  BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: 0,
  BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: 1,
  BPF_SOCK_OPS_CONNECTION_DELETED_CB: 2,
});

/** Context layout per EfW program type name. */
export const EFW_CONTEXTS: Readonly<Record<string, ContextLayout>> = Object.freeze({
  XDP: EFW_XDP_MD,
  XDP_TEST: EFW_XDP_MD,
  BIND: EFW_BIND_MD,
  CGROUP_SOCK_ADDR: EFW_BPF_SOCK_ADDR,
  SOCK_OPS: EFW_BPF_SOCK_OPS,
});

/**
 * bpf_perf_event_output flags (EBPF_MAP_FLAG_*): same encoding as Linux's
 * BPF_F_INDEX_MASK / BPF_F_CURRENT_CPU / BPF_F_CTXLEN_MASK.
 */
export const EFW_OUTPUT_FLAGS = Object.freeze({
  EBPF_MAP_FLAG_INDEX_MASK: 0xffffffffn,
  EBPF_MAP_FLAG_CURRENT_CPU: 0xffffffffn,
  EBPF_MAP_FLAG_CTX_LENGTH_SHIFT: 32n,
  EBPF_MAP_FLAG_CTX_LENGTH_MAX: 0xfffffn,
  EBPF_MAP_FLAG_CTX_LENGTH_MASK: 0xfffffn << 32n,
});

/** Conversions bpf_trace_printk2..5 accept: %d %i %u %x, optionally with l or ll, and %%. */
export const EFW_PRINTK_CONVERSIONS: readonly string[] = Object.freeze(['d', 'i', 'u', 'x']);

/** C type names of EfW contexts: a program whose first parameter has one of these is EfW-flavoured. */
export const EFW_CONTEXT_TYPE_NAMES: readonly string[] = Object.freeze([
  'xdp_md_t',
  'xdp_test_md_t',
  'bind_md_t',
  'bpf_sock_addr_t',
  'bpf_sock_ops_t',
  'sample_program_context_t',
]);
