// Capture files: classic pcap (both byte orders, microsecond and nanosecond timestamps) and pcapng
// (Section Header, Interface Description, Enhanced and Simple Packet blocks), read and written in
// plain TypeScript. Timestamps are nanoseconds since the epoch (bigint, exact at any resolution).
// A malformed file is refused with a PcapError naming the byte offset of the fault.

/** LINKTYPE_ETHERNET: frames start with the Ethernet header (the datapath's frames). */
export const LINKTYPE_ETHERNET = 1;

/** The default snapshot length: large enough for any frame the datapath sees. */
export const DEFAULT_SNAPLEN = 262144;

export class PcapError extends Error {
  override readonly name = 'PcapError';
  constructor(
    message: string,
    /** Byte offset in the file where the fault is. */
    readonly offset: number,
  ) {
    super(`${message} (at byte offset ${offset})`);
  }
}

export interface CapturedPacket {
  /** Nanoseconds since 1970-01-01T00:00:00Z. */
  timestamp: bigint;
  /** The bytes captured (at most the snapshot length). */
  data: Uint8Array;
  /** The frame's length on the wire (≥ data.length); default data.length. */
  originalLength?: number;
  /** pcapng: the index of the interface it was captured on (0 in classic pcap). */
  interfaceId?: number;
}

export interface CaptureInterface {
  linkType: number;
  snapLength: number;
  /** pcapng if_name, when given. */
  name?: string;
  /** Timestamp ticks per second (1e6 for pcap µs, 1e9 for ns, from if_tsresol in pcapng). */
  ticksPerSecond: bigint;
}

export interface Capture {
  format: 'pcap' | 'pcapng';
  byteOrder: 'little' | 'big';
  /** Classic pcap: one interface. pcapng: one per IDB (of the last section read). */
  interfaces: CaptureInterface[];
  packets: Required<CapturedPacket>[];
}

const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_SPB = 0x00000003;
const PCAPNG_EPB = 0x00000006;
const PCAP_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/** Reads a capture file of either format, told apart by its first four bytes. */
export function readCapture(bytes: Uint8Array): Capture {
  if (bytes.length < 4) throw new PcapError(`file too short for a capture header: ${bytes.length} bytes`, 0);
  return view(bytes).getUint32(0, true) === PCAPNG_SHB ? readPcapng(bytes) : readPcap(bytes);
}

// ---- classic pcap ----

export function readPcap(bytes: Uint8Array): Capture {
  const v = view(bytes);
  if (bytes.length < PCAP_HEADER_LENGTH) throw new PcapError(`file too short for the 24-byte pcap header: ${bytes.length} bytes`, 0);
  let little: boolean;
  const magic = v.getUint32(0, true);
  if (magic === PCAP_MAGIC_MICRO || magic === PCAP_MAGIC_NANO) little = true;
  else if (v.getUint32(0, false) === PCAP_MAGIC_MICRO || v.getUint32(0, false) === PCAP_MAGIC_NANO) little = false;
  else throw new PcapError(`not a pcap file: magic ${hex32(v.getUint32(0, false))} is none of a1b2c3d4/a1b23c4d in either byte order`, 0);
  const ticksPerSecond = v.getUint32(0, little) === PCAP_MAGIC_NANO ? 1_000_000_000n : 1_000_000n;
  const major = v.getUint16(4, little);
  if (major !== 2) throw new PcapError(`unsupported pcap version ${major}.${v.getUint16(6, little)} (2.x expected)`, 4);
  const snapLength = v.getUint32(16, little);
  const linkType = v.getUint32(20, little) & 0xffff; // upper bits: FCS length, not the link type
  const packets: Required<CapturedPacket>[] = [];
  const limit = Math.max(snapLength, DEFAULT_SNAPLEN);
  let at = PCAP_HEADER_LENGTH;
  while (at < bytes.length) {
    if (bytes.length - at < PCAP_RECORD_HEADER_LENGTH) throw new PcapError(`truncated record header: ${bytes.length - at} of 16 bytes`, at);
    const seconds = v.getUint32(at, little);
    const fraction = v.getUint32(at + 4, little);
    const included = v.getUint32(at + 8, little);
    const original = v.getUint32(at + 12, little);
    if (BigInt(fraction) >= ticksPerSecond) throw new PcapError(`record timestamp fraction ${fraction} is not below ${ticksPerSecond}`, at + 4);
    if (included > limit) throw new PcapError(`record length ${included} exceeds the snapshot length ${limit}`, at + 8);
    if (bytes.length - at - PCAP_RECORD_HEADER_LENGTH < included) {
      throw new PcapError(`truncated record: ${included} bytes announced, ${bytes.length - at - PCAP_RECORD_HEADER_LENGTH} present`, at + PCAP_RECORD_HEADER_LENGTH);
    }
    const start = at + PCAP_RECORD_HEADER_LENGTH;
    packets.push({
      timestamp: BigInt(seconds) * 1_000_000_000n + BigInt(fraction) * (1_000_000_000n / ticksPerSecond),
      data: bytes.slice(start, start + included),
      originalLength: Math.max(original, included),
      interfaceId: 0,
    });
    at = start + included;
  }
  return { format: 'pcap', byteOrder: little ? 'little' : 'big', interfaces: [{ linkType, snapLength, ticksPerSecond }], packets };
}

export interface PcapWriteOptions {
  byteOrder?: 'little' | 'big';
  /** Timestamp resolution: 'micro' (magic a1b2c3d4, the default) or 'nano' (a1b23c4d). */
  resolution?: 'micro' | 'nano';
  linkType?: number;
  snapLength?: number;
}

/** The 24-byte file header, for a writer that streams records after it. */
export function encodePcapHeader(options: PcapWriteOptions = {}): Uint8Array {
  const little = (options.byteOrder ?? 'little') === 'little';
  const out = new Uint8Array(PCAP_HEADER_LENGTH);
  const v = view(out);
  v.setUint32(0, options.resolution === 'nano' ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO, little);
  v.setUint16(4, 2, little);
  v.setUint16(6, 4, little);
  v.setUint32(16, options.snapLength ?? DEFAULT_SNAPLEN, little);
  v.setUint32(20, options.linkType ?? LINKTYPE_ETHERNET, little);
  return out;
}

/** One record (16-byte header and the captured bytes, cut to the snapshot length). */
export function encodePcapRecord(packet: CapturedPacket, options: PcapWriteOptions = {}): Uint8Array {
  const little = (options.byteOrder ?? 'little') === 'little';
  const perTick = options.resolution === 'nano' ? 1n : 1000n;
  const data = packet.data.subarray(0, options.snapLength ?? DEFAULT_SNAPLEN);
  if (packet.timestamp < 0n) throw new RangeError(`a pcap timestamp cannot be before 1970: ${packet.timestamp} ns`);
  const seconds = packet.timestamp / 1_000_000_000n;
  if (seconds > 0xffffffffn) throw new RangeError(`a pcap timestamp cannot be after 2106: ${packet.timestamp} ns`);
  const out = new Uint8Array(PCAP_RECORD_HEADER_LENGTH + data.length);
  const v = view(out);
  v.setUint32(0, Number(seconds), little);
  v.setUint32(4, Number((packet.timestamp % 1_000_000_000n) / perTick), little);
  v.setUint32(8, data.length, little);
  v.setUint32(12, Math.max(packet.originalLength ?? packet.data.length, data.length), little);
  out.set(data, PCAP_RECORD_HEADER_LENGTH);
  return out;
}

/** A whole classic pcap file. */
export function writePcap(packets: Iterable<CapturedPacket>, options: PcapWriteOptions = {}): Uint8Array {
  const parts = [encodePcapHeader(options)];
  for (const p of packets) parts.push(encodePcapRecord(p, options));
  return concat(parts);
}

// ---- pcapng ----

export function readPcapng(bytes: Uint8Array): Capture {
  const v = view(bytes);
  let little = true;
  let interfaces: CaptureInterface[] = [];
  const packets: Required<CapturedPacket>[] = [];
  let sawSection = false;
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 12) throw new PcapError(`truncated block header: ${bytes.length - at} bytes left, 12 needed`, at);
    const type = v.getUint32(at, little);
    if (v.getUint32(at, true) === PCAPNG_SHB) {
      const order = v.getUint32(at + 8, true);
      if (order === PCAPNG_BYTE_ORDER_MAGIC) little = true;
      else if (v.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) little = false;
      else throw new PcapError(`section header byte-order magic ${hex32(order)} is not 1a2b3c4d in either byte order`, at + 8);
    } else if (!sawSection) {
      throw new PcapError(`not a pcapng file: the first block has type ${hex32(type)}, not a section header (0a0d0d0a)`, at);
    }
    const length = v.getUint32(at + 4, little);
    if (length < 12 || length % 4 !== 0) throw new PcapError(`block length ${length} is not a multiple of 4 of at least 12`, at + 4);
    if (length > bytes.length - at) throw new PcapError(`truncated block: length ${length}, ${bytes.length - at} bytes left`, at + 4);
    if (v.getUint32(at + length - 4, little) !== length) {
      throw new PcapError(`block's trailing length ${v.getUint32(at + length - 4, little)} differs from its leading length ${length}`, at + length - 4);
    }
    const body = at + 8;
    const end = at + length - 4;
    const need = (n: number, what: string): void => {
      if (end - body < n) throw new PcapError(`${what} body too short: ${end - body} bytes, ${n} needed`, body);
    };
    if (v.getUint32(at, true) === PCAPNG_SHB) {
      need(16, 'section header');
      const major = v.getUint16(body + 4, little);
      if (major !== 1) throw new PcapError(`unsupported pcapng version ${major}.${v.getUint16(body + 6, little)} (1.x expected)`, body + 4);
      sawSection = true;
      interfaces = [];
    } else if (type === PCAPNG_IDB) {
      need(8, 'interface description');
      const iface: CaptureInterface = { linkType: v.getUint16(body, little), snapLength: v.getUint32(body + 4, little), ticksPerSecond: 1_000_000n };
      for (const o of options(bytes, v, body + 8, end, little)) {
        if (o.code === 2) iface.name = new TextDecoder().decode(o.value).replace(/\0+$/, '');
        if (o.code === 9) {
          if (o.value.length < 1) throw new PcapError('if_tsresol option is empty', o.offset);
          const r = o.value[0];
          const exponent = BigInt(r & 0x7f);
          if ((r & 0x80) === 0 ? exponent > 18n : exponent > 63n) throw new PcapError(`if_tsresol ${r} is out of range`, o.offset);
          iface.ticksPerSecond = (r & 0x80) === 0 ? 10n ** exponent : 1n << exponent;
        }
      }
      interfaces.push(iface);
    } else if (type === PCAPNG_EPB) {
      need(20, 'enhanced packet');
      const id = v.getUint32(body, little);
      const iface = interfaces[id];
      if (iface === undefined) throw new PcapError(`enhanced packet names interface ${id}, but the section describes ${interfaces.length}`, body);
      const ticks = (BigInt(v.getUint32(body + 4, little)) << 32n) | BigInt(v.getUint32(body + 8, little));
      const captured = v.getUint32(body + 12, little);
      const original = v.getUint32(body + 16, little);
      if (captured > end - body - 20) throw new PcapError(`enhanced packet's captured length ${captured} exceeds its block (${end - body - 20} bytes)`, body + 12);
      packets.push({
        timestamp: (ticks * 1_000_000_000n) / iface.ticksPerSecond,
        data: bytes.slice(body + 20, body + 20 + captured),
        originalLength: Math.max(original, captured),
        interfaceId: id,
      });
    } else if (type === PCAPNG_SPB) {
      need(4, 'simple packet');
      const iface = interfaces[0];
      if (iface === undefined) throw new PcapError('simple packet block before any interface description', at);
      const original = v.getUint32(body, little);
      const captured = Math.min(original, end - body - 4, iface.snapLength === 0 ? Infinity : iface.snapLength);
      packets.push({ timestamp: 0n, data: bytes.slice(body + 4, body + 4 + captured), originalLength: original, interfaceId: 0 });
    }
    // Other blocks (name resolution, statistics, custom...) are skipped.
    at += length;
  }
  return { format: 'pcapng', byteOrder: little ? 'little' : 'big', interfaces, packets };
}

interface BlockOption {
  code: number;
  value: Uint8Array;
  offset: number;
}

/** A block's options, up to opt_endofopt or the end of the block. */
function options(bytes: Uint8Array, v: DataView, start: number, end: number, little: boolean): BlockOption[] {
  const found: BlockOption[] = [];
  let at = start;
  while (end - at >= 4) {
    const code = v.getUint16(at, little);
    const length = v.getUint16(at + 2, little);
    if (code === 0) break;
    if (length > end - at - 4) throw new PcapError(`option ${code} of length ${length} runs past its block`, at + 2);
    found.push({ code, value: bytes.subarray(at + 4, at + 4 + length), offset: at + 4 });
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return found;
}

export interface PcapngWriteOptions {
  byteOrder?: 'little' | 'big';
  linkType?: number;
  snapLength?: number;
  /** if_name of the one interface described. */
  interfaceName?: string;
}

/**
 * A pcapng file: one section, one interface (nanosecond timestamps, if_tsresol 9) and an
 * Enhanced Packet Block per packet.
 */
export function writePcapng(packets: Iterable<CapturedPacket>, options: PcapngWriteOptions = {}): Uint8Array {
  const little = (options.byteOrder ?? 'little') === 'little';
  const snapLength = options.snapLength ?? DEFAULT_SNAPLEN;
  const block = (type: number, body: Uint8Array): Uint8Array => {
    const length = 12 + Math.ceil(body.length / 4) * 4;
    const out = new Uint8Array(length);
    const v = view(out);
    v.setUint32(0, type, little);
    v.setUint32(4, length, little);
    out.set(body, 8);
    v.setUint32(length - 4, length, little);
    return out;
  };
  const option = (code: number, value: Uint8Array): Uint8Array => {
    const out = new Uint8Array(4 + Math.ceil(value.length / 4) * 4);
    view(out).setUint16(0, code, little);
    view(out).setUint16(2, value.length, little);
    out.set(value, 4);
    return out;
  };
  const shb = new Uint8Array(16);
  view(shb).setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, little);
  view(shb).setUint16(4, 1, little);
  view(shb).setBigInt64(8, -1n, little); // section length not given
  const idbHead = new Uint8Array(8);
  view(idbHead).setUint16(0, options.linkType ?? LINKTYPE_ETHERNET, little);
  view(idbHead).setUint32(4, snapLength, little);
  const idbOptions = [option(9, Uint8Array.of(9))];
  if (options.interfaceName !== undefined) idbOptions.push(option(2, new TextEncoder().encode(options.interfaceName)));
  idbOptions.push(new Uint8Array(4)); // opt_endofopt
  const parts = [block(PCAPNG_SHB, shb), block(PCAPNG_IDB, concat([idbHead, ...idbOptions]))];
  for (const p of packets) {
    if (p.timestamp < 0n) throw new RangeError(`a pcapng timestamp cannot be before 1970: ${p.timestamp} ns`);
    const data = p.data.subarray(0, snapLength);
    const body = new Uint8Array(20 + data.length);
    const v = view(body);
    v.setUint32(0, 0, little);
    v.setUint32(4, Number((p.timestamp >> 32n) & 0xffffffffn), little);
    v.setUint32(8, Number(p.timestamp & 0xffffffffn), little);
    v.setUint32(12, data.length, little);
    v.setUint32(16, Math.max(p.originalLength ?? p.data.length, data.length), little);
    body.set(data, 20);
    parts.push(block(PCAPNG_EPB, body));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
