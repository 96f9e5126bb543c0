/* SPDX-License-Identifier: MIT */
/*
 * ebpf-ts: fixed-width integer types for ebpf-for-windows (EfW) flavoured
 * eBPF programs, defined from the compiler's own type macros so that no C
 * library header is needed when compiling with `clang -target bpf`.
 */
#ifndef EBPF_TS_EFW_TYPES_H
#define EBPF_TS_EFW_TYPES_H

typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __SIZE_TYPE__ size_t;
typedef __UINTPTR_TYPE__ uintptr_t;

/* The libbpf-style spellings, which EfW programs also use. */
typedef int8_t __s8;
typedef uint8_t __u8;
typedef int16_t __s16;
typedef uint16_t __u16;
typedef int32_t __s32;
typedef uint32_t __u32;
typedef int64_t __s64;
typedef uint64_t __u64;
typedef uint16_t __be16;
typedef uint32_t __be32;
typedef uint32_t __wsum;

#ifndef NULL
#define NULL ((void *)0)
#endif

#ifndef __cplusplus
#ifndef bool
#define bool _Bool
#define true 1
#define false 0
#endif
#endif

#endif /* EBPF_TS_EFW_TYPES_H */
