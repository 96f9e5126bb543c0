// SPDX-License-Identifier: MIT
/*
 * droppacket_unsafe.c: droppacket.c with ONE bounds check removed, the one
 * proving the UDP header lies before data_end. The program reads udp->len
 * (packet bytes 38..39) having only proved 34 bytes exist, so a verifier must
 * REJECT it (out-of-bounds packet access at the load of udp->len). Everything
 * else, including the map and section, is identical to droppacket.c.
 *
 * Section: xdp (program `drop_empty_udp_unsafe`).
 * Maps:    dropped_packet_map: ARRAY, 1 entry, key __u32, value __u64.
 *
 * Expected: load fails verification; nothing runs, no map changes. (Were it
 * run unchecked on a 34..39-byte IPv4/UDP frame it would read past the end.)
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
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} dropped_packet_map SEC(".maps");

SEC("xdp")
int drop_empty_udp_unsafe(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
        return XDP_PASS;

    struct udphdr *udp = (void *)(ip + 1);
    /* REMOVED CHECK: if ((void *)(udp + 1) > data_end) return XDP_PASS; */
    if (udp->len != bpf_htons(sizeof(struct udphdr)))
        return XDP_PASS;

    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&dropped_packet_map, &key);
    if (count)
        *count += 1;
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
