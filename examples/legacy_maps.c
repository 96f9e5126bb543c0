// SPDX-License-Identifier: MIT
/*
 * legacy_maps.c: XDP, Linux flavour, with maps declared the pre-BTF way: a
 * `struct bpf_map_def` per map in SEC("maps"). libbpf 1.0 removed support
 * and its headers no longer define the struct, so it is defined here: five
 * __u32, 20 bytes per map. The loader learns key and value sizes from the
 * definition only (no BTF types for them).
 *
 * Section: xdp (program `legacy_counters`).
 * Maps (section "maps", 2 x 20 bytes):
 *   proto_count: ARRAY, key 4 bytes, value 8 bytes, 3 entries:
 *                [0] UDP, [1] TCP, [2] anything else (non-IPv4 included).
 *   port_count:  HASH, key 4 bytes (UDP/TCP destination port, host order),
 *                value 8 bytes, 64 entries, map_flags BPF_F_NO_PREALLOC.
 *
 * Input -> return value -> map contents (maps start zeroed / empty):
 *   udp_dns_empty   -> XDP_PASS (2); proto_count = [1, 0, 0]; port_count = { 53: 1 }.
 *   tcp_syn         -> XDP_PASS; proto_count = [0, 1, 0]; port_count = { 80: 1 }.
 *   arp             -> XDP_PASS; proto_count = [0, 0, 1]; port_count empty.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct bpf_map_def SEC("maps") proto_count = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 3,
};

struct bpf_map_def SEC("maps") port_count = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 64,
    .map_flags = BPF_F_NO_PREALLOC,
};

SEC("xdp")
int legacy_counters(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 slot = 2, port = 0;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *l4 = (void *)(ip + 1);
    if ((void *)l4 + 4 <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) && ip->ihl == 5) {
        if (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP) {
            slot = ip->protocol == IPPROTO_UDP ? 0 : 1;
            port = bpf_ntohs(l4->dest);
        }
    }

    __u64 *count = bpf_map_lookup_elem(&proto_count, &slot);
    if (count)
        __sync_fetch_and_add(count, 1);
    if (slot == 2)
        return XDP_PASS;

    __u64 *hits = bpf_map_lookup_elem(&port_count, &port);
    if (hits) {
        __sync_fetch_and_add(hits, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&port_count, &port, &one, BPF_NOEXIST);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
