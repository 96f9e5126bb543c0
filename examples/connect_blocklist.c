// SPDX-License-Identifier: MIT
/*
 * connect_blocklist.c: a Linux `cgroup/connect4` (sock_addr) program that rejects outgoing IPv4
 * connections to destinations held in a hash map, which user space fills while the program runs
 * (`ebpf map update`). A key names an address and port, or (port 0) a whole address. Each blocked
 * attempt is counted in the entry that blocked it.
 *
 * Section: cgroup/connect4 (program `connect_blocklist`), context struct bpf_sock_addr.
 * Map:     blocked: HASH, key struct destination (8 bytes: IPv4 address, port, both in network
 *          order, then 2 zero bytes), value __u64 (attempts blocked), 1024 entries.
 *
 * Input -> return -> effect, with blocked = { 127.0.0.1:2525 (key 7f000001 09dd 0000): 0,
 *                                             10.9.9.9:any  (key 0a090909 0000 0000): 0 }:
 *   127.0.0.1:2525 -> 0 (reject);  its entry becomes 1
 *   10.9.9.9:443   -> 0 (reject);  the whole-address entry becomes 1
 *   127.0.0.1:8080 -> 1 (proceed); no change
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct destination {
    __u32 ip4;
    __u16 port;
    __u16 zero;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct destination);
    __type(value, __u64);
} blocked SEC(".maps");

static __always_inline int is_blocked(struct destination *d)
{
    __u64 *attempts = bpf_map_lookup_elem(&blocked, d);
    if (!attempts)
        return 0;
    __sync_fetch_and_add(attempts, 1);
    return 1;
}

SEC("cgroup/connect4")
int connect_blocklist(struct bpf_sock_addr *ctx)
{
    struct destination d = { .ip4 = ctx->user_ip4, .port = (__u16)ctx->user_port, .zero = 0 };
    if (is_blocked(&d))
        return 0;
    d.port = 0;
    if (is_blocked(&d))
        return 0;
    return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
