// SPDX-License-Identifier: MIT
/*
 * bounded_loop.c: XDP, Linux flavour. Two kinds of loop a verifier must prove
 * terminating:
 *  1. a real for-loop over the packet (unrolling disabled, so the object has a
 *     back edge), at most 32 iterations, each re-checking data_end: the
 *     Internet checksum of the first min(len, 64) bytes, taken as big-endian
 *     16-bit words (an odd last byte is ignored), carries folded twice,
 *     complemented: ~fold(sum) & 0xffff;
 *  2. bpf_loop(n, callback, &ctx, 0) with n = frame length & 15, the callback
 *     adding index * index to ctx.acc.
 *
 * Section: xdp (program `loops`); the callback square_sum is in .text.
 * Maps:    loop_results: ARRAY, 3 entries, key __u32, value __u64:
 *          [0] checksum, [1] sum of squares, [2] bpf_loop's return value
 *          (the number of iterations done).
 *
 * Input -> return value -> map contents:
 *   udp_dns_empty (42 bytes)   -> XDP_PASS (2); loop_results = [0xc723, 285, 10].
 *   udp_dns_payload (46 bytes) -> XDP_PASS; loop_results = [0x0259, 819, 14].
 *   udp_other (46 bytes)       -> XDP_PASS; loop_results = [0xdb7e, 819, 14].
 *   tcp_syn (54 bytes)         -> XDP_PASS; loop_results = [0x7b10, 55, 6].
 *   arp (42 bytes)             -> XDP_PASS; loop_results = [0xa257, 285, 10].
 *   runt (20 bytes)            -> XDP_PASS; loop_results = [0xb27d, 14, 4].
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_WORDS 32

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} loop_results SEC(".maps");

struct square_ctx {
    __u64 acc;
};

static long square_sum(__u32 index, void *ctx)
{
    struct square_ctx *sc = ctx;
    sc->acc += (__u64)index * index;
    return 0; /* 0: continue, 1: stop */
}

static __always_inline void store(__u32 slot, __u64 value)
{
    __u64 *out = bpf_map_lookup_elem(&loop_results, &slot);
    if (out)
        *out = value;
}

SEC("xdp")
int loops(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 sum = 0;

#pragma clang loop unroll(disable)
    for (__u32 i = 0; i < MAX_WORDS; i++) {
        __u8 *word = data + 2 * i;
        if ((void *)(word + 2) > data_end)
            break;
        sum += ((__u32)word[0] << 8) | word[1];
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    store(0, ~sum & 0xffff);

    struct square_ctx sc = { .acc = 0 };
    long done = bpf_loop((data_end - data) & 15, square_sum, &sc, 0);
    store(1, sc.acc);
    store(2, done);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
