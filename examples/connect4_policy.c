// SPDX-License-Identifier: MIT
/*
 * connect4_policy.c: a Linux `cgroup/connect4` (sock_addr) program that polices outgoing IPv4
 * connections: TCP connections to the SMTP ports 25 and 2525 are rejected; TCP connections to 127.0.0.2:80
 * (a loopback alias standing for a service that moved) are redirected to 127.0.0.1:8080 by
 * rewriting the destination; everything else proceeds. Each decision is counted.
 *
 * Section: cgroup/connect4 (program `connect4_policy`), context struct bpf_sock_addr.
 * Map:     decisions: ARRAY, key __u32 (0 rejected, 1 proceeded, 2 redirected), value __u64, 3 entries.
 *
 * Input (struct bpf_sock_addr: user_ip4 and user_port in network order) -> return -> effect:
 *   TCP 203.0.113.5:25   -> 0 (reject);  decisions[0] += 1 (the same for port 2525)
 *   TCP 127.0.0.2:80     -> 1 (proceed); user_ip4 = 127.0.0.1, user_port = 8080; decisions[2] += 1
 *   UDP 127.0.0.2:80     -> 1 (proceed); unchanged (only TCP is redirected); decisions[1] += 1
 *   TCP 198.51.100.7:443 -> 1 (proceed); unchanged; decisions[1] += 1
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
} decisions SEC(".maps");

static __always_inline void count(__u32 decision)
{
    __u64 *n = bpf_map_lookup_elem(&decisions, &decision);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("cgroup/connect4")
int connect4_policy(struct bpf_sock_addr *ctx)
{
    if (ctx->protocol == IPPROTO_TCP && (ctx->user_port == bpf_htons(25) || ctx->user_port == bpf_htons(2525))) {
        count(REJECTED);
        return 0;
    }
    if (ctx->protocol == IPPROTO_TCP && ctx->user_ip4 == bpf_htonl(0x7f000002) && ctx->user_port == bpf_htons(80)) {
        ctx->user_ip4 = bpf_htonl(0x7f000001);
        ctx->user_port = bpf_htons(8080);
        count(REDIRECTED);
        return 1;
    }
    count(PROCEEDED);
    return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
