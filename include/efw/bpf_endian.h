/* SPDX-License-Identifier: MIT */
/*
 * ebpf-ts: byte-order helpers for EfW-flavoured programs. eBPF for Windows
 * targets little-endian machines; these compile to `be16`/`be32`/`be64`
 * (bswap) instructions or fold to constants.
 */
#ifndef EBPF_TS_EFW_BPF_ENDIAN_H
#define EBPF_TS_EFW_BPF_ENDIAN_H

#include "efw_types.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define bpf_htons(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define bpf_ntohs(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define bpf_htonl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))
#define bpf_ntohl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))
#define bpf_cpu_to_be64(x) ((uint64_t)__builtin_bswap64((uint64_t)(x)))
#define bpf_be64_to_cpu(x) ((uint64_t)__builtin_bswap64((uint64_t)(x)))
#else
#define bpf_htons(x) ((uint16_t)(x))
#define bpf_ntohs(x) ((uint16_t)(x))
#define bpf_htonl(x) ((uint32_t)(x))
#define bpf_ntohl(x) ((uint32_t)(x))
#define bpf_cpu_to_be64(x) ((uint64_t)(x))
#define bpf_be64_to_cpu(x) ((uint64_t)(x))
#endif

#endif /* EBPF_TS_EFW_BPF_ENDIAN_H */
