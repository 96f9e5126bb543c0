// SPDX-License-Identifier: MIT
/*
 * accept_efw.c: an ebpf-for-windows `cgroup/recv_accept4` hook (sock_addr), against
 * include/efw/: inbound TCP connections from the peer address 127.0.0.3 are rejected (closed
 * before the application sees them); others proceed. For an accepted connection the context's
 * source (msg_src_ip4/msg_src_port) is the peer and its destination (user_ip4/user_port) this end.
 * Each verdict is counted.
 *
 * Section: cgroup/recv_accept4 (program `accept_policy`), context bpf_sock_addr_t.
 * Map:     accept_verdicts: ARRAY, key uint32_t verdict (0 reject, 1 proceed), value uint64_t, 2 entries.
 *
 * Input -> return value -> maps:
 *   { family 2, msg_src 127.0.0.3:40000, user 127.0.0.1:8080, TCP } -> BPF_SOCK_ADDR_VERDICT_REJECT (0);
 *       accept_verdicts[0] = 1
 *   { family 2, msg_src 127.0.0.1:40001, user 127.0.0.1:8080, TCP } -> BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT (1);
 *       accept_verdicts[1] = 1
 */
#include <efw/bpf_endian.h>
#include <efw/bpf_helpers.h>

#define IPPROTO_TCP 6

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, uint32_t);
    __type(value, uint64_t);
} accept_verdicts SEC(".maps");

SEC("cgroup/recv_accept4")
int accept_policy(bpf_sock_addr_t *ctx)
{
    uint32_t verdict = BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT;
    if (ctx->protocol == IPPROTO_TCP && ctx->msg_src_ip4 == bpf_htonl(0x7f000003))
        verdict = BPF_SOCK_ADDR_VERDICT_REJECT;
    uint64_t *count = bpf_map_lookup_elem(&accept_verdicts, &verdict);
    if (count)
        *count += 1;
    return verdict;
}
