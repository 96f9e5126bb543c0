// The sample extension of ebpf-for-windows, re-created as an ebpf-ts extension through the
// public API only (`ebpf-ts/extension`; docs/extensions.md). It adds:
// - the `sample` program type: sections `sample_ext…`, the 32-byte sample_program_context_t
//   (a data buffer, then numbers the caller of a test run chooses), any return value;
// - its helpers, numbered from 65536 as ebpf-for-windows numbers a type's own: helper_function1,
//   find, replace, and two whose context is implicit (the runtime knows it; the program does
//   not pass it);
// - its map types SAMPLE_ARRAY_MAP (0xF000) and SAMPLE_HASH_MAP (0xF001): an array whose delete
//   zeroes a value, and a hash map, both reachable through the ordinary map helpers.
// Its C side is sample_ext.h; sample_*.c are programs that use it.
//
//   import { registerSampleExtension } from './sample-extension.mjs';
//   registerSampleExtension();   // then open, verify, load and run sample programs as any other
import {
  ArrayMap, EXTENSION_MAP_TYPE_BASE, HashMap, MapError, ProgramTypeError, commonHelperRules, contextOf, hasExtension, readBytes,
  registerExtension, writeBytes,
} from 'ebpf-ts/extension';

export const EXTENSION_NAME = 'ebpf-for-windows sample extension';

/** sample_program_context_t, as sample_ext.h declares it. */
const CONTEXT = {
  name: 'sample_program_context_t',
  size: 32,
  fields: [
    { name: 'data_start', offset: 0, size: 8, type: 'uint8_t *' },
    { name: 'data_end', offset: 8, size: 8, type: 'uint8_t *' },
    { name: 'uint32_data', offset: 16, size: 4, type: 'uint32_t' },
    { name: 'uint16_data', offset: 20, size: 2, type: 'uint16_t' },
    { name: 'helper_data_1', offset: 24, size: 4, type: 'uint32_t' },
    { name: 'helper_data_2', offset: 28, size: 4, type: 'uint32_t' },
  ],
  data: 0,
  dataEnd: 8,
  dataMeta: -1,
  pointerSize: 8,
};

/** The context of the run in progress, per program memory: what the implicit-context helpers read. */
const current = new WeakMap();

/** Test runs: the caller's context bytes (up to 32), with data_start/data_end pointing at the data given. */
const sampleRuntime = {
  name: 'sample',
  contextSize: () => CONTEXT.size,
  prepareRun(input, memory, abi) {
    if (abi !== 'efw') throw new ProgramTypeError('sample programs are ebpf-for-windows programs');
    const given = input.ctx ?? new Uint8Array(0);
    if (given.length > CONTEXT.size) throw new ProgramTypeError(`a sample_program_context_t is ${CONTEXT.size} bytes; got ${given.length}`);
    const data = input.data ?? new Uint8Array(0);
    const ctx = memory.alloc(CONTEXT.size, 8);
    const buffer = memory.alloc(Math.max(data.length, 1), 8);
    memory.write(ctx, given);
    memory.write(buffer, data);
    // Whatever the caller put there, the pointers delimit the data the run owns.
    memory.view.setBigUint64(ctx, BigInt(buffer), true);
    memory.view.setBigUint64(ctx + 8, BigInt(buffer + data.length), true);
    current.set(memory, ctx);
    return {
      r1: ctx,
      collect: () => ({ ctx: memory.read(ctx, CONTEXT.size), data: memory.read(buffer, data.length) }),
    };
  },
  helpers: () => [
    // ebpf-for-windows' sample extension answers bpf_get_current_pid_tgid with a fixed value.
    { name: 'get_current_pid_tgid', prototype: { ret: 'integer', args: [] }, make: () => () => 9999n },
  ],
};

/** The context of the run in progress, or a fault when a helper runs outside one. */
function contextOf_(host) {
  const at = current.get(host.memory);
  if (at === undefined) throw new ProgramTypeError('an implicit-context helper ran outside a sample program run');
  return at;
}

/** `bytes` up to its first NUL. */
const cString = (bytes) => {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
};

/** Where `needle` first occurs in `haystack`, or -1 (an empty needle is at 0). */
function indexOf(haystack, needle) {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const SAMPLE = ['sample'];
const id = (n) => ({ efw: 0xffff + n });

const helpers = [
  {
    name: 'sample_ebpf_extension_helper_function1',
    ids: id(1),
    programTypes: SAMPLE,
    rule: { args: ['ptr_to_ctx'], ret: 'integer' },
    prototype: { ret: 'integer', args: ['ptr_to_ctx'] },
    make: () => () => 0,
  },
  {
    name: 'sample_ebpf_extension_find',
    ids: id(2),
    programTypes: SAMPLE,
    rule: { args: ['ptr_to_mem', 'const_size', 'ptr_to_mem', 'const_size'], ret: 'integer' },
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size', 'ptr_to_mem', 'const_size'] },
    make: (host) => (a) => {
      const buffer = readBytes(host.memory, a.u32(1), a.u32(2), 'find: buffer');
      const find = cString(readBytes(host.memory, a.u32(3), a.u32(4), 'find: string'));
      return indexOf(cString(buffer), find);
    },
  },
  {
    name: 'sample_ebpf_extension_replace',
    ids: id(3),
    programTypes: SAMPLE,
    // It writes into the buffer, and may write nothing (a position outside it).
    rule: { args: ['ptr_to_uninit_mem', 'const_size', 'anything', 'ptr_to_mem', 'const_size'], ret: 'integer', writes: 'nothing' },
    prototype: { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size', 'anything', 'ptr_to_mem', 'const_size'] },
    make: (host) => (a) => {
      const size = a.u32(2);
      const position = a.i64(3);
      if (position < 0n || position >= BigInt(size)) return -1;
      const replace = cString(readBytes(host.memory, a.u32(4), a.u32(5), 'replace: string'));
      // Never the buffer's last byte: it keeps the string ended.
      const room = size - 1 - Number(position);
      writeBytes(host.memory, a.u32(1) + Number(position), replace.subarray(0, Math.max(0, room)), 'replace: buffer');
      return 0;
    },
  },
  {
    name: 'sample_ebpf_extension_helper_implicit_1',
    ids: id(4),
    programTypes: SAMPLE,
    rule: { args: [], ret: 'integer' },
    prototype: { ret: 'integer', args: [] },
    make: (host) => () => host.memory.view.getUint32(contextOf_(host) + 24, true),
  },
  {
    name: 'sample_ebpf_extension_helper_implicit_2',
    ids: id(5),
    programTypes: SAMPLE,
    rule: { args: ['anything'], ret: 'integer' },
    prototype: { ret: 'integer', args: ['anything'] },
    make: (host) => (a) => BigInt(host.memory.view.getUint32(contextOf_(host) + 28, true)) + BigInt(a.u32(1)),
  },
];

/** SAMPLE_ARRAY_MAP: u32 keys below max_entries; deleting a value zeroes it. */
class SampleArrayMap extends ArrayMap {
  deleteElem(key) {
    this.updateElem(key, new Uint8Array(this.spec.valueSize), 0);
  }

  deleteFromProgram(keyAddress, cpu) {
    const index = this.memory.view.getUint32(keyAddress, true);
    if (index >= this.spec.maxEntries) return -2; // -ENOENT
    const at = this.valueAddress(index, cpu);
    this.memory.bytes.fill(0, at, at + this.spec.valueSize);
    return 0;
  }
}

const mapTypes = [
  {
    name: 'SAMPLE_ARRAY_MAP',
    type: EXTENSION_MAP_TYPE_BASE + 0xf000,
    efwType: 0xf000,
    validate(spec) {
      if (spec.keySize !== 4) throw new MapError('EINVAL', `map "${spec.name}" (SAMPLE_ARRAY_MAP): keySize must be 4, got ${spec.keySize}`);
      if (spec.valueSize === 0 || spec.maxEntries === 0) throw new MapError('EINVAL', `map "${spec.name}" (SAMPLE_ARRAY_MAP): valueSize and maxEntries must not be 0`);
    },
    create: SampleArrayMap,
  },
  {
    name: 'SAMPLE_HASH_MAP',
    type: EXTENSION_MAP_TYPE_BASE + 0xf001,
    efwType: 0xf001,
    validate(spec) {
      if (spec.keySize === 0 || spec.valueSize === 0 || spec.maxEntries === 0) throw new MapError('EINVAL', `map "${spec.name}" (SAMPLE_HASH_MAP): keySize, valueSize and maxEntries must not be 0`);
    },
    create: HashMap,
  },
];

/** Registers the sample extension (once; later calls do nothing). */
export function registerSampleExtension() {
  if (hasExtension(EXTENSION_NAME)) return;
  registerExtension({
    name: EXTENSION_NAME,
    programTypes: [{
      name: 'sample',
      sections: [{ prefix: 'sample_ext', efwOnly: true, anySuffix: true }],
      rules: { efw: { name: 'efw-sample', context: contextOf(CONTEXT), helpers: commonHelperRules('efw'), checkReturn: true } },
      runtime: sampleRuntime,
    }],
    helpers,
    mapTypes,
  });
}

export default registerSampleExtension;
