// SPDX-License-Identifier: MIT
/*
 * bind_policy.c: Linux `cgroup/bind4` and `cgroup/bind6` (sock_addr) programs that police the
 * ports a process binds (listen and UDP bind): the ports 20-25 (FTP, SSH, telnet, SMTP) are
 * denied, TCP and UDP; a bind to port 80 is moved to port 8880 (an application written for port
 * 80 runs without the privilege to bind it) by rewriting user_port; everything else proceeds.
 * Each decision is counted, and each process's attempts.
 *
 * Sections: cgroup/bind4 (program `bind4_policy`), cgroup/bind6 (program `bind6_policy`), context
 *           struct bpf_sock_addr. Each loaded program has its own map.
 * Maps:     bind_decisions: ARRAY, key __u32 (0 denied, 1 proceeded, 2 moved), value __u64, 3 entries.
 *           attempts: HASH, key __u32 process id (bpf_get_current_pid_tgid() >> 32), value __u64
 *           binds it tried, 1024 entries.
 *
 * Input (struct bpf_sock_addr: user_port in network order) -> return -> effect:
 *   TCP 127.0.0.1:25 (or UDP, or [::1]:25 for bind6, or any port 20-25) -> 0 (deny: EPERM);
 *                                                       bind_decisions[0] += 1
 *   TCP 127.0.0.1:80 (or UDP, or [::1]:80 for bind6) -> 1; user_port = 8880; bind_decisions[2] += 1
 *   TCP 0.0.0.0:8080                                 -> 1; unchanged; bind_decisions[1] += 1
 *   every bind also adds 1 to attempts[the process's id].
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define DENIED 0
#define PROCEEDED 1
#define MOVED 2

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} bind_decisions SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} attempts SEC(".maps");

static __always_inline void count_attempt(void)
{
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    __u64 *n = bpf_map_lookup_elem(&attempts, &pid);
    if (n) {
        __sync_fetch_and_add(n, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&attempts, &pid, &one, BPF_NOEXIST);
    }
}

static __always_inline int police(struct bpf_sock_addr *ctx)
{
    __u32 decision = PROCEEDED;
    int verdict = 1;
    __u16 port = bpf_ntohs(ctx->user_port);
    count_attempt();
    if (port >= 20 && port <= 25) {
        decision = DENIED;
        verdict = 0;
    } else if (port == 80) {
        ctx->user_port = bpf_htons(8880);
        decision = MOVED;
    }
    __u64 *n = bpf_map_lookup_elem(&bind_decisions, &decision);
    if (n)
        __sync_fetch_and_add(n, 1);
    return verdict;
}

SEC("cgroup/bind4")
int bind4_policy(struct bpf_sock_addr *ctx)
{
    return police(ctx);
}

SEC("cgroup/bind6")
int bind6_policy(struct bpf_sock_addr *ctx)
{
    return police(ctx);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
