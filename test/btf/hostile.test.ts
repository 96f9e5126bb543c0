// Malformed and hostile .BTF: every case is a BtfError that says what is wrong, never a
// RangeError, a stack overflow, a hang or a huge allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, BtfError } from '../../src/btf/index.js';
import { BtfBuilder, SIGNED } from './builder.js';

function btfError(fn: () => unknown): BtfError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e;
  }
  assert.fail('expected a BtfError');
}

const parseError = (bytes: Uint8Array): string => btfError(() => Btf.parse(bytes)).message;

/** A valid blob: int, struct point { int x; int y; }. */
function small(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  b.struct('point', 8, [['x', int, 0], ['y', int, 32]]);
  return b.build();
}

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function patched(offset: number, value: number): Uint8Array {
  const bytes = small();
  view(bytes).setUint32(offset, value, true);
  return bytes;
}

test('the unpatched blob used below parses', () => {
  assert.equal(Btf.parse(small()).types.length, 3);
});

test('a truncated header is refused', () => {
  assert.equal(parseError(small().subarray(0, 6)), 'BTF section too short for a header (6 bytes)');
  assert.equal(parseError(small().subarray(0, 20)), 'BTF header length 24 runs past the end of the section (20 bytes)');
  assert.equal(parseError(patched(4, 16)), 'BTF header length 16 is shorter than the 24-byte header');
});

test('bad magic, big-endian magic, unknown version and flags are refused', () => {
  const bad = small();
  bad[0] = 0x12;
  assert.equal(parseError(bad), 'BTF section has bad magic 0xeb12, expected 0xeb9f');
  const be = small();
  be[0] = 0xeb;
  be[1] = 0x9f;
  assert.match(parseError(be), /^BTF section is big-endian .* only little-endian objects are supported$/);
  const version = small();
  version[2] = 2;
  assert.equal(parseError(version), 'BTF version 2 is not supported (expected 1)');
  const flags = small();
  flags[3] = 1;
  assert.equal(parseError(flags), 'BTF header flags 0x1 are not supported');
});

test('type and string sections outside the BTF section are refused, even a claimed 4 GiB', () => {
  const typeLen = view(small()).getUint32(12, true);
  assert.equal(parseError(patched(12, 0xffff_ffff)), `BTF type section (4294967295 bytes at offset 0) runs past the end of the section (${small().length - 24} bytes after the header)`);
  assert.match(parseError(patched(8, 0xffff_fff0)), /^BTF type section \(\d+ bytes at offset 4294967280\) runs past the end/);
  assert.match(parseError(patched(20, 0xffff_ffff)), /^BTF string section \(4294967295 bytes at offset \d+\) runs past the end/);
  assert.match(parseError(patched(16, typeLen + 1000)), /^BTF string section \(\d+ bytes at offset \d+\) runs past the end/);
});

test('a string section that is not NUL-terminated or does not start empty is refused', () => {
  const bytes = small();
  bytes[bytes.length - 1] = 0x41;
  assert.equal(parseError(bytes), 'BTF string section is not NUL-terminated');
  const first = small();
  first[view(first).getUint32(16, true) + 24] = 0x41;
  assert.equal(parseError(first), 'BTF string section does not start with the empty string (a NUL byte)');
});

test('a name offset outside the string section is refused', () => {
  // Type 2's name offset (struct point) sits after type 1's 16 bytes.
  assert.match(parseError(patched(24 + 16, 9999)), /^type 2 name: string offset 9999 is outside the string section \(\d+ bytes\)$/);
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  b.raw(b.str('s'), (4 << 24) | 1, 4, [5000, int, 0]);
  assert.match(parseError(b.build()), /^type 2 \(STRUCT s\) member 0 name: string offset 5000 is outside/);
});

test('a type record cut short by the type section length is refused', () => {
  const bytes = small();
  view(bytes).setUint32(12, 16 + 8, true); // int (16 bytes) and 8 bytes of the struct header
  assert.equal(parseError(bytes), 'type 2: record truncated (8 bytes left in the type section)');
});

test('a huge vlen is refused before any member is read', () => {
  const b = new BtfBuilder();
  b.raw(0, (4 << 24) | 0xffff, 4);
  assert.equal(parseError(b.build()), 'type 1 (STRUCT): 65535 entries need 786420 bytes but 0 remain in the type section');
  const e = new BtfBuilder();
  e.raw(e.str('e'), (6 << 24) | 3, 4, [0, 0]);
  assert.equal(parseError(e.build()), 'type 1 (ENUM e): 3 entries need 24 bytes but 8 remain in the type section');
});

test('unknown kinds and reserved info bits are refused', () => {
  const b = new BtfBuilder();
  b.raw(0, 25 << 24, 0);
  assert.equal(parseError(b.build()), 'type 1: unknown kind 25');
  const zero = new BtfBuilder();
  zero.raw(0, 0, 0);
  assert.equal(parseError(zero.build()), 'type 1: unknown kind 0');
  const reserved = new BtfBuilder();
  reserved.raw(0, (2 << 24) | (1 << 16), 0);
  assert.equal(parseError(reserved.build()), 'type 1: reserved bits set in info 0x2010000');
});

test('references to type ids that do not exist are refused', () => {
  const b = new BtfBuilder();
  b.ptr(99);
  assert.equal(parseError(b.build()), 'type 1 (PTR): pointer target refers to type 99, which does not exist (2 types)');
  const m = new BtfBuilder();
  m.struct('s', 4, [['a', 7, 0]]);
  assert.equal(parseError(m.build()), 'type 1 (STRUCT s): member 0 (a) refers to type 7, which does not exist (2 types)');
  const a = new BtfBuilder();
  a.array(0, 0xffff_ffff, 1);
  assert.equal(parseError(a.build()), 'type 1 (ARRAY): index type refers to type 4294967295, which does not exist (2 types)');
});

test('a typedef that names itself is refused as a cycle', () => {
  const b = new BtfBuilder();
  b.typedef('loop', 1);
  assert.equal(parseError(b.build()), 'type 1 (TYPEDEF loop) refers back to itself without a pointer: 1 (TYPEDEF) -> 1 (TYPEDEF)');
  const pair = new BtfBuilder();
  pair.const(2);
  pair.typedef('t', 1);
  assert.equal(parseError(pair.build()), 'type 1 (CONST) refers back to itself without a pointer: 1 (CONST) -> 2 (TYPEDEF) -> 1 (CONST)');
});

test('a struct containing itself by value through an array is refused; through a pointer it is fine', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  b.struct('node', 12, [['v', int, 0], ['children', 3, 32]]);
  b.array(2, int, 2);
  assert.equal(parseError(b.build()), 'type 2 (STRUCT node) refers back to itself without a pointer: 2 (STRUCT) -> 3 (ARRAY) -> 2 (STRUCT)');

  const list = new BtfBuilder();
  const i = list.int('int', 4, SIGNED);
  list.struct('list', 16, [['v', i, 0], ['next', 3, 64]]);
  list.ptr(2);
  const btf = Btf.parse(list.build());
  assert.equal(btf.sizeOf(2), 16);
  assert.equal(btf.format(2, { expand: true }), 'struct list { int v; struct list *next; }');
});

test('a FUNC must point at a FUNC_PROTO and a DATASEC at VARs', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  b.func('f', int);
  assert.equal(parseError(b.build()), 'type 2 (FUNC f): refers to type 1 (INT int), expected a FUNC_PROTO');
  const d = new BtfBuilder();
  const i = d.int('int', 4, SIGNED);
  d.datasec('.data', 4, [[i, 0, 4]]);
  assert.equal(parseError(d.build()), 'type 2 (DATASEC .data): variable entry refers to type 1 (INT int), expected a VAR');
});

test('invalid INT, ENUM, FLOAT, FUNC, VAR and DECL_TAG fields are refused', () => {
  const cases: [(b: BtfBuilder) => void, string][] = [
    [(b) => b.int('int', 3), 'type 1 (INT int): invalid int size 3'],
    [(b) => b.int('int', 4, 3), 'type 1 (INT int): invalid int encoding 3'],
    [(b) => b.int('int', 4, 0, 30, 4), 'type 1 (INT int): 30 bits at bit offset 4 do not fit in 4 bytes'],
    [(b) => b.raw(b.str('int'), 1 << 24, 4, [0x100]), 'type 1 (INT int): reserved bits set in int data 0x100'],
    [(b) => b.enum('e', 3, []), 'type 1 (ENUM e): invalid enum size 3'],
    [(b) => b.float('f', 5), 'type 1 (FLOAT f): invalid float size 5'],
    [(b) => b.func('f', b.funcProto(0, []) , 3), 'type 2 (FUNC f): invalid linkage 3'],
    [(b) => b.var('v', b.int('int', 4), 7), 'type 2 (VAR v): invalid linkage 7'],
    [(b) => b.declTag('t', b.int('int', 4), -2), 'type 2 (DECL_TAG t): invalid component index -2'],
    [(b) => b.declTag('t', b.struct('s', 0, []), 0), 'type 2 (DECL_TAG t): component 0 does not exist in type 1 (STRUCT s) (kind STRUCT)'],
  ];
  for (const [build, message] of cases) {
    const b = new BtfBuilder();
    build(b);
    assert.equal(parseError(b.build()), message);
  }
});

test('decode refuses members that lie outside the bytes given', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  const s = b.struct('liar', 4, [['far', int, 8 * 1000]]);
  const btf = Btf.parse(b.build());
  assert.equal(btfError(() => btf.decode(s, new Uint8Array(4))).message, 'decode: type 1 (INT int) at byte 1000 (4 bytes) lies outside the 4-byte value');
});

test('decode refuses an array of zero-size elements that would produce billions of values', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  const empty = b.struct('empty', 0, []);
  const many = b.array(empty, int, 0xffff_ffff);
  const btf = Btf.parse(b.build());
  assert.equal(btf.sizeOf(many), 0);
  assert.match(btfError(() => btf.decode(many, new Uint8Array(0))).message, /^decode: type 3 \(ARRAY\) produces too many values for 0 bytes$/);
});

test('sizeOf refuses an array whose size is beyond exact integers', () => {
  const b = new BtfBuilder();
  const long = b.int('long', 8, SIGNED);
  const inner = b.array(long, long, 0xffff_ffff);
  const outer = b.array(inner, long, 0xffff_ffff);
  const btf = Btf.parse(b.build());
  assert.equal(btf.sizeOf(inner), 0xffff_ffff * 8);
  assert.equal(btfError(() => btf.sizeOf(outer)).message, 'type 3 (ARRAY): 4294967295 elements of 34359738360 bytes are too large');
});

test('format refuses output that anonymous nesting would make enormous', () => {
  // Each level is an anonymous struct with 64 members of the level below: 64^5 leaves.
  const b = new BtfBuilder();
  let id = b.int('int', 4, SIGNED);
  for (let level = 0; level < 5; level++) {
    id = b.struct('', 0, Array.from({ length: 64 }, (_, i) => [`m${i}`, id, 0] as [string, number, number]));
  }
  const btf = Btf.parse(b.build());
  assert.equal(btf.format(id), 'struct {...}');
  assert.equal(btfError(() => btf.format(id, { expand: true })).message, 'format: the declaration is too large to print (limit 1048576 characters)');
});

test('a chain of 200,000 typedefs parses without overflowing the stack', () => {
  const b = new BtfBuilder();
  let id = b.int('int', 4, SIGNED);
  for (let i = 0; i < 200_000; i++) id = b.typedef('t', id);
  const btf = Btf.parse(b.build());
  assert.equal(btf.types.length, 200_002);
  assert.match(btfError(() => btf.resolve(id)).message, /more than 64 typedefs and qualifiers in a row/);
});

test('format refuses function pointers whose parameters multiply, without building them first', () => {
  // Three levels of 20000 parameters, each a pointer to the level below: 8e12 characters if printed.
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  let proto = b.funcProto(int, [['x', int]]);
  for (let level = 0; level < 3; level++) {
    const ptr = b.ptr(proto);
    proto = b.funcProto(int, Array.from({ length: 20_000 }, () => ['', ptr] as [string, number]));
  }
  const btf = Btf.parse(b.build());
  assert.equal(btfError(() => btf.format(proto)).message, 'format: the declaration is too large to print (limit 1048576 characters)');
});

test('many names pointing into one long string parse in linear time', () => {
  const b = new BtfBuilder();
  const long = b.str('x'.repeat(100_000));
  const int = b.int('int', 4, SIGNED);
  for (let i = 0; i < 50_000; i++) b.raw(long + i, 8 << 24, int); // typedefs named by suffixes
  const btf = Btf.parse(b.build());
  assert.equal(btf.types.length, 50_002);
  assert.equal(btf.type(50_001).name.length, 100_000 - 49_999);
});

test('many non-ASCII names pointing into one long string are refused rather than decoded one by one', () => {
  const b = new BtfBuilder();
  const long = b.str('é'.repeat(50_000)); // 100000 bytes
  for (let i = 0; i < 50_000; i++) b.raw(long + 2 * i, 7 << 24, 0); // forward declarations
  assert.match(parseError(b.build()), /^type \d+ name: too many overlapping non-ASCII strings in the string section$/);
});

test('decode refuses members that overlap so often they would rescan the same bytes without end', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, SIGNED);
  const int = b.int('int', 4, SIGNED);
  const text = b.array(char, int, 100_000);
  const s = b.struct('overlap', 100_000, Array.from({ length: 60_000 }, (_, i) => [`m${i}`, text, 0] as [string, number, number]));
  const btf = Btf.parse(b.build());
  assert.match(btfError(() => btf.decode(s, new Uint8Array(100_000).fill(0x61))).message, /^decode: type 3 \(ARRAY\) produces too many values for 100000 bytes$/);
});
