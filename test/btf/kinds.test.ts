// Hand-built BTF covering every kind: what the parser reads, and how resolve, sizeOf, format and
// decode treat each kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, BtfError, BtfKind } from '../../src/btf/index.js';
import { BOOL, BtfBuilder, CHAR, SIGNED } from './builder.js';

function everyKind() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  const uint = b.int('unsigned int', 4);
  const char = b.int('char', 1, SIGNED);
  const uchar = b.int('unsigned char', 1);
  const bool = b.int('_Bool', 1, BOOL);
  const u64 = b.int('unsigned long long', 8);
  const s64 = b.int('long long', 8, SIGNED);
  const u128 = b.int('unsigned __int128', 16);
  const nibble = b.int('nibble', 1, 0, 4, 2); // a legacy bitfield int: 4 bits at bit 2
  const flagChar = b.int('byte_text', 1, CHAR);
  const intPtr = b.ptr(int);
  const chars = b.array(char, int, 6);
  const u8 = b.typedef('__u8', uchar);
  const bytes = b.array(u8, int, 4);
  const color = b.enum('color', 4, [['RED', 0], ['GREEN', 5], ['NEG', -7]], true);
  const big = b.enum64('big', 8, [['HUGE', 0xffff_ffff_ffffn], ['ALL_ONES', -1n]]);
  const sbig = b.enum64('sbig', 8, [['MINUS_ONE', -1n]], true);
  const fwdStruct = b.fwd('opaque');
  const fwdUnion = b.fwd('either', true);
  const cint = b.const(int);
  const vcint = b.volatile(cint);
  const rptr = b.restrict(intPtr);
  const tagged = b.typeTag('user', int);
  const taggedPtr = b.ptr(tagged);
  const myint = b.typedef('myint_t', vcint);
  const proto = b.funcProto(int, [['ctx', intPtr], ['len', uint]]);
  const variadic = b.funcProto(b.ptr(0), [['fmt', b.ptr(b.const(char))], ['', 0]]);
  const noParams = b.funcProto(0, []);
  const fn = b.func('handle', proto);
  const staticFn = b.func('helper', noParams, 0);
  const dbl = b.float('double', 8);
  const flt = b.float('float', 4);
  const half = b.float('_Float16', 2);
  const point = b.struct('point', 4, [['x', b.int('short', 2, SIGNED), 0], ['y', b.int('short', 2, SIGNED), 16]]);
  const anon = b.struct('', 2, [['lo', uchar, 0], ['hi', uchar, 8]]);
  // struct packet { unsigned int len; unsigned int proto: 4, dir: 2; int delta: 10; enum color color: 8;
  //                 char name[6]; union value v; struct point p; struct { lo, hi }; long long total; _Bool ok; }
  const value = b.union('value', 8, [['u', u64, 0], ['f', dbl, 0], ['word', uint, 0]]);
  const packet = b.struct(
    'packet',
    48,
    [
      ['len', uint, 0],
      ['proto', uint, 32, 4],
      ['dir', uint, 36, 2],
      ['delta', int, 38, 10],
      ['color', color, 48, 8],
      ['name', chars, 56],
      ['v', value, 128],
      ['p', point, 192],
      ['', anon, 224],
      ['', uint, 240, 4], // unnamed bitfield: padding
      ['total', s64, 256],
      ['ok', bool, 320],
    ],
    true,
  );
  const legacy = b.struct('legacy', 4, [['flags', nibble, 8], ['whole', uchar, 16]]);
  const counter = b.var('counter', u64);
  const secret = b.var('secret', cint, 0);
  const data = b.datasec('.data', 16, [[counter, 0, 8], [secret, 8, 4]]);
  const structTag = b.declTag('packet_tag', packet);
  const memberTag = b.declTag('len_tag', packet, 0);
  const paramTag = b.declTag('ctx_tag', fn, 0);
  const btf = Btf.parse(b.build());
  return {
    btf, int, uint, char, uchar, bool, u64, s64, u128, nibble, flagChar, intPtr, chars, u8, bytes, color, big, sbig,
    fwdStruct, fwdUnion, cint, vcint, rptr, tagged, taggedPtr, myint, proto, variadic, noParams, fn, staticFn, dbl,
    flt, half, point, anon, value, packet, legacy, counter, secret, data, structTag, memberTag, paramTag,
  };
}

const k = everyKind();
const { btf } = k;

test('types[0] is void and ids follow record order', () => {
  assert.deepEqual(btf.types[0], { id: 0, kind: BtfKind.VOID, name: '' });
  assert.equal(btf.types.length, k.paramTag + 1);
  assert.ok(btf.types.every((t, i) => t.id === i));
});

test('INT records carry their encoding, bit offset and width', () => {
  assert.deepEqual(btf.type(k.int), { id: k.int, kind: BtfKind.INT, name: 'int', size: 4, int: { encoding: 'signed', offset: 0, bits: 32 } });
  assert.deepEqual(btf.type(k.bool).int, { encoding: 'bool', offset: 0, bits: 8 });
  assert.deepEqual(btf.type(k.flagChar).int, { encoding: 'char', offset: 0, bits: 8 });
  assert.deepEqual(btf.type(k.uint).int, { encoding: 'unsigned', offset: 0, bits: 32 });
  assert.deepEqual(btf.type(k.nibble).int, { encoding: 'unsigned', offset: 2, bits: 4 });
});

test('PTR, TYPEDEF, CONST, VOLATILE, RESTRICT and TYPE_TAG keep only their target', () => {
  assert.deepEqual(btf.type(k.intPtr), { id: k.intPtr, kind: BtfKind.PTR, name: '', type: k.int });
  assert.deepEqual(btf.type(k.myint), { id: k.myint, kind: BtfKind.TYPEDEF, name: 'myint_t', type: k.vcint });
  assert.deepEqual(btf.type(k.cint), { id: k.cint, kind: BtfKind.CONST, name: '', type: k.int });
  assert.deepEqual(btf.type(k.vcint), { id: k.vcint, kind: BtfKind.VOLATILE, name: '', type: k.cint });
  assert.deepEqual(btf.type(k.rptr), { id: k.rptr, kind: BtfKind.RESTRICT, name: '', type: k.intPtr });
  assert.deepEqual(btf.type(k.tagged), { id: k.tagged, kind: BtfKind.TYPE_TAG, name: 'user', type: k.int });
});

test('ARRAY records give element type, index type and length', () => {
  assert.deepEqual(btf.type(k.chars), { id: k.chars, kind: BtfKind.ARRAY, name: '', array: { elemType: k.char, indexType: k.int, nelems: 6 } });
});

test('STRUCT members with the kind flag split bit offset and bitfield size', () => {
  const members = btf.type(k.packet).members ?? [];
  assert.deepEqual(members.slice(0, 5), [
    { name: 'len', type: k.uint, bitOffset: 0, bitfieldSize: 0 },
    { name: 'proto', type: k.uint, bitOffset: 32, bitfieldSize: 4 },
    { name: 'dir', type: k.uint, bitOffset: 36, bitfieldSize: 2 },
    { name: 'delta', type: k.int, bitOffset: 38, bitfieldSize: 10 },
    { name: 'color', type: k.color, bitOffset: 48, bitfieldSize: 8 },
  ]);
  assert.equal(btf.type(k.packet).size, 48);
});

test('UNION members all start at offset 0 and keep the plain offset without the kind flag', () => {
  assert.deepEqual(btf.type(k.value), {
    id: k.value,
    kind: BtfKind.UNION,
    name: 'value',
    size: 8,
    members: [
      { name: 'u', type: k.u64, bitOffset: 0, bitfieldSize: 0 },
      { name: 'f', type: k.dbl, bitOffset: 0, bitfieldSize: 0 },
      { name: 'word', type: k.uint, bitOffset: 0, bitfieldSize: 0 },
    ],
  });
});

test('ENUM values are signed when the kind flag says so', () => {
  assert.deepEqual(btf.type(k.color), {
    id: k.color,
    kind: BtfKind.ENUM,
    name: 'color',
    size: 4,
    signed: true,
    enumValues: [{ name: 'RED', value: 0n }, { name: 'GREEN', value: 5n }, { name: 'NEG', value: -7n }],
  });
});

test('ENUM64 values join their two halves, unsigned or signed by the kind flag', () => {
  assert.deepEqual(btf.type(k.big).enumValues, [{ name: 'HUGE', value: 0xffff_ffff_ffffn }, { name: 'ALL_ONES', value: 0xffff_ffff_ffff_ffffn }]);
  assert.equal(btf.type(k.big).signed, false);
  assert.deepEqual(btf.type(k.sbig).enumValues, [{ name: 'MINUS_ONE', value: -1n }]);
  assert.equal(btf.type(k.sbig).kind, BtfKind.ENUM64);
});

test('FWD tells struct from union by the kind flag', () => {
  assert.deepEqual(btf.type(k.fwdStruct), { id: k.fwdStruct, kind: BtfKind.FWD, name: 'opaque', fwdUnion: false });
  assert.equal(btf.type(k.fwdUnion).fwdUnion, true);
});

test('FUNC and FUNC_PROTO give linkage, return type and named parameters', () => {
  assert.deepEqual(btf.type(k.fn), { id: k.fn, kind: BtfKind.FUNC, name: 'handle', type: k.proto, linkage: 1 });
  assert.equal(btf.type(k.staticFn).linkage, 0);
  assert.deepEqual(btf.type(k.proto), {
    id: k.proto,
    kind: BtfKind.FUNC_PROTO,
    name: '',
    type: k.int,
    params: [{ name: 'ctx', type: k.intPtr }, { name: 'len', type: k.uint }],
  });
});

test('VAR and DATASEC give linkage and variable placement', () => {
  assert.deepEqual(btf.type(k.secret), { id: k.secret, kind: BtfKind.VAR, name: 'secret', type: k.cint, linkage: 0 });
  assert.deepEqual(btf.type(k.data), {
    id: k.data,
    kind: BtfKind.DATASEC,
    name: '.data',
    size: 16,
    vars: [{ type: k.counter, offset: 0, size: 8 }, { type: k.secret, offset: 8, size: 4 }],
  });
});

test('FLOAT and DECL_TAG records', () => {
  assert.deepEqual(btf.type(k.dbl), { id: k.dbl, kind: BtfKind.FLOAT, name: 'double', size: 8 });
  assert.deepEqual(btf.type(k.structTag), { id: k.structTag, kind: BtfKind.DECL_TAG, name: 'packet_tag', type: k.packet, componentIdx: -1 });
  assert.equal(btf.type(k.memberTag).componentIdx, 0);
});

test('resolve follows typedefs, qualifiers and type tags but not pointers', () => {
  assert.equal(btf.resolve(k.myint).id, k.int);
  assert.equal(btf.resolve(k.tagged).id, k.int);
  assert.equal(btf.resolve(k.rptr).id, k.intPtr);
  assert.equal(btf.resolve(k.packet).id, k.packet);
});

test('sizeOf: scalars by size, pointers 8, arrays by element, modifiers and vars by target', () => {
  const sizes = [k.int, k.bool, k.u128, k.intPtr, k.chars, k.bytes, k.myint, k.tagged, k.color, k.big, k.dbl, k.half, k.packet, k.value, k.counter, k.data];
  assert.deepEqual(sizes.map((id) => btf.sizeOf(id)), [4, 1, 16, 8, 6, 4, 4, 4, 4, 8, 8, 2, 48, 8, 8, 16]);
});

test('sizeOf refuses types without a size', () => {
  for (const [id, what] of [[0, 'VOID'], [k.fn, 'FUNC handle'], [k.proto, 'FUNC_PROTO'], [k.fwdStruct, 'FWD opaque'], [k.structTag, 'DECL_TAG packet_tag']] as const) {
    assert.throws(() => btf.sizeOf(id), (e: unknown) => e instanceof BtfError && e.message === `type ${id} (${what}) has no size`);
  }
});

test('type() refuses ids that are not type ids', () => {
  for (const id of [-1, 1.5, btf.types.length, Number.NaN]) {
    assert.throws(() => btf.type(id), (e: unknown) => e instanceof BtfError && /^type .* does not exist/.test(e.message), String(id));
  }
});

test('findByName finds by name, optionally by kind; datasec finds sections', () => {
  assert.equal(btf.findByName('packet')?.id, k.packet);
  assert.equal(btf.findByName('packet', BtfKind.UNION), undefined);
  assert.equal(btf.findByName('value', BtfKind.UNION)?.id, k.value);
  assert.equal(btf.findByName('nope'), undefined);
  assert.equal(btf.datasec('.data')?.id, k.data);
  assert.equal(btf.datasec('.bss'), undefined);
});

test('format writes C declarators for every kind', () => {
  const expected: [number, string][] = [
    [0, 'void'],
    [k.int, 'int'],
    [k.intPtr, 'int *'],
    [k.chars, 'char[6]'],
    [k.color, 'enum color'],
    [k.big, 'enum big'],
    [k.fwdStruct, 'struct opaque'],
    [k.fwdUnion, 'union either'],
    [k.vcint, 'volatile const int'],
    [k.rptr, 'int *restrict'],
    [k.taggedPtr, '__attribute__((btf_type_tag("user"))) int *'],
    [k.myint, 'myint_t'],
    [k.proto, 'int (int *ctx, unsigned int len)'],
    [k.variadic, 'void *(const char *fmt, ...)'],
    [k.noParams, 'void (void)'],
    [k.fn, 'int handle(int *ctx, unsigned int len)'],
    [k.staticFn, 'static void helper(void)'],
    [k.dbl, 'double'],
    [k.value, 'union value'],
    [k.anon, 'struct {...}'],
    [k.secret, 'static const int secret'],
    [k.data, 'SEC(".data")'],
    [k.structTag, 'struct packet __attribute__((btf_decl_tag("packet_tag")))'],
    [k.memberTag, 'struct packet.len __attribute__((btf_decl_tag("len_tag")))'],
    [k.paramTag, 'handle.ctx __attribute__((btf_decl_tag("ctx_tag")))'],
  ];
  assert.deepEqual(expected.map(([id]) => [id, btf.format(id)]), expected);
});

test('format with expand prints members, enumerators, bitfields and nested anonymous types', () => {
  assert.equal(
    btf.format(k.packet, { expand: true }),
    'struct packet { unsigned int len; unsigned int proto: 4; unsigned int dir: 2; int delta: 10; enum color color: 8; char name[6]; ' +
      'union value v; struct point p; struct { unsigned char lo; unsigned char hi; }; unsigned int: 4; long long total; _Bool ok; }',
  );
  assert.equal(btf.format(k.color, { expand: true }), 'enum color { RED = 0, GREEN = 5, NEG = -7 }');
  assert.equal(btf.format(k.myint, { expand: true }), 'typedef volatile const int myint_t');
  assert.equal(btf.format(k.data, { expand: true }), 'SEC(".data") { unsigned long long counter; static const int secret; }');
});

function packetBytes(): Uint8Array {
  const bytes = new Uint8Array(48);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1500, true);
  // proto 6 (bits 32..35), dir 2 (36..37), delta -3 (38..47), color GREEN=5 (48..55)
  view.setUint32(4, 6 | (2 << 4) | ((-3 & 0x3ff) << 6) | (5 << 16), true);
  bytes.set(new TextEncoder().encode('eth0'), 7);
  view.setFloat64(16, 2.5, true);
  view.setInt16(24, -4, true);
  view.setInt16(26, 9, true);
  bytes[28] = 0xaa;
  bytes[29] = 0xbb;
  view.setBigInt64(32, -5_000_000_000n, true);
  bytes[40] = 1;
  return bytes;
}

test('decode reads a struct with bitfields, enum, string, union, nested and anonymous members', () => {
  assert.deepEqual(btf.decode(k.packet, packetBytes()), {
    len: 1500,
    proto: 6,
    dir: 2,
    delta: -3,
    color: 'GREEN',
    name: 'eth0',
    v: { u: 0x4004_0000_0000_0000n, f: 2.5, word: 0 },
    p: { x: -4, y: 9 },
    lo: 0xaa,
    hi: 0xbb,
    total: -5_000_000_000n,
    ok: true,
  });
});

test('decode gives numbers for enum values without an enumerator, and bigints for 64-bit enums', () => {
  assert.equal(btf.decode(k.color, Uint8Array.of(9, 0, 0, 0)), 9);
  assert.equal(btf.decode(k.color, Uint8Array.of(0xf9, 0xff, 0xff, 0xff)), 'NEG');
  assert.equal(btf.decode(k.big, new Uint8Array(8).fill(0xff)), 'ALL_ONES');
  assert.equal(btf.decode(k.big, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)), 1n);
  assert.equal(btf.decode(k.sbig, new Uint8Array(8).fill(0xff)), 'MINUS_ONE');
});

test('decode of char arrays: printable text becomes a string, anything else stays numbers', () => {
  assert.equal(btf.decode(k.chars, new TextEncoder().encode('abcdef')), 'abcdef');
  assert.equal(btf.decode(k.chars, new Uint8Array(6)), '');
  assert.deepEqual(btf.decode(k.chars, Uint8Array.of(0x61, 0, 0x62, 0, 0, 0)), [0x61, 0, 0x62, 0, 0, 0]);
  assert.deepEqual(btf.decode(k.chars, Uint8Array.of(0x61, 0x07, 0, 0, 0, 0)), [0x61, 7, 0, 0, 0, 0]);
  // __u8 is a byte, not text, even when the bytes happen to be printable.
  assert.deepEqual(btf.decode(k.bytes, new TextEncoder().encode('abcd')), [0x61, 0x62, 0x63, 0x64]);
});

test('decode of scalars: bool, 64- and 128-bit ints as bigint, floats, pointers', () => {
  assert.equal(btf.decode(k.bool, Uint8Array.of(0)), false);
  assert.equal(btf.decode(k.u64, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)), 1n);
  assert.equal(btf.decode(k.u128, new Uint8Array(16).fill(0xff)), (1n << 128n) - 1n);
  assert.equal(btf.decode(k.int, Uint8Array.of(0xff, 0xff, 0xff, 0xff)), -1);
  assert.equal(btf.decode(k.uint, Uint8Array.of(0xff, 0xff, 0xff, 0xff)), 0xffffffff);
  assert.equal(btf.decode(k.flt, new Uint8Array(new Float32Array([0.5]).buffer)), 0.5);
  assert.equal(btf.decode(k.intPtr, Uint8Array.of(0x10, 0x20, 0, 0, 0, 0, 0, 0)), 0x2010);
  assert.equal(btf.decode(k.myint, Uint8Array.of(7, 0, 0, 0)), 7);
});

test('decode of a legacy bitfield (int with a bit offset, struct without the kind flag)', () => {
  // flags: nibble type (4 bits at int offset 2) placed at member bit 8, so bits 10..13 of the struct.
  assert.deepEqual(btf.decode(k.legacy, Uint8Array.of(0, 0b0010_1100, 0x7f, 0)), { flags: 0b1011, whole: 0x7f });
});

test('decode of a DATASEC gives each variable by name at its offset', () => {
  const bytes = new Uint8Array(16);
  bytes[0] = 42;
  bytes[8] = 0xfe;
  bytes[9] = 0xff;
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  assert.deepEqual(btf.decode(k.data, bytes), { counter: 42n, secret: -2 });
});

test('decode refuses a buffer shorter than the type and types without a value', () => {
  assert.throws(() => btf.decode(k.packet, new Uint8Array(47)), (e: unknown) => e instanceof BtfError && e.message === `decode: type ${k.packet} (STRUCT packet) needs 48 bytes, got 47`);
  assert.throws(() => btf.decode(k.fn, new Uint8Array(8)), (e: unknown) => e instanceof BtfError && /FUNC handle\) has no size/.test(e.message));
  assert.throws(() => btf.decode(k.half, new Uint8Array(2)), (e: unknown) => e instanceof BtfError && /2-byte floats are not supported/.test(e.message));
});

test('a decoded member named __proto__ is an ordinary property', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, SIGNED);
  const s = b.struct('evil', 4, [['__proto__', int, 0]]);
  const value = Btf.parse(b.build()).decode(s, Uint8Array.of(3, 0, 0, 0)) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.entries(value), [['__proto__', 3]]);
});

test('resolve, sizeOf, format and decode follow 64 levels and refuse the 65th', () => {
  const chain = (levels: number) => {
    const b = new BtfBuilder();
    let id = b.int('int', 4, SIGNED);
    for (let i = 0; i < levels; i++) id = b.typedef(`t${i}`, id);
    return { btf: Btf.parse(b.build()), id };
  };
  const ok = chain(64);
  assert.equal(ok.btf.resolve(ok.id).name, 'int');
  assert.equal(ok.btf.sizeOf(ok.id), 4);
  const deep = chain(65);
  assert.throws(() => deep.btf.resolve(deep.id), (e: unknown) => e instanceof BtfError && /more than 64 typedefs and qualifiers/.test(e.message));
  assert.throws(() => deep.btf.sizeOf(deep.id), (e: unknown) => e instanceof BtfError && /nested more than 64 levels/.test(e.message));
  assert.throws(() => deep.btf.decode(deep.id, new Uint8Array(4)), (e: unknown) => e instanceof BtfError && /nested more than 64 levels/.test(e.message));

  const b = new BtfBuilder();
  let ptr = b.int('int', 4, SIGNED);
  for (let i = 0; i < 70; i++) ptr = b.ptr(ptr);
  const pointers = Btf.parse(b.build());
  assert.equal(pointers.sizeOf(ptr), 8);
  assert.throws(() => pointers.format(ptr), (e: unknown) => e instanceof BtfError && /nested more than 64 levels/.test(e.message));
});
