// SPDX-License-Identifier: MIT
/*
 * bind_efw.c: ebpf-for-windows `bind` hook, against include/efw/. Counts
 * bind() calls per process and denies TCP binds to port 80. Uses legacy EfW
 * maps (32-byte definitions in "maps", EfW HASH = 1, ARRAY = 2) and EfW
 * helpers: map lookup/update (ids 1, 2) and bpf_printk with two arguments,
 * which is bpf_trace_printk4 (EfW id 14; Linux's bpf_trace_printk is 6).
 *
 * Section: bind (program `limit_binds`), context bind_md_t.
 * Maps:    binds_per_process: HASH, key uint64_t process id, value uint64_t, 64 entries.
 *          denied: ARRAY, key uint32_t, value uint64_t, 1 entry (denials so far).
 *
 * Input: bind_md_t { process_id 4242, socket_address = sockaddr_in bytes
 *   02 00 00 50 00 00 00 00 00 00 00 00 00 00 00 00 (AF_INET, port 80 in network
 *   order, 0.0.0.0), socket_address_length 16, operation BIND_OPERATION_BIND (0),
 *   protocol 6 (TCP), app_id_start == app_id_end (empty) }.
 *   -> BIND_DENY (1); binds_per_process = { 4242: 1 }; denied[0] = 1.
 *   Same with port 8080 (bytes 02 00 1f 90 ...) -> BIND_PERMIT_SOFT (0);
 *       binds_per_process = { 4242: 1 }; denied[0] = 0.
 *   operation BIND_OPERATION_UNBIND (2) -> BIND_PERMIT_SOFT (0); no map changes.
 */
#include <efw/bpf_helpers.h>

#define AF_INET 2
#define IPPROTO_TCP 6

SEC("maps")
struct bpf_map_def binds_per_process = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(uint64_t),
    .value_size = sizeof(uint64_t),
    .max_entries = 64,
};

SEC("maps")
struct bpf_map_def denied = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(uint32_t),
    .value_size = sizeof(uint64_t),
    .max_entries = 1,
};

SEC("bind")
bind_action_t limit_binds(bind_md_t *ctx)
{
    if (ctx->operation != BIND_OPERATION_BIND)
        return BIND_PERMIT_SOFT;

    uint64_t pid = ctx->process_id;
    uint64_t *binds = bpf_map_lookup_elem(&binds_per_process, &pid);
    if (binds) {
        *binds += 1;
    } else {
        uint64_t one = 1;
        bpf_map_update_elem(&binds_per_process, &pid, &one, BPF_ANY);
    }

    /* sockaddr_in: family in host order (little endian), then the port in network order. */
    uint16_t family = ctx->socket_address[0] | (ctx->socket_address[1] << 8);
    uint16_t port = (ctx->socket_address[2] << 8) | ctx->socket_address[3];
    if (family != AF_INET || ctx->protocol != IPPROTO_TCP || port != 80)
        return BIND_PERMIT_SOFT;

    uint32_t zero = 0;
    uint64_t *count = bpf_map_lookup_elem(&denied, &zero);
    if (count)
        *count += 1;
    bpf_printk("bind to port %u denied for process %llu", port, pid);
    return BIND_DENY;
}
