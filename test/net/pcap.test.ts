// pcap and pcapng capture files: hand-built bytes in both byte orders and resolutions, round trips,
// and malformed files refused with the offset of the fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINKTYPE_ETHERNET, PcapError, readCapture, readPcap, readPcapng, writePcap, writePcapng, type CapturedPacket } from '../../src/net/pcap.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));

// A 4-byte "frame" keeps the golden bytes readable.
const FRAME = hex('de ad be ef');
// 2024-01-02T03:04:05.123456789Z
const SECONDS = 1704164645n;
const T_NS = SECONDS * 1_000_000_000n + 123_456_789n;

test('reads a little-endian microsecond pcap file', () => {
  const bytes = hex(
    'd4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000' + // header: snaplen 65535, Ethernet
      '25 7d 93 65  40 e2 01 00  04000000 3c000000 deadbeef', // ts 1704164645.123456, 4 of 60 bytes
  );
  const c = readCapture(bytes);
  assert.equal(c.format, 'pcap');
  assert.equal(c.byteOrder, 'little');
  assert.deepEqual(c.interfaces, [{ linkType: LINKTYPE_ETHERNET, snapLength: 65535, ticksPerSecond: 1_000_000n }]);
  assert.equal(c.packets.length, 1);
  assert.equal(c.packets[0].timestamp, SECONDS * 1_000_000_000n + 123_456_000n);
  assert.deepEqual(c.packets[0].data, FRAME);
  assert.equal(c.packets[0].originalLength, 60);
});

test('reads a big-endian nanosecond pcap file', () => {
  const bytes = hex('a1b23c4d 0002 0004 00000000 00000000 00040000 00000001' + '65937d25 075bcd15 00000004 00000004 deadbeef');
  const c = readPcap(bytes);
  assert.equal(c.byteOrder, 'big');
  assert.equal(c.interfaces[0].ticksPerSecond, 1_000_000_000n);
  assert.equal(c.packets[0].timestamp, T_NS);
  assert.deepEqual(c.packets[0].data, FRAME);
});

test('pcap round trip: both byte orders and resolutions give back the packets written', () => {
  const packets: CapturedPacket[] = [
    { timestamp: T_NS, data: FRAME },
    { timestamp: T_NS + 1_000n, data: new Uint8Array(1514).map((_, i) => i & 0xff), originalLength: 1514 },
    { timestamp: 0n, data: new Uint8Array(0), originalLength: 64 },
  ];
  for (const byteOrder of ['little', 'big'] as const) {
    for (const resolution of ['micro', 'nano'] as const) {
      const back = readCapture(writePcap(packets, { byteOrder, resolution }));
      assert.equal(back.byteOrder, byteOrder);
      assert.deepEqual(
        back.packets.map((p) => [p.timestamp, [...p.data], p.originalLength]),
        packets.map((p) => [resolution === 'micro' ? (p.timestamp / 1000n) * 1000n : p.timestamp, [...p.data], p.originalLength ?? p.data.length]),
        `${byteOrder} ${resolution}`,
      );
    }
  }
});

test('writePcap writes the classic header and record layout byte for byte', () => {
  const bytes = writePcap([{ timestamp: T_NS, data: FRAME }], { resolution: 'nano', snapLength: 65535 });
  assert.deepEqual(bytes, hex('4d3cb2a1 0200 0400 00000000 00000000 ffff0000 01000000' + '257d9365 15cd5b07 04000000 04000000 deadbeef'));
});

test('writePcap cuts frames to the snapshot length and keeps their wire length', () => {
  const back = readPcap(writePcap([{ timestamp: 0n, data: new Uint8Array(100) }], { snapLength: 60 }));
  assert.equal(back.packets[0].data.length, 60);
  assert.equal(back.packets[0].originalLength, 100);
});

// pcapng: SHB, IDB (if_tsresol 9, if_name "eth0"), EPB, little-endian.
const PCAPNG_LE = hex(
  '0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000' + // SHB, 28 bytes
    '01000000 28000000 0100 0000 00000400' + // IDB: Ethernet, snaplen 262144
    '0900 0100 09000000' + // if_tsresol = 9 (nanoseconds)
    '0200 0400 65746830' + // if_name = eth0
    '0000 0000 28000000' + // opt_endofopt, trailing length 40
    '06000000 24000000 00000000' + // EPB, 36 bytes, interface 0
    'b768a617 15ff5c37' + // timestamp high, low (1704164645123456789 ns = 0x17a668b7_375cff15)
    '04000000 04000000 deadbeef 24000000',
);

test('reads a pcapng file: section header, interface description with if_tsresol, enhanced packet', () => {
  assert.equal(T_NS, (0x17a668b7n << 32n) | 0x375cff15n, 'the golden timestamp words');
  const c = readCapture(PCAPNG_LE);
  assert.equal(c.format, 'pcapng');
  assert.deepEqual(c.interfaces, [{ linkType: 1, snapLength: 262144, ticksPerSecond: 1_000_000_000n, name: 'eth0' }]);
  assert.deepEqual(c.packets, [{ timestamp: T_NS, data: FRAME, originalLength: 4, interfaceId: 0 }]);
});

test('reads a big-endian pcapng file with the default microsecond resolution and a simple packet block', () => {
  const bytes = hex(
    '0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c' +
      '00000001 00000014 0001 0000 0000ffff 00000014' + // IDB with no options
      '00000006 00000024 00000000 00060ded c04fb580 00000004 00000004 deadbeef 00000024' + // EPB, µs ticks
      '00000003 00000014 00000004 deadbeef 00000014', // SPB
  );
  const c = readPcapng(bytes);
  assert.equal(c.byteOrder, 'big');
  assert.equal(c.packets.length, 2);
  assert.equal(c.packets[0].timestamp, SECONDS * 1_000_000_000n + 123_456_000n);
  assert.deepEqual(c.packets[1].data, FRAME);
});

test('pcapng round trip in both byte orders keeps nanosecond timestamps and the interface name', () => {
  const packets: CapturedPacket[] = [
    { timestamp: T_NS, data: FRAME },
    { timestamp: T_NS + 7n, data: new Uint8Array(61).fill(0xaa), originalLength: 1500 },
  ];
  for (const byteOrder of ['little', 'big'] as const) {
    const bytes = writePcapng(packets, { byteOrder, interfaceName: 'ebts-cli0' });
    const back = readCapture(bytes);
    assert.equal(back.byteOrder, byteOrder);
    assert.equal(back.interfaces[0].name, 'ebts-cli0');
    assert.deepEqual(back.packets.map((p) => [p.timestamp, [...p.data], p.originalLength]), packets.map((p) => [p.timestamp, [...p.data], p.originalLength ?? p.data.length]));
  }
  assert.deepEqual(writePcapng([{ timestamp: T_NS, data: FRAME }], { interfaceName: 'eth0' }), PCAPNG_LE, 'byte for byte as the golden file');
});

/** Asserts `read` refuses `bytes` with a PcapError at `offset` whose message matches `message`. */
function refuses(read: (b: Uint8Array) => unknown, bytes: Uint8Array, offset: number, message: RegExp): void {
  assert.throws(
    () => read(bytes),
    (e: unknown) => {
      assert.ok(e instanceof PcapError, `a PcapError, not ${String(e)}`);
      assert.equal(e.offset, offset, e.message);
      assert.match(e.message, message);
      assert.match(e.message, new RegExp(`at byte offset ${offset}\\)$`));
      return true;
    },
  );
}

test('malformed pcap files are refused with the offset of the fault', () => {
  const good = writePcap([{ timestamp: T_NS, data: FRAME }]);
  refuses(readCapture, new Uint8Array(2), 0, /too short/);
  refuses(readPcap, hex('00112233' + '00'.repeat(20)), 0, /not a pcap file: magic 0x00112233/);
  refuses(readPcap, good.slice(0, 30), 24, /truncated record header/);
  refuses(readPcap, good.slice(0, good.length - 1), 40, /truncated record: 4 bytes announced, 3 present/);
  const badFraction = good.slice();
  new DataView(badFraction.buffer).setUint32(28, 1_000_000, true);
  refuses(readPcap, badFraction, 28, /fraction 1000000/);
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(32, 0x7fffffff, true);
  refuses(readPcap, huge, 32, /exceeds the snapshot length/);
  const version = good.slice();
  version[4] = 9;
  refuses(readPcap, version, 4, /unsupported pcap version 9\.4/);
});

test('malformed pcapng files are refused with the offset of the fault', () => {
  const g = PCAPNG_LE;
  refuses(readPcapng, g.slice(28, 68), 0, /first block has type 0x00000001, not a section header/);
  refuses(readPcapng, g.slice(0, g.length - 2), 72, /truncated block: length 36, 34 bytes left/);
  const trailer = g.slice();
  trailer[g.length - 4] = 0x20;
  refuses(readPcapng, trailer, g.length - 4, /trailing length 32 differs from its leading length 36/);
  const odd = g.slice();
  odd[4] = 0x1d;
  refuses(readPcapng, odd, 4, /block length 29 is not a multiple of 4/);
  const iface = g.slice();
  iface[76] = 3;
  refuses(readPcapng, iface, 76, /names interface 3, but the section describes 1/);
  const captured = g.slice();
  captured[88] = 0x40;
  refuses(readPcapng, captured, 88, /captured length 64 exceeds its block/);
  const order = g.slice();
  order[8] = 0;
  refuses(readPcapng, order, 8, /byte-order magic/);
  const option = g.slice();
  option[54] = 0xff; // if_name's length runs past the IDB
  refuses(readPcapng, option, 54, /option 2 of length 255 runs past its block/);
});

test('random corruption of a capture never escapes as anything but a PcapError (seeded)', () => {
  const seed = 1414;
  let state = seed;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const files = [writePcap([{ timestamp: T_NS, data: FRAME }, { timestamp: T_NS, data: new Uint8Array(70) }]), PCAPNG_LE];
  for (let i = 0; i < 5000; i++) {
    const bytes = files[i % 2].slice(0, 1 + rand(files[i % 2].length));
    for (let k = 0; k < 3; k++) bytes[rand(bytes.length)] = rand(256);
    try {
      readCapture(bytes);
    } catch (e) {
      assert.ok(e instanceof PcapError, `seed ${seed}, case ${i}: ${String(e)}`);
    }
  }
});
