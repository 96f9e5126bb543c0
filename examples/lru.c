// SPDX-License-Identifier: MIT
/*
 * lru.c: XDP, Linux flavour. Flow accounting in LRU maps: when a map is full,
 * inserting a new key evicts the least recently used one instead of failing.
 *
 * Section: xdp (program `lru_flows`).
 * Maps:    flows: LRU_HASH, 4 entries, key __u32 (IPv4 source address, network
 *                 order), value struct flow_stats { __u64 packets; __u64 bytes; }.
 *          ports: LRU_PERCPU_HASH, 4 entries, key __u32 (UDP/TCP destination
 *                 port, host order), value __u64 packets on this CPU.
 *
 * Input (CPU 0) -> return value -> map contents (maps start empty):
 *   udp_dns_empty (10.0.0.1 -> port 53, 42 bytes) -> XDP_PASS (2);
 *       flows = { 0a 00 00 01: {packets 1, bytes 42} }; ports = { 53: {cpu0: 1} }.
 *   udp_dns_payload (same flow, 46 bytes) -> XDP_PASS;
 *       flows = { 0a 00 00 01: {2, 88} }; ports = { 53: {cpu0: 2} }.
 *   tcp_syn (192.168.1.10 -> port 80) -> XDP_PASS; adds c0 a8 01 0a: {1, 54}, 80: {cpu0: 1}.
 *   A fifth distinct source evicts the least recently used flow (the map never
 *   holds more than 4; Linux's LRU is approximate, ebpf-ts's is exact).
 *   arp, runt -> XDP_PASS; maps unchanged.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct flow_stats {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct flow_stats);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} ports SEC(".maps");

SEC("xdp")
int lru_flows(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    /* UDP and TCP both start with source and destination ports: read 4 bytes. */
    struct udphdr *l4 = (void *)(ip + 1);
    if ((void *)l4 + 4 > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
        return XDP_PASS;

    __u32 source = ip->saddr;
    __u64 length = data_end - data;
    struct flow_stats *flow = bpf_map_lookup_elem(&flows, &source);
    if (flow) {
        flow->packets += 1;
        flow->bytes += length;
    } else {
        struct flow_stats fresh = { .packets = 1, .bytes = length };
        bpf_map_update_elem(&flows, &source, &fresh, BPF_ANY);
    }

    if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP)
        return XDP_PASS;
    __u32 port = bpf_ntohs(l4->dest);
    __u64 *hits = bpf_map_lookup_elem(&ports, &port);
    if (hits) {
        *hits += 1;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&ports, &port, &one, BPF_ANY);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
