// SPDX-License-Identifier: MIT
/*
 * xdp_decap.c: XDP, Linux flavour. Takes frames out of a simple tunnel with
 * bpf_xdp_adjust_head: a frame whose EtherType is 0x88B5 (IEEE 802 local experimental) carries
 * a 4-byte tunnel header and then a whole inner Ethernet frame; the program moves the frame's
 * start past the outer Ethernet header and the tunnel header (18 bytes) and lets the inner frame
 * pass. Everything else passes unchanged.
 *
 * Section: xdp (program `decap`).
 * Maps:    decapsulated: ARRAY, 1 entry, key __u32, value __u64 (frames taken out).
 *
 * Input -> return value:
 *   outer Ethernet (type 0x88B5) + 4-byte tunnel header + inner frame of N bytes
 *       -> XDP_PASS (2); the frame is now the inner frame (N bytes); decapsulated[0] += 1
 *   a 0x88B5 frame too short for an inner Ethernet header -> XDP_DROP (1)
 *   any other frame -> XDP_PASS (2), unchanged
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_TUNNEL 0x88B5
#define TUNNEL_HEADER 4

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} decapsulated SEC(".maps");

SEC("xdp")
int decap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_TUNNEL))
        return XDP_PASS;
    if (data + sizeof(struct ethhdr) + TUNNEL_HEADER + sizeof(struct ethhdr) > data_end)
        return XDP_DROP;
    if (bpf_xdp_adjust_head(ctx, sizeof(struct ethhdr) + TUNNEL_HEADER) != 0)
        return XDP_DROP;
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&decapsulated, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
