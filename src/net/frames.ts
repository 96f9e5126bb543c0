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

/** Ethernet + IPv4 or IPv6 (by the address form) + UDP + payload, with valid checksums. */
export function buildUdpFrame(spec: UdpFrameSpec): Uint8Array {
  const v6 = spec.source.address.includes(':');
  if (v6 !== spec.destination.address.includes(':')) throw new Error('source and destination must both be IPv4 or both IPv6');
  const src = v6 ? parseIpv6(spec.source.address) : parseIpv4(spec.source.address);
  const dst = v6 ? parseIpv6(spec.destination.address) : parseIpv4(spec.destination.address);
  const ipHeader = v6 ? 40 : 20;
  const udpLength = 8 + spec.payload.length;
  const frame = new Uint8Array(14 + ipHeader + udpLength);
  const view = new DataView(frame.buffer);
  frame.set(spec.destinationMac ?? DEFAULT_DESTINATION_MAC, 0);
  frame.set(spec.sourceMac ?? DEFAULT_SOURCE_MAC, 6);
  view.setUint16(12, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
  const ip = 14;
  if (v6) {
    view.setUint32(ip, 0x60000000);
    view.setUint16(ip + 4, udpLength);
    frame[ip + 6] = IPPROTO_UDP;
    frame[ip + 7] = spec.ttl ?? 64;
    frame.set(src, ip + 8);
    frame.set(dst, ip + 24);
  } else {
    frame[ip] = 0x45;
    view.setUint16(ip + 2, 20 + udpLength);
    view.setUint16(ip + 6, 0x4000); // don't fragment
    frame[ip + 8] = spec.ttl ?? 64;
    frame[ip + 9] = IPPROTO_UDP;
    frame.set(src, ip + 12);
    frame.set(dst, ip + 16);
    view.setUint16(ip + 10, ~onesComplementSum(frame.subarray(ip, ip + 20)) & 0xffff);
  }
  const udp = ip + ipHeader;
  view.setUint16(udp, spec.source.port);
  view.setUint16(udp + 2, spec.destination.port);
  view.setUint16(udp + 4, udpLength);
  frame.set(spec.payload, udp + 8);
  // The UDP checksum covers a pseudo-header of addresses, protocol and length.
  const pseudo = new Uint8Array(src.length * 2 + 4);
  pseudo.set(src, 0);
  pseudo.set(dst, src.length);
  pseudo[src.length * 2 + 1] = IPPROTO_UDP;
  new DataView(pseudo.buffer).setUint16(src.length * 2 + 2, udpLength);
  const sum = onesComplementSum(frame.subarray(udp, udp + udpLength), onesComplementSum(pseudo));
  view.setUint16(udp + 6, ~sum & 0xffff || 0xffff);
  return frame;
}
