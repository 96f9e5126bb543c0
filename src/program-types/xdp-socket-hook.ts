// The in-process XDP hook for Node UDP sockets (DESIGN.md, "Hooks"): every datagram the socket
// receives is shown to an XDP program as an Ethernet frame (headers built from the sender's
// address and port and the socket's own) before any 'message' listener sees it.
//   XDP_PASS     -> delivered to the listeners unchanged
//   XDP_DROP     -> discarded; no listener runs
//   XDP_TX       -> sent back to its sender (the frame's payload as the program left it)
//   XDP_ABORTED, a fault, or any other value -> discarded and counted
// Node gives no way to learn a datagram's destination address on a wildcard socket, so the
// frame's destination is the socket's bound address (loopback for a wildcard bind).
import type { Socket, RemoteInfo } from 'node:dgram';
import { addressBytes, udpFrameLength, writeUdpFrameParts, type UdpFrameParts } from '../net/frames.js';
import type { LoadedProgram } from '../runtime/program.js';
import { XDP_ACTIONS, createXdpFrameSlot, type XdpFrameSlot } from './xdp.js';
import { ProgramTypeError } from './types.js';

/** Largest UDP payload (IPv4) plus all headers. */
const MAX_FRAME = 14 + 40 + 8 + 65507;

export interface XdpSocketStats {
  passed: number;
  dropped: number;
  transmitted: number;
  /** XDP_ABORTED, unknown verdicts, and programs that faulted. */
  aborted: number;
}

export interface XdpSocketLink {
  readonly program: LoadedProgram;
  readonly stats: Readonly<XdpSocketStats>;
  /** The last fault of the program, if it ever faulted. */
  readonly lastError: Error | undefined;
  /** Restores normal delivery. */
  detach(): void;
  readonly attached: boolean;
}

const links = new WeakMap<Socket, XdpSocketLink>();

function localAddress(socket: Socket, family: string): string {
  const bound = socket.address();
  if (bound.address === '0.0.0.0') return '127.0.0.1';
  if (bound.address === '::') return family === 'IPv4' ? '127.0.0.1' : '::1';
  return bound.address;
}

/** Attaches `program` (an XDP program) to a bound dgram socket. One program per socket. */
export function attachXdpToSocket(program: LoadedProgram, socket: Socket): XdpSocketLink {
  if (program.type !== 'xdp') throw new ProgramTypeError(`only xdp programs attach to sockets; ${program.name} is ${program.type}`);
  if (links.has(socket)) throw new ProgramTypeError(`the socket already has program ${links.get(socket)?.program.name} attached; detach it first`);
  const memory = program.context.memory;
  const slot: XdpFrameSlot = createXdpFrameSlot(memory, program.abi, MAX_FRAME);
  const vm = program.runner(0);
  const actions = XDP_ACTIONS[program.abi];
  const PASS = BigInt(actions.XDP_PASS);
  const DROP = BigInt(actions.XDP_DROP);
  const TX = BigInt(actions.XDP_TX);
  const stats: XdpSocketStats = { passed: 0, dropped: 0, transmitted: 0, aborted: 0 };
  let lastError: Error | undefined;
  let attached = true;

  // Fixed for the life of the link: the socket's own address (a wildcard bind reads as loopback)
  // and the frame parts that do not change from one datagram to the next.
  const bound = socket.address();
  const local = { IPv4: addressBytes(localAddress(socket, 'IPv4')), IPv6: addressBytes(localAddress(socket, 'IPv6')) };
  const parts: { -readonly [K in keyof UdpFrameParts]: UdpFrameParts[K] } = { source: local.IPv4, sourcePort: 0, destination: local.IPv4, destinationPort: bound.port, payload: new Uint8Array(0), udpChecksum: false };

  const originalEmit = socket.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
  const hookedEmit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'message' || !attached) return originalEmit.call(this, event, ...args);
    const msg = args[0] as Buffer;
    const rinfo = args[1] as RemoteInfo;
    let verdict: bigint;
    try {
      const v6 = rinfo.family === 'IPv6';
      if (udpFrameLength(v6, msg.length) > slot.capacity) throw new RangeError(`datagram of ${msg.length} bytes is too large`);
      parts.source = addressBytes(rinfo.address);
      parts.sourcePort = rinfo.port;
      parts.destination = v6 ? local.IPv6 : local.IPv4;
      parts.payload = msg;
      const length = writeUdpFrameParts(memory.bytes, memory.view, slot.dataStart, parts);
      slot.present(length);
      verdict = vm.run({ r1: slot.ctx });
    } catch (e) {
      lastError = e instanceof Error ? e : new Error(String(e));
      verdict = -1n;
    }
    if (verdict === PASS) {
      stats.passed++;
      return originalEmit.call(this, event, ...args);
    }
    if (verdict === DROP) {
      stats.dropped++;
      return false;
    }
    if (verdict === TX) {
      stats.transmitted++;
      const { start: frameStart, end } = slot.frame();
      const headers = udpFrameLength(rinfo.family === 'IPv6', 0);
      const payload = Buffer.from(memory.bytes.slice(frameStart + headers, Math.max(frameStart + headers, end)));
      this.send(payload, rinfo.port, rinfo.address);
      return false;
    }
    stats.aborted++;
    return false;
  };
  socket.emit = hookedEmit as typeof socket.emit;

  const link: XdpSocketLink = {
    program,
    stats,
    get lastError() {
      return lastError;
    },
    get attached() {
      return attached;
    },
    detach() {
      if (!attached) return;
      attached = false;
      if (socket.emit === (hookedEmit as typeof socket.emit)) socket.emit = originalEmit as typeof socket.emit;
      links.delete(socket);
    },
  };
  links.set(socket, link);
  return link;
}
