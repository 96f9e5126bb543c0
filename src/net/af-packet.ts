// An AF_PACKET raw socket bound to one network interface, sending and receiving whole Ethernet
// frames through memory-mapped TPACKET_V2 rings (packet(7), the kernel's packet_mmap.rst): one
// mmap holds the RX ring and then the TX ring; each ring is `ringFrames` slots of `frameSize`
// bytes. Receiving walks the RX ring and hands each frame to a callback as a view of the ring (no
// copy, no allocation per frame, no promise per frame); sending copies frames into TX slots and
// kicks the kernel once per batch.

import { check, libc, SyscallError, type Libc, type Pointer } from './libc.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL = 3)
const SOL_PACKET = 263;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_RX_RING = 5;
const PACKET_STATISTICS = 6;
const PACKET_VERSION = 10;
const PACKET_TX_RING = 13;
const PACKET_LOSS = 14;
const PACKET_QDISC_BYPASS = 20;
const PACKET_IGNORE_OUTGOING = 23;
const PACKET_MR_PROMISC = 1;
const TPACKET_V2 = 1;
const PACKET_OUTGOING = 4;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const POLLIN = 1;
const POLLOUT = 4;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOBUFS = 105;
const EINTR = 4;

// struct tpacket2_hdr (32 bytes), then struct sockaddr_ll at TPACKET_ALIGN(32) = 32.
// tp_status (u32) is at offset 0.
const TP_LEN = 4; // u32: the frame's length on the wire
const TP_SNAPLEN = 8; // u32: the bytes in the ring
const TP_MAC = 12; // u16: offset of the Ethernet header in the slot
const SLL_PKTTYPE = 32 + 10; // u8
const TPACKET2_HDRLEN = 32 + 20; // TPACKET_ALIGN(sizeof tpacket2_hdr) + sizeof sockaddr_ll
const TX_DATA = TPACKET2_HDRLEN - 20; // where a TX slot's frame starts (no PACKET_TX_HAS_OFF)
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
const TP_STATUS_AVAILABLE = 0;
const TP_STATUS_SEND_REQUEST = 1;
const TP_STATUS_WRONG_FORMAT = 4;

export interface PacketSocketOptions {
  /** Slots in each ring (RX and TX), rounded up to whole ring blocks. Default 1024. */
  readonly ringFrames?: number;
  /** Bytes per slot, a multiple of 16; a frame may be up to frameSize - 66 bytes on receive and frameSize - 32 on send. Default 2048. */
  readonly frameSize?: number;
  /** Receive frames addressed to other hosts too (PACKET_MR_PROMISC, undone on close). Default false. */
  readonly promiscuous?: boolean;
  /** Send straight to the driver, past the qdisc layer and other packet sockets (PACKET_QDISC_BYPASS). Default false. */
  readonly qdiscBypass?: boolean;
}

export interface PacketSocketStats {
  /** Frames handed to receiveBatch callbacks. */
  readonly received: number;
  /** Frames the kernel dropped because the RX ring was full (PACKET_STATISTICS). */
  readonly dropped: number;
  /** Frames longer than a slot holds, delivered cut to the slot (their length is the slot's). */
  readonly truncated: number;
  /** Frames queued on the TX ring and handed to the kernel. */
  readonly sent: number;
  /** Frames the kernel refused to send (malformed, or too large for the interface). */
  readonly sendErrors: number;
}

/** Called for each received frame: `frame` is a view of the ring slot, valid only during the call; its first `length` bytes are the frame. */
export type FrameSink = (frame: Uint8Array, length: number) => void;

export interface PacketSocket {
  readonly fd: number;
  readonly ifname: string;
  readonly ifindex: number;
  /** Slots per ring, and the largest frame one slot carries on receive and on send. */
  readonly ringFrames: number;
  readonly maxReceiveLength: number;
  readonly maxSendLength: number;
  /** Hands up to `max` waiting frames to `into`, oldest first, without waiting; returns how many. Frames this socket's host sent out of the interface are skipped. */
  receiveBatch(into: FrameSink, max?: number): number;
  /** Blocks this thread until a frame is waiting or `timeoutMs` passes (-1: no limit); true when one is waiting. */
  waitReadable(timeoutMs: number): boolean;
  /** As waitReadable, but waits on koffi's worker thread: one promise per wait, not per frame. */
  readable(timeoutMs: number): Promise<boolean>;
  /** Queues `length` bytes of `frame` from `offset` on the TX ring without sending; false when the ring is full. */
  queue(frame: Uint8Array, offset?: number, length?: number): boolean;
  /** Hands every queued frame to the kernel (one system call). */
  flush(): void;
  /** Sends one frame; waits up to `timeoutMs` for TX ring room (default 1000), then throws. */
  send(frame: Uint8Array, timeoutMs?: number): void;
  /** Sends the frames with one kick per ring's worth; returns how many were sent (fewer only if the ring stayed full for `timeoutMs`). */
  sendBatch(frames: readonly Uint8Array[], timeoutMs?: number): number;
  stats(): PacketSocketStats;
  /** Closes the socket and releases the rings; a frame view kept by mistake then reads zeros (it does not fault). */
  close(): void;
}

function setIntOption(c: Libc, fd: number, name: number, value: number, what: string): void {
  check(`setsockopt(${what})`, c.setsockopt(fd, SOL_PACKET, name, Uint32Array.of(value), 4));
}

function ringRequest(blockSize: number, blocks: number, frameSize: number, frames: number): Uint32Array {
  return Uint32Array.of(blockSize, blocks, frameSize, frames); // struct tpacket_req
}

/** Opens an AF_PACKET socket on interface `ifname` with mapped RX and TX rings. Needs CAP_NET_RAW (root). */
export function openPacketSocket(ifname: string, options: PacketSocketOptions = {}): PacketSocket {
  const c = libc();
  const frameSize = options.frameSize ?? 2048;
  const wanted = options.ringFrames ?? 1024;
  if (!Number.isInteger(frameSize) || frameSize % 16 !== 0 || frameSize < 128) throw new RangeError(`frameSize must be a multiple of 16, at least 128 (got ${frameSize})`);
  if (!Number.isInteger(wanted) || wanted < 1) throw new RangeError(`ringFrames must be a positive integer (got ${wanted})`);
  const page = c.getpagesize();
  const blockSize = Math.ceil(frameSize / page) * page;
  const perBlock = Math.floor(blockSize / frameSize);
  const blocks = Math.ceil(wanted / perBlock);
  const ringFrames = blocks * perBlock;
  const ringBytes = blocks * blockSize;

  const ifindex = c.ifNameToIndex(ifname);
  if (ifindex === 0) {
    const errno = c.errno();
    throw new SyscallError(`if_nametoindex(${ifname})`, errno, `no interface named ${ifname} in this network namespace`);
  }
  const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const errno = c.errno();
    throw new SyscallError('socket(AF_PACKET)', errno, errno === 1 ? 'raw packet sockets need CAP_NET_RAW (run as root)' : c.strerror(errno));
  }
  let mapped: Pointer = null;
  try {
    setIntOption(c, fd, PACKET_VERSION, TPACKET_V2, 'PACKET_VERSION');
    setIntOption(c, fd, PACKET_LOSS, 1, 'PACKET_LOSS');
    // Older kernels lack PACKET_IGNORE_OUTGOING (4.20+); receiveBatch also skips PACKET_OUTGOING frames itself.
    c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, Uint32Array.of(1), 4);
    if (options.qdiscBypass === true) setIntOption(c, fd, PACKET_QDISC_BYPASS, 1, 'PACKET_QDISC_BYPASS');
    check('setsockopt(PACKET_RX_RING)', c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, ringRequest(blockSize, blocks, frameSize, ringFrames), 16));
    check('setsockopt(PACKET_TX_RING)', c.setsockopt(fd, SOL_PACKET, PACKET_TX_RING, ringRequest(blockSize, blocks, frameSize, ringFrames), 16));
    mapped = c.mmap(null, 2 * ringBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (c.isMapFailed(mapped)) {
      const errno = c.errno();
      mapped = null;
      throw new SyscallError('mmap(packet rings)', errno, c.strerror(errno));
    }
    const sll = new Uint8Array(20); // struct sockaddr_ll
    const sllView = new DataView(sll.buffer);
    sllView.setUint16(0, AF_PACKET, true);
    sllView.setUint16(2, ETH_P_ALL_BE, true);
    sllView.setInt32(4, ifindex, true);
    check(`bind(${ifname})`, c.bind(fd, sll, 20));
    if (options.promiscuous === true) {
      const mreq = new DataView(new ArrayBuffer(16)); // struct packet_mreq
      mreq.setInt32(0, ifindex, true);
      mreq.setUint16(4, PACKET_MR_PROMISC, true);
      check('setsockopt(PACKET_ADD_MEMBERSHIP)', c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, new Uint8Array(mreq.buffer), 16));
    }
    return new RingSocket(c, fd, ifname, ifindex, mapped, ringBytes, ringFrames, frameSize, blockSize, perBlock);
  } catch (error) {
    if (mapped !== null) c.munmap(mapped, 2 * ringBytes);
    c.close(fd);
    throw error;
  }
}

const unmapWhenUnreachable = new FinalizationRegistry<{ c: Libc; mapped: Pointer; length: number }>(({ c, mapped, length }) => {
  c.munmap(mapped, length);
});

class RingSocket implements PacketSocket {
  readonly maxReceiveLength: number;
  readonly maxSendLength: number;
  private closed = false;
  private readonly memory: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly halves: Uint16Array;
  private readonly rxSlots: Uint32Array;
  private readonly txSlots: Uint32Array;
  /** Per RX slot: a view from the slot's Ethernet header to its end, made once (remade if the kernel moves the header). */
  private readonly rxViews: Uint8Array[];
  private readonly rxViewMac: Uint16Array;
  private rxCursor = 0;
  private txCursor = 0;
  private txQueued = 0;
  private readonly pollFd = new Uint8Array(8); // struct pollfd
  private readonly pollView = new DataView(this.pollFd.buffer);
  private received = 0;
  private dropped = 0;
  private truncated = 0;
  private sent = 0;
  private sendErrors = 0;

  constructor(
    private readonly c: Libc,
    readonly fd: number,
    readonly ifname: string,
    readonly ifindex: number,
    private readonly mapped: Pointer,
    private readonly ringBytes: number,
    readonly ringFrames: number,
    frameSize: number,
    blockSize: number,
    perBlock: number,
  ) {
    this.memory = c.view(mapped, 2 * ringBytes);
    this.bytes = new Uint8Array(this.memory);
    this.words = new Int32Array(this.memory);
    this.halves = new Uint16Array(this.memory);
    this.rxSlots = new Uint32Array(ringFrames);
    this.txSlots = new Uint32Array(ringFrames);
    for (let i = 0; i < ringFrames; i++) {
      const offset = Math.floor(i / perBlock) * blockSize + (i % perBlock) * frameSize;
      this.rxSlots[i] = offset;
      this.txSlots[i] = ringBytes + offset;
    }
    this.rxViews = new Array<Uint8Array>(ringFrames);
    this.rxViewMac = new Uint16Array(ringFrames);
    // The kernel puts the Ethernet header at TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14 for a 14-byte header.
    const mac = ((TPACKET2_HDRLEN + 16 + 15) & ~15) - 14;
    for (let i = 0; i < ringFrames; i++) {
      this.rxViews[i] = new Uint8Array(this.memory, this.rxSlots[i] + mac, frameSize - mac);
      this.rxViewMac[i] = mac;
    }
    this.maxReceiveLength = frameSize - mac;
    this.maxSendLength = frameSize - TX_DATA;
    this.pollView.setInt32(0, fd, true);
  }

  private live(): void {
    if (this.closed) throw new Error(`packet socket on ${this.ifname} is closed`);
  }

  receiveBatch(into: FrameSink, max = this.ringFrames): number {
    this.live();
    const { words, halves, bytes, rxSlots } = this;
    let delivered = 0;
    while (delivered < max) {
      const slot = this.rxCursor;
      const base = rxSlots[slot];
      if ((Atomics.load(words, base >> 2) & TP_STATUS_USER) === 0) break;
      this.rxCursor = slot + 1 === this.ringFrames ? 0 : slot + 1;
      try {
        if (bytes[base + SLL_PKTTYPE] === PACKET_OUTGOING) continue;
        const length = words[(base + TP_LEN) >> 2];
        const snap = words[(base + TP_SNAPLEN) >> 2];
        const mac = halves[(base + TP_MAC) >> 1];
        if (this.rxViewMac[slot] !== mac) {
          this.rxViews[slot] = new Uint8Array(this.memory, base + mac, Math.max(0, this.maxReceiveLength + this.rxViewMac[slot] - mac));
          this.rxViewMac[slot] = mac;
        }
        if (snap < length) this.truncated++;
        delivered++;
        this.received++;
        into(this.rxViews[slot], snap);
      } finally {
        Atomics.store(words, base >> 2, TP_STATUS_KERNEL);
      }
    }
    return delivered;
  }

  private rxWaiting(): boolean {
    return (Atomics.load(this.words, this.rxSlots[this.rxCursor] >> 2) & TP_STATUS_USER) !== 0;
  }

  private pollOnce(events: number, timeoutMs: number): boolean {
    this.pollView.setInt16(4, events, true);
    this.pollView.setInt16(6, 0, true);
    const n = this.c.poll(this.pollFd, 1, timeoutMs);
    if (n < 0) {
      const errno = this.c.errno();
      if (errno === EINTR) return false;
      throw new SyscallError('poll', errno, this.c.strerror(errno));
    }
    return n > 0;
  }

  waitReadable(timeoutMs: number): boolean {
    this.live();
    if (this.rxWaiting()) return true;
    this.pollOnce(POLLIN, timeoutMs);
    return this.rxWaiting();
  }

  readable(timeoutMs: number): Promise<boolean> {
    this.live();
    if (this.rxWaiting()) return Promise.resolve(true);
    const fds = new Uint8Array(8);
    const view = new DataView(fds.buffer);
    view.setInt32(0, this.fd, true);
    view.setInt16(4, POLLIN, true);
    return new Promise((resolve, reject) => {
      this.c.pollAsync(fds, 1, timeoutMs, (error) => {
        if (error !== null && error !== undefined) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(!this.closed && this.rxWaiting());
      });
    });
  }

  queue(frame: Uint8Array, offset = 0, length = frame.length - offset): boolean {
    this.live();
    if (length > this.maxSendLength || length < 14) throw new RangeError(`a frame on ${this.ifname} must be 14 to ${this.maxSendLength} bytes (got ${length})`);
    const base = this.txSlots[this.txCursor];
    const status = Atomics.load(this.words, base >> 2);
    if (status === TP_STATUS_WRONG_FORMAT) this.sendErrors++;
    else if (status !== TP_STATUS_AVAILABLE) return false;
    this.bytes.set(offset === 0 && length === frame.length ? frame : frame.subarray(offset, offset + length), base + TX_DATA);
    this.words[(base + TP_LEN) >> 2] = length;
    Atomics.store(this.words, base >> 2, TP_STATUS_SEND_REQUEST);
    this.txCursor = this.txCursor + 1 === this.ringFrames ? 0 : this.txCursor + 1;
    this.txQueued++;
    return true;
  }

  flush(): void {
    this.live();
    if (this.txQueued === 0) return;
    const queued = this.txQueued;
    this.txQueued = 0;
    const result = this.c.sendto(this.fd, null, 0, MSG_DONTWAIT, null, 0);
    if (result < 0) {
      const errno = this.c.errno();
      // EAGAIN/ENOBUFS: the device queue is full; the frames stay queued on the ring for the next kick.
      if (errno === EAGAIN || errno === ENOBUFS) {
        this.txQueued = queued;
        return;
      }
      this.sendErrors += queued;
      throw new SyscallError(`send(${this.ifname})`, errno, this.c.strerror(errno));
    }
    this.sent += queued;
  }

  private queueWaiting(frame: Uint8Array, timeoutMs: number): boolean {
    if (this.queue(frame)) return true;
    const deadline = Date.now() + timeoutMs;
    while (true) {
      this.flush();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      this.pollOnce(POLLOUT, Math.min(left, 10));
      if (this.queue(frame)) return true;
    }
  }

  send(frame: Uint8Array, timeoutMs = 1000): void {
    if (!this.queueWaiting(frame, timeoutMs)) throw new Error(`send(${this.ifname}): the TX ring stayed full for ${timeoutMs} ms`);
    this.flush();
  }

  sendBatch(frames: readonly Uint8Array[], timeoutMs = 1000): number {
    let count = 0;
    for (const frame of frames) {
      if (!this.queueWaiting(frame, timeoutMs)) break;
      count++;
    }
    this.flush();
    return count;
  }

  stats(): PacketSocketStats {
    if (!this.closed) {
      const stats = new Uint32Array(2); // struct tpacket_stats, reset by each read
      const length = Uint32Array.of(8);
      check('getsockopt(PACKET_STATISTICS)', this.c.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, stats, length));
      this.dropped += stats[1];
    }
    return { received: this.received, dropped: this.dropped, truncated: this.truncated, sent: this.sent, sendErrors: this.sendErrors };
  }

  close(): void {
    if (this.closed) return;
    this.stats();
    this.closed = true;
    // A view of the rings kept past close must not fault: the rings' pages are replaced by private
    // zero pages at the same address, and those are unmapped once no view of them is left.
    const length = 2 * this.ringBytes;
    const replaced = this.c.mmap(this.mapped, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (this.c.isMapFailed(replaced)) this.c.munmap(this.mapped, length);
    else unmapWhenUnreachable.register(this.memory, { c: this.c, mapped: this.mapped, length });
    this.c.close(this.fd);
  }
}
