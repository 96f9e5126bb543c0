// Hand-built .BTF.ext: record layout, forward compatibility (longer headers and records), and
// refusal of malformed sub-sections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, BtfError, parseBtfExt } from '../../src/btf/index.js';
import { BtfBuilder, buildExt, SIGNED, type ExtParts } from './builder.js';

const b = new BtfBuilder();
const int = b.int('int', 4, SIGNED);
const proto = b.funcProto(int, [['ctx', b.ptr(0)]]);
const mainFn = b.func('main_prog', proto);
const subFn = b.func('sub_prog', proto, 0);
const point = b.struct('point', 8, [['x', int, 0], ['y', int, 32]]);
const s = {
  xdp: b.str('xdp'),
  text: b.str('.text'),
  file: b.str('prog.c'),
  line1: b.str('int main_prog(void *ctx)'),
  line2: b.str('\treturn p->y;'),
  access: b.str('0:1'),
  bad: b.str('0:x'),
};
const btf = Btf.parse(b.build());

function parts(): Required<Pick<ExtParts, 'func' | 'line' | 'core'>> {
  return {
    func: { recSize: 8, groups: [{ section: s.xdp, records: [[0, mainFn], [64, subFn]] }] },
    line: {
      recSize: 16,
      groups: [{ section: s.xdp, records: [[0, s.file, s.line1, (3 << 10) | 5], [16, s.file, s.line2, (7 << 10) | 12]] }],
    },
    core: { recSize: 16, groups: [{ section: s.xdp, records: [[24, point, s.access, 0]] }] },
  };
}

function extError(data: Uint8Array): string {
  try {
    parseBtfExt(data, btf);
  } catch (e) {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e.message;
  }
  assert.fail('expected a BtfError');
}

test('func_info, line_info and CO-RE records are keyed by section, with byte offsets turned into instruction indices', () => {
  const ext = parseBtfExt(buildExt(parts()), btf);
  assert.deepEqual([...ext.funcInfo], [['xdp', [{ insnOffset: 0, typeId: mainFn, name: 'main_prog' }, { insnOffset: 8, typeId: subFn, name: 'sub_prog' }]]]);
  assert.deepEqual([...ext.lineInfo], [
    [
      'xdp',
      [
        { insnOffset: 0, fileName: 'prog.c', line: 3, column: 5, lineText: 'int main_prog(void *ctx)' },
        { insnOffset: 2, fileName: 'prog.c', line: 7, column: 12, lineText: '\treturn p->y;' },
      ],
    ],
  ]);
  assert.deepEqual([...ext.coreRelocations], [['xdp', [{ insnOffset: 3, typeId: point, accessString: '0:1', kind: 0, kindName: 'byte_off' }]]]);
});

test('groups for the same section are joined and other sections kept apart', () => {
  const p = parts();
  p.func.groups.push({ section: s.text, records: [[0, subFn]] }, { section: s.xdp, records: [[128, mainFn]] });
  const ext = parseBtfExt(buildExt(p), btf);
  assert.deepEqual(ext.funcInfo.get('xdp')?.map((f) => f.insnOffset), [0, 8, 16]);
  assert.deepEqual(ext.funcInfo.get('.text')?.map((f) => f.name), ['sub_prog']);
});

test('a header without the CO-RE fields gives no relocations; a longer header is skipped over', () => {
  const short = parts();
  const ext = parseBtfExt(buildExt({ hdrLen: 24, func: short.func, line: short.line }), btf);
  assert.equal(ext.coreRelocations.size, 0);
  assert.equal(ext.funcInfo.get('xdp')?.length, 2);
  const long = parseBtfExt(buildExt({ ...parts(), hdrLen: 48 }), btf);
  assert.equal(long.coreRelocations.get('xdp')?.[0].accessString, '0:1');
  assert.equal(long.lineInfo.get('xdp')?.[1].line, 7);
});

test('records longer than the known layout are read by their declared size', () => {
  const p = parts();
  p.func = { recSize: 12, groups: [{ section: s.xdp, records: [[0, mainFn, 0xdead], [8, subFn, 0xbeef]] }] };
  p.line = { recSize: 20, groups: [{ section: s.xdp, records: [[0, s.file, s.line1, (3 << 10) | 5, 0xffff_ffff]] }] };
  const ext = parseBtfExt(buildExt(p), btf);
  assert.deepEqual(ext.funcInfo.get('xdp')?.map((f) => [f.insnOffset, f.name]), [[0, 'main_prog'], [1, 'sub_prog']]);
  assert.equal(ext.lineInfo.get('xdp')?.[0].lineText, 'int main_prog(void *ctx)');
});

test('empty sub-sections give empty maps', () => {
  const ext = parseBtfExt(buildExt({}), btf);
  assert.deepEqual([ext.funcInfo.size, ext.lineInfo.size, ext.coreRelocations.size], [0, 0, 0]);
});

test('a bad header is refused', () => {
  const good = buildExt(parts());
  assert.equal(extError(good.subarray(0, 4)), 'BTF.ext section too short for a header (4 bytes)');
  const be = good.slice();
  be[0] = 0xeb;
  be[1] = 0x9f;
  assert.match(extError(be), /^BTF\.ext section is big-endian/);
  const magic = good.slice();
  magic[1] = 0;
  assert.equal(extError(magic), 'BTF.ext section has bad magic 0x9f, expected 0xeb9f');
  const hdr = good.slice();
  new DataView(hdr.buffer).setUint32(4, 16, true);
  assert.equal(extError(hdr), 'BTF.ext header length 16 is shorter than the 24-byte header');
});

test('instruction offsets that are not a multiple of 8 are refused', () => {
  const p = parts();
  p.func.groups[0].records[1][0] = 12;
  assert.equal(extError(buildExt(p)), 'BTF.ext func_info 1 of section xdp: instruction offset 12 is not a multiple of 8');
  const l = parts();
  l.line.groups[0].records[0][0] = 3;
  assert.equal(extError(buildExt(l)), 'BTF.ext line_info 0 of section xdp: instruction offset 3 is not a multiple of 8');
});

test('record sizes below the minimum or unaligned are refused', () => {
  const p = parts();
  p.line.recSize = 12;
  p.line.groups[0].records = [[0, s.file, s.line1]];
  assert.equal(extError(buildExt(p)), 'BTF.ext line_info record size 12 is invalid (at least 16, a multiple of 4)');
  const odd = parts();
  odd.func.recSize = 10;
  odd.func.groups = [];
  assert.equal(extError(buildExt(odd)), 'BTF.ext func_info record size 10 is invalid (at least 8, a multiple of 4)');
});

test('sub-sections and record counts past the end are refused', () => {
  const data = buildExt(parts());
  const v = new DataView(data.buffer);
  const past = data.slice();
  new DataView(past.buffer).setUint32(12, 0xffff_fff0, true); // func_info_len
  assert.match(extError(past), /^BTF\.ext func_info sub-section \(4294967280 bytes at offset 0\) runs past the end of the section/);
  const count = data.slice();
  new DataView(count.buffer).setUint32(32 + 8, 0x4000_0000, true); // first func_info group's count
  assert.equal(extError(count), 'BTF.ext func_info for section xdp: 1073741824 records of 8 bytes run past the end of the sub-section (16 bytes left)');
  const zero = data.slice();
  new DataView(zero.buffer).setUint32(32 + 8, 0, true);
  assert.equal(extError(zero), 'BTF.ext func_info for section xdp has no records');
  assert.equal(v.getUint32(32 + 8, true), 2);
});

test('section names, file names and line text must be strings of the BTF', () => {
  const p = parts();
  p.func.groups[0].section = 4000;
  assert.match(extError(buildExt(p)), /^BTF\.ext func_info section name: string offset 4000 is outside the string section/);
  const l = parts();
  l.line.groups[0].records[1][2] = 5000;
  assert.match(extError(buildExt(l)), /^BTF\.ext line_info 1 of section xdp line text: string offset 5000 is outside/);
});

test('func_info must name a FUNC; CO-RE records need a known type, kind and a well-formed access string', () => {
  const f = parts();
  f.func.groups[0].records[0][1] = point;
  assert.equal(extError(buildExt(f)), `BTF.ext func_info 0 of section xdp: refers to type ${point} (STRUCT point), expected a FUNC`);
  const t = parts();
  t.core.groups[0].records[0][1] = 1000;
  assert.equal(extError(buildExt(t)), `BTF.ext CO-RE relocation 0 of section xdp: type 1000 does not exist (${btf.types.length} types)`);
  const k = parts();
  k.core.groups[0].records[0][3] = 13;
  assert.equal(extError(buildExt(k)), 'BTF.ext CO-RE relocation 0 of section xdp: unknown relocation kind 13');
  const a = parts();
  a.core.groups[0].records[0][2] = s.bad;
  assert.equal(extError(buildExt(a)), 'BTF.ext CO-RE relocation 0 of section xdp: malformed access string "0:x"');
});
