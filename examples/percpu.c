// SPDX-License-Identifier: MIT
/*
 * percpu.c: XDP, Linux flavour. Per-CPU counters: a PERCPU_ARRAY holding the
 * packet and byte totals, and a PERCPU_HASH counting packets per IP protocol.
 * Each CPU updates only its own copy, so no atomics are needed; user space
 * sees one value per possible CPU and sums them.
 *
 * Section: xdp (program `percpu_stats`).
 * Maps:    totals: PERCPU_ARRAY, 2 entries, key __u32, value __u64
 *                  ([0] = packets, [1] = bytes).
 *          by_protocol: PERCPU_HASH, 256 entries, key __u32 (IPv4 protocol
 *                  number, 0 for non-IPv4 frames), value __u64 packets.
 *
 * Input (run on CPU 0) -> return value -> map contents (maps start empty/zero):
 *   udp_dns_empty (42 bytes) -> XDP_PASS (2);
 *       totals[0] = {cpu0: 1, other CPUs: 0}, totals[1] = {cpu0: 42, others: 0};
 *       by_protocol = { 17: {cpu0: 1, others: 0} }.
 *   then tcp_syn (54 bytes)  -> XDP_PASS; totals[0].cpu0 = 2, totals[1].cpu0 = 96,
 *       by_protocol adds { 6: {cpu0: 1} }.
 *   then arp (42 bytes)      -> XDP_PASS; totals 3 / 138, by_protocol adds { 0: {cpu0: 1} }.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} totals SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} by_protocol SEC(".maps");

SEC("xdp")
int percpu_stats(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    __u32 key = 0;
    __u64 *packets = bpf_map_lookup_elem(&totals, &key);
    if (packets)
        *packets += 1;
    key = 1;
    __u64 *bytes = bpf_map_lookup_elem(&totals, &key);
    if (bytes)
        *bytes += (__u64)(data_end - data);

    __u32 protocol = 0;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP))
        protocol = ip->protocol;

    __u64 *count = bpf_map_lookup_elem(&by_protocol, &protocol);
    if (count) {
        *count += 1;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&by_protocol, &protocol, &one, BPF_ANY);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
