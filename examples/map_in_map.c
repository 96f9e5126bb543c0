// SPDX-License-Identifier: MIT
/*
 * map_in_map.c: XDP, Linux flavour. Maps of maps: the outer map's values are
 * maps. The inner template is declared with __array(values, ...); the outer
 * maps are initialised statically (libbpf fills slot i from `.values[i]`, for
 * HASH_OF_MAPS too, where the key is the index as a __u32).
 *
 * Section: xdp (program `per_protocol_counters`).
 * Maps:    udp_count, other_count: ARRAY, 1 entry, __u32 -> __u64 (inner maps).
 *          by_protocol: ARRAY_OF_MAPS, 2 slots, [0] = udp_count, [1] = other_count.
 *          sources_a: HASH, 16 entries, __u32 source address -> __u64 (inner map).
 *          by_table: HASH_OF_MAPS, 4 entries, key __u32, { 0: sources_a }.
 *
 * Input -> return value -> map contents (inner maps start zeroed / empty):
 *   udp_dns_empty (10.0.0.1) -> XDP_PASS (2); udp_count[0] = 1, other_count[0] = 0,
 *       sources_a = { 0a 00 00 01: 1 }.
 *   tcp_syn (192.168.1.10)   -> XDP_PASS; other_count[0] = 1, sources_a adds
 *       { c0 a8 01 0a: 1 }.
 *   arp, runt                -> XDP_PASS; nothing changes.
 *   If by_protocol or by_table has no map in the slot looked up, the program
 *   returns XDP_ABORTED (0).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct counter_map {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} udp_count SEC(".maps"), other_count SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct counter_map);
} by_protocol SEC(".maps") = {
    .values = { [0] = &udp_count, [1] = &other_count },
};

struct source_map {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} sources_a SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct source_map);
} by_table SEC(".maps") = {
    .values = { [0] = &sources_a },
};

SEC("xdp")
int per_protocol_counters(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    __u32 slot = ip->protocol == IPPROTO_UDP ? 0 : 1;
    void *counters = bpf_map_lookup_elem(&by_protocol, &slot);
    if (!counters)
        return XDP_ABORTED;
    __u32 zero = 0;
    __u64 *count = bpf_map_lookup_elem(counters, &zero);
    if (count)
        __sync_fetch_and_add(count, 1);

    void *sources = bpf_map_lookup_elem(&by_table, &zero);
    if (!sources)
        return XDP_ABORTED;
    __u32 source = ip->saddr;
    __u64 *seen = bpf_map_lookup_elem(sources, &source);
    if (seen) {
        __sync_fetch_and_add(seen, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(sources, &source, &one, BPF_NOEXIST);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
