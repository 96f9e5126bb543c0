// SPDX-License-Identifier: MIT
/*
 * droppacket_efw.c: droppacket.c written for ebpf-for-windows, against our
 * include/efw/ headers: xdp_md_t with 64-bit data/data_end pointers, a legacy
 * 32-byte map definition in section "maps", EfW map type numbers, EfW XDP
 * return codes (XDP_PASS = 1, XDP_DROP = 2) and EfW helper ids.
 *
 * Section: xdp (program `DropPacket`).
 * Maps:    dropped_packet_map: legacy "maps" entry, EfW ARRAY (2), key 4 bytes,
 *          value 8 bytes, 1 entry.
 *
 * Input -> return value (EfW numbering) -> map contents (map starts zeroed):
 *   udp_dns_empty (42 bytes, UDP length 8)   -> 2 (XDP_DROP); map[0] == 1.
 *   udp_dns_payload (46 bytes, UDP length 12) -> 1 (XDP_PASS); map unchanged.
 *   tcp_syn, arp, runt                        -> 1 (XDP_PASS); map unchanged.
 * Translated to Linux numbering, the results are those of droppacket.c.
 */
#include <efw/bpf_endian.h>
#include <efw/bpf_helpers.h>

#define ETHERTYPE_IPV4 0x0800
#define PROTO_UDP 17

struct eth_header {
    uint8_t destination[6];
    uint8_t source[6];
    uint16_t type;
};

struct ipv4_header {
    uint8_t version_ihl; /* version in the high nibble, header length in words in the low */
    uint8_t tos;
    uint16_t total_length;
    uint16_t id;
    uint16_t fragment;
    uint8_t ttl;
    uint8_t protocol;
    uint16_t checksum;
    uint32_t source;
    uint32_t destination;
};

struct udp_header {
    uint16_t source_port;
    uint16_t destination_port;
    uint16_t length;
    uint16_t checksum;
};

SEC("maps")
struct bpf_map_def dropped_packet_map = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(uint32_t),
    .value_size = sizeof(uint64_t),
    .max_entries = 1,
};

SEC("xdp")
int DropPacket(xdp_md_t *ctx)
{
    struct eth_header *eth = ctx->data;
    if ((void *)(eth + 1) > ctx->data_end)
        return XDP_PASS;
    if (eth->type != bpf_htons(ETHERTYPE_IPV4))
        return XDP_PASS;

    struct ipv4_header *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > ctx->data_end)
        return XDP_PASS;
    if (ip->protocol != PROTO_UDP || (ip->version_ihl & 0x0f) != 5)
        return XDP_PASS;

    struct udp_header *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > ctx->data_end)
        return XDP_PASS;
    if (udp->length != bpf_htons(sizeof(struct udp_header)))
        return XDP_PASS;

    uint32_t key = 0;
    uint64_t *count = bpf_map_lookup_elem(&dropped_packet_map, &key);
    if (count)
        *count += 1;
    return XDP_DROP;
}
