// SPDX-License-Identifier: MIT
/*
 * queue_stack.c: XDP, Linux flavour. QUEUE (FIFO) and STACK (LIFO) maps have
 * no keys; bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem move
 * values in and out. Each run pushes the frame length L and then L + 1 to
 * both maps, pops one value from each and peeks at the next one, recording
 * what it saw in `seen`.
 *
 * Section: xdp (program `queue_stack`).
 * Maps:    fifo: QUEUE, 8 entries, value __u32 (key_size 0).
 *          lifo: STACK, 8 entries, value __u32 (key_size 0).
 *          seen: ARRAY, 4 entries, key __u32, value __u64:
 *                [0] = popped from fifo, [1] = popped from lifo,
 *                [2] = peeked in fifo,   [3] = peeked in lifo
 *                (a failed pop/peek stores 0xffffffff).
 *
 * Input -> return value -> map contents (maps start empty):
 *   udp_dns_empty (L = 42), first run -> XDP_PASS (2);
 *       seen = [42, 43, 43, 42]; fifo holds [43]; lifo holds [42].
 *   the same packet, second run       -> XDP_PASS;
 *       seen = [43, 43, 42, 42]; fifo holds [42, 43] (oldest first);
 *       lifo holds [42, 42] (bottom first).
 *   Each run adds one value net. From the 8th run on the map is full when
 *   the second push comes (it fails: -E2BIG on Linux), so both maps hold 7
 *   values after every later run; pops and peeks keep succeeding.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 8);
    __type(value, __u32);
} fifo SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __uint(max_entries, 8);
    __type(value, __u32);
} lifo SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} seen SEC(".maps");

static __always_inline void record(__u32 slot, long err, __u32 value)
{
    __u64 *out = bpf_map_lookup_elem(&seen, &slot);
    if (out)
        *out = err ? 0xffffffff : value;
}

SEC("xdp")
int queue_stack(struct xdp_md *ctx)
{
    __u32 length = ctx->data_end - ctx->data;
    __u32 next = length + 1;
    __u32 value = 0;
    long err;

    bpf_map_push_elem(&fifo, &length, 0);
    bpf_map_push_elem(&lifo, &length, 0);
    bpf_map_push_elem(&fifo, &next, 0);
    bpf_map_push_elem(&lifo, &next, 0);

    err = bpf_map_pop_elem(&fifo, &value);
    record(0, err, value);
    err = bpf_map_pop_elem(&lifo, &value);
    record(1, err, value);
    err = bpf_map_peek_elem(&fifo, &value);
    record(2, err, value);
    err = bpf_map_peek_elem(&lifo, &value);
    record(3, err, value);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
