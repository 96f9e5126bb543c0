// SPDX-License-Identifier: MIT
/*
 * xdp_reflect.c: XDP, Linux flavour. An echo service in XDP: a UDP datagram to port 7 is sent
 * back to where it came from, out of the interface it arrived on (XDP_TX), with its Ethernet
 * addresses, IPv4 addresses and UDP ports swapped; the host it was sent to never sees it.
 * Everything else passes.
 *
 * Section: xdp (program `reflect_echo`).
 * Maps:    reflected: ARRAY, 1 entry, key __u32, value __u64 (datagrams sent back).
 *
 * Input -> return value:
 *   IPv4 UDP 10.77.0.1:40000 -> 10.77.0.2:7, payload "ping"
 *       -> XDP_TX (3); the frame now goes 10.77.0.2:7 -> 10.77.0.1:40000, MACs swapped, UDP
 *          checksum 0 (none, as IPv4 allows), IPv4 checksum unchanged (swapping its words keeps
 *          the sum); reflected[0] += 1
 *   any other frame -> XDP_PASS (2)
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
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} reflected SEC(".maps");

SEC("xdp")
int reflect_echo(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(7))
        return XDP_PASS;

    unsigned char mac[ETH_ALEN];
    __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
    __be32 addr = ip->daddr;
    ip->daddr = ip->saddr;
    ip->saddr = addr;
    __be16 port = udp->dest;
    udp->dest = udp->source;
    udp->source = port;
    udp->check = 0;

    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&reflected, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
