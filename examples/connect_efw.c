// SPDX-License-Identifier: MIT
/*
 * connect_efw.c: ebpf-for-windows `cgroup/connect4` hook (sock_addr), against
 * include/efw/. DNS policy: UDP connections to port 53 are rejected unless the
 * server is 1.1.1.1; every decision is counted and logged to a ring buffer
 * with bpf_ringbuf_output (EfW id 11; Linux 130). Unlike the other EfW
 * examples its maps are BTF-defined (".maps"): the `type` member then holds an
 * EfW map type number too (RINGBUF = 13 here, 27 on Linux; ARRAY = 2 on both).
 *
 * Section: cgroup/connect4 (program `dns_policy`), context bpf_sock_addr_t.
 * Maps:    connect_log: RINGBUF, 65536 bytes.
 *          verdicts: ARRAY, key uint32_t verdict, value uint64_t, 3 entries.
 *
 * Input (addresses and ports in network byte order) -> return value -> maps:
 *   { family 2, user_ip4 8.8.8.8 (bytes 08 08 08 08), user_port 53 (bytes 00 35),
 *     protocol 17 }      -> BPF_SOCK_ADDR_VERDICT_REJECT (0); verdicts[0] = 1;
 *       connect_log gets one 8-byte record: 08 08 08 08 00 35 11 00
 *       (ip4, port, protocol, verdict).
 *   user_ip4 1.1.1.1, port 53, UDP -> BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT (1);
 *       verdicts[1] = 1; record 01 01 01 01 00 35 11 01.
 *   user_ip4 8.8.8.8, port 443, protocol 6 (TCP) -> PROCEED_SOFT (1);
 *       verdicts[1] = 1; record 08 08 08 08 01 bb 06 01.
 */
#include <efw/bpf_endian.h>
#include <efw/bpf_helpers.h>

#define IPPROTO_UDP 17

struct connect_record {
    uint32_t ip4;
    uint16_t port;
    uint8_t protocol;
    uint8_t verdict;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} connect_log SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, uint32_t);
    __type(value, uint64_t);
} verdicts SEC(".maps");

SEC("cgroup/connect4")
int dns_policy(bpf_sock_addr_t *ctx)
{
    uint32_t verdict = BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT;
    if (ctx->protocol == IPPROTO_UDP && ctx->user_port == bpf_htons(53) && ctx->user_ip4 != bpf_htonl(0x01010101))
        verdict = BPF_SOCK_ADDR_VERDICT_REJECT;

    uint64_t *count = bpf_map_lookup_elem(&verdicts, &verdict);
    if (count)
        *count += 1;

    struct connect_record record = {
        .ip4 = ctx->user_ip4,
        .port = ctx->user_port,
        .protocol = (uint8_t)ctx->protocol,
        .verdict = (uint8_t)verdict,
    };
    bpf_ringbuf_output(&connect_log, &record, sizeof(record), 0);
    return verdict;
}
