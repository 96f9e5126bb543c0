// SPDX-License-Identifier: MIT
/*
 * ringbuf.c: XDP, Linux flavour. Sends events to user space three ways:
 * bpf_ringbuf_reserve + bpf_ringbuf_submit (zero copy), bpf_ringbuf_output
 * (copy), and bpf_perf_event_output into a PERF_EVENT_ARRAY.
 *
 * Section: xdp (program `report_packets`).
 * Maps:    events: RINGBUF, max_entries 4096 (the ring size in bytes, a power
 *                  of two multiple of the page size on Linux).
 *          perf_events: PERF_EVENT_ARRAY, key and value __u32, one slot per CPU
 *                  (max_entries 0 lets the loader use the number of CPUs).
 *
 * Each IPv4 packet produces:
 *   1. one ring buffer record, struct packet_event (16 bytes):
 *        { __u32 length; __u32 protocol; __u32 saddr; __u32 daddr } (addresses
 *        as in the packet, network order);
 *   2. one ring buffer record with the 14-byte Ethernet header (copied);
 *   3. one perf sample on the current CPU with the same struct packet_event.
 * Input -> return value -> output:
 *   udp_dns_empty (42 bytes) -> XDP_PASS (2); ring buffer: {42, 17, 10.0.0.1,
 *       10.0.0.2} then the bytes 00 11 22 33 44 55 66 77 88 99 aa bb 08 00;
 *       perf_events (CPU 0): one sample {42, 17, 10.0.0.1, 10.0.0.2}.
 *   arp, runt -> XDP_PASS; nothing is output.
 *   If the ring is full, reserve fails: the program returns XDP_DROP (1).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct packet_event {
    __u32 length;
    __u32 protocol;
    __u32 saddr;
    __u32 daddr;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

SEC("xdp")
int report_packets(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct packet_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event)
        return XDP_DROP;
    event->length = data_end - data;
    event->protocol = ip->protocol;
    event->saddr = ip->saddr;
    event->daddr = ip->daddr;
    struct packet_event copy = *event;
    bpf_ringbuf_submit(event, 0);

    struct ethhdr header;
    __builtin_memcpy(&header, eth, sizeof(header));
    bpf_ringbuf_output(&events, &header, sizeof(header), 0);

    bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &copy, sizeof(copy));
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
