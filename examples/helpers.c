// SPDX-License-Identifier: MIT
/*
 * helpers.c: XDP, Linux flavour. One call to each of a set of common helpers,
 * each result stored in `helper_results` so a test can check it.
 *
 * Section: xdp (program `use_helpers`); callback sum_weight in .text.
 * Maps:    helper_results: ARRAY, 10 entries, key __u32, value __u64:
 *            [0] bpf_ktime_get_ns() != 0             -> 1
 *            [1] bpf_get_smp_processor_id()          -> the CPU (0 in a single-CPU test)
 *            [2] bpf_get_prandom_u32()               -> anything (not asserted)
 *            [3] bpf_csum_diff(NULL, 0, {saddr, daddr}, 8, 0), folded to 16 bits
 *            [4] bpf_strncmp("ebpf-ts" on the stack, 8, "ebpf-ts" in .rodata) -> 0
 *            [5] bpf_snprintf(out, 16, "%u.%u", {dport, length})  -> bytes incl. NUL
 *            [6] the first 8 bytes of `out`, loaded as a little-endian __u64
 *            [7] counter in `locked`, incremented under bpf_spin_lock
 *            [8] bpf_for_each_map_elem(&weights, ...) -> elements visited (4)
 *            [9] 1 if, after bpf_xdp_adjust_head(ctx, 14), the packet starts with 0x45
 *          locked: ARRAY, 1 entry, value struct { struct bpf_spin_lock lock; __u64 counter; }.
 *          weights: ARRAY, 4 entries, __u32 -> __u64 (summed by the callback; all 0).
 * bpf_printk writes "udp dport 53 len 42" to the trace log (return value unused).
 *
 * Input -> return value -> map contents (maps start zeroed):
 *   udp_dns_empty (42 bytes, 10.0.0.1 -> 10.0.0.2 port 53) -> XDP_PASS (2);
 *       helper_results = [1, cpu, any, 0x0314, 0, 6, 0x32342e3335 ("53.42\0\0\0"), 1, 4, 1];
 *       locked.counter = 1 (2 after a second run).
 *   anything that is not IPv4/UDP (tcp_syn, arp, runt) -> XDP_PASS; nothing stored.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct bpf_map; /* opaque: the callback of bpf_for_each_map_elem gets the map */

struct locked_value {
    struct bpf_spin_lock lock;
    __u64 counter;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 10);
    __type(key, __u32);
    __type(value, __u64);
} helper_results SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct locked_value);
} locked SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} weights SEC(".maps");

static const char expected_name[] = "ebpf-ts";
static const char port_format[] = "%u.%u";

struct weight_sum {
    __u64 total;
};

static long sum_weight(struct bpf_map *map, __u32 *key, __u64 *value, struct weight_sum *ctx)
{
    ctx->total += *value;
    return 0; /* 0: next element, 1: stop */
}

static __always_inline void store(__u32 slot, __u64 value)
{
    __u64 *out = bpf_map_lookup_elem(&helper_results, &slot);
    if (out)
        *out = value;
}

SEC("xdp")
int use_helpers(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
        ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    __u64 length = data_end - data;
    __u32 dport = bpf_ntohs(udp->dest);

    store(0, bpf_ktime_get_ns() != 0);
    store(1, bpf_get_smp_processor_id());
    store(2, bpf_get_prandom_u32());

    __be32 addresses[2] = { ip->saddr, ip->daddr };
    __u64 sum = (__u32)bpf_csum_diff(0, 0, addresses, sizeof(addresses), 0);
    sum = (sum & 0xffff) + (sum >> 16);
    store(3, (sum & 0xffff) + (sum >> 16));

    char name[8] = "ebpf-ts";
    store(4, bpf_strncmp(name, sizeof(name), expected_name));

    char out[16] = {};
    __u64 args[2] = { dport, length };
    store(5, bpf_snprintf(out, sizeof(out), port_format, args, sizeof(args)));
    store(6, *(__u64 *)out);

    __u32 zero = 0;
    struct locked_value *lv = bpf_map_lookup_elem(&locked, &zero);
    if (lv) {
        bpf_spin_lock(&lv->lock);
        lv->counter += 1;
        __u64 now = lv->counter;
        bpf_spin_unlock(&lv->lock);
        store(7, now);
    }

    struct weight_sum ws = { .total = 0 };
    store(8, bpf_for_each_map_elem(&weights, sum_weight, &ws, 0));
    bpf_printk("udp dport %u len %llu", dport, length);

    if (bpf_xdp_adjust_head(ctx, sizeof(struct ethhdr)) == 0) {
        __u8 *first = (void *)(long)ctx->data;
        if ((void *)(first + 1) <= (void *)(long)ctx->data_end)
            store(9, *first == 0x45);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
