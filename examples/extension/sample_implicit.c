// SPDX-License-Identifier: MIT
/*
 * sample_implicit.c: a `sample` program (sample extension) that records what the extension's
 * implicit-context helpers answer.
 *
 * Section: sample_ext/implicit (program `implicit_helpers`), context sample_program_context_t.
 * Map:     answers: ARRAY, key uint32_t, value { uint64_t implicit_1, implicit_2 }, 1 entry.
 *
 * Input: context { helper_data_1 = 7, helper_data_2 = 100 }
 *   -> answers[0] = { 7, 110 } (implicit_2 is called with 10); returns 0.
 */
#include "sample_ext.h"

struct answers {
    uint64_t implicit_1;
    uint64_t implicit_2;
};

SEC("maps")
struct bpf_map_def answers = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(uint32_t),
    .value_size = sizeof(struct answers),
    .max_entries = 1,
};

SEC("sample_ext/implicit")
int implicit_helpers(sample_program_context_t *ctx)
{
    struct answers a = {
        .implicit_1 = sample_ebpf_extension_helper_implicit_1(),
        .implicit_2 = sample_ebpf_extension_helper_implicit_2(10),
    };
    uint32_t zero = 0;
    bpf_map_update_elem(&answers, &zero, &a, BPF_ANY);
    return 0;
}
