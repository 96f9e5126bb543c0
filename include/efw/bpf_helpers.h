/* SPDX-License-Identifier: MIT */
/*
 * ebpf-ts: our own header for eBPF programs written in the ebpf-for-windows
 * (EfW) flavour, so that such programs compile with clang on any host:
 *
 *     clang -O2 -g -target bpf -I include -c prog.c -o prog.o
 *     #include <efw/bpf_helpers.h>
 *
 * Everything here is the EfW ABI as documented for ebpf-for-windows
 * (include/ebpf_structs.h, include/bpf_helper_defs.h, include/ebpf_nethooks.h
 * of that project): EfW map type numbers, the 32-byte legacy map definition,
 * EfW helper ids (which are NOT Linux's: e.g. bpf_tail_call is 5 here, 12 on
 * Linux; bpf_ktime_get_ns is 9 here, 5 on Linux). The same facts are kept as
 * data in src/abi/efw.ts; keep both in step.
 *
 * Do not mix this header with <linux/bpf.h> / <bpf/bpf_helpers.h>.
 */
#ifndef EBPF_TS_EFW_BPF_HELPERS_H
#define EBPF_TS_EFW_BPF_HELPERS_H

#include "efw_types.h"

/* ---------------------------------------------------------------- sections */

/* Place a program, a map or a variable in an ELF section. */
#define SEC(name) __attribute__((section(name), used))

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

/* BTF-defined map fields (".maps" section), same encoding as libbpf's. */
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

/* --------------------------------------------------------------- map types */

/*
 * EfW numbering (differs from Linux from PERCPU_HASH on). Used by legacy map
 * definitions and by BTF-defined maps alike (__uint(type, BPF_MAP_TYPE_...)).
 */
enum bpf_map_type {
    BPF_MAP_TYPE_UNSPEC = 0,
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PROG_ARRAY = 3,
    BPF_MAP_TYPE_PERCPU_HASH = 4,
    BPF_MAP_TYPE_PERCPU_ARRAY = 5,
    BPF_MAP_TYPE_HASH_OF_MAPS = 6,
    BPF_MAP_TYPE_ARRAY_OF_MAPS = 7,
    BPF_MAP_TYPE_LRU_HASH = 8,
    BPF_MAP_TYPE_LPM_TRIE = 9,
    BPF_MAP_TYPE_QUEUE = 10,
    BPF_MAP_TYPE_LRU_PERCPU_HASH = 11,
    BPF_MAP_TYPE_STACK = 12,
    BPF_MAP_TYPE_RINGBUF = 13,
    BPF_MAP_TYPE_PERF_EVENT_ARRAY = 14,
};

/* Update flags (same values as Linux). */
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2

/* Pinning (values match libbpf's LIBBPF_PIN_*). */
enum efw_pin_type {
    LIBBPF_PIN_NONE = 0,
    LIBBPF_PIN_BY_NAME = 1,
};

/*
 * Legacy map definition, one per map, in the ELF section "maps":
 * eight 32-bit fields, 32 bytes (Linux's struct bpf_map_def is 20 bytes).
 */
struct bpf_map_def {
    uint32_t type;          /*  0: enum bpf_map_type (EfW numbering) */
    uint32_t key_size;      /*  4 */
    uint32_t value_size;    /*  8 */
    uint32_t max_entries;   /* 12 */
    uint32_t inner_map_idx; /* 16: index in "maps" of the inner template */
    uint32_t pinning;       /* 20: enum efw_pin_type */
    uint32_t id;            /* 24: id of this map as an inner-map template */
    uint32_t inner_id;      /* 28: id of the inner template (map of maps) */
};
typedef struct bpf_map_def ebpf_map_definition_in_file_t;

/* --------------------------------------------------------- program types */

enum bpf_prog_type {
    BPF_PROG_TYPE_UNSPEC = 0,
    BPF_PROG_TYPE_XDP = 1,
    BPF_PROG_TYPE_BIND = 2,
    BPF_PROG_TYPE_CGROUP_SOCK_ADDR = 3,
    BPF_PROG_TYPE_SOCK_OPS = 4,
    BPF_PROG_TYPE_NETEVENT = 5,
    BPF_PROG_TYPE_PROCESS = 6,
    BPF_PROG_TYPE_XDP_TEST = 998,
    BPF_PROG_TYPE_SAMPLE = 999,
};

/* ---------------------------------------------------------------- helpers */

/*
 * Global helpers, callable from every program type. A helper is declared as a
 * constant function pointer whose value is its id: clang turns a call through
 * it into `call <id>`.
 */
#define EFW_HELPER(ret, name, id, ...) static ret(*const name)(__VA_ARGS__) = (void *)(id)

EFW_HELPER(void *, bpf_map_lookup_elem, 1, void *map, const void *key);
EFW_HELPER(int64_t, bpf_map_update_elem, 2, void *map, const void *key, const void *value, uint64_t flags);
EFW_HELPER(int64_t, bpf_map_delete_elem, 3, void *map, const void *key);
EFW_HELPER(void *, bpf_map_lookup_and_delete_elem, 4, void *map, const void *key);
EFW_HELPER(int64_t, bpf_tail_call, 5, const void *ctx, const void *prog_array_map, uint32_t index);
EFW_HELPER(uint32_t, bpf_get_prandom_u32, 6, void);
EFW_HELPER(uint64_t, bpf_ktime_get_boot_ns, 7, void);
EFW_HELPER(uint64_t, bpf_get_smp_processor_id, 8, void);
EFW_HELPER(uint64_t, bpf_ktime_get_ns, 9, void);
EFW_HELPER(int, bpf_csum_diff, 10, const void *from, int from_size, const void *to, int to_size, int seed);
EFW_HELPER(int, bpf_ringbuf_output, 11, void *ring_buffer, const void *data, uint64_t size, uint64_t flags);
EFW_HELPER(long, bpf_trace_printk2, 12, const char *fmt, uint32_t fmt_size);
EFW_HELPER(long, bpf_trace_printk3, 13, const char *fmt, uint32_t fmt_size, uint64_t arg3);
EFW_HELPER(long, bpf_trace_printk4, 14, const char *fmt, uint32_t fmt_size, uint64_t arg3, uint64_t arg4);
EFW_HELPER(long, bpf_trace_printk5, 15, const char *fmt, uint32_t fmt_size, uint64_t arg3, uint64_t arg4,
           uint64_t arg5);
EFW_HELPER(int64_t, bpf_map_push_elem, 16, void *map, const void *value, uint64_t flags);
EFW_HELPER(int64_t, bpf_map_pop_elem, 17, void *map, void *value);
EFW_HELPER(int64_t, bpf_map_peek_elem, 18, void *map, void *value);
EFW_HELPER(uint64_t, bpf_get_current_pid_tgid, 19, void);
EFW_HELPER(uint64_t, bpf_get_current_logon_id, 20, const void *ctx);
EFW_HELPER(int32_t, bpf_is_current_admin, 21, const void *ctx);
EFW_HELPER(long, bpf_memcpy_s, 22, void *dst, size_t dst_size, const void *src, size_t src_size);
EFW_HELPER(int, bpf_memcmp_s, 23, const void *mem1, size_t mem1_size, const void *mem2, size_t mem2_size);
EFW_HELPER(long, bpf_memset, 24, void *mem, size_t size, int value);
EFW_HELPER(long, bpf_memmove_s, 25, void *dst, size_t dst_size, const void *src, size_t src_size);
EFW_HELPER(int64_t, bpf_get_socket_cookie, 26, const void *ctx);
EFW_HELPER(int, bpf_strncpy_s, 27, char *dst, size_t dst_size, const char *src, size_t count);
EFW_HELPER(int, bpf_strncat_s, 28, char *dst, size_t dst_size, const char *src, size_t count);
EFW_HELPER(size_t, bpf_strnlen_s, 29, const char *str, size_t str_size);
EFW_HELPER(uint64_t, bpf_ktime_get_boot_ms, 30, void);
EFW_HELPER(uint64_t, bpf_ktime_get_ms, 31, void);
EFW_HELPER(int, bpf_perf_event_output, 32, void *ctx, void *perf_event_array, uint64_t flags, const void *data,
           uint64_t size);
/* 33 and 34 take the program context implicitly (no arguments in C). */
EFW_HELPER(uint64_t, bpf_get_current_process_start_key, 33, void);
EFW_HELPER(int64_t, bpf_get_current_thread_create_time, 34, void);

/*
 * bpf_printk(fmt, args...): picks bpf_trace_printk2..5 by argument count
 * (0..3 numeric arguments). The format lives on the stack, as EfW programs
 * expect. Conversions: %d %i %u %x with optional l / ll.
 */
#define efw__printk_pick(_0, _1, _2, _3, name, ...) name
#define efw__printk_fn(...)                                                                                          \
    efw__printk_pick(_, ##__VA_ARGS__, bpf_trace_printk5, bpf_trace_printk4, bpf_trace_printk3, bpf_trace_printk2)
#define bpf_printk(fmt, ...)                                                                                         \
    ({                                                                                                               \
        char ____fmt[] = fmt;                                                                                        \
        efw__printk_fn(__VA_ARGS__)(____fmt, sizeof(____fmt), ##__VA_ARGS__);                                        \
    })

/*
 * bpf_perf_event_output flags: low 32 bits = CPU index (all ones = current
 * CPU), bits 32..51 = number of bytes of the packet (context data) to append.
 * Same encoding as Linux; EfW spells them EBPF_MAP_FLAG_*.
 */
#define EBPF_MAP_FLAG_INDEX_MASK 0xffffffffULL
#define EBPF_MAP_FLAG_CURRENT_CPU EBPF_MAP_FLAG_INDEX_MASK
#define EBPF_MAP_FLAG_CTX_LENGTH_SHIFT 32
#define EBPF_MAP_FLAG_CTX_LENGTH_MAX 0xfffffULL
#define EBPF_MAP_FLAG_CTX_LENGTH_MASK (EBPF_MAP_FLAG_CTX_LENGTH_MAX << EBPF_MAP_FLAG_CTX_LENGTH_SHIFT)
#define BPF_F_INDEX_MASK EBPF_MAP_FLAG_INDEX_MASK
#define BPF_F_CURRENT_CPU EBPF_MAP_FLAG_CURRENT_CPU
#define BPF_F_CTXLEN_MASK EBPF_MAP_FLAG_CTX_LENGTH_MASK

#include "ebpf_nethooks.h"

#endif /* EBPF_TS_EFW_BPF_HELPERS_H */
