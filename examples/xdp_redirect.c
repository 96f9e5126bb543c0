// SPDX-License-Identifier: MIT
/*
 * xdp_redirect.c: XDP programs that send frames out of another interface (the datapath's
 * XDP_REDIRECT): UDP frames go where slot 0 of the devmap `out_ports` says; frames whose slot is
 * empty, and all others, pass. A second program sends everything to the interface in `fixed`.
 *
 * Sections: xdp (program `redirect_udp`), xdp (program `redirect_fixed`); context struct xdp_md.
 * Maps:     out_ports: DEVMAP, key __u32, value __u32 ifindex, 4 entries (user space fills them).
 *           fixed:     ARRAY, key __u32, value __u32 ifindex, 1 entry.
 *
 * Input (an Ethernet frame) -> return:
 *   IPv4 UDP, out_ports[0] = 7  -> XDP_REDIRECT (4), out of interface 7 (bpf_redirect_map)
 *   IPv4 UDP, out_ports[0] empty -> XDP_PASS (2): the action bpf_redirect_map's flags name
 *   anything else                -> XDP_PASS (2)
 *   redirect_fixed, fixed[0] = 9 -> XDP_REDIRECT (4), out of interface 9 (bpf_redirect)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} out_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} fixed SEC(".maps");

SEC("xdp")
int redirect_udp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    return bpf_redirect_map(&out_ports, 0, XDP_PASS);
}

SEC("xdp")
int redirect_fixed(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u32 *ifindex = bpf_map_lookup_elem(&fixed, &zero);
    if (!ifindex || *ifindex == 0)
        return XDP_PASS;
    return bpf_redirect(*ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
