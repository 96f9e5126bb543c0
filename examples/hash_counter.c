// SPDX-License-Identifier: MIT
/*
 * hash_counter.c: XDP, Linux flavour. Counts IPv4 packets per source address
 * in a HASH map, with an atomic add on the existing value.
 *
 * Section: xdp (program `count_by_source`).
 * Maps:    packets_by_source: HASH, 1024 entries, key __u32 (IPv4 source
 *          address as it appears in the packet, i.e. network byte order),
 *          value __u64 packet count.
 *
 * Input -> return value -> map contents (map starts empty):
 *   udp_dns_empty (source 10.0.0.1)  -> XDP_PASS (2);
 *       packets_by_source = { key bytes 0a 00 00 01: 1 }.
 *   the same packet again            -> XDP_PASS; count 2.
 *   tcp_syn (source 192.168.1.10)    -> XDP_PASS; adds { c0 a8 01 0a: 1 }.
 *   arp, runt                        -> XDP_PASS; map unchanged.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} packets_by_source SEC(".maps");

SEC("xdp")
int count_by_source(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;

    __u32 source = ip->saddr;
    __u64 *count = bpf_map_lookup_elem(&packets_by_source, &source);
    if (count) {
        __sync_fetch_and_add(count, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&packets_by_source, &source, &one, BPF_NOEXIST);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
