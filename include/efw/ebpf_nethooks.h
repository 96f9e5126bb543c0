/* SPDX-License-Identifier: MIT */
/*
 * ebpf-ts: program contexts, return codes and hook-specific helpers of the
 * ebpf-for-windows network hooks (xdp / xdp_test, bind, cgroup sock_addr,
 * sockops) and of the sample extension, as documented by ebpf-for-windows
 * (include/ebpf_nethooks.h, include/ebpf_xdp_test_hooks.h, the sample
 * extension's program-info header) and XDP for Windows. Included by
 * <efw/bpf_helpers.h>. Offsets below are for the BPF target (LP64:
 * pointers are 8 bytes); src/abi/efw.ts holds the same layouts as data.
 */
#ifndef EBPF_TS_EFW_NETHOOKS_H
#define EBPF_TS_EFW_NETHOOKS_H

#include "efw_types.h"

/* Hook-specific helper ids start after this base, per program type. */
#define EFW_EXT_HELPER_FN_BASE 0xFFFF

/* -------------------------------------------------------------------- XDP */

/* Section "xdp" (XDP for Windows) or "xdp_test" (netebpfext test hook). */
typedef struct xdp_md {
    void *data;               /*  0: first byte of the packet */
    void *data_end;           /*  8: one past the last byte */
    uint64_t data_meta;       /* 16 */
    uint32_t ingress_ifindex; /* 24 */
} xdp_md_t;                   /* 32 bytes with tail padding */

typedef enum _xdp_action {
    XDP_PASS = 1, /* Linux: 2 */
    XDP_DROP = 2, /* Linux: 1 */
    XDP_TX = 3,   /* Linux: 3 */
} xdp_action_t;

static int (*const bpf_xdp_adjust_head)(xdp_md_t *ctx, int delta) = (void *)(EFW_EXT_HELPER_FN_BASE + 1);

/* ------------------------------------------------------------------- bind */

typedef enum _bind_operation {
    BIND_OPERATION_BIND = 0,      /* entry to bind() */
    BIND_OPERATION_POST_BIND = 1, /* after port allocation */
    BIND_OPERATION_UNBIND = 2,    /* port released */
} bind_operation_t;

typedef struct _bind_md {
    uint8_t *app_id_start;         /*  0: start of the application id (packet-like) */
    uint8_t *app_id_end;           /*  8: end of the application id */
    uint64_t process_id;           /* 16 */
    uint8_t socket_address[16];    /* 24: sockaddr to bind to */
    uint8_t socket_address_length; /* 40 */
    bind_operation_t operation;    /* 44 (4-byte enum) */
    uint8_t protocol;              /* 48: IPPROTO_* */
} bind_md_t;                       /* 56 bytes */

typedef enum _bind_action {
    BIND_PERMIT_SOFT = 0,
    BIND_DENY = 1,
    BIND_REDIRECT = 2,
    BIND_PERMIT_HARD = 3,
    BIND_PERMIT = BIND_PERMIT_SOFT, /* older name */
} bind_action_t;

/* ------------------------------------------------------ cgroup/sock_addr */

/* Sections cgroup/connect4, cgroup/connect6, cgroup/recv_accept4, cgroup/recv_accept6. */
typedef struct bpf_sock_addr {
    uint32_t family; /* 0: AF_INET / AF_INET6 */
    struct {
        union {
            uint32_t msg_src_ip4;    /* 4 (network order) */
            uint32_t msg_src_ip6[4]; /* 4 */
        };
        uint16_t msg_src_port; /* 20 (network order) */
    };
    struct {
        union {
            uint32_t user_ip4;    /* 24 (network order) */
            uint32_t user_ip6[4]; /* 24 */
        };
        uint16_t user_port; /* 40 (network order) */
    };
    uint32_t protocol;       /* 44 */
    uint32_t compartment_id; /* 48 */
    uint64_t interface_luid; /* 56 */
} bpf_sock_addr_t;           /* 64 bytes */

typedef enum _ebpf_sock_addr_verdict {
    BPF_SOCK_ADDR_VERDICT_REJECT = 0,
    BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT = 1,
    BPF_SOCK_ADDR_VERDICT_PROCEED_HARD = 2,
} ebpf_sock_addr_verdict_t;
#define BPF_SOCK_ADDR_VERDICT_PROCEED BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT /* older name */

static uint64_t (*const bpf_sock_addr_get_current_pid_tgid)(bpf_sock_addr_t *ctx) =
    (void *)(EFW_EXT_HELPER_FN_BASE + 1);
static int (*const bpf_sock_addr_set_redirect_context)(bpf_sock_addr_t *ctx, void *data, uint32_t data_size) =
    (void *)(EFW_EXT_HELPER_FN_BASE + 2);

/* ---------------------------------------------------------------- sockops */

typedef enum _bpf_sock_op_type {
    BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB = 0,
    BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB = 1,
    BPF_SOCK_OPS_CONNECTION_DELETED_CB = 2,
} bpf_sock_op_type_t;

typedef struct _bpf_sock_ops {
    bpf_sock_op_type_t op; /* 0 */
    uint32_t family;       /* 4 */
    struct {
        union {
            uint32_t local_ip4;    /* 8 */
            uint32_t local_ip6[4]; /* 8 */
        };
        uint32_t local_port; /* 24 */
    };
    struct {
        union {
            uint32_t remote_ip4;    /* 28 */
            uint32_t remote_ip6[4]; /* 28 */
        };
        uint32_t remote_port; /* 44 */
    };
    uint8_t protocol;        /* 48 */
    uint32_t compartment_id; /* 52 */
    uint64_t interface_luid; /* 56 */
} bpf_sock_ops_t;            /* 64 bytes; the program returns 0 */

#endif /* EBPF_TS_EFW_NETHOOKS_H */
