// SPDX-License-Identifier: MIT
/*
 * sample_maps.c: `sample` programs (sample extension) that use the extension's own map types
 * through the ordinary map helpers, and a chain of tail calls between sample programs.
 *
 * Maps: counters: SAMPLE_HASH_MAP (0xF001), key uint32_t, value uint64_t, 16 entries.
 *       slots:    SAMPLE_ARRAY_MAP (0xF000), key uint32_t, value uint64_t, 4 entries.
 *       chain:    PROG_ARRAY, 2 entries (user space sets [0] = second, [1] = third).
 *
 * Programs (context sample_program_context_t):
 *   sample_ext/count  `count`:  counters[ctx->uint32_data] += 1 (created at 1), then slots[1] = that
 *                               count and slots[2] deleted (the sample array zeroes it); returns the count.
 *   sample_ext/0 `first`:  tail-calls chain[0]; returns 1 if that fails.
 *   sample_ext/1 `second`: tail-calls chain[1]; returns 2 if that fails.
 *   sample_ext/2 `third`:  returns 3.
 * Input: uint32_data = 5, three runs of `count` -> 1, 2, 3; counters[5] = 3; slots[1] = 3.
 *   A run of `first` -> 3.
 */
#include "sample_ext.h"

SEC("maps")
struct bpf_map_def counters = {
    .type = BPF_MAP_TYPE_SAMPLE_HASH_MAP,
    .key_size = sizeof(uint32_t),
    .value_size = sizeof(uint64_t),
    .max_entries = 16,
};

SEC("maps")
struct bpf_map_def slots = {
    .type = BPF_MAP_TYPE_SAMPLE_ARRAY_MAP,
    .key_size = sizeof(uint32_t),
    .value_size = sizeof(uint64_t),
    .max_entries = 4,
};

SEC("maps")
struct bpf_map_def chain = {
    .type = BPF_MAP_TYPE_PROG_ARRAY,
    .key_size = sizeof(uint32_t),
    .value_size = sizeof(uint32_t),
    .max_entries = 2,
};

SEC("sample_ext/count")
int count(sample_program_context_t *ctx)
{
    uint32_t key = ctx->uint32_data;
    uint64_t n = 1;
    uint64_t *value = bpf_map_lookup_elem(&counters, &key);
    if (value) {
        n = *value + 1;
        *value = n;
    } else {
        bpf_map_update_elem(&counters, &key, &n, BPF_NOEXIST);
    }
    uint32_t one = 1, two = 2;
    bpf_map_update_elem(&slots, &one, &n, BPF_ANY);
    bpf_map_delete_elem(&slots, &two);
    return (int)n;
}

SEC("sample_ext/0")
int first(sample_program_context_t *ctx)
{
    bpf_tail_call(ctx, &chain, 0);
    return 1;
}

SEC("sample_ext/1")
int second(sample_program_context_t *ctx)
{
    bpf_tail_call(ctx, &chain, 1);
    return 2;
}

SEC("sample_ext/2")
int third(sample_program_context_t *ctx)
{
    return 3;
}
