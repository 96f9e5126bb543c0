// BTF from real clang output: the objects in test/fixtures/btf/ (built from the .c files beside
// them by build.sh), read with the ELF reader. Expected values come from the C sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf, type ElfFile } from '../../src/elf/index.js';
import { Btf, BtfKind, parseBtfExt, type BtfExt, type BtfType } from '../../src/btf/index.js';
import { REPO_ROOT } from '../support/shared.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'btf');

interface Fixture {
  elf: ElfFile;
  btf: Btf;
  ext: BtfExt;
  source: string[];
  section(name: string): Uint8Array;
  symbol(name: string): { section: string; offset: number };
}

function load(name: string): Fixture {
  const elf = readElf(new Uint8Array(readFileSync(join(FIXTURES, `${name}.o`))));
  const section = (n: string): Uint8Array => {
    const s = elf.sections.find((x) => x.name === n);
    assert.ok(s, `${name}.o has no ${n} section`);
    return s.data;
  };
  const symbol = (n: string) => {
    const sym = elf.symbols.find((x) => x.name === n);
    assert.ok(sym, `${name}.o has no symbol ${n}`);
    return { section: elf.sections[sym.sectionIndex].name, offset: sym.value };
  };
  const btf = Btf.parse(section('.BTF'));
  return {
    elf,
    btf,
    ext: parseBtfExt(section('.BTF.ext'), btf),
    source: readFileSync(join(FIXTURES, `${name}.c`), 'utf8').split('\n'),
    section,
    symbol,
  };
}

function named(btf: Btf, name: string, kind: BtfKind): BtfType {
  const t = btf.findByName(name, kind);
  assert.ok(t, `no ${name} of kind ${kind}`);
  return t;
}

const flows = load('flows');
const core = load('core');
const shapes = load('shapes');

test('flows.o: struct flow_stats has its members at the C offsets, bitfields packed after bytes', () => {
  const t = named(flows.btf, 'flow_stats', BtfKind.STRUCT);
  assert.deepEqual(
    t.members?.map((m) => [m.name, flows.btf.format(m.type), m.bitOffset, m.bitfieldSize]),
    [
      ['packets', '__u32', 0, 0],
      ['bytes', '__u64', 64, 0],
      ['proto', 'unsigned int', 128, 4],
      ['dir', 'unsigned int', 132, 2],
      ['delta', 'int', 134, 10],
      ['verdict', 'enum verdict', 160, 0],
      ['label', 'char[8]', 192, 0],
    ],
  );
  assert.equal(flows.btf.sizeOf(t.id), 32);
});

test('flows.o: format prints the struct, the enum and the typedefs as C', () => {
  const { btf } = flows;
  assert.equal(
    btf.format(named(btf, 'flow_stats', BtfKind.STRUCT).id, { expand: true }),
    'struct flow_stats { __u32 packets; __u64 bytes; unsigned int proto: 4; unsigned int dir: 2; int delta: 10; enum verdict verdict; char label[8]; }',
  );
  // clang 14 does not set the enum's signed flag, so -7 reads as its 32-bit pattern (as libbpf prints it).
  assert.equal(btf.format(named(btf, 'verdict', BtfKind.ENUM).id, { expand: true }), 'enum verdict { VERDICT_PASS = 2, VERDICT_DROP = 1, VERDICT_LOG = 4294967289 }');
  assert.equal(btf.format(named(btf, '__u64', BtfKind.TYPEDEF).id, { expand: true }), 'typedef unsigned long long __u64');
  assert.equal(btf.format(named(btf, 'count_flows', BtfKind.FUNC).id), 'int count_flows(struct xdp_md *ctx)');
  assert.equal(btf.format(named(btf, 'classify', BtfKind.FUNC).id), 'static int classify(__u32 len)');
  assert.equal(btf.format(named(btf, 'xdp_md', BtfKind.STRUCT).id), 'struct xdp_md');
});

test('flows.o: decode reads a flow_stats value laid out as C lays it out', () => {
  const { btf } = flows;
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 7, true); // packets
  view.setBigUint64(8, 1500n, true); // bytes
  view.setUint32(16, 6 | (2 << 4) | ((-3 & 0x3ff) << 6), true); // proto 6, dir 2, delta -3
  view.setUint32(20, 1, true); // VERDICT_DROP
  bytes.set(new TextEncoder().encode('tcp'), 24);
  assert.deepEqual(btf.decode(named(btf, 'flow_stats', BtfKind.STRUCT).id, bytes), {
    packets: 7,
    bytes: 1500n,
    proto: 6,
    dir: 2,
    delta: -3,
    verdict: 'VERDICT_DROP',
    label: 'tcp',
  });
});

test('flows.o: the BTF-defined map describes type, max_entries, key and value', () => {
  const { btf } = flows;
  const maps = btf.datasec('.maps');
  assert.ok(maps?.vars);
  const variable = btf.type(maps.vars[0].type);
  assert.equal(variable.name, 'flows');
  const def = btf.resolve(variable.type ?? 0);
  // __uint(name, n) is `int (*name)[n]`; __type(name, T) is `T *name`.
  const member = (name: string) => {
    const m = def.members?.find((x) => x.name === name);
    assert.ok(m, `map definition has no ${name}`);
    return btf.type(btf.type(m.type).type ?? 0);
  };
  assert.equal(member('type').array?.nelems, 1); // BPF_MAP_TYPE_HASH
  assert.equal(member('max_entries').array?.nelems, 64);
  assert.equal(btf.sizeOf(member('key').id), 4);
  assert.equal(btf.format(member('value').id), 'struct flow_stats');
  assert.equal(btf.format(variable.id, { expand: true }), 'struct { int (*type)[1]; int (*max_entries)[64]; __u32 *key; struct flow_stats *value; } flows');
});

test('flows.o: globals are described by the .data, .rodata and .bss DATASECs and decode from the ELF bytes', () => {
  const { btf } = flows;
  const vars = (sec: string) => btf.datasec(sec)?.vars?.map((v) => btf.type(v.type).name);
  assert.deepEqual(vars('.data'), ['seen', 'banner']);
  assert.deepEqual(vars('.rodata'), ['drop_above']);
  assert.deepEqual(vars('.bss'), ['last']);
  assert.equal(btf.format(named(btf, 'drop_above', BtfKind.VAR).id), 'const volatile __u32 drop_above');
  // In an object file, DATASEC offsets are left for the loader to fill in from the symbols.
  const valueOf = (name: string) => {
    const sym = flows.symbol(name);
    return btf.decode(named(btf, name, BtfKind.VAR).id, flows.section(sym.section).subarray(sym.offset));
  };
  assert.equal(valueOf('banner'), 'hello');
  assert.equal(valueOf('seen'), 3n);
  assert.equal(valueOf('drop_above'), 1500);
});

test('flows.o: func_info names each function at its symbol offset', () => {
  const byName = (sec: string) => flows.ext.funcInfo.get(sec)?.map((f) => [f.name, f.insnOffset]);
  assert.deepEqual(byName('xdp'), [['count_flows', 0]]);
  assert.deepEqual(byName('.text'), [['classify', 0]]);
  assert.deepEqual([...flows.ext.funcInfo.keys()].sort(), ['.text', 'xdp']);
  const sym = flows.symbol('count_flows');
  assert.equal(sym.section, 'xdp');
  assert.equal(sym.offset / 8, flows.ext.funcInfo.get('xdp')?.[0].insnOffset);
  assert.equal(flows.btf.type(flows.ext.funcInfo.get('.text')?.[0].typeId ?? 0).name, 'classify');
});

function checkLineInfo(f: Fixture, fileName: string): void {
  assert.ok(f.ext.lineInfo.size > 0);
  for (const [section, lines] of f.ext.lineInfo) {
    const insns = f.section(section).length / 8;
    let previous = -1;
    for (const l of lines) {
      assert.ok(l.insnOffset > previous && l.insnOffset < insns, `${section}: instruction ${l.insnOffset} out of order or past ${insns}`);
      previous = l.insnOffset;
      assert.equal(l.fileName, fileName);
      if (l.line === 0) continue; // compiler-generated code has no line
      assert.equal(l.lineText, f.source[l.line - 1], `${section} instruction ${l.insnOffset}: line ${l.line}`);
      assert.ok(l.column <= l.lineText.length + 1, `column ${l.column} is past the end of line ${l.line}`);
    }
  }
}

const lineOf = (f: Fixture, text: string): number => f.source.findIndex((l) => l.includes(text)) + 1;

test('flows.o: line_info gives file, line, column and the source text of each line', () => {
  checkLineInfo(flows, './flows.c');
  const xdp = flows.ext.lineInfo.get('xdp') ?? [];
  const increment = xdp.find((l) => l.line === lineOf(flows, 'stats->packets++;'));
  assert.equal(increment?.lineText, '\tstats->packets++;');
  assert.equal(increment?.column, 16); // the `++`
  const text = flows.ext.lineInfo.get('.text') ?? [];
  assert.equal(text[0].line, lineOf(flows, 'if (len > drop_above)'));
  assert.equal(text[0].insnOffset, 0);
});

test('core.o: CO-RE relocations name the accessed fields, and the instruction holds the local value', () => {
  const { btf, ext } = core;
  const task = named(btf, 'task_info', BtfKind.STRUCT);
  const relocs = ext.coreRelocations.get('kprobe/do_exit');
  // parent is member 3, tgid member 1, comm member 2 of struct task_info.
  assert.deepEqual(relocs?.map((r) => [r.kindName, r.accessString, r.typeId]), [
    ['byte_off', '0:3', task.id],
    ['byte_off', '0:1', task.id],
    ['field_exists', '0:2', task.id],
    ['type_size', '0', task.id],
  ]);
  const code = new DataView(core.section('kprobe/do_exit').buffer, core.section('kprobe/do_exit').byteOffset);
  const imm = (insn: number) => code.getInt32(insn * 8 + 4, true);
  const member = (accessString: string) => task.members?.[Number(accessString.split(':')[1])];
  const expected = (r: { kindName: string; accessString: string }): number =>
    r.kindName === 'byte_off' ? (member(r.accessString)?.bitOffset ?? -8) / 8 : r.kindName === 'type_size' ? btf.sizeOf(task.id) : 1;
  assert.deepEqual(relocs?.map((r) => imm(r.insnOffset)), relocs?.map(expected));
  assert.deepEqual(relocs?.map(expected), [24, 4, 1, 32]);
});

test('core.o: func_info and line_info cover the CO-RE program', () => {
  assert.deepEqual(core.ext.funcInfo.get('kprobe/do_exit')?.map((f) => f.name), ['read_parent_tgid']);
  checkLineInfo(core, './core.c');
  const lines = new Set(core.ext.lineInfo.get('kprobe/do_exit')?.map((l) => l.line));
  assert.ok(lines.has(lineOf(core, 'BPF_CORE_READ(task, parent, tgid)')));
  assert.ok(lines.has(lineOf(core, 'bpf_core_field_exists(task->comm)')));
});

test('shapes.o: declarators for function pointers, pointers to arrays, 2-D arrays and const pointers', () => {
  const { btf } = shapes;
  const t = named(btf, 'shapes', BtfKind.STRUCT);
  assert.equal(
    btf.format(t.id, { expand: true }),
    'struct shapes { point_t corner; union addr addr; int (*callback)(void *, long); int (*rows)[3]; char grid[2][3]; ' +
      'const char *const name; float scale; __attribute__((btf_type_tag("user"))) int *user_ptr; long long counter; ' +
      'struct { unsigned char inner_a; unsigned char inner_b; }; }',
  );
  assert.deepEqual(t.members?.map((m) => m.bitOffset / 8), [0, 4, 24, 32, 40, 48, 56, 64, 72, 80]);
  assert.equal(btf.sizeOf(t.id), 88);
  assert.equal(btf.format(named(btf, 'point_t', BtfKind.TYPEDEF).id, { expand: true }), 'typedef struct { short x; short y; } point_t');
  assert.equal(btf.format(named(btf, 'addr', BtfKind.UNION).id, { expand: true }), 'union addr { __u32 v4; __u8 v6[16]; }');
});

test('shapes.o: float, type tag and decl tag kinds come through from clang', () => {
  const { btf } = shapes;
  assert.equal(named(btf, 'float', BtfKind.FLOAT).size, 4);
  const shapesId = named(btf, 'shapes', BtfKind.STRUCT).id;
  const tag = named(btf, 'counter', BtfKind.DECL_TAG);
  assert.deepEqual([tag.type, tag.componentIdx], [shapesId, 8]);
  assert.equal(btf.format(tag.id), 'struct shapes.counter __attribute__((btf_decl_tag("counter")))');
  assert.equal(named(btf, 'user', BtfKind.TYPE_TAG).type, named(btf, 'int', BtfKind.INT).id);
});

test('shapes.o: decode of a struct shapes value', () => {
  const { btf } = shapes;
  const bytes = new Uint8Array(88);
  const view = new DataView(bytes.buffer);
  view.setInt16(0, -2, true);
  view.setInt16(2, 5, true);
  view.setUint32(4, 0x0100007f, true);
  view.setBigUint64(24, 0x1000n, true);
  bytes.set(new TextEncoder().encode('ab\0cd\0'), 40);
  view.setFloat32(56, 1.5, true);
  view.setBigInt64(72, -1n, true);
  bytes[80] = 1;
  bytes[81] = 2;
  const value = btf.decode(named(btf, 'shapes', BtfKind.STRUCT).id, bytes);
  assert.deepEqual(value, {
    corner: { x: -2, y: 5 },
    addr: { v4: 0x0100007f, v6: [0x7f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
    callback: 0x1000,
    rows: 0,
    grid: ['ab', 'cd'],
    name: 0,
    scale: 1.5,
    user_ptr: 0,
    counter: -1n,
    inner_a: 1,
    inner_b: 2,
  });
});
