import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPrintf } from '../../src/helpers/index.js';
import { assembleBytes } from '../../src/isa/index.js';
import { buildHelperRegistry } from '../../src/helpers/index.js';
import { ExecutionContext } from '../../src/runtime/index.js';
import { Interpreter, prepareProgram, BpfRuntimeError } from '../../src/vm/index.js';
import { MapType } from '../../src/maps/index.js';
import { BUILTIN_HELPERS } from '../../src/abi/index.js';

const args = (...values: bigint[]) => {
  let i = 0;
  return { next: () => values[i++] ?? 0n, string: (a: number) => `<string at ${a}>` };
};

test('printf formats the conversions bpf_trace_printk and bpf_snprintf accept', () => {
  assert.equal(formatPrintf('%d %u %x %lld %llx %c %%', args(-1n & 0xffffffffffffffffn, 4294967295n, 255n, -5n & 0xffffffffffffffffn, 0x1234567890n, 65n), 6), '-1 4294967295 ff -5 1234567890 A %');
  assert.equal(formatPrintf('[%5d|%-4u|%05x]', args(42n, 7n, 0xabn), 3), '[   42|7   |000ab]');
  assert.equal(formatPrintf('%s and %p', args(0x2000n, 0x10n), 2), '<string at 8192> and 0x10');
  assert.equal(formatPrintf('%hhd %hu', args(0xffn, 0x1ffffn), 2), '-1 65535');
  assert.throws(() => formatPrintf('%d %d %d %d', args(), 3), /more than 3 arguments/);
});

/** Runs `source` with the Linux helpers of a fresh context; r1.. point at `data` when given. */
function runWithHelpers(source: string, data?: Uint8Array, abi: 'linux' | 'efw' = 'linux', setup?: (context: ExecutionContext) => Record<string, number>): { r0: bigint; context: ExecutionContext; dataAt: number } {
  const context = new ExecutionContext();
  const vars = setup?.(context) ?? {};
  let text = source;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`$${name}`, String(value));
  const dataAt = data === undefined ? 0 : context.memory.alloc(data.length, 8);
  if (data !== undefined) context.memory.write(dataAt, data);
  const program = prepareProgram(assembleBytes(text), { helpers: buildHelperRegistry(context.host, abi, 'xdp') });
  const r0 = new Interpreter(program, { memory: context.memory }).run({ r1: dataAt, r2: data?.length ?? 0 });
  return { r0, context, dataAt };
}

test('bpf_csum_diff sums like the kernel: a header checksum computed with it verifies', () => {
  const header = Uint8Array.from([0x45, 0, 0, 0x3c, 0x1c, 0x46, 0x40, 0, 0x40, 0x06, 0, 0, 0xac, 0x10, 0x0a, 0x63, 0xac, 0x10, 0x0a, 0x0c]);
  // r0 = csum_diff(NULL, 0, header, 20, 0)
  const { r0 } = runWithHelpers('mov %r3, %r1\nmov %r1, 0\nmov %r2, 0\nmov %r4, 20\nmov %r5, 0\ncall 28\nexit', header);
  let sum = Number(r0 & 0xffffffffn);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  // The sum is over little-endian words, so the checksum is stored little-endian.
  assert.deepEqual([checksum & 0xff, checksum >> 8], [0xb1, 0xe6]);
  assert.equal(runWithHelpers('mov %r3, %r1\nmov %r1, 0\nmov %r2, 0\nmov %r4, 3\nmov %r5, 0\ncall 28\nexit', header).r0, BigInt.asUintN(64, -22n), 'sizes must be multiples of 4');
});

test('bpf_strncmp compares a buffer with a string like strncmp', () => {
  const data = new TextEncoder().encode('ebpf\0ebpg\0');
  assert.equal(runWithHelpers('mov %r3, %r1\nadd %r3, 5\nmov %r2, 4\ncall 182\nexit', data).r0, BigInt.asUintN(64, -1n));
  assert.equal(runWithHelpers('mov %r3, %r1\nmov %r2, 5\ncall 182\nexit', data).r0, 0n);
});

test('bpf_trace_printk writes a line to the context trace', () => {
  const data = new TextEncoder().encode('n=%d x=%x\0');
  const { context } = runWithHelpers('mov %r2, 10\nmov %r3, -7\nmov %r4, 255\ncall 6\nexit', data);
  assert.deepEqual(context.trace.map((t) => t.text), ['n=-7 x=ff']);
});

test('a bad pointer given to a helper is a typed fault at the calling instruction', () => {
  assert.throws(() => runWithHelpers('mov %r1, 16\nmov %r2, 4\nmov %r3, 0\ncall 6\nexit'), (e: unknown) => e instanceof BpfRuntimeError && e.fault === 'helper-error' && e.pc === 3 && /outside the program's memory/.test(e.message));
  assert.throws(() => runWithHelpers('mov %r1, 4096\nmov %r2, 0\ncall 1\nexit'), (e: unknown) => e instanceof BpfRuntimeError && /is not a map/.test(e.message));
});

test('ebpf-for-windows bpf_map_lookup_and_delete_elem returns a copy and removes the entry', () => {
  const key = Uint8Array.from([7, 0, 0, 0]);
  const { r0, context } = runWithHelpers(
    'stw [%r10-4], 7\nlddw %r1, $map\nmov %r2, %r10\nadd %r2, -4\ncall 4\nmov %r6, %r0\njeq %r0, 0, out\nldxdw %r0, [%r6+0]\nout:\nexit',
    undefined,
    'efw',
    (context) => {
      const map = context.maps.create({ name: 'm', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
      context.reserveScratch(map);
      map.update(key, Uint8Array.from([42, 0, 0, 0, 0, 0, 0, 0]));
      return { map: map.address };
    },
  );
  assert.equal(r0, 42n);
  const map = [...context.maps][0];
  assert.equal(map.lookup(key), undefined, 'the entry is gone');
});

test('the built-in memset, memcpy, memmove and memcmp take C arguments under the same ids in both ABIs', () => {
  const id = (name: string): number => BUILTIN_HELPERS.find((h) => h.name === name)?.id ?? -1;
  for (const abi of ['linux', 'efw'] as const) {
    // memmove(data + 1, data, 4) copies the overlap backwards; then memset(data + 6, 0xab, 2).
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const { context, dataAt } = runWithHelpers(`mov %r6, %r1\nadd %r1, 1\nmov %r2, %r6\nmov %r3, 4\ncall ${id('memmove')}\nmov %r1, %r6\nadd %r1, 6\nmov %r2, 0xab\nmov %r3, 2\ncall ${id('memset')}\nexit`, data, abi);
    assert.deepEqual([...context.memory.read(dataAt, 8)], [1, 1, 2, 3, 4, 6, 0xab, 0xab], abi);
    const copied = runWithHelpers(`mov %r6, %r1\nadd %r1, 4\nmov %r2, %r6\nmov %r3, 4\ncall ${id('memcpy')}\nmov %r1, %r6\nmov %r2, %r6\nadd %r2, 4\nmov %r3, 4\ncall ${id('memcmp')}\nexit`, Uint8Array.from([1, 2, 3, 4, 0, 0, 0, 0]), abi);
    assert.deepEqual([...copied.context.memory.read(copied.dataAt, 8)], [1, 2, 3, 4, 1, 2, 3, 4]);
    assert.equal(copied.r0, 0n, 'memcmp of equal bytes');
    const less = runWithHelpers(`mov %r2, %r1\nadd %r2, 1\nmov %r3, 2\ncall ${id('memcmp')}\nexit`, Uint8Array.from([1, 2, 3]), abi);
    assert.equal(less.r0, BigInt.asUintN(64, -1n), 'memcmp([1, 2], [2, 3]) < 0');
  }
  // ebpf-for-windows' own bpf_memset (id 24) keeps its (memory, size, value) order.
  const { context, dataAt } = runWithHelpers('mov %r2, 3\nmov %r3, 0x11\ncall 24\nexit', new Uint8Array(4), 'efw');
  assert.deepEqual([...context.memory.read(dataAt, 4)], [0x11, 0x11, 0x11, 0]);
  // A size beyond the memory is a fault, not a partial write.
  assert.throws(() => runWithHelpers(`mov %r2, 0\nlddw %r3, 0x100000000\ncall ${id('memset')}\nexit`, new Uint8Array(4)), (e: unknown) => e instanceof BpfRuntimeError && /memset/.test(e.message));
});
