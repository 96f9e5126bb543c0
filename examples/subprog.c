// SPDX-License-Identifier: MIT
/*
 * subprog.c: XDP, Linux flavour. bpf-to-bpf calls: two static __noinline
 * functions stay real functions in .text, called with `call` (src_reg 1,
 * BPF_PSEUDO_CALL) and their own 512-byte stack frames. The first gets packet
 * pointers as arguments; the second uses a map.
 *
 * Section: xdp (program `classify`); subprograms udp_dest_port and verdict_for
 *          are in .text.
 * Maps:    verdicts: ARRAY, 5 entries, key __u32 (XDP action), value __u64:
 *          how often each action was returned.
 *
 * Input -> return value -> map contents (map starts zeroed):
 *   udp_dns_empty (UDP to port 53) -> XDP_TX (3); verdicts[3] = 1.
 *   udp_other (UDP to port 9999)   -> XDP_DROP (1); verdicts[1] = 1.
 *   tcp_syn, arp, runt (no UDP port, udp_dest_port returns 0) -> XDP_PASS (2);
 *       verdicts[2] = 1.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 5);
    __type(key, __u32);
    __type(value, __u64);
} verdicts SEC(".maps");

/* UDP destination port in host order, or 0 when the frame is not IPv4/UDP. */
static __noinline __u32 udp_dest_port(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end)
        return 0;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
        return 0;
    return bpf_ntohs(udp->dest);
}

/* 53 is answered (TX), other UDP ports dropped, non-UDP passed; counts the verdict. */
static __noinline int verdict_for(__u32 port)
{
    __u32 action = port == 53 ? XDP_TX : port != 0 ? XDP_DROP : XDP_PASS;
    __u64 *count = bpf_map_lookup_elem(&verdicts, &action);
    if (count)
        __sync_fetch_and_add(count, 1);
    return action;
}

SEC("xdp")
int classify(struct xdp_md *ctx)
{
    __u32 port = udp_dest_port((void *)(long)ctx->data, (void *)(long)ctx->data_end);
    return verdict_for(port);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
