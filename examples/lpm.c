// SPDX-License-Identifier: MIT
/*
 * lpm.c: XDP, Linux flavour. Route lookup in an LPM_TRIE: the longest prefix
 * containing the packet's IPv4 destination decides the XDP action.
 *
 * Section: xdp (program `route_lookup`).
 * Maps:    routes: LPM_TRIE, BPF_F_NO_PREALLOC (required for LPM tries),
 *                  32 entries, key struct route_key { __u32 prefixlen; __u32 addr; }
 *                  (addr in network byte order, 8 bytes), value __u32 XDP action.
 *          route_stats: ARRAY, 2 entries, key __u32, value __u64
 *                  ([0] = lookups that matched, [1] = misses).
 *
 * Setup (user space, before running): routes = {
 *     {prefixlen 8,  addr 10.0.0.0}     -> 1 (XDP_DROP),
 *     {prefixlen 32, addr 10.0.0.2}     -> 3 (XDP_TX),
 *     {prefixlen 24, addr 192.168.2.0}  -> 1 (XDP_DROP) }.
 * Input -> return value -> map contents:
 *   udp_dns_empty (dst 10.0.0.2)     -> 3 (XDP_TX: the /32 beats the /8); route_stats[0] = 1.
 *   udp_other (dst 10.9.9.9)         -> 1 (XDP_DROP, via 10.0.0.0/8); route_stats[0] += 1.
 *   tcp_syn (dst 192.168.1.1)        -> 2 (XDP_PASS, the default); route_stats[1] = 1.
 *   With routes empty, every IPv4 packet -> XDP_PASS and counts a miss.
 *   arp, runt -> XDP_PASS; route_stats unchanged.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct route_key {
    __u32 prefixlen;
    __u32 addr;
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, 32);
    __type(key, struct route_key);
    __type(value, __u32);
} routes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} route_stats SEC(".maps");

SEC("xdp")
int route_lookup(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct route_key key = { .prefixlen = 32, .addr = ip->daddr };
    __u32 *action = bpf_map_lookup_elem(&routes, &key);

    __u32 slot = action ? 0 : 1;
    __u64 *counter = bpf_map_lookup_elem(&route_stats, &slot);
    if (counter)
        __sync_fetch_and_add(counter, 1);

    if (action && *action <= XDP_REDIRECT)
        return *action;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
