// SPDX-License-Identifier: MIT
/*
 * runaway.c: Linux socket programs with a bug that only shows at run time. Every loop is bounded
 * (bpf_loop of at most 2^23 calls, each running a loop of 4096 steps), so a verifier accepts them;
 * but for one port the work is 2^35 steps, which no hook can wait for. ebpf-ts stops such a run at
 * its instruction limit (100 million), a run-time fault; the hook then applies its fault verdict
 * (README, "Policing a Node app"): the connect or bind is refused, a sockops event is ignored.
 *
 * Sections: cgroup/connect4 (program `runaway_connect4`) and cgroup/bind4 (`runaway_bind4`),
 *           context struct bpf_sock_addr: run away when user_port is 9 (discard), else proceed (1);
 *           sockops (`runaway_sockops`), context struct bpf_sock_ops: run away when either end of
 *           the connection is port 8080, else return 1.
 * Map:      finished: ARRAY, key __u32 0, value __u64, 1 entry: runs that reached their return
 *           (a run stopped at the limit never does). Each program loaded has its own.
 *
 * Input -> return -> map:
 *   struct bpf_sock_addr {TCP 127.0.0.1:9}   -> no return: instruction-limit fault; finished unchanged
 *   struct bpf_sock_addr {TCP 127.0.0.1:443} -> 1; finished[0] += 1
 *   struct bpf_sock_ops {ACTIVE_ESTABLISHED_CB, remote_port 8080} -> fault; {…, ports 40000 -> 443} -> 1, finished[0] += 1
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} finished SEC(".maps");

/* 4096 steps of busy work; the volatile keeps clang from folding them away. */
static long spin(__u32 index, void *ctx)
{
    volatile __u64 x = index;
#pragma clang loop unroll(disable)
    for (int i = 0; i < 4096; i++)
        x += i;
    return x == 0; /* 0: go on (x is never 0 here) */
}

static __always_inline int finish(void)
{
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&finished, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return 1;
}

SEC("cgroup/connect4")
int runaway_connect4(struct bpf_sock_addr *ctx)
{
    if (ctx->user_port == bpf_htons(9))
        bpf_loop(1 << 23, spin, NULL, 0);
    return finish();
}

SEC("cgroup/bind4")
int runaway_bind4(struct bpf_sock_addr *ctx)
{
    if (ctx->user_port == bpf_htons(9))
        bpf_loop(1 << 23, spin, NULL, 0);
    return finish();
}

SEC("sockops")
int runaway_sockops(struct bpf_sock_ops *ctx)
{
    /* local_port is in host order, remote_port in network order (in the upper half, read as a u32). */
    if (ctx->local_port == 8080 || bpf_ntohl(ctx->remote_port) == 8080)
        bpf_loop(1 << 23, spin, NULL, 0);
    return finish();
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
