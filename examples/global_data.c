// SPDX-License-Identifier: MIT
/*
 * global_data.c: XDP, Linux flavour. Global variables instead of explicit
 * maps: libbpf turns each data section into a one-entry ARRAY map and the
 * loader patches the accesses (lddw with BPF_PSEUDO_MAP_VALUE).
 *   .rodata  `const volatile` configuration, read-only to the program
 *            (map flag BPF_F_RDONLY_PROG) and settable by user space before load;
 *   .data    initialised variables;
 *   .bss     zero-initialised variables.
 *
 * Section: xdp (program `global_counters`).
 * Maps (implicit; libbpf names them <first 8 chars of the object name>.<section>;
 * offsets are the symbols' values in this object, not declaration order):
 *   global_d.rodata (3 bytes):  watched_port @0 (__u16 = 53), drop_watched @2 (__u8 = 0)
 *   global_d.data   (4 bytes):  blocked_port @0 (__u16 = 9999), last_port @2 (__u16 = 0xffff)
 *   global_d.bss    (24 bytes): packets @0, bytes @8, watched @16 (__u64, zero)
 *
 * Input -> return value -> data afterwards (from the initial values above):
 *   udp_dns_empty (UDP to 53, 42 bytes) -> XDP_PASS (2);
 *       .bss packets 1, watched 1, bytes 42; .data last_port 53, blocked_port 9999.
 *   udp_other (UDP to 9999, 46 bytes)   -> XDP_DROP (1) (blocked_port);
 *       .bss packets 1, watched 0, bytes 46; .data last_port 9999.
 *   tcp_syn, arp, runt                  -> XDP_PASS; only .bss packets and bytes grow.
 *   With .rodata drop_watched set to 1 before load, udp_dns_empty -> XDP_DROP.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u16 watched_port = 53;
const volatile __u8 drop_watched = 0;

__u16 blocked_port = 9999;
__u16 last_port = 0xffff;

__u64 packets;
__u64 watched;
__u64 bytes;

SEC("xdp")
int global_counters(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    packets += 1;
    bytes += data_end - data;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
        ip->protocol != IPPROTO_UDP)
        return XDP_PASS;

    __u16 port = bpf_ntohs(udp->dest);
    last_port = port;
    if (port == blocked_port)
        return XDP_DROP;
    if (port == watched_port) {
        watched += 1;
        if (drop_watched)
            return XDP_DROP;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
