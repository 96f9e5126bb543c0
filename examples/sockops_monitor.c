// SPDX-License-Identifier: MIT
/*
 * sockops_monitor.c: a Linux `sockops` program that watches TCP connections: each one that is
 * established (actively: this side connected; passively: this side accepted) or closed is sent
 * to a ring buffer with its flow tuple, and counted per event.
 *
 * Section: sockops (program `sockops_monitor`), context struct bpf_sock_ops.
 * Maps:    connection_events: RINGBUF, 64 KiB, records struct connection_event (32 bytes:
 *            op u32, local_ip4 u32 and remote_ip4 u32 in network order, local_port u32 in host order,
 *            remote_port u32 in host order, 4 zero bytes, the socket's cookie u64: the same for
 *            every event of one end of a connection, so a reader pairs each close with its open).
 *          event_counts: ARRAY, key __u32 (0 active, 1 passive, 2 closed), value __u64, 3 entries.
 *
 * Input -> records and counts:
 *   ACTIVE_ESTABLISHED_CB (4), 127.0.0.1:40000 -> 127.0.0.1:8080 -> record { 4, 127.0.0.1,
 *     127.0.0.1, 40000, 8080, 0, cookie }; event_counts[0] += 1
 *   PASSIVE_ESTABLISHED_CB (5)                 -> event_counts[1] += 1, a record with op 5
 *   STATE_CB (10) with args[1] = BPF_TCP_CLOSE (7) -> event_counts[2] += 1, a record with op 10
 *   any other op                               -> nothing
 * Established callbacks also ask for STATE_CB on the connection (bpf_sock_ops_cb_flags_set), as
 * a Linux program must to hear of the close. Returns 1.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define BPF_TCP_CLOSE 7

struct connection_event {
    __u32 op;
    __u32 local_ip4;
    __u32 remote_ip4;
    __u32 local_port;
    __u32 remote_port;
    __u32 zero;
    __u64 cookie;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} connection_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} event_counts SEC(".maps");

SEC("sockops")
int sockops_monitor(struct bpf_sock_ops *ctx)
{
    __u32 op = ctx->op;
    __u32 kind;
    if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
        kind = 0;
    else if (op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
        kind = 1;
    else if (op == BPF_SOCK_OPS_STATE_CB && ctx->args[1] == BPF_TCP_CLOSE)
        kind = 2;
    else
        return 1;
    if (kind < 2)
        bpf_sock_ops_cb_flags_set(ctx, BPF_SOCK_OPS_STATE_CB_FLAG);

    struct connection_event event = {
        .op = op,
        .local_ip4 = ctx->local_ip4,
        .remote_ip4 = ctx->remote_ip4,
        .local_port = ctx->local_port,
        .remote_port = bpf_ntohl(ctx->remote_port),
        .zero = 0,
        .cookie = bpf_get_socket_cookie(ctx),
    };
    bpf_ringbuf_output(&connection_events, &event, sizeof(event), 0);
    __u64 *n = bpf_map_lookup_elem(&event_counts, &kind);
    if (n)
        __sync_fetch_and_add(n, 1);
    return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
