// SPDX-License-Identifier: MIT
/*
 * connect6_redirect.c: a Linux `cgroup/connect6` (sock_addr) program that rewrites IPv6
 * destinations, address and port: connections (TCP and UDP) to [2001:db8::80]:80, a service that
 * moved, go to [::1]:8080 instead; UDP to port 53 is rejected (DNS goes through the system's
 * resolver, not straight from the application); everything else proceeds. Each decision is counted.
 *
 * Section: cgroup/connect6 (program `connect6_redirect`), context struct bpf_sock_addr.
 * Map:     redirects6: ARRAY, key __u32 (0 rejected, 1 proceeded, 2 redirected), value __u64, 3 entries.
 *
 * Input (struct bpf_sock_addr: user_ip6 and user_port in network order) -> return -> effect:
 *   TCP [2001:db8::80]:80 (or UDP) -> 1; user_ip6 = ::1, user_port = 8080; redirects6[2] += 1
 *   UDP [::1]:53                   -> 0 (reject); redirects6[0] += 1
 *   TCP [::1]:53                   -> 1; unchanged; redirects6[1] += 1
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define REJECTED 0
#define PROCEEDED 1
#define REDIRECTED 2

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} redirects6 SEC(".maps");

static __always_inline int count(__u32 decision, int verdict)
{
    __u64 *n = bpf_map_lookup_elem(&redirects6, &decision);
    if (n)
        __sync_fetch_and_add(n, 1);
    return verdict;
}

SEC("cgroup/connect6")
int connect6_redirect(struct bpf_sock_addr *ctx)
{
    /* 2001:db8::80 as four network-order words. */
    if (ctx->user_ip6[0] == bpf_htonl(0x20010db8) && ctx->user_ip6[1] == 0 && ctx->user_ip6[2] == 0 &&
        ctx->user_ip6[3] == bpf_htonl(0x80) && ctx->user_port == bpf_htons(80)) {
        ctx->user_ip6[0] = 0;
        ctx->user_ip6[1] = 0;
        ctx->user_ip6[2] = 0;
        ctx->user_ip6[3] = bpf_htonl(1);
        ctx->user_port = bpf_htons(8080);
        return count(REDIRECTED, 1);
    }
    if (ctx->protocol == IPPROTO_UDP && ctx->user_port == bpf_htons(53))
        return count(REJECTED, 0);
    return count(PROCEEDED, 1);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
