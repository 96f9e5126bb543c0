import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTrieMap, MapFlags, MapType, UpdateFlags } from '../../src/maps/index.js';
import { context, place, prng, readU32, throwsErrno, u32 } from './support.js';

/** struct bpf_lpm_trie_key for an IPv4 prefix like "10.1.0.0/16". */
function prefix(cidr: string): Uint8Array {
  const [address, length = '32'] = cidr.split('/');
  const key = new Uint8Array(8);
  new DataView(key.buffer).setUint32(0, Number(length), true);
  key.set(address.split('.').map(Number), 4);
  return key;
}

function show(key: Uint8Array | undefined): string {
  return key === undefined ? 'none' : `${[...key.subarray(4)].join('.')}/${readU32(key)}`;
}

function trie(maxEntries = 16) {
  const { registry, memory } = context();
  const map = registry.create({ name: 'routes', type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries, flags: MapFlags.NO_PREALLOC }) as LpmTrieMap;
  return { map, memory };
}

function routes() {
  const t = trie();
  const table: [string, number][] = [['10.0.0.0/8', 1], ['10.1.0.0/16', 2], ['10.1.2.0/24', 3], ['192.168.0.0/16', 4]];
  for (const [cidr, hop] of table) t.map.update(prefix(cidr), u32(hop));
  return t;
}

const hop = (map: LpmTrieMap, address: string) => {
  const value = map.lookup(prefix(address));
  return value === undefined ? undefined : readU32(value);
};

test('LPM lookup returns the value of the longest matching prefix', () => {
  const { map } = routes();
  assert.deepEqual(
    ['10.1.2.3', '10.1.3.1', '10.2.0.1', '192.168.5.5', '11.0.0.1'].map((a) => hop(map, a)),
    [3, 2, 1, 4, undefined],
  );
});

test('LPM lookup from a program returns the address of the longest match value', () => {
  const { map, memory } = routes();
  const address = map.lookupFromProgram(place(memory, prefix('10.1.2.200')), 0);
  assert.notEqual(address, 0);
  assert.equal(memory.view.getUint32(address, true), 3);
  memory.view.setUint32(address, 33, true);
  assert.equal(hop(map, '10.1.2.1'), 33, 'writes through the pointer are seen by user space');
  assert.equal(map.lookupFromProgram(place(memory, prefix('8.8.8.8')), 0), 0);
});

test('LPM lookup honours a shorter prefix length in the key', () => {
  const { map } = routes();
  assert.equal(hop(map, '10.1.2.3/16'), 2, 'a /16 key cannot match the /24 route');
});

test('LPM delete removes only the exact prefix', () => {
  const { map } = routes();
  throwsErrno(() => map.delete(prefix('10.1.0.0/17')), 'ENOENT', 'a prefix that is not in the trie');
  throwsErrno(() => map.delete(prefix('10.1.2.3/32')), 'ENOENT', 'an address covered by a prefix');
  map.delete(prefix('10.1.0.0/16'));
  assert.deepEqual([hop(map, '10.1.3.1'), hop(map, '10.1.2.1')], [1, 3]);
});

test('LPM update replaces an exact prefix and honours NOEXIST and EXIST', () => {
  const { map } = routes();
  throwsErrno(() => map.update(prefix('10.1.0.0/16'), u32(9), UpdateFlags.NOEXIST), 'EEXIST');
  throwsErrno(() => map.update(prefix('10.3.0.0/16'), u32(9), UpdateFlags.EXIST), 'ENOENT');
  throwsErrno(() => map.update(prefix('10.0.0.0/12'), u32(9), UpdateFlags.EXIST), 'ENOENT', 'EXIST for a prefix that would need a new branch');
  map.update(prefix('10.1.0.0/16'), u32(20), UpdateFlags.EXIST);
  assert.equal(hop(map, '10.1.9.9'), 20);
  assert.equal(map.count, 4);
});

test('LPM update with a prefix longer than the key data fails with EINVAL', () => {
  const { map } = trie();
  throwsErrno(() => map.update(prefix('10.0.0.0/33'), u32(1)), 'EINVAL');
  throwsErrno(() => map.delete(prefix('10.0.0.0/40')), 'EINVAL');
});

test('LPM update of a new prefix in a full trie fails with ENOSPC, replacing one does not', () => {
  const { map } = trie(2);
  map.update(prefix('10.0.0.0/8'), u32(1));
  map.update(prefix('11.0.0.0/8'), u32(2));
  throwsErrno(() => map.update(prefix('12.0.0.0/8'), u32(3)), 'ENOSPC');
  map.update(prefix('11.0.0.0/8'), u32(22));
  assert.equal(hop(map, '11.1.1.1'), 22);
});

test('LPM nextKey walks prefixes in postorder: more specific prefixes first', () => {
  const { map } = routes();
  assert.deepEqual([...map.keys()].map(show), ['10.1.2.0/24', '10.1.0.0/16', '10.0.0.0/8', '192.168.0.0/16']);
});

test('LPM nextKey of a prefix not in the trie starts from the first one', () => {
  const { map } = routes();
  assert.equal(show(map.nextKey(prefix('1.2.3.0/24'))), '10.1.2.0/24');
  assert.equal(map.nextKey(prefix('192.168.0.0/16')), undefined, 'after the last prefix');
});

test('LPM keys that only branch (intermediate nodes) are neither found nor listed', () => {
  const { map } = trie();
  map.update(prefix('10.1.0.0/16'), u32(1));
  map.update(prefix('10.2.0.0/16'), u32(2));
  assert.equal(hop(map, '10.0.0.1'), undefined, 'the /14 branch point holds no value');
  throwsErrno(() => map.delete(prefix('10.0.0.0/14')), 'ENOENT');
  assert.deepEqual([...map.keys()].map(show), ['10.1.0.0/16', '10.2.0.0/16']);
  map.update(prefix('10.0.0.0/14'), u32(3), UpdateFlags.NOEXIST);
  assert.equal(hop(map, '10.0.0.1'), 3, 'a branch point can become a real prefix');
  assert.deepEqual([...map.keys()].map(show), ['10.1.0.0/16', '10.2.0.0/16', '10.0.0.0/14']);
});

test('LPM deleting every prefix returns every node to the free list', () => {
  const { map } = routes();
  for (const cidr of ['10.1.0.0/16', '192.168.0.0/16', '10.0.0.0/8', '10.1.2.0/24']) map.delete(prefix(cidr));
  assert.equal(map.count, 0);
  assert.equal(map.nextKey(), undefined);
  // Every one of the 2 x max_entries nodes must be allocatable again.
  for (let i = 0; i < 16; i++) map.update(prefix(`${i}.0.0.0/8`), u32(i));
  assert.equal(map.count, 16);
});

test('LPM updates and deletes from programs return 0 or -errno', () => {
  const { map, memory } = trie(1);
  const key = place(memory, prefix('10.0.0.0/8'));
  assert.equal(map.updateFromProgram(key, place(memory, u32(5)), 0, 0), 0);
  assert.equal(map.updateFromProgram(place(memory, prefix('11.0.0.0/8')), place(memory, u32(5)), 0, 0), -28, 'ENOSPC');
  assert.equal(map.updateFromProgram(key, place(memory, u32(6)), UpdateFlags.NOEXIST, 0), -17, 'EEXIST');
  assert.equal(map.deleteFromProgram(key, 0), 0);
  assert.equal(map.deleteFromProgram(key, 0), -2, 'ENOENT');
});

test('LPM keys of the wrong size fail with EINVAL, and lookup-and-delete is not supported', () => {
  const { map } = routes();
  throwsErrno(() => map.lookup(u32(1)), 'EINVAL');
  throwsErrno(() => map.lookupAndDelete(prefix('10.0.0.0/8')), 'ENOTSUPP');
});

test('LPM agrees with a brute-force longest-prefix model under random updates and deletes', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const random = prng(seed);
  const { map } = trie(64);
  const model = new Map<string, { bits: number; length: number; value: number }>();
  const bitsOf = (key: Uint8Array) => new DataView(key.buffer).getUint32(4, false);
  const masked = (bits: number, length: number) => (length === 0 ? 0 : (bits >>> (32 - length)) << (32 - length)) >>> 0;
  const randomKey = () => {
    // Few distinct leading bytes and lengths, so prefixes nest and collide often.
    const length = [0, 4, 8, 12, 16, 24, 32][Math.floor(random() * 7)];
    const key = prefix(`10.${Math.floor(random() * 4)}.${Math.floor(random() * 3)}.${Math.floor(random() * 2)}/${length}`);
    key[4] = [10, 11, 138][Math.floor(random() * 3)];
    return key;
  };
  const id = (key: Uint8Array) => `${masked(bitsOf(key), readU32(key))}/${readU32(key)}`;
  for (let step = 0; step < 3000; step++) {
    const key = randomKey();
    const where = `seed ${seed} step ${step}: ${show(key)}`;
    if (random() < 0.6) {
      const value = Math.floor(random() * 1e6);
      const full = model.size >= 64 && !model.has(id(key));
      try {
        map.update(key, u32(value));
        assert.ok(!full, `${where}: update should have failed with ENOSPC`);
        model.set(id(key), { bits: masked(bitsOf(key), readU32(key)), length: readU32(key), value });
      } catch (e) {
        assert.ok(full, `${where}: unexpected ${String(e)}`);
      }
    } else {
      const had = model.delete(id(key));
      try {
        map.delete(key);
        assert.ok(had, `${where}: delete of a missing prefix succeeded`);
      } catch {
        assert.ok(!had, `${where}: delete of a present prefix failed`);
      }
    }
    const probe = prefix(`${[10, 11, 138][Math.floor(random() * 3)]}.${Math.floor(random() * 4)}.${Math.floor(random() * 3)}.${Math.floor(random() * 2)}`);
    let best: { length: number; value: number } | undefined;
    for (const entry of model.values()) {
      if (masked(bitsOf(probe), entry.length) === entry.bits && (best === undefined || entry.length > best.length)) best = entry;
    }
    assert.equal(hop(map, show(probe)), best?.value, `${where}: lookup of ${show(probe)}`);
    assert.equal(map.count, model.size, `${where}: entry count`);
  }
  const listed = [...map.keys()].map(id);
  assert.equal(listed.length, model.size, `seed ${seed}: nextKey lists each prefix once`);
  assert.deepEqual(new Set(listed), new Set(model.keys()), `seed ${seed}: nextKey lists exactly the prefixes`);
});
