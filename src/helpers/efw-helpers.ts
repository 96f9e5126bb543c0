// Helpers only ebpf-for-windows has: bounded memory and string functions (C11 Annex K style:
// they fail with -EINVAL instead of overrunning; every size may be zero, as its prototypes say),
// identity queries with no meaning here, and the sock_addr and sock_ops hooks' own helpers.
// The verifier's rules for these helpers are built from the prototypes here (rules.ts).
import { ERRNO } from '../maps/index.js';
import type { HelperImplementation } from './implementation.js';
import { readBytes, writeBytes } from './memory-access.js';

const compare = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
};

const nulIndex = (bytes: Uint8Array): number => {
  const i = bytes.indexOf(0);
  return i < 0 ? bytes.length : i;
};

export const EFW_ONLY_HELPERS: readonly HelperImplementation[] = [
  {
    name: 'memcpy_s',
    prototype: { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => {
      if (a.u32(4) > a.u32(2)) return -ERRNO.EINVAL;
      writeBytes(h.memory, a.u32(1), readBytes(h.memory, a.u32(3), a.u32(4), 'memcpy_s source'), 'memcpy_s destination');
      return 0;
    },
  },
  {
    name: 'memmove_s',
    prototype: { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => {
      if (a.u32(4) > a.u32(2)) return -ERRNO.EINVAL;
      // readBytes copies first, so overlapping ranges move correctly.
      writeBytes(h.memory, a.u32(1), readBytes(h.memory, a.u32(3), a.u32(4), 'memmove_s source'), 'memmove_s destination');
      return 0;
    },
  },
  {
    name: 'memcmp_s',
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size_or_zero', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => compare(readBytes(h.memory, a.u32(1), a.u32(2), 'memcmp_s first'), readBytes(h.memory, a.u32(3), a.u32(4), 'memcmp_s second')),
  },
  {
    name: 'memset',
    prototype: { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'] },
    make: (h) => (a) => {
      writeBytes(h.memory, a.u32(1), new Uint8Array(a.u32(2)).fill(a.u32(3) & 0xff), 'memset destination');
      // As C's memset (and ebpf-for-windows' bpf_memset): the destination.
      return a.u32(1);
    },
  },
  {
    name: 'strncpy_s',
    prototype: { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => {
      const destSize = a.u32(2);
      const src = readBytes(h.memory, a.u32(3), a.u32(4), 'strncpy_s source');
      const n = nulIndex(src);
      if (destSize === 0 || n >= destSize) return -ERRNO.EINVAL;
      const out = new Uint8Array(n + 1);
      out.set(src.subarray(0, n));
      writeBytes(h.memory, a.u32(1), out, 'strncpy_s destination');
      return 0;
    },
  },
  {
    name: 'strncat_s',
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size_or_zero', 'ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => {
      const destSize = a.u32(2);
      const dest = readBytes(h.memory, a.u32(1), destSize, 'strncat_s destination');
      const used = nulIndex(dest);
      if (used === destSize) return -ERRNO.EINVAL;
      const src = readBytes(h.memory, a.u32(3), a.u32(4), 'strncat_s source');
      const n = nulIndex(src);
      if (used + n >= destSize) return -ERRNO.EINVAL;
      const out = new Uint8Array(n + 1);
      out.set(src.subarray(0, n));
      writeBytes(h.memory, a.u32(1) + used, out, 'strncat_s destination');
      return 0;
    },
  },
  {
    name: 'strnlen_s',
    prototype: { ret: 'integer', args: ['ptr_to_mem', 'const_size_or_zero'] },
    make: (h) => (a) => nulIndex(readBytes(h.memory, a.u32(1), a.u32(2), 'strnlen_s string')),
  },
  { name: 'get_current_logon_id', prototype: { ret: 'integer', args: ['ptr_to_ctx'] }, make: () => () => 0 },
  // The process runs as root (uid 0): 1, else 0. Where there are no uids (Windows), 0.
  { name: 'is_current_admin', prototype: { ret: 'integer', args: ['ptr_to_ctx'] }, make: () => { const admin = typeof process !== 'undefined' && process.getuid?.() === 0 ? 1 : 0; return () => admin; } },
  // The socket of the event being run (its hook sets it); 0 in a test run.
  { name: 'get_socket_cookie', prototype: { ret: 'integer', args: ['ptr_to_ctx'] }, make: (h) => () => h.socket.cookie },
  { name: 'get_current_process_start_key', prototype: { ret: 'integer', args: [] }, make: () => () => 0 },
  { name: 'get_current_thread_create_time', prototype: { ret: 'integer', args: [] }, make: () => () => 0 },
  // sock_addr: the process that owns the socket (as bpf_get_current_pid_tgid there).
  { name: 'sock_addr_get_current_pid_tgid', prototype: { ret: 'integer', args: ['ptr_to_ctx'] }, make: (h) => () => h.socket.pidTgid },
  {
    // ebpf-for-windows hands this context to WFP when the connect it redirects goes ahead; ebpf-ts
    // has no WFP to give it to. The call succeeds as it does there (data given, size not zero)
    // and the data goes nowhere.
    name: 'sock_addr_set_redirect_context',
    prototype: { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_mem_or_null', 'const_size_or_zero'] },
    make: () => (a) => (a.u64(2) === 0n || a.u64(3) === 0n ? -1 : 0),
  },
  // The interface, tunnel and next hop a connection uses: a Node socket hook has no such network
  // context, and ebpf-for-windows answers -1, writing nothing, when its hook has none.
  { name: 'sock_addr_get_network_context', prototype: { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size'] }, make: () => () => -1 },
  // The connection's flow id: the socket's cookie, the same number bpf_get_socket_cookie gives.
  { name: 'sock_ops_get_flow_id', prototype: { ret: 'integer', args: ['ptr_to_ctx'] }, make: (h) => () => h.socket.cookie },
];
