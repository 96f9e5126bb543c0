// The L2 datapath (issue 14): XDP programs decide the fate of real Ethernet frames between
// network interfaces. Each interface is an AF_PACKET socket with memory-mapped rings
// (af-packet.ts); the datapath bridges pairs of them (a bump in the wire between a client network
// and a server network). A frame that arrives on an interface with a program attached is copied
// into the program's linear memory (one frame slot per attachment, reused: no allocation per
// frame) and run through the program's engine:
//   XDP_PASS     -> out of the interface's peer (as it arrived, or as the program left it)
//   XDP_TX       -> back out of the interface it came in on
//   XDP_DROP     -> dropped
//   XDP_REDIRECT -> out of the attached interface bpf_redirect / bpf_redirect_map named
//   XDP_ABORTED, a fault, an unknown action, a redirect to an interface the datapath does not
//                   have -> dropped and counted as aborted
// An interface with no program forwards every frame to its peer. Frames are handled in batches
// (receive up to `batch` per interface, then one send per interface that queued any).
import type { LoadedProgram } from '../runtime/program.js';
import { XDP_ACTIONS, createXdpFrameSlot, type XdpFrameSlot } from '../program-types/xdp.js';
import { EFW_XDP_MD, LINUX_XDP_MD } from '../abi/index.js';
import type { ProgramRunner } from '../vm/jit/engine.js';
import { openPacketSocket, type PacketSocket, type PacketSocketOptions } from './af-packet.js';

/** What an interface saw, since it was added. */
export interface InterfaceCounters {
  received: number;
  /** XDP_PASS (or no program): sent on to the peer. */
  passed: number;
  dropped: number;
  /** XDP_TX: sent back out of this interface. */
  transmitted: number;
  /** XDP_REDIRECT: sent out of another interface. */
  redirected: number;
  /** XDP_ABORTED, faults, unknown actions, redirects nowhere. */
  aborted: number;
  /** Frames that could not be sent on (no peer, a full TX ring, a frame too long for it). */
  errors: number;
}

interface Attachment {
  readonly program: LoadedProgram;
  readonly slot: XdpFrameSlot;
  readonly vm: ProgramRunner;
  readonly ifindexAt: number;
  readonly pass: bigint;
  readonly drop: bigint;
  readonly tx: bigint;
  /** XDP_REDIRECT in the program's ABI, or undefined when the ABI has none. */
  readonly redirect: bigint | undefined;
  lastError?: Error;
}

interface Port {
  readonly name: string;
  readonly socket: PacketSocket;
  peer: Port | undefined;
  attachment: Attachment | undefined;
  readonly counters: InterfaceCounters;
  /** Whether frames were queued on its TX ring since the last flush. */
  pending: boolean;
}

export interface DatapathOptions {
  /** Frames taken from each interface per step. Default 256. */
  readonly batch?: number;
  /** Options of the packet sockets opened for interfaces. */
  readonly socket?: PacketSocketOptions;
}

export class DatapathError extends Error {
  override readonly name = 'DatapathError';
}

const zeroCounters = (): InterfaceCounters => ({ received: 0, passed: 0, dropped: 0, transmitted: 0, redirected: 0, aborted: 0, errors: 0 });

export class Datapath {
  private readonly ports = new Map<string, Port>();
  private readonly byIndex = new Map<number, Port>();
  private readonly batch: number;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly options: DatapathOptions = {}) {
    this.batch = options.batch ?? 256;
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new RangeError(`batch must be a positive integer (got ${this.batch})`);
  }

  /** Opens interface `name` (promiscuous: the frames of both networks pass through it). */
  addInterface(name: string, socket?: PacketSocket): void {
    if (this.ports.has(name)) throw new DatapathError(`interface ${name} is already part of the datapath`);
    const s = socket ?? openPacketSocket(name, { promiscuous: true, ...this.options.socket });
    const port: Port = { name, socket: s, peer: undefined, attachment: undefined, counters: zeroCounters(), pending: false };
    this.ports.set(name, port);
    this.byIndex.set(s.ifindex, port);
  }

  /** Makes `a` and `b` each other's peer: what one passes goes out of the other. */
  bridge(a: string, b: string): void {
    const pa = this.port(a);
    const pb = this.port(b);
    if (pa === pb) throw new DatapathError(`interface ${a} cannot be its own peer`);
    pa.peer = pb;
    pb.peer = pa;
  }

  /** Attaches an XDP program to an interface (one per interface). */
  attach(name: string, program: LoadedProgram): void {
    const port = this.port(name);
    if (program.type !== 'xdp') throw new DatapathError(`only xdp programs attach to interfaces; ${program.name} is ${program.type}`);
    if (port.attachment !== undefined) throw new DatapathError(`interface ${name} already has program ${port.attachment.program.name} attached; detach it first`);
    const actions = XDP_ACTIONS[program.abi];
    const layout = program.abi === 'efw' ? EFW_XDP_MD : LINUX_XDP_MD;
    const ifindexField = layout.fields.find((f) => f.name === 'ingress_ifindex');
    if (ifindexField === undefined) throw new DatapathError(`the ${program.abi} xdp context has no ingress_ifindex`);
    const slot = createXdpFrameSlot(program.context.memory, program.abi, Math.max(port.socket.maxReceiveLength, 64));
    port.attachment = {
      program, slot, vm: program.runner(0), ifindexAt: slot.ctx + ifindexField.offset,
      pass: BigInt(actions.XDP_PASS), drop: BigInt(actions.XDP_DROP), tx: BigInt(actions.XDP_TX),
      redirect: actions.XDP_REDIRECT === undefined ? undefined : BigInt(actions.XDP_REDIRECT),
    };
  }

  /** Detaches the interface's program: its frames go to its peer again. */
  detach(name: string): boolean {
    const port = this.port(name);
    const had = port.attachment !== undefined;
    port.attachment = undefined;
    return had;
  }

  /** The interface's counters (a copy). */
  counters(name: string): InterfaceCounters {
    return { ...this.port(name).counters };
  }

  interfaces(): { name: string; ifindex: number; peer: string | undefined; program: string | undefined; counters: InterfaceCounters }[] {
    return [...this.ports.values()].map((p) => ({ name: p.name, ifindex: p.socket.ifindex, peer: p.peer?.name, program: p.attachment?.program.name, counters: { ...p.counters } }));
  }

  /** The last fault of the program attached to `name`, if it faulted. */
  lastError(name: string): Error | undefined {
    return this.port(name).attachment?.lastError;
  }

  /** Handles the frames waiting on every interface (up to `batch` each) without waiting; returns how many. */
  step(): number {
    let handled = 0;
    for (const port of this.ports.values()) {
      handled += port.socket.receiveBatch((frame, length) => this.handle(port, frame, length), this.batch);
    }
    for (const port of this.ports.values()) {
      if (port.pending) {
        port.pending = false;
        port.socket.flush();
      }
    }
    return handled;
  }

  /**
   * Runs until stop(): steps while frames wait, and otherwise waits (on koffi's thread, one
   * promise per wait) for any interface to become readable, up to `idleMs` at a time.
   */
  start(idleMs = 50): void {
    if (this.running !== undefined) throw new DatapathError('the datapath is already running');
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        if (this.step() > 0) {
          // Let the event loop breathe between busy batches (timers, IPC) without a promise per frame.
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        const sockets = [...this.ports.values()].map((p) => p.socket);
        if (sockets.length === 0) {
          await new Promise<void>((r) => setTimeout(r, idleMs));
          continue;
        }
        await Promise.race(sockets.map((s) => s.readable(idleMs)));
      }
    })();
  }

  /** Stops the loop start() began (after the batch in progress). */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = this.running;
    this.running = undefined;
    await running;
  }

  /** Stops and closes every interface's socket. */
  async close(): Promise<void> {
    await this.stop();
    for (const p of this.ports.values()) p.socket.close();
    this.ports.clear();
    this.byIndex.clear();
  }

  private port(name: string): Port {
    const p = this.ports.get(name);
    if (p === undefined) throw new DatapathError(`interface ${name} is not part of the datapath (it has: ${[...this.ports.keys()].join(', ') || 'none'})`);
    return p;
  }

  private send(port: Port, bytes: Uint8Array, offset: number, length: number): boolean {
    if (length > port.socket.maxSendLength || !port.socket.queue(bytes, offset, length)) {
      port.counters.errors++;
      return false;
    }
    port.pending = true;
    return true;
  }

  private handle(port: Port, frame: Uint8Array, length: number): void {
    const c = port.counters;
    c.received++;
    const a = port.attachment;
    if (a === undefined) {
      if (port.peer === undefined) c.errors++;
      else if (this.send(port.peer, frame, 0, length)) c.passed++;
      return;
    }
    const memory = a.program.context.memory;
    const host = a.program.context.host;
    let verdict: bigint;
    try {
      if (length > a.slot.capacity) throw new RangeError(`a frame of ${length} bytes is larger than the frame slot (${a.slot.capacity})`);
      memory.bytes.set(frame.subarray(0, length), a.slot.dataStart);
      a.slot.present(length);
      memory.view.setUint32(a.ifindexAt, port.socket.ifindex, true);
      host.redirect.ifindex = 0;
      verdict = a.vm.run({ r1: a.slot.ctx });
    } catch (e) {
      a.lastError = e instanceof Error ? e : new Error(String(e));
      c.aborted++;
      return;
    }
    if (verdict === a.drop) {
      c.dropped++;
      return;
    }
    // The frame as the program left it (bpf_xdp_adjust_head/tail move its ends); fresh views:
    // a helper may have grown the memory.
    const { start, end } = a.slot.frame();
    const bytes = memory.bytes;
    if (verdict === a.pass) {
      if (port.peer === undefined) c.errors++;
      else if (this.send(port.peer, bytes, start, end - start)) c.passed++;
    } else if (verdict === a.tx) {
      if (this.send(port, bytes, start, end - start)) c.transmitted++;
    } else if (a.redirect !== undefined && verdict === a.redirect) {
      const target = this.byIndex.get(host.redirect.ifindex);
      if (target === undefined) c.aborted++;
      else if (this.send(target, bytes, start, end - start)) c.redirected++;
    } else {
      c.aborted++;
    }
  }
}
