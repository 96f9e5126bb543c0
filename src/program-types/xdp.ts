// XDP: the program sees one frame through `struct xdp_md` (Linux: 32-bit data/data_end/data_meta
// fields) or `xdp_md_t` (ebpf-for-windows: 64-bit pointers). The frame sits in a buffer with
// XDP_PACKET_HEADROOM bytes in front, so bpf_xdp_adjust_head/meta can grow it, and tailroom
// behind for bpf_xdp_adjust_tail.
import { EFW_XDP_ACTIONS, EFW_XDP_MD, LINUX_XDP_ACTIONS, LINUX_XDP_MD, type ContextLayout } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import { ERRNO } from '../maps/index.js';
import { HelperFault, type HelperImplementation } from '../helpers/implementation.js';
import { checkRange } from '../helpers/memory-access.js';
import type { LinearMemory } from '../vm/memory.js';
import { ProgramTypeError, type ProgramType } from './types.js';

export const XDP_PACKET_HEADROOM = 256;
const TAILROOM = 256;
const ETH_HLEN = 14;
const MAX_META = 32;

interface Layout {
  readonly size: number;
  readonly pointerSize: 4 | 8;
  readonly data: number;
  readonly dataEnd: number;
  readonly dataMeta: number;
  /** Fields a user-supplied context may set: offset and size. */
  readonly settable: readonly { offset: number; size: number }[];
}

/** The context layout of src/abi, plus which fields a test run's caller may set. */
function fromAbi(c: ContextLayout): Layout {
  const pointers = new Set([c.data, c.dataEnd, c.dataMeta]);
  return {
    size: c.size,
    pointerSize: c.pointerSize,
    data: c.data,
    dataEnd: c.dataEnd,
    dataMeta: c.dataMeta,
    settable: c.fields.filter((f) => !pointers.has(f.offset)).map((f) => ({ offset: f.offset, size: f.size })),
  };
}

const LINUX = fromAbi(LINUX_XDP_MD);
const EFW = fromAbi(EFW_XDP_MD);
const layoutOf = (abi: Abi): Layout => (abi === 'efw' ? EFW : LINUX);

export const XDP_ACTIONS: Readonly<Record<Abi, Readonly<Record<string, number>>>> = {
  linux: LINUX_XDP_ACTIONS,
  efw: EFW_XDP_ACTIONS,
};

interface Frame {
  readonly abi: Abi;
  readonly bufferStart: number;
  readonly bufferEnd: number;
}

/** Frames by context address, per memory: what adjust_head/tail/meta may move within. */
const frames = new WeakMap<LinearMemory, Map<number, Frame>>();

function readPointer(memory: LinearMemory, at: number, size: 4 | 8): number {
  return size === 4 ? memory.view.getUint32(at, true) : Number(memory.view.getBigUint64(at, true) & 0xffffffffn);
}

function writePointer(memory: LinearMemory, at: number, size: 4 | 8, value: number): void {
  if (size === 4) memory.view.setUint32(at, value, true);
  else memory.view.setBigUint64(at, BigInt(value), true);
}

function frameOf(memory: LinearMemory, ctx: number, what: string): { frame: Frame; layout: Layout } {
  const frame = frames.get(memory)?.get(ctx);
  if (frame === undefined) throw new HelperFault(`${what}: argument 1 is not an XDP context`);
  return { frame, layout: layoutOf(frame.abi) };
}

function adjustHelpers(): HelperImplementation[] {
  const field = (memory: LinearMemory, ctx: number, layout: Layout, offset: number) => readPointer(memory, ctx + offset, layout.pointerSize);
  return [
    {
      name: 'xdp_adjust_head',
      prototype: { ret: 'integer', args: ['ptr_to_ctx', 'anything'] },
      make: (host) => (a) => {
        const ctx = a.u32(1);
        const { frame, layout } = frameOf(host.memory, ctx, 'bpf_xdp_adjust_head');
        const data = field(host.memory, ctx, layout, layout.data);
        const end = field(host.memory, ctx, layout, layout.dataEnd);
        const meta = field(host.memory, ctx, layout, layout.dataMeta);
        const next = data + a.i32(2);
        const metaLength = data - meta;
        if (next - metaLength < frame.bufferStart || next + ETH_HLEN > end) return -ERRNO.EINVAL;
        writePointer(host.memory, ctx + layout.data, layout.pointerSize, next);
        writePointer(host.memory, ctx + layout.dataMeta, layout.pointerSize, next - metaLength);
        if (metaLength > 0) host.memory.bytes.copyWithin(next - metaLength, meta, data);
        return 0;
      },
    },
    {
      name: 'xdp_adjust_tail',
      prototype: { ret: 'integer', args: ['ptr_to_ctx', 'anything'] },
      make: (host) => (a) => {
        const ctx = a.u32(1);
        const { frame, layout } = frameOf(host.memory, ctx, 'bpf_xdp_adjust_tail');
        const data = field(host.memory, ctx, layout, layout.data);
        const end = field(host.memory, ctx, layout, layout.dataEnd);
        const next = end + a.i32(2);
        if (next < data + ETH_HLEN || next > frame.bufferEnd) return -ERRNO.EINVAL;
        if (next > end) host.memory.bytes.fill(0, end, next);
        writePointer(host.memory, ctx + layout.dataEnd, layout.pointerSize, next);
        return 0;
      },
    },
    {
      name: 'xdp_adjust_meta',
      prototype: { ret: 'integer', args: ['ptr_to_ctx', 'anything'] },
      make: (host) => (a) => {
        const ctx = a.u32(1);
        const { frame, layout } = frameOf(host.memory, ctx, 'bpf_xdp_adjust_meta');
        const data = field(host.memory, ctx, layout, layout.data);
        const meta = field(host.memory, ctx, layout, layout.dataMeta) + a.i32(2);
        if ((a.i32(2) & 3) !== 0 || meta < frame.bufferStart || meta > data || data - meta > MAX_META) return -ERRNO.EINVAL;
        writePointer(host.memory, ctx + layout.dataMeta, layout.pointerSize, meta);
        return 0;
      },
    },
  ];
}

export const xdpProgramType: ProgramType = {
  name: 'xdp',
  contextSize: (abi) => layoutOf(abi).size,
  prepareRun(input, memory, abi) {
    const layout = layoutOf(abi);
    const data = input.data ?? new Uint8Array(0);
    if (data.length < ETH_HLEN) throw new ProgramTypeError(`an XDP test run needs at least an Ethernet header (${ETH_HLEN} bytes of data); got ${data.length}`);
    const size = XDP_PACKET_HEADROOM + data.length + TAILROOM;
    const bufferStart = memory.alloc(size, 8);
    const dataAt = bufferStart + XDP_PACKET_HEADROOM;
    memory.write(dataAt, data);
    const ctx = memory.alloc(layout.size, 8);
    if (input.ctx !== undefined) {
      if (input.ctx.length !== layout.size) throw new ProgramTypeError(`the XDP context is ${layout.size} bytes for the ${abi} ABI; got ${input.ctx.length}`);
      for (let i = 0; i < layout.size; i++) {
        const settable = layout.settable.some((f) => i >= f.offset && i < f.offset + f.size);
        if (!settable && input.ctx[i] !== 0) throw new ProgramTypeError(`byte ${i} of the XDP context must be zero: ebpf-ts sets the packet pointers itself`);
      }
      memory.write(ctx, input.ctx);
    }
    writePointer(memory, ctx + layout.data, layout.pointerSize, dataAt);
    writePointer(memory, ctx + layout.dataEnd, layout.pointerSize, dataAt + data.length);
    writePointer(memory, ctx + layout.dataMeta, layout.pointerSize, dataAt);
    let byCtx = frames.get(memory);
    if (byCtx === undefined) frames.set(memory, (byCtx = new Map()));
    byCtx.set(ctx, { abi, bufferStart, bufferEnd: bufferStart + size });
    return {
      r1: ctx,
      collect() {
        byCtx?.delete(ctx);
        const start = readPointer(memory, ctx + layout.data, layout.pointerSize);
        const end = readPointer(memory, ctx + layout.dataEnd, layout.pointerSize);
        checkRange(memory, start, Math.max(0, end - start), 'XDP frame');
        return { data: memory.read(start, Math.max(0, end - start)), ctx: memory.read(ctx, layout.size) };
      },
    };
  },
  helpers: () => adjustHelpers(),
  returnName(value, abi) {
    const entry = Object.entries(XDP_ACTIONS[abi]).find(([, v]) => BigInt(v) === value);
    return entry?.[0];
  },
};

/**
 * A frame buffer and context set up once and reused for every packet a hook presents: the fast
 * path of the socket hook (no allocation per packet).
 */
export interface XdpFrameSlot {
  /** Context address: r1 for the program. */
  readonly ctx: number;
  /** Where the frame's first byte goes. */
  readonly dataStart: number;
  /** Largest frame the slot holds. */
  readonly capacity: number;
  /** Resets the context for a frame of `length` bytes already written at `dataStart`. */
  present(length: number): void;
  /** The frame as the program left it (between data and data_end). */
  frame(): { start: number; end: number };
}

export function createXdpFrameSlot(memory: LinearMemory, abi: Abi, capacity: number): XdpFrameSlot {
  const layout = layoutOf(abi);
  const size = XDP_PACKET_HEADROOM + capacity + TAILROOM;
  const bufferStart = memory.alloc(size, 8);
  const dataStart = bufferStart + XDP_PACKET_HEADROOM;
  const ctx = memory.alloc(layout.size, 8);
  let byCtx = frames.get(memory);
  if (byCtx === undefined) frames.set(memory, (byCtx = new Map()));
  byCtx.set(ctx, { abi, bufferStart, bufferEnd: bufferStart + size });
  return {
    ctx,
    dataStart,
    capacity,
    present(length) {
      writePointer(memory, ctx + layout.data, layout.pointerSize, dataStart);
      writePointer(memory, ctx + layout.dataEnd, layout.pointerSize, dataStart + length);
      writePointer(memory, ctx + layout.dataMeta, layout.pointerSize, dataStart);
    },
    frame() {
      return {
        start: readPointer(memory, ctx + layout.data, layout.pointerSize),
        end: readPointer(memory, ctx + layout.dataEnd, layout.pointerSize),
      };
    },
  };
}
