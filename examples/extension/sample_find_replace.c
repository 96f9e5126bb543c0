// SPDX-License-Identifier: MIT
/*
 * sample_find_replace.c: a `sample` program (sample extension) that finds the word in
 * words[0] in its data buffer and overwrites it with the word in words[1].
 *
 * Section: sample_ext (program `find_replace`), context sample_program_context_t.
 * Map:     words: ARRAY, key uint32_t, value char[32], 2 entries (user space fills them).
 *
 * Input: data "Seattle is a rainy city\0", words = { "rainy", "sunny" }
 *   -> data "Seattle is a sunny city\0"; returns 42.
 *   A buffer without the word is unchanged; returns 42. An empty buffer: returns 42.
 *   A replace the extension refuses: returns its result (-1).
 */
#include "sample_ext.h"

#define WORD 32

SEC("maps")
struct bpf_map_def words = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(uint32_t),
    .value_size = WORD,
    .max_entries = 2,
};

SEC("sample_ext")
int find_replace(sample_program_context_t *ctx)
{
    uint8_t *start = ctx->data_start;
    uint8_t *end = ctx->data_end;
    if (end > start) {
        uint32_t zero = 0, one = 1;
        char *from = bpf_map_lookup_elem(&words, &zero);
        char *to = bpf_map_lookup_elem(&words, &one);
        if (from == 0 || to == 0)
            return 1;
        int64_t at = sample_ebpf_extension_find(start, end - start, from, WORD);
        if (at >= 0) {
            int64_t r = sample_ebpf_extension_replace(start, end - start, at, to, WORD);
            if (r < 0)
                return (int)r;
        }
    }
    sample_ebpf_extension_helper_function1(ctx);
    return 42;
}
