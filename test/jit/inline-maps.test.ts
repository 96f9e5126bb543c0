// Map lookups the JIT compiles into WebAssembly (array and hash maps) give what the helper gives:
// same value addresses for present keys, null for absent ones, odd key lengths included, and the
// same when other threads may share the map (misses then go through the helper).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleBytes } from '../../src/isa/index.js';
import { buildHelperRegistry } from '../../src/helpers/index.js';
import { MapType } from '../../src/maps/index.js';
import { ExecutionContext } from '../../src/runtime/index.js';
import { createEngine, prepareProgram } from '../../src/vm/index.js';
import { seededRandom } from '../support/random.js';

for (const shared of [false, true]) {
  for (const [type, keySize] of [[MapType.HASH, 6], [MapType.HASH, 4], [MapType.HASH, 13], [MapType.ARRAY, 4]] as const) {
    test(`inline lookups on ${type === MapType.HASH ? 'a hash' : 'an array'} map with ${keySize}-byte keys agree with the helper${shared ? ' (memory shared with threads)' : ''}`, () => {
      const context = new ExecutionContext({ memory: { initialPages: 4, maximumPages: 64 } });
      if (shared) context.memory.markShared();
      const map = context.maps.create({ name: 'm', type, keySize, valueSize: 8, maxEntries: 32, flags: 0 });
      const random = seededRandom(0x1a9 + keySize);
      const keys = Array.from({ length: 64 }, (_, i) => (type === MapType.ARRAY ? Uint8Array.of(i, 0, 0, 0) : Uint8Array.from({ length: keySize }, () => Math.floor(random() * 4))));
      keys.slice(0, 24).forEach((key, i) => {
        const value = new Uint8Array(8);
        new DataView(value.buffer).setBigUint64(0, BigInt(1000 + i), true);
        try {
          map.update(key, value);
        } catch {
          // duplicate random key: fine
        }
      });
      // r0 = the value for the key r1 points at, or -1 when the lookup misses.
      const source = `mov %r2, %r1\nlddw %r1, ${map.address}\ncall 1\njeq %r0, 0, +2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, -1\nexit`;
      const prepared = prepareProgram(assembleBytes(source), { helpers: buildHelperRegistry(context.host, 'linux', 'xdp') });
      const engines = (['interpreter', 'jit'] as const).map((kind) => createEngine(kind, prepared, { memory: context.memory }));
      const keyAt = context.memory.alloc(16, 8);
      for (const key of keys) {
        context.memory.write(keyAt, key);
        const [interpreted, compiled] = engines.map((e) => e.run({ r1: keyAt }));
        assert.equal(compiled, interpreted, `key ${Buffer.from(key).toString('hex')}`);
        const stored = map.lookup(key);
        assert.equal(interpreted, stored === undefined ? 0xffffffffffffffffn : new DataView(stored.buffer, stored.byteOffset).getBigUint64(0, true));
      }
    });
  }
}

test('per-CPU array lookups and bpf_get_smp_processor_id in JIT code use the CPU the engine runs as', () => {
  const context = new ExecutionContext({ cpus: 3 });
  const map = context.maps.create({ name: 'p', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
  // Each CPU's slot of key 2 holds 100 + cpu (values are padded to 8 bytes per CPU).
  const value = new Uint8Array(24);
  for (let cpu = 0; cpu < 3; cpu++) new DataView(value.buffer).setBigUint64(8 * cpu, BigInt(100 + cpu), true);
  map.update(Uint8Array.of(2, 0, 0, 0), value);
  // r0 = value[2] * 16 + cpu id
  const source = `stw [%r10-4], 2\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, ${map.address}\ncall 1\njeq %r0, 0, +5\nldxdw %r6, [%r0+0]\nlsh %r6, 4\ncall 8\nadd %r0, %r6\nexit\nmov %r0, -1\nexit`;
  const prepared = prepareProgram(assembleBytes(source), { helpers: buildHelperRegistry(context.host, 'linux', 'xdp') });
  for (let cpu = 0; cpu < 3; cpu++) {
    const [interpreted, compiled] = (['interpreter', 'jit'] as const).map((kind) => createEngine(kind, prepared, { memory: context.memory, cpu }).run());
    assert.equal(interpreted, BigInt((100 + cpu) * 16 + cpu), `interpreter on cpu ${cpu}`);
    assert.equal(compiled, interpreted, `jit on cpu ${cpu}`);
  }
});
