// Ethernet frames around UDP datagrams, as an XDP program expects to see them: the in-process
// hook and test runs build these from real addresses and ports.

export interface UdpFrameSpec {
  readonly source: { readonly address: string; readonly port: number };
  readonly destination: { readonly address: string; readonly port: number };
  readonly payload: Uint8Array;
  readonly sourceMac?: Uint8Array;
  readonly destinationMac?: Uint8Array;
  readonly ttl?: number;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_UDP = 17;

function parseIpv4(address: string): Uint8Array {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return Uint8Array.from(parts);
}

function parseIpv6(address: string): Uint8Array {
  const mapped = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  let text = address;
  if (mapped !== null) {
    const v4 = parseIpv4(mapped[2]);
    text = `${mapped[1]}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${address}`);
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new Error(`not an IPv6 address: ${address}`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** RFC 1071 ones' complement sum over `bytes`, added to `initial`. */
function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const DEFAULT_SOURCE_MAC = Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
const DEFAULT_DESTINATION_MAC = Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);

const addressCache = new Map<string, Uint8Array>();

/** Address bytes of an IPv4 or IPv6 text address (cached: hooks see the same peers again and again). */
export function addressBytes(address: string): Uint8Array {
  let bytes = addressCache.get(address);
  if (bytes === undefined) {
    bytes = address.includes(':') ? parseIpv6(address) : parseIpv4(address);
    if (addressCache.size > 4096) addressCache.clear();
    addressCache.set(address, bytes);
  }
  return bytes;
}

/** Bytes a frame around `payloadLength` payload bytes takes. */
export function udpFrameLength(ipv6: boolean, payloadLength: number): number {
  return 14 + (ipv6 ? 40 : 20) + 8 + payloadLength;
}

export interface WriteOptions {
  /** Compute the UDP checksum (always done for IPv6, where it is mandatory). Default true. */
  readonly udpChecksum?: boolean;
}

/** A UDP frame's parts in binary form (what hooks have at hand for every datagram). */
export interface UdpFrameParts {
  readonly source: Uint8Array;
  readonly sourcePort: number;
  readonly destination: Uint8Array;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
  readonly udpChecksum: boolean;
  readonly sourceMac?: Uint8Array;
  readonly destinationMac?: Uint8Array;
  readonly ttl?: number;
}

/**
 * Writes Ethernet + IPv4 or IPv6 (by the address length) + UDP + payload at `offset` of the
 * buffer that `bytes` and `view` both cover, with a valid IPv4 header checksum; returns the frame
 * length. No allocation: the socket hook calls this for every datagram.
 */
export function writeUdpFrameParts(bytes: Uint8Array, view: DataView, offset: number, p: UdpFrameParts): number {
  const v6 = p.source.length === 16;
  if (v6 !== (p.destination.length === 16)) throw new Error('source and destination must both be IPv4 or both IPv6');
  const ipHeader = v6 ? 40 : 20;
  const udpLength = 8 + p.payload.length;
  const length = 14 + ipHeader + udpLength;
  if (offset + length > bytes.length) throw new RangeError(`a ${length}-byte frame does not fit at ${offset}`);
  bytes.set(p.destinationMac ?? DEFAULT_DESTINATION_MAC, offset);
  bytes.set(p.sourceMac ?? DEFAULT_SOURCE_MAC, offset + 6);
  view.setUint16(offset + 12, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
  const ip = offset + 14;
  if (v6) {
    view.setUint32(ip, 0x60000000);
    view.setUint16(ip + 4, udpLength);
    bytes[ip + 6] = IPPROTO_UDP;
    bytes[ip + 7] = p.ttl ?? 64;
    bytes.set(p.source, ip + 8);
    bytes.set(p.destination, ip + 24);
  } else {
    view.setUint32(ip, 0x45000000 | (20 + udpLength));
    view.setUint32(ip + 4, 0x00004000); // id 0, don't fragment
    view.setUint32(ip + 8, ((p.ttl ?? 64) << 24) | (IPPROTO_UDP << 16)); // checksum 0 for now
    bytes.set(p.source, ip + 12);
    bytes.set(p.destination, ip + 16);
    let sum = 0;
    for (let i = ip; i < ip + 20; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    view.setUint16(ip + 10, ~sum & 0xffff);
  }
  const udp = ip + ipHeader;
  view.setUint32(udp, (p.sourcePort << 16) | p.destinationPort);
  view.setUint32(udp + 4, udpLength << 16); // checksum 0 for now
  bytes.set(p.payload, udp + 8);
  if (v6 || p.udpChecksum) {
    // The UDP checksum covers a pseudo-header of addresses, protocol and length.
    let sum = onesComplementSum(p.source) + onesComplementSum(p.destination) + IPPROTO_UDP + udpLength;
    sum = onesComplementSum(bytes.subarray(udp, udp + udpLength), sum);
    view.setUint16(udp + 6, ~sum & 0xffff || 0xffff);
  }
  return length;
}

export function writeUdpFrame(target: Uint8Array, offset: number, spec: UdpFrameSpec, options: WriteOptions = {}): number {
  return writeUdpFrameParts(target, new DataView(target.buffer, target.byteOffset, target.byteLength), offset, {
    source: addressBytes(spec.source.address),
    sourcePort: spec.source.port,
    destination: addressBytes(spec.destination.address),
    destinationPort: spec.destination.port,
    payload: spec.payload,
    udpChecksum: options.udpChecksum ?? true,
    sourceMac: spec.sourceMac,
    destinationMac: spec.destinationMac,
    ttl: spec.ttl,
  });
}

/** Ethernet + IPv4 or IPv6 (by the address form) + UDP + payload, with valid checksums. */
export function buildUdpFrame(spec: UdpFrameSpec): Uint8Array {
  const v6 = spec.source.address.includes(':');
  const frame = new Uint8Array(udpFrameLength(v6, spec.payload.length));
  writeUdpFrame(frame, 0, spec);
  return frame;
}
