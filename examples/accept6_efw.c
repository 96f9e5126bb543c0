// SPDX-License-Identifier: MIT
/*
 * accept6_efw.c: an ebpf-for-windows `cgroup/recv_accept6` hook (sock_addr), against
 * include/efw/: the admin port 8081 takes no IPv6 connections, so inbound IPv6 TCP connections to
 * local port 8081 are rejected (closed before the application sees them); others proceed. For an
 * accepted connection the destination (user_ip6/user_port) is this end, the source
 * (msg_src_ip6/msg_src_port) the peer. IPv4 peers of a dual-stack socket are the recv_accept4
 * hook's, not this one's. Each verdict is counted.
 *
 * Section: cgroup/recv_accept6 (program `accept6_policy`), context bpf_sock_addr_t.
 * Map:     accept6_verdicts: ARRAY, key uint32_t verdict (0 reject, 1 proceed), value uint64_t, 2 entries.
 *
 * Input -> return value -> maps:
 *   { family AF_INET6 (23), msg_src [::1]:40000, user [::1]:8081, TCP } -> BPF_SOCK_ADDR_VERDICT_REJECT (0);
 *       accept6_verdicts[0] = 1
 *   { family AF_INET6 (23), msg_src [::1]:40001, user [::1]:8080, TCP } -> BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT (1);
 *       accept6_verdicts[1] = 1
 */
#include <efw/bpf_endian.h>
#include <efw/bpf_helpers.h>

#define IPPROTO_TCP 6

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, uint32_t);
    __type(value, uint64_t);
} accept6_verdicts SEC(".maps");

SEC("cgroup/recv_accept6")
int accept6_policy(bpf_sock_addr_t *ctx)
{
    uint32_t verdict = BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT;
    if (ctx->protocol == IPPROTO_TCP && ctx->user_port == bpf_htons(8081))
        verdict = BPF_SOCK_ADDR_VERDICT_REJECT;
    uint64_t *count = bpf_map_lookup_elem(&accept6_verdicts, &verdict);
    if (count)
        *count += 1;
    return verdict;
}
