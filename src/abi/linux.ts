// The Linux eBPF ABI (our native ABI, DESIGN.md "ABI and compatibility"), as data.
//
// Sources (facts only; nothing here is copied code):
// - Linux UAPI header <linux/bpf.h> (linux-libc-dev 6.1): helper ids (enum bpf_func_id,
//   __BPF_FUNC_MAPPER), map types, program types, attach types, struct xdp_md,
//   struct bpf_sock_addr, flags and pseudo source registers. Every number below taken
//   from this header was printed by a program compiled against it, not typed by hand.
// - Kernel 6.2+ UAPI (the kernel's bpf.h, libbpf's map type names): BPF_MAP_TYPE_CGRP_STORAGE
//   = 32 and BPF_MAP_TYPE_ARENA = 33, which the 6.1 header predates.
// - libbpf's bpf_helper_defs.h (libbpf-dev 1.1): C prototypes of the portable helpers.
// - libbpf documentation "Program Types and ELF Sections": section names.
// - The legacy `struct bpf_map_def` (five __u32) is the layout libbpf accepted in
//   SEC("maps") before it dropped legacy maps in libbpf 1.0.

import type { ContextLayout, HelperDef, NumberTable, SectionDef, StructLayout } from './types.js';

/** Every helper of <linux/bpf.h> 6.1, ids 1..209 (0 is `unspec`, never callable). */
export const LINUX_HELPERS: readonly HelperDef[] = Object.freeze([
  { id: 1, name: 'map_lookup_elem', proto: 'void *bpf_map_lookup_elem(void *map, const void *key)' },
  { id: 2, name: 'map_update_elem', proto: 'long bpf_map_update_elem(void *map, const void *key, const void *value, __u64 flags)' },
  { id: 3, name: 'map_delete_elem', proto: 'long bpf_map_delete_elem(void *map, const void *key)' },
  { id: 4, name: 'probe_read' },
  { id: 5, name: 'ktime_get_ns', proto: '__u64 bpf_ktime_get_ns(void)' },
  { id: 6, name: 'trace_printk', proto: 'long bpf_trace_printk(const char *fmt, __u32 fmt_size, ...)' },
  { id: 7, name: 'get_prandom_u32', proto: '__u32 bpf_get_prandom_u32(void)' },
  { id: 8, name: 'get_smp_processor_id', proto: '__u32 bpf_get_smp_processor_id(void)' },
  { id: 9, name: 'skb_store_bytes' },
  { id: 10, name: 'l3_csum_replace' },
  { id: 11, name: 'l4_csum_replace' },
  { id: 12, name: 'tail_call', proto: 'long bpf_tail_call(void *ctx, void *prog_array_map, __u32 index)' },
  { id: 13, name: 'clone_redirect' },
  { id: 14, name: 'get_current_pid_tgid', proto: '__u64 bpf_get_current_pid_tgid(void)' },
  { id: 15, name: 'get_current_uid_gid' },
  { id: 16, name: 'get_current_comm' },
  { id: 17, name: 'get_cgroup_classid' },
  { id: 18, name: 'skb_vlan_push' },
  { id: 19, name: 'skb_vlan_pop' },
  { id: 20, name: 'skb_get_tunnel_key' },
  { id: 21, name: 'skb_set_tunnel_key' },
  { id: 22, name: 'perf_event_read' },
  { id: 23, name: 'redirect', proto: 'long bpf_redirect(__u32 ifindex, __u64 flags)' },
  { id: 24, name: 'get_route_realm' },
  { id: 25, name: 'perf_event_output', proto: 'long bpf_perf_event_output(void *ctx, void *map, __u64 flags, void *data, __u64 size)' },
  { id: 26, name: 'skb_load_bytes' },
  { id: 27, name: 'get_stackid' },
  { id: 28, name: 'csum_diff', proto: '__s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed)' },
  { id: 29, name: 'skb_get_tunnel_opt' },
  { id: 30, name: 'skb_set_tunnel_opt' },
  { id: 31, name: 'skb_change_proto' },
  { id: 32, name: 'skb_change_type' },
  { id: 33, name: 'skb_under_cgroup' },
  { id: 34, name: 'get_hash_recalc' },
  { id: 35, name: 'get_current_task' },
  { id: 36, name: 'probe_write_user' },
  { id: 37, name: 'current_task_under_cgroup' },
  { id: 38, name: 'skb_change_tail' },
  { id: 39, name: 'skb_pull_data' },
  { id: 40, name: 'csum_update' },
  { id: 41, name: 'set_hash_invalid' },
  { id: 42, name: 'get_numa_node_id' },
  { id: 43, name: 'skb_change_head' },
  { id: 44, name: 'xdp_adjust_head', proto: 'long bpf_xdp_adjust_head(struct xdp_md *xdp_md, int delta)' },
  { id: 45, name: 'probe_read_str' },
  { id: 46, name: 'get_socket_cookie', proto: '__u64 bpf_get_socket_cookie(void *ctx)' },
  { id: 47, name: 'get_socket_uid' },
  { id: 48, name: 'set_hash' },
  { id: 49, name: 'setsockopt' },
  { id: 50, name: 'skb_adjust_room' },
  { id: 51, name: 'redirect_map', proto: 'long bpf_redirect_map(void *map, __u64 key, __u64 flags)' },
  { id: 52, name: 'sk_redirect_map' },
  { id: 53, name: 'sock_map_update' },
  { id: 54, name: 'xdp_adjust_meta', proto: 'long bpf_xdp_adjust_meta(struct xdp_md *xdp_md, int delta)' },
  { id: 55, name: 'perf_event_read_value' },
  { id: 56, name: 'perf_prog_read_value' },
  { id: 57, name: 'getsockopt' },
  { id: 58, name: 'override_return' },
  { id: 59, name: 'sock_ops_cb_flags_set' },
  { id: 60, name: 'msg_redirect_map' },
  { id: 61, name: 'msg_apply_bytes' },
  { id: 62, name: 'msg_cork_bytes' },
  { id: 63, name: 'msg_pull_data' },
  { id: 64, name: 'bind' },
  { id: 65, name: 'xdp_adjust_tail', proto: 'long bpf_xdp_adjust_tail(struct xdp_md *xdp_md, int delta)' },
  { id: 66, name: 'skb_get_xfrm_state' },
  { id: 67, name: 'get_stack' },
  { id: 68, name: 'skb_load_bytes_relative' },
  { id: 69, name: 'fib_lookup' },
  { id: 70, name: 'sock_hash_update' },
  { id: 71, name: 'msg_redirect_hash' },
  { id: 72, name: 'sk_redirect_hash' },
  { id: 73, name: 'lwt_push_encap' },
  { id: 74, name: 'lwt_seg6_store_bytes' },
  { id: 75, name: 'lwt_seg6_adjust_srh' },
  { id: 76, name: 'lwt_seg6_action' },
  { id: 77, name: 'rc_repeat' },
  { id: 78, name: 'rc_keydown' },
  { id: 79, name: 'skb_cgroup_id' },
  { id: 80, name: 'get_current_cgroup_id' },
  { id: 81, name: 'get_local_storage' },
  { id: 82, name: 'sk_select_reuseport' },
  { id: 83, name: 'skb_ancestor_cgroup_id' },
  { id: 84, name: 'sk_lookup_tcp' },
  { id: 85, name: 'sk_lookup_udp' },
  { id: 86, name: 'sk_release' },
  { id: 87, name: 'map_push_elem', proto: 'long bpf_map_push_elem(void *map, const void *value, __u64 flags)' },
  { id: 88, name: 'map_pop_elem', proto: 'long bpf_map_pop_elem(void *map, void *value)' },
  { id: 89, name: 'map_peek_elem', proto: 'long bpf_map_peek_elem(void *map, void *value)' },
  { id: 90, name: 'msg_push_data' },
  { id: 91, name: 'msg_pop_data' },
  { id: 92, name: 'rc_pointer_rel' },
  { id: 93, name: 'spin_lock', proto: 'long bpf_spin_lock(struct bpf_spin_lock *lock)' },
  { id: 94, name: 'spin_unlock', proto: 'long bpf_spin_unlock(struct bpf_spin_lock *lock)' },
  { id: 95, name: 'sk_fullsock' },
  { id: 96, name: 'tcp_sock' },
  { id: 97, name: 'skb_ecn_set_ce' },
  { id: 98, name: 'get_listener_sock' },
  { id: 99, name: 'skc_lookup_tcp' },
  { id: 100, name: 'tcp_check_syncookie' },
  { id: 101, name: 'sysctl_get_name' },
  { id: 102, name: 'sysctl_get_current_value' },
  { id: 103, name: 'sysctl_get_new_value' },
  { id: 104, name: 'sysctl_set_new_value' },
  { id: 105, name: 'strtol' },
  { id: 106, name: 'strtoul' },
  { id: 107, name: 'sk_storage_get' },
  { id: 108, name: 'sk_storage_delete' },
  { id: 109, name: 'send_signal' },
  { id: 110, name: 'tcp_gen_syncookie' },
  { id: 111, name: 'skb_output' },
  { id: 112, name: 'probe_read_user' },
  { id: 113, name: 'probe_read_kernel' },
  { id: 114, name: 'probe_read_user_str' },
  { id: 115, name: 'probe_read_kernel_str' },
  { id: 116, name: 'tcp_send_ack' },
  { id: 117, name: 'send_signal_thread' },
  { id: 118, name: 'jiffies64', proto: '__u64 bpf_jiffies64(void)' },
  { id: 119, name: 'read_branch_records' },
  { id: 120, name: 'get_ns_current_pid_tgid' },
  { id: 121, name: 'xdp_output' },
  { id: 122, name: 'get_netns_cookie' },
  { id: 123, name: 'get_current_ancestor_cgroup_id' },
  { id: 124, name: 'sk_assign' },
  { id: 125, name: 'ktime_get_boot_ns', proto: '__u64 bpf_ktime_get_boot_ns(void)' },
  { id: 126, name: 'seq_printf' },
  { id: 127, name: 'seq_write' },
  { id: 128, name: 'sk_cgroup_id' },
  { id: 129, name: 'sk_ancestor_cgroup_id' },
  { id: 130, name: 'ringbuf_output', proto: 'long bpf_ringbuf_output(void *ringbuf, void *data, __u64 size, __u64 flags)' },
  { id: 131, name: 'ringbuf_reserve', proto: 'void *bpf_ringbuf_reserve(void *ringbuf, __u64 size, __u64 flags)' },
  { id: 132, name: 'ringbuf_submit', proto: 'void bpf_ringbuf_submit(void *data, __u64 flags)' },
  { id: 133, name: 'ringbuf_discard', proto: 'void bpf_ringbuf_discard(void *data, __u64 flags)' },
  { id: 134, name: 'ringbuf_query', proto: '__u64 bpf_ringbuf_query(void *ringbuf, __u64 flags)' },
  { id: 135, name: 'csum_level' },
  { id: 136, name: 'skc_to_tcp6_sock' },
  { id: 137, name: 'skc_to_tcp_sock' },
  { id: 138, name: 'skc_to_tcp_timewait_sock' },
  { id: 139, name: 'skc_to_tcp_request_sock' },
  { id: 140, name: 'skc_to_udp6_sock' },
  { id: 141, name: 'get_task_stack' },
  { id: 142, name: 'load_hdr_opt' },
  { id: 143, name: 'store_hdr_opt' },
  { id: 144, name: 'reserve_hdr_opt' },
  { id: 145, name: 'inode_storage_get' },
  { id: 146, name: 'inode_storage_delete' },
  { id: 147, name: 'd_path' },
  { id: 148, name: 'copy_from_user' },
  { id: 149, name: 'snprintf_btf' },
  { id: 150, name: 'seq_printf_btf' },
  { id: 151, name: 'skb_cgroup_classid' },
  { id: 152, name: 'redirect_neigh' },
  { id: 153, name: 'per_cpu_ptr' },
  { id: 154, name: 'this_cpu_ptr' },
  { id: 155, name: 'redirect_peer' },
  { id: 156, name: 'task_storage_get' },
  { id: 157, name: 'task_storage_delete' },
  { id: 158, name: 'get_current_task_btf' },
  { id: 159, name: 'bprm_opts_set' },
  { id: 160, name: 'ktime_get_coarse_ns', proto: '__u64 bpf_ktime_get_coarse_ns(void)' },
  { id: 161, name: 'ima_inode_hash' },
  { id: 162, name: 'sock_from_file' },
  { id: 163, name: 'check_mtu' },
  { id: 164, name: 'for_each_map_elem', proto: 'long bpf_for_each_map_elem(void *map, void *callback_fn, void *callback_ctx, __u64 flags)' },
  { id: 165, name: 'snprintf', proto: 'long bpf_snprintf(char *str, __u32 str_size, const char *fmt, __u64 *data, __u32 data_len)' },
  { id: 166, name: 'sys_bpf' },
  { id: 167, name: 'btf_find_by_name_kind' },
  { id: 168, name: 'sys_close' },
  { id: 169, name: 'timer_init' },
  { id: 170, name: 'timer_set_callback' },
  { id: 171, name: 'timer_start' },
  { id: 172, name: 'timer_cancel' },
  { id: 173, name: 'get_func_ip' },
  { id: 174, name: 'get_attach_cookie' },
  { id: 175, name: 'task_pt_regs' },
  { id: 176, name: 'get_branch_snapshot' },
  { id: 177, name: 'trace_vprintk' },
  { id: 178, name: 'skc_to_unix_sock' },
  { id: 179, name: 'kallsyms_lookup_name' },
  { id: 180, name: 'find_vma' },
  { id: 181, name: 'loop', proto: 'long bpf_loop(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags)' },
  { id: 182, name: 'strncmp', proto: 'long bpf_strncmp(const char *s1, __u32 s1_sz, const char *s2)' },
  { id: 183, name: 'get_func_arg' },
  { id: 184, name: 'get_func_ret' },
  { id: 185, name: 'get_func_arg_cnt' },
  { id: 186, name: 'get_retval' },
  { id: 187, name: 'set_retval' },
  { id: 188, name: 'xdp_get_buff_len' },
  { id: 189, name: 'xdp_load_bytes' },
  { id: 190, name: 'xdp_store_bytes' },
  { id: 191, name: 'copy_from_user_task' },
  { id: 192, name: 'skb_set_tstamp' },
  { id: 193, name: 'ima_file_hash' },
  { id: 194, name: 'kptr_xchg' },
  { id: 195, name: 'map_lookup_percpu_elem', proto: 'void *bpf_map_lookup_percpu_elem(void *map, const void *key, __u32 cpu)' },
  { id: 196, name: 'skc_to_mptcp_sock' },
  { id: 197, name: 'dynptr_from_mem' },
  { id: 198, name: 'ringbuf_reserve_dynptr' },
  { id: 199, name: 'ringbuf_submit_dynptr' },
  { id: 200, name: 'ringbuf_discard_dynptr' },
  { id: 201, name: 'dynptr_read' },
  { id: 202, name: 'dynptr_write' },
  { id: 203, name: 'dynptr_data' },
  { id: 204, name: 'tcp_raw_gen_syncookie_ipv4' },
  { id: 205, name: 'tcp_raw_gen_syncookie_ipv6' },
  { id: 206, name: 'tcp_raw_check_syncookie_ipv4' },
  { id: 207, name: 'tcp_raw_check_syncookie_ipv6' },
  { id: 208, name: 'ktime_get_tai_ns', proto: '__u64 bpf_ktime_get_tai_ns(void)' },
  { id: 209, name: 'user_ringbuf_drain' },
]);

/** Helper name (without `bpf_`) -> id. */
export const LINUX_HELPER_IDS: NumberTable = Object.freeze(Object.fromEntries(LINUX_HELPERS.map((h) => [h.name, h.id])));

/** enum bpf_map_type, without the BPF_MAP_TYPE_ prefix. */
export const LINUX_MAP_TYPES: NumberTable = Object.freeze({
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
});

/** enum bpf_prog_type, without the BPF_PROG_TYPE_ prefix. */
export const LINUX_PROG_TYPES: NumberTable = Object.freeze({
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
});

/** enum bpf_attach_type, without the BPF_ prefix. */
export const LINUX_ATTACH_TYPES: NumberTable = Object.freeze({
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
});

/** Flags of map creation (`map_flags`). */
export const LINUX_MAP_FLAGS: NumberTable = Object.freeze({
  BPF_F_NO_PREALLOC: 1,
  BPF_F_NO_COMMON_LRU: 2,
  BPF_F_NUMA_NODE: 4,
  BPF_F_RDONLY: 8,
  BPF_F_WRONLY: 16,
  BPF_F_ZERO_SEED: 64,
  BPF_F_RDONLY_PROG: 128,
  BPF_F_WRONLY_PROG: 256,
  BPF_F_MMAPABLE: 1024,
  BPF_F_INNER_MAP: 4096,
});

/** `flags` of bpf_map_update_elem / bpf_map_push_elem. */
export const LINUX_UPDATE_FLAGS: NumberTable = Object.freeze({
  BPF_ANY: 0,
  BPF_NOEXIST: 1,
  BPF_EXIST: 2,
  BPF_F_LOCK: 4,
});

/**
 * bpf_perf_event_output flags: the low 32 bits select the CPU (0xffffffff =
 * BPF_F_CURRENT_CPU), bits 32..51 (BPF_F_CTXLEN_MASK) say how many bytes of the
 * packet to append. Ring buffer flags BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP, and
 * the bpf_ringbuf_query selectors BPF_RB_AVAIL_DATA..BPF_RB_PROD_POS.
 */
export const LINUX_OUTPUT_FLAGS = Object.freeze({
  BPF_F_INDEX_MASK: 0xffffffffn,
  BPF_F_CURRENT_CPU: 0xffffffffn,
  BPF_F_CTXLEN_MASK: 0xfffffn << 32n,
  BPF_RB_NO_WAKEUP: 1n,
  BPF_RB_FORCE_WAKEUP: 2n,
  BPF_RB_AVAIL_DATA: 0n,
  BPF_RB_RING_SIZE: 1n,
  BPF_RB_CONS_POS: 2n,
  BPF_RB_PROD_POS: 3n,
});

/** Ring buffer record header: 8 bytes (u32 length with the busy/discard bits, u32 page offset). */
export const LINUX_RINGBUF = Object.freeze({
  HDR_SZ: 8,
  BUSY_BIT: 0x80000000,
  DISCARD_BIT: 0x40000000,
});

/**
 * src_reg values the loader meets: on `lddw`, MAP_FD / MAP_IDX load a map,
 * MAP_VALUE / MAP_IDX_VALUE an address inside a map value (global data),
 * BTF_ID a kernel object, FUNC a subprogram address; on `call`, PSEUDO_CALL (1)
 * is a bpf-to-bpf call, PSEUDO_KFUNC_CALL (2) a kfunc, 0 a helper.
 */
export const LINUX_PSEUDO: NumberTable = Object.freeze({
  BPF_PSEUDO_MAP_FD: 1,
  BPF_PSEUDO_MAP_VALUE: 2,
  BPF_PSEUDO_BTF_ID: 3,
  BPF_PSEUDO_FUNC: 4,
  BPF_PSEUDO_MAP_IDX: 5,
  BPF_PSEUDO_MAP_IDX_VALUE: 6,
  BPF_PSEUDO_CALL: 1,
  BPF_PSEUDO_KFUNC_CALL: 2,
});

/**
 * Legacy map definition in SEC("maps"): five __u32, 20 bytes. The stride comes
 * from the section size and the number of map symbols: older toolchains
 * (samples/bpf) emitted longer definitions (inner_map_idx, numa_node), which
 * libbpf accepted when the extra bytes were zero.
 */
export const LINUX_BPF_MAP_DEF: StructLayout = Object.freeze({
  name: 'bpf_map_def',
  size: 20,
  fields: Object.freeze([
    { name: 'type', offset: 0, size: 4, type: '__u32' },
    { name: 'key_size', offset: 4, size: 4, type: '__u32' },
    { name: 'value_size', offset: 8, size: 4, type: '__u32' },
    { name: 'max_entries', offset: 12, size: 4, type: '__u32' },
    { name: 'map_flags', offset: 16, size: 4, type: '__u32' },
  ]),
});

/**
 * Members libbpf understands in a BTF-defined map (SEC(".maps")): integers are
 * encoded as `int (*name)[value]` (__uint), types as `typeof(T) *name` (__type),
 * inner maps / programs as `typeof(T) *values[]` (__array).
 */
export const LINUX_BTF_MAP_MEMBERS: readonly string[] = Object.freeze([
  'type',
  'max_entries',
  'map_flags',
  'numa_node',
  'key_size',
  'key',
  'value_size',
  'value',
  'values',
  'pinning',
  'map_extra',
]);

/** struct xdp_md: six __u32; data / data_end / data_meta are 32-bit packet pointers. */
export const LINUX_XDP_MD: ContextLayout = Object.freeze({
  name: 'xdp_md',
  size: 24,
  fields: Object.freeze([
    { name: 'data', offset: 0, size: 4, type: '__u32' },
    { name: 'data_end', offset: 4, size: 4, type: '__u32' },
    { name: 'data_meta', offset: 8, size: 4, type: '__u32' },
    { name: 'ingress_ifindex', offset: 12, size: 4, type: '__u32' },
    { name: 'rx_queue_index', offset: 16, size: 4, type: '__u32' },
    { name: 'egress_ifindex', offset: 20, size: 4, type: '__u32' },
  ]),
  data: 0,
  dataEnd: 4,
  dataMeta: 8,
  pointerSize: 4,
});

/** enum xdp_action. */
export const LINUX_XDP_ACTIONS: NumberTable = Object.freeze({
  XDP_ABORTED: 0,
  XDP_DROP: 1,
  XDP_PASS: 2,
  XDP_TX: 3,
  XDP_REDIRECT: 4,
});

/**
 * struct bpf_sock_addr (cgroup/connect4, bind4, sendmsg4, ...): 72 bytes, the
 * last member a pointer to struct bpf_sock (`__bpf_md_ptr`, 8 bytes). A
 * program returns 1 to let the operation proceed and 0 to reject it.
 */
export const LINUX_BPF_SOCK_ADDR: ContextLayout = Object.freeze({
  name: 'bpf_sock_addr',
  size: 72,
  fields: Object.freeze([
    { name: 'user_family', offset: 0, size: 4, type: '__u32' },
    { name: 'user_ip4', offset: 4, size: 4, type: '__u32' },
    { name: 'user_ip6', offset: 8, size: 16, type: '__u32[4]' },
    { name: 'user_port', offset: 24, size: 4, type: '__u32' },
    { name: 'family', offset: 28, size: 4, type: '__u32' },
    { name: 'type', offset: 32, size: 4, type: '__u32' },
    { name: 'protocol', offset: 36, size: 4, type: '__u32' },
    { name: 'msg_src_ip4', offset: 40, size: 4, type: '__u32' },
    { name: 'msg_src_ip6', offset: 44, size: 16, type: '__u32[4]' },
    { name: 'sk', offset: 64, size: 8, type: 'struct bpf_sock *' },
  ]),
  data: -1,
  dataEnd: -1,
  dataMeta: -1,
  pointerSize: 4,
});

/** Return values of cgroup sock_addr programs. */
export const LINUX_SOCK_ADDR_VERDICTS: NumberTable = Object.freeze({
  REJECT: 0,
  ALLOW: 1,
});

/** `op` values of struct bpf_sock_ops (the first __u32 of that 216-byte context). */
export const LINUX_SOCK_OPS_OPS: NumberTable = Object.freeze({
  BPF_SOCK_OPS_VOID: 0,
  BPF_SOCK_OPS_TIMEOUT_INIT: 1,
  BPF_SOCK_OPS_RWND_INIT: 2,
  BPF_SOCK_OPS_TCP_CONNECT_CB: 3,
  BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: 4,
  BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: 5,
  BPF_SOCK_OPS_STATE_CB: 10,
});

/**
 * Section names libbpf maps to program types (the subset ebpf-ts cares about;
 * the libbpf table has the rest). `prefix` entries also match `name/...`.
 */
export const LINUX_SECTIONS: readonly SectionDef[] = Object.freeze([
  { name: 'socket', match: 'prefix', programType: 'SOCKET_FILTER' },
  { name: 'xdp', match: 'prefix', programType: 'XDP', attachType: 'XDP' },
  { name: 'xdp.frags', match: 'prefix', programType: 'XDP', attachType: 'XDP' },
  { name: 'tc', match: 'prefix', programType: 'SCHED_CLS' },
  { name: 'classifier', match: 'prefix', programType: 'SCHED_CLS' },
  { name: 'action', match: 'prefix', programType: 'SCHED_ACT' },
  { name: 'tracepoint', match: 'prefix', programType: 'TRACEPOINT' },
  { name: 'tp', match: 'prefix', programType: 'TRACEPOINT' },
  { name: 'raw_tracepoint', match: 'prefix', programType: 'RAW_TRACEPOINT' },
  { name: 'raw_tp', match: 'prefix', programType: 'RAW_TRACEPOINT' },
  { name: 'kprobe', match: 'prefix', programType: 'KPROBE' },
  { name: 'kretprobe', match: 'prefix', programType: 'KPROBE' },
  { name: 'perf_event', match: 'exact', programType: 'PERF_EVENT' },
  { name: 'cgroup_skb/ingress', match: 'exact', programType: 'CGROUP_SKB', attachType: 'CGROUP_INET_INGRESS' },
  { name: 'cgroup_skb/egress', match: 'exact', programType: 'CGROUP_SKB', attachType: 'CGROUP_INET_EGRESS' },
  { name: 'cgroup/bind4', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_INET4_BIND' },
  { name: 'cgroup/bind6', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_INET6_BIND' },
  { name: 'cgroup/connect4', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_INET4_CONNECT' },
  { name: 'cgroup/connect6', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_INET6_CONNECT' },
  { name: 'cgroup/sendmsg4', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_UDP4_SENDMSG' },
  { name: 'cgroup/sendmsg6', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_UDP6_SENDMSG' },
  { name: 'cgroup/recvmsg4', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_UDP4_RECVMSG' },
  { name: 'cgroup/recvmsg6', match: 'exact', programType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_UDP6_RECVMSG' },
  { name: 'sockops', match: 'exact', programType: 'SOCK_OPS', attachType: 'CGROUP_SOCK_OPS' },
  { name: 'sk_skb', match: 'prefix', programType: 'SK_SKB' },
  { name: 'sk_msg', match: 'exact', programType: 'SK_MSG', attachType: 'SK_MSG_VERDICT' },
  { name: 'syscall', match: 'exact', programType: 'SYSCALL' },
]);

/** Sections that hold no program: maps, global data, metadata, BTF. */
export const LINUX_DATA_SECTIONS: readonly string[] = Object.freeze([
  '.maps',
  'maps',
  '.data',
  '.rodata',
  '.bss',
  'license',
  'version',
  '.BTF',
  '.BTF.ext',
]);
