// Helpers that need no map: time, randomness, identity, tracing, strings, checksums, loops, locks,
// tail calls.
import type { HelperArguments } from '../vm/helpers.js';
import { formatPrintf } from './format.js';
import type { HelperHost } from './host.js';
import { ERRNO } from '../maps/index.js';
import { HelperFault, type HelperImplementation } from './implementation.js';
import { checkRange, readBytes, readCString, writeBytes } from './memory-access.js';

const BPF_LOOP_MAX = 1 << 23;

function printk(host: HelperHost, a: HelperArguments, format: string, first: number, count: number): number {
  let n = first;
  const text = formatPrintf(format, {
    next: () => (n <= 5 ? a.u64(n++) : 0n),
    string: (address) => readCString(host.memory, address, 4096, 'bpf_trace_printk %s argument'),
  }, count);
  host.trace({ time: host.now(), cpu: a.cpu, text: text.replace(/\n$/, '') });
  return text.length;
}

/** How many arguments an ebpf-for-windows trace_printk format takes, or -1 when it is one that helper refuses. */
function efwPrintkConversions(format: string): number {
  let count = 0;
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const m = /^(%|l{0,2}[diux])/.exec(format.slice(i + 1));
    if (m === null) return -1;
    if (m[1] !== '%') count++;
    i += m[1].length;
  }
  return count;
}

/** One's complement sum of 32-bit words, folded to 32 bits as the kernel's csum_partial keeps it. */
function addWords(sum: number, bytes: Uint8Array, negate: boolean): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; at += 4) {
    let w = view.getUint32(at, true);
    if (negate) w = ~w >>> 0;
    sum += w;
    if (sum > 0xffffffff) sum = (sum & 0xffffffff) + 1;
  }
  return sum >>> 0;
}

export const KERNEL_HELPERS: readonly HelperImplementation[] = [
  { name: 'ktime_get_ns', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.now() },
  { name: 'ktime_get_boot_ns', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.now() },
  { name: 'ktime_get_coarse_ns', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.now() },
  // Ticks of a 1000 Hz clock (as a kernel built with CONFIG_HZ=1000 counts jiffies).
  { name: 'jiffies64', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.now() / 1_000_000n },
  { name: 'ktime_get_boot_ms', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.now() / 1_000_000n },
  { name: 'ktime_get_ms', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.now() / 1_000_000n },
  { name: 'get_prandom_u32', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.random() >>> 0 },
  { name: 'get_smp_processor_id', prototype: { ret: 'integer', args: [] }, make: () => (a) => a.cpu },
  { name: 'get_current_pid_tgid', prototype: { ret: 'integer', args: [] }, make: (h) => () => h.pidTgid },
  {
    name: 'trace_printk',
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size', 'anything', 'anything', 'anything'] },
    make: (h) => (a) => printk(h, a, readCString(h.memory, a.u32(1), a.u32(2), 'bpf_trace_printk format'), 3, 3),
  },
  ...[2, 3, 4, 5].map((n): HelperImplementation => ({
    // ebpf-for-windows splits trace_printk by argument count, and its verifier does not read the
    // format: the helper answers -1, printing nothing, unless the format's conversions are ones
    // it knows (%d %i %u %x, with l or ll; %%) and as many as the arguments it passes.
    name: `trace_printk${n}`,
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size', ...Array<string>(n - 2).fill('anything')] },
    make: (h) => (a) => {
      const format = readCString(h.memory, a.u32(1), a.u32(2), 'bpf_trace_printk format');
      return efwPrintkConversions(format) === n - 2 ? printk(h, a, format, 3, n - 2) : -1;
    },
  })),
  {
    name: 'snprintf',
    prototype: { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_const_str', 'ptr_to_mem_or_null', 'const_size_or_zero'] },
    make: (h) => (a) => {
      const out = a.u32(1);
      const outSize = a.u32(2);
      const format = readCString(h.memory, a.u32(3), 4096, 'bpf_snprintf format');
      const dataLength = a.u32(5);
      if (dataLength % 8 !== 0 || dataLength > 12 * 8) return -ERRNO.EINVAL;
      const data = dataLength === 0 ? new Uint8Array(0) : readBytes(h.memory, a.u32(4), dataLength, 'bpf_snprintf data');
      const view = new DataView(data.buffer);
      let i = 0;
      const text = formatPrintf(format, {
        next: () => (i * 8 < data.length ? view.getBigUint64(8 * i++, true) : 0n),
        string: (address) => readCString(h.memory, address, 4096, 'bpf_snprintf %s argument'),
      }, dataLength / 8);
      const encoded = new TextEncoder().encode(text);
      if (outSize > 0) {
        // The whole buffer is written (the text, its NUL, then zeros): the verifier counts all
        // outSize bytes as initialised, so none may keep what was there before.
        const n = Math.min(encoded.length, outSize - 1);
        const buffer = new Uint8Array(outSize);
        buffer.set(encoded.subarray(0, n));
        writeBytes(h.memory, out, buffer, 'bpf_snprintf output');
      }
      return encoded.length + 1; // like the kernel: the length it needed, NUL included
    },
  },
  {
    name: 'strncmp',
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size', 'ptr_to_const_str'] },
    make: (h) => (a) => {
      const size = a.u32(2);
      const s1 = readBytes(h.memory, a.u32(1), size, 'bpf_strncmp s1');
      const s2 = new TextEncoder().encode(readCString(h.memory, a.u32(3), size + 1, 'bpf_strncmp s2'));
      for (let i = 0; i < size; i++) {
        const c1 = s1[i];
        const c2 = s2[i] ?? 0;
        if (c1 !== c2) return c1 < c2 ? -1 : 1;
        if (c1 === 0) return 0;
      }
      return 0;
    },
  },
  {
    name: 'csum_diff',
    prototype: { ret: 'integer', args: ['ptr_to_mem_or_null', 'const_size_or_zero', 'ptr_to_mem_or_null', 'const_size_or_zero', 'anything'] },
    make: (h) => (a) => {
      const fromSize = a.u32(2);
      const toSize = a.u32(4);
      if (fromSize % 4 !== 0 || toSize % 4 !== 0 || fromSize > 512 || toSize > 512) return -ERRNO.EINVAL;
      let sum = Number(a.u64(5) & 0xffffffffn);
      if (fromSize > 0) sum = addWords(sum, readBytes(h.memory, a.u32(1), fromSize, 'bpf_csum_diff from'), true);
      if (toSize > 0) sum = addWords(sum, readBytes(h.memory, a.u32(3), toSize, 'bpf_csum_diff to'), false);
      return sum;
    },
  },
  {
    name: 'loop',
    prototype: { ret: 'integer', args: ['anything', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'] },
    make: () => (a) => {
      const count = a.u32(1);
      if (a.u64(4) !== 0n) return -ERRNO.EINVAL;
      if (count > BPF_LOOP_MAX) return -ERRNO.E2BIG;
      const callback = a.u32(2);
      const context = a.u64(3);
      for (let i = 0; i < count; i++) {
        // The callback returns 0 to continue, 1 to stop.
        if (a.callFunction(callback, [i, context]) === 1n) return i + 1;
      }
      return count;
    },
  },
  {
    name: 'spin_lock',
    prototype: { ret: 'void', args: ['ptr_to_spin_lock'] },
    make: (h) => (a) => {
      const address = a.u32(1);
      checkRange(h.memory, address, 4, 'bpf_spin_lock');
      if ((address & 3) !== 0) throw new HelperFault('bpf_spin_lock: lock is not 4-byte aligned');
      const words = h.memory.int32;
      const buffer = words.buffer;
      if (Atomics.compareExchange(words, address >> 2, 0, 1) === 0) return 0;
      // Held: by another worker (wait for it), or, without shared memory, by this very program.
      if (!(buffer instanceof SharedArrayBuffer)) throw new HelperFault('bpf_spin_lock: the lock is already held (deadlock)');
      while (Atomics.compareExchange(words, address >> 2, 0, 1) !== 0) Atomics.wait(words, address >> 2, 1, 1);
      return 0;
    },
  },
  {
    name: 'spin_unlock',
    prototype: { ret: 'void', args: ['ptr_to_spin_lock'] },
    make: (h) => (a) => {
      const address = a.u32(1);
      checkRange(h.memory, address, 4, 'bpf_spin_unlock');
      const words = h.memory.int32;
      Atomics.store(words, address >> 2, 0);
      Atomics.notify(words, address >> 2, 1);
      return 0;
    },
  },
  {
    name: 'tail_call',
    // The engine performs the jump; this result is what the program sees when there is no target.
    prototype: { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'] },
    kind: 'tail-call',
    make: () => () => -ERRNO.ENOENT,
  },
];
