// SPDX-License-Identifier: MIT
/*
 * droppacket.c: XDP, Linux flavour. Drops UDP datagrams with an empty payload
 * (UDP length field == 8) and counts them.
 *
 * Section: xdp (program `drop_empty_udp`).
 * Maps:    dropped_packet_map: ARRAY, 1 entry, key __u32, value __u64.
 *
 * Input -> return value -> map contents (map starts zeroed):
 *   udp_dns_empty (Ethernet + IPv4 + UDP 12345 -> 53, UDP length 8, 42 bytes)
 *       -> XDP_DROP (1); dropped_packet_map[0] == 1 (+1 per such packet).
 *   udp_dns_payload (same, 4-byte payload "abcd", UDP length 12, 46 bytes)
 *       -> XDP_PASS (2); map unchanged.
 *   tcp_syn, arp, runt (a 20-byte frame) -> XDP_PASS (2); map unchanged.
 * Every header is bounds-checked against data_end before it is read.
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
int drop_empty_udp(struct xdp_md *ctx)
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
    if ((void *)(udp + 1) > data_end)
        return XDP_PASS;
    if (udp->len != bpf_htons(sizeof(struct udphdr)))
        return XDP_PASS;

    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&dropped_packet_map, &key);
    if (count)
        *count += 1;
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
