// SPDX-License-Identifier: MIT
/*
 * sample_ext.h: what a program of the `sample` program type sees, as the sample extension in
 * sample-extension.mjs defines it (the re-creation of ebpf-for-windows' sample extension; the
 * numbers are that extension's so its objects and these agree).
 *
 * Programs are ebpf-for-windows programs (include/efw/bpf_helpers.h) in sections named
 * `sample_ext` or starting with it (`sample_ext/0`, `sample_ext1` …).
 */
#ifndef SAMPLE_EXT_H
#define SAMPLE_EXT_H

#include <efw/bpf_helpers.h>

/* The context (32 bytes): a data buffer, then numbers the caller of a test run chooses. */
typedef struct sample_program_context {
    uint8_t *data_start;    /*  0: the data buffer */
    uint8_t *data_end;      /*  8 */
    uint32_t uint32_data;   /* 16 */
    uint16_t uint16_data;   /* 20 */
    uint32_t helper_data_1; /* 24: what sample_ebpf_extension_helper_implicit_1 returns */
    uint32_t helper_data_2; /* 28: what sample_ebpf_extension_helper_implicit_2 adds to its argument */
} sample_program_context_t;

/* The extension's helpers, numbered from 65536 as ebpf-for-windows numbers a type's own. */
#define SAMPLE_EXT_HELPER(ret, name, n, ...) static ret(*const name)(__VA_ARGS__) = (void *)(0xFFFF + (n))

/* Returns 0. */
SAMPLE_EXT_HELPER(int64_t, sample_ebpf_extension_helper_function1, 1, sample_program_context_t *ctx);
/* The offset of the string `find` (up to its NUL, within arg_size) in buffer (within size), or -1. */
SAMPLE_EXT_HELPER(int64_t, sample_ebpf_extension_find, 2, const void *buffer, uint32_t size, const void *find, uint32_t arg_size);
/*
 * Copies the string `replace` (up to its NUL, within arg_size) into buffer at position, never
 * past the buffer's last byte but one; 0, or -1 when position is not inside the buffer.
 */
SAMPLE_EXT_HELPER(int64_t, sample_ebpf_extension_replace, 3, void *buffer, uint32_t size, int64_t position, const void *replace,
                  uint32_t arg_size);
/* The context's helper_data_1: the context is passed implicitly, as ebpf-for-windows does. */
SAMPLE_EXT_HELPER(int64_t, sample_ebpf_extension_helper_implicit_1, 4, void);
/* The context's helper_data_2 plus arg. */
SAMPLE_EXT_HELPER(int64_t, sample_ebpf_extension_helper_implicit_2, 5, uint32_t arg);

/* The extension's map types, by their ebpf-for-windows numbers. */
#define BPF_MAP_TYPE_SAMPLE_ARRAY_MAP 0xF000 /* u32 keys; delete zeroes a value */
#define BPF_MAP_TYPE_SAMPLE_HASH_MAP 0xF001

#endif
