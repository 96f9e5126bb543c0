// SPDX-License-Identifier: MIT
/*
 * tail_call.c: XDP, Linux flavour. A dispatcher tail-calls one of two
 * programs through a PROG_ARRAY, initialised statically in the object (libbpf
 * fills the slots from the relocations of `.values`). A tail call to an empty
 * slot or an index past max_entries does not jump: execution continues after
 * the call, where the dispatcher returns its fallback.
 *
 * Section: xdp (programs `dispatch` (entry), `handle_dns`, `handle_tcp`).
 * Maps:    jump_table: PROG_ARRAY, 3 slots: [0] = handle_dns, [1] = handle_tcp,
 *                      [2] = empty.
 *          hits: ARRAY, 3 entries, key __u32, value __u64: [0] handle_dns runs,
 *                [1] handle_tcp runs, [2] fallbacks.
 *
 * Input -> return value -> map contents (hits starts zeroed):
 *   udp_dns_empty (UDP to port 53) -> slot 0 -> XDP_DROP (1); hits = [1, 0, 0].
 *   tcp_syn                        -> slot 1 -> XDP_TX (3);   hits = [0, 1, 0].
 *   udp_other (UDP to port 9999)   -> slot 2 (empty) -> XDP_PASS (2); hits = [0, 0, 1].
 *   arp, runt                      -> index 7 (out of range) -> XDP_PASS; hits = [0, 0, 1].
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

static __always_inline void count(__u32 slot)
{
    __u64 *n = bpf_map_lookup_elem(&hits, &slot);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("xdp")
int handle_dns(struct xdp_md *ctx)
{
    count(0);
    return XDP_DROP;
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx)
{
    count(1);
    return XDP_TX;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 3);
    __uint(key_size, sizeof(__u32));
    __array(values, int(struct xdp_md *));
} jump_table SEC(".maps") = {
    .values = { [0] = &handle_dns, [1] = &handle_tcp },
};

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 slot = 7;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) && ip->ihl == 5) {
        if (ip->protocol == IPPROTO_TCP)
            slot = 1;
        else if (ip->protocol == IPPROTO_UDP && udp->dest == bpf_htons(53))
            slot = 0;
        else
            slot = 2;
    }
    bpf_tail_call(ctx, &jump_table, slot);
    count(2);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
