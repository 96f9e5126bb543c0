// SPDX-License-Identifier: MIT
/*
 * connect6_policy.c: connect4_policy's rule for IPv6, a Linux `cgroup/connect6` (sock_addr)
 * program: TCP connections to the SMTP ports 25 and 2525 are rejected, everything else proceeds.
 * Each decision is counted.
 *
 * Section: cgroup/connect6 (program `connect6_policy`), context struct bpf_sock_addr.
 * Map:     decisions6: ARRAY, key __u32 (0 rejected, 1 proceeded), value __u64, 2 entries.
 *
 * Input (struct bpf_sock_addr, user_ip6 and user_port in network order) -> return -> effect:
 *   TCP [2001:db8::1]:25 (or 2525) -> 0 (reject);  decisions6[0] += 1
 *   TCP [::1]:8080                 -> 1 (proceed); decisions6[1] += 1
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} decisions6 SEC(".maps");

static __always_inline void count(__u32 decision)
{
    __u64 *n = bpf_map_lookup_elem(&decisions6, &decision);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("cgroup/connect6")
int connect6_policy(struct bpf_sock_addr *ctx)
{
    if (ctx->protocol == IPPROTO_TCP && (ctx->user_port == bpf_htons(25) || ctx->user_port == bpf_htons(2525))) {
        count(0);
        return 0;
    }
    count(1);
    return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
