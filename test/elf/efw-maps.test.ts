// ebpf-for-windows' map-definition rules (src/elf/maps-efw.ts and the inner-map resolution of
// maps-legacy.ts): test/fixtures/elf/efw_maps.o declares legacy maps EfW accepts; each test
// patches one field of one definition to break one rule and expects the refusal to name the map
// and the rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectError, openObject, readElf, type MapDefinition } from '../../src/elf/index.js';
import { checkEfwMapDefinition } from '../../src/elf/maps-efw.js';
import { REPO_ROOT } from '../support/shared.js';

const FIXTURE = new Uint8Array(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'elf', 'efw_maps.o')));

/** Field offsets of the 32-byte EfW definition. */
const FIELD = { type: 0, key_size: 4, value_size: 8, max_entries: 12, inner_map_idx: 16, pinning: 20, id: 24, inner_id: 28 } as const;

/** The fixture (or `bytes`, a patched copy) with one u32 field of one map's definition set to `value`. */
function patched(map: string, field: keyof typeof FIELD, value: number, bytes: Uint8Array = FIXTURE.slice()): Uint8Array {
  const elf = readElf(bytes);
  const section = elf.sections.find((s) => s.name === 'maps');
  const symbol = elf.symbols.find((s) => s.name === map && s.sectionIndex === section?.index);
  assert.ok(section !== undefined && symbol !== undefined, `the fixture has map ${map}`);
  new DataView(bytes.buffer).setUint32(section.data.byteOffset + symbol.value + FIELD[field], value, true);
  return bytes;
}

function refusal(bytes: Uint8Array): string {
  try {
    openObject(bytes);
  } catch (e) {
    assert.ok(e instanceof ObjectError, `expected an ObjectError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'a one-line message');
    return e.message;
  }
  return assert.fail('expected the object to be refused');
}

test('ebpf-for-windows legacy maps it accepts open: pinned by name, inner templates by id and by index, a 63-byte name', () => {
  const spec = openObject(FIXTURE);
  assert.equal(spec.abi, 'efw');
  const byName = new Map(spec.maps.map((m) => [m.name, m]));
  assert.equal(byName.get('pinned_counts')?.pinning, 1);
  assert.equal(byName.get('outer_by_id')?.innerMap?.name, 'inner_template');
  assert.equal(byName.get('outer_by_index')?.innerMap?.name, 'inner_template');
  assert.ok(spec.maps.some((m) => m.name.length === 63));
});

test('a pinning type other than LIBBPF_PIN_NONE or LIBBPF_PIN_BY_NAME is refused, naming the map', () => {
  assert.match(refusal(patched('pinned_counts', 'pinning', 10)), /^map pinned_counts: pinning type 10 is neither LIBBPF_PIN_NONE \(0\) nor LIBBPF_PIN_BY_NAME \(1\)/);
  // 2 was PIN_GLOBAL_NS in old ebpf-for-windows headers; its loader knows only 0 and 1 now.
  assert.match(refusal(patched('inner_template', 'pinning', 2)), /^map inner_template: pinning type 2 /);
});

test('an inner_id that no other map carries is refused, not resolved by inner_map_idx instead', () => {
  assert.match(refusal(patched('outer_by_id', 'inner_id', 11)), /^map outer_by_id: its inner_id 11 names no map \(no other map of the object has id 11\)$/);
  // A map's own id does not make it its own template.
  assert.match(refusal(patched('outer_by_id', 'id', 10, patched('inner_template', 'id', 0))), /^map outer_by_id: its inner_id 10 names no map/);
});

test('an inner_map_idx past the last map, or naming the map itself, is refused', () => {
  assert.match(refusal(patched('outer_by_index', 'inner_map_idx', 9)), /^map outer_by_index: its inner_map_idx 9 names no map \(the object has 5 maps, 0 to 4\)$/);
  assert.match(refusal(patched('outer_by_index', 'inner_map_idx', 3)), /^map outer_by_index: its inner_map_idx 3 is the map itself/);
});

test('zero key size, value size or max_entries are refused where ebpf-for-windows refuses them', () => {
  assert.match(refusal(patched('pinned_counts', 'key_size', 0)), /^map pinned_counts: key_size is 0; in ebpf-for-windows only queue, stack, ring buffer and perf event array maps/);
  assert.match(refusal(patched('pinned_counts', 'value_size', 0)), /^map pinned_counts: value_size is 0/);
  assert.match(refusal(patched('pinned_counts', 'max_entries', 0)), /^map pinned_counts: max_entries is 0/);
  // A queue (EfW type 10) has no key.
  assert.doesNotThrow(() => openObject(patched('pinned_counts', 'key_size', 0, patched('pinned_counts', 'type', 10))));
});

test('a map name of 64 bytes or more (BPF_OBJ_NAME_LEN with its NUL) is refused; 63 bytes pass; bytes, not characters, count', () => {
  const base: MapDefinition = { name: '', type: 2, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, pinning: 0, readOnly: false, origin: 'legacy' };
  assert.doesNotThrow(() => checkEfwMapDefinition({ ...base, name: 'n'.repeat(63) }));
  assert.throws(() => checkEfwMapDefinition({ ...base, name: 'n'.repeat(64) }), /^ObjectError: map n{64}: its name is 64 bytes; ebpf-for-windows allows at most 63/);
  assert.throws(() => checkEfwMapDefinition({ ...base, name: 'é'.repeat(32) }), /its name is 64 bytes/);
});
