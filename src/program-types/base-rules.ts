// The helper and context rules that several program types share (the portable helper set, the
// XDP and __sk_buff helper sets and contexts) and the test platform of PREVAIL's YAML suite. Data
// for the verifier (whose core knows no program type); rules.ts builds every type from these.

import { LINUX_HELPER_IDS, LINUX_MAP_TYPES, LINUX_XDP_MD, EFW_XDP_MD, type ContextLayout } from '../abi/index.js';
import type { ArgKind, ContextField, ContextFieldKind, HelperRule, ProgramTypeRules, RetKind } from '../verifier/program-type.js';

const RINGBUF = [27];
const QUEUE_STACK = [22, 23];

export const id = (name: string): number => {
  const v = LINUX_HELPER_IDS[name];
  if (v === undefined) throw new Error(`no Linux helper named ${name}`);
  return v;
};

const U32: readonly [bigint, bigint] = [0n, 0xffffffffn];

/** Helpers every program type may call, with the argument kinds of their Linux prototypes. */
export const PORTABLE_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  [id('map_lookup_elem'), { name: 'map_lookup_elem', args: ['const_map_ptr', 'ptr_to_map_key'], ret: 'ptr_to_map_value_or_null' }],
  [id('map_update_elem'), { name: 'map_update_elem', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'], ret: 'integer', changesMap: true }],
  [id('map_delete_elem'), { name: 'map_delete_elem', args: ['const_map_ptr', 'ptr_to_map_key'], ret: 'integer', changesMap: true }],
  [id('ktime_get_ns'), { name: 'ktime_get_ns', args: [], ret: 'integer' }],
  [id('trace_printk'), { name: 'trace_printk', args: ['ptr_to_mem', 'const_size', 'unused_or_value', 'unused_or_value', 'unused_or_value'], ret: 'integer', printf: { format: 1, formatSize: 2, args: 3 } }],
  [id('get_prandom_u32'), { name: 'get_prandom_u32', args: [], ret: 'integer', retRange: U32 }],
  [id('get_smp_processor_id'), { name: 'get_smp_processor_id', args: [], ret: 'integer', retRange: U32 }],
  [id('tail_call'), { name: 'tail_call', args: ['ptr_to_ctx', 'const_prog_array_ptr', 'anything'], ret: 'integer' }],
  [id('get_current_pid_tgid'), { name: 'get_current_pid_tgid', args: [], ret: 'integer' }],
  [id('csum_diff'), { name: 'csum_diff', args: ['ptr_to_mem_or_null', 'const_size_or_zero', 'ptr_to_mem_or_null', 'const_size_or_zero', 'anything'], ret: 'integer' }],
  [id('get_stack'), { name: 'get_stack', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], ret: 'integer' }],
  [id('ringbuf_output'), { name: 'ringbuf_output', args: ['const_map_ptr', 'ptr_to_mem', 'const_size_or_zero', 'anything'], ret: 'integer', mapTypes: RINGBUF }],
  [id('ringbuf_reserve'), { name: 'ringbuf_reserve', args: ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'], ret: 'ptr_to_alloc_mem_or_null', mapTypes: RINGBUF }],
  [id('ringbuf_submit'), { name: 'ringbuf_submit', args: ['ptr_to_alloc_mem', 'anything'], ret: 'void' }],
  [id('ringbuf_discard'), { name: 'ringbuf_discard', args: ['ptr_to_alloc_mem', 'anything'], ret: 'void' }],
  [id('ringbuf_query'), { name: 'ringbuf_query', args: ['const_map_ptr', 'anything'], ret: 'integer', mapTypes: RINGBUF }],
  [id('loop'), { name: 'loop', args: ['anything', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'], ret: 'integer', callback: 'loop' }],
  [id('for_each_map_elem'), {
    name: 'for_each_map_elem', args: ['const_map_ptr', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'], ret: 'integer',
    callback: 'for_each_map_elem', mapTypes: [1, 2, 5, 6, 9, 10],
  }],
  [id('map_push_elem'), { name: 'map_push_elem', args: ['const_map_ptr', 'ptr_to_map_value', 'anything'], ret: 'integer', mapTypes: QUEUE_STACK, changesMap: true }],
  [id('map_pop_elem'), { name: 'map_pop_elem', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], ret: 'integer', mapTypes: QUEUE_STACK, writes: 'nothing', changesMap: true }],
  [id('map_peek_elem'), { name: 'map_peek_elem', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], ret: 'integer', mapTypes: QUEUE_STACK, writes: 'nothing' }],
  [id('snprintf'), { name: 'snprintf', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_const_str', 'ptr_to_mem_or_null', 'const_size_or_zero'], ret: 'integer', printf: { format: 3, args: 4, array: true } }],
  [id('strncmp'), { name: 'strncmp', args: ['ptr_to_mem', 'const_size', 'ptr_to_const_str'], ret: 'integer' }],
  [id('spin_lock'), { name: 'spin_lock', args: ['ptr_to_spin_lock'], ret: 'void' }],
  [id('spin_unlock'), { name: 'spin_unlock', args: ['ptr_to_spin_lock'], ret: 'void' }],
  [id('ktime_get_boot_ns'), { name: 'ktime_get_boot_ns', args: [], ret: 'integer' }],
  [id('ktime_get_coarse_ns'), { name: 'ktime_get_coarse_ns', args: [], ret: 'integer' }],
  [id('jiffies64'), { name: 'jiffies64', args: [], ret: 'integer' }],
]);

/** A Linux helper's rule by name: [id, rule]. */
export const rule = (name: string, args: readonly ArgKind[], ret: RetKind = 'integer', changesPacket = false): [number, HelperRule] =>
  [id(name), { name, args, ret, ...(changesPacket ? { changesPacket } : {}) }];

/** Helpers of XDP programs beyond the portable ones. */
export const XDP_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  ...PORTABLE_HELPERS,
  // Both answer an XDP action (XDP_REDIRECT, or XDP_ABORTED / the flags' lower two bits on failure),
  // which a program may return as it is.
  [id('redirect'), { name: 'redirect', args: ['anything', 'anything'], ret: 'integer', retRange: [0n, 4n] }],
  // The maps Linux redirects through. ebpf-ts implements DEVMAP and DEVMAP_HASH; CPUMAP and XSKMAP
  // are accepted as Linux accepts them (such a map cannot be created here yet).
  [id('redirect_map'), {
    name: 'redirect_map', args: ['const_map_ptr', 'anything', 'anything'], ret: 'integer', retRange: [0n, 4n],
    mapTypes: [LINUX_MAP_TYPES.DEVMAP, LINUX_MAP_TYPES.DEVMAP_HASH, LINUX_MAP_TYPES.CPUMAP, LINUX_MAP_TYPES.XSKMAP],
  }],
  rule('perf_event_output', ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero']),
  rule('xdp_adjust_head', ['ptr_to_ctx', 'anything'], 'integer', true),
  rule('xdp_adjust_meta', ['ptr_to_ctx', 'anything'], 'integer', true),
  rule('xdp_adjust_tail', ['ptr_to_ctx', 'anything'], 'integer', true),
]);

/** Helpers of socket filters and tc programs (struct __sk_buff contexts). */
export const SKB_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  ...PORTABLE_HELPERS,
  rule('redirect', ['anything', 'anything']),
  rule('redirect_map', ['const_map_ptr', 'anything', 'anything']),
  rule('perf_event_output', ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero']),
  rule('skb_load_bytes', ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size']),
  rule('skb_store_bytes', ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size', 'anything'], 'integer', true),
  rule('l3_csum_replace', ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], 'integer', true),
  rule('l4_csum_replace', ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], 'integer', true),
  rule('clone_redirect', ['ptr_to_ctx', 'anything', 'anything'], 'integer', true),
  rule('skb_pull_data', ['ptr_to_ctx', 'anything'], 'integer', true),
  rule('skb_change_tail', ['ptr_to_ctx', 'anything', 'anything'], 'integer', true),
  rule('skb_change_head', ['ptr_to_ctx', 'anything', 'anything'], 'integer', true),
  rule('skb_change_proto', ['ptr_to_ctx', 'anything', 'anything'], 'integer', true),
  rule('skb_adjust_room', ['ptr_to_ctx', 'anything', 'anything', 'anything'], 'integer', true),
  rule('get_hash_recalc', ['ptr_to_ctx']),
  rule('get_socket_cookie', ['ptr_to_ctx']),
]);

/** A context from an ABI layout: packet pointer fields by the layout, `writable` fields by name. */
export function contextOf(layout: ContextLayout, writable: readonly string[] = []): ProgramTypeRules['context'] {
  const fields: ContextField[] = layout.fields.map((f) => {
    const kind: ContextFieldKind = f.offset === layout.data ? 'packet' : f.offset === layout.dataEnd ? 'packet_end' : f.offset === layout.dataMeta ? 'packet_meta' : 'scalar';
    return { offset: f.offset, size: f.size, kind, readOnly: kind !== 'scalar' || !writable.includes(f.name) };
  });
  return { size: layout.size, fields };
}

export const LINUX_XDP: ProgramTypeRules = {
  name: 'linux-xdp',
  context: contextOf(LINUX_XDP_MD),
  helpers: XDP_HELPERS,
  returnRange: [0n, 4n],
  checkReturn: true,
};

const scalar = (offset: number, size: number, readOnly = true): ContextField => ({ offset, size, kind: 'scalar', readOnly });

/**
 * struct __sk_buff (192 bytes) up to data_meta; `writable` lists the offsets of the fields the
 * program type may store to. Kernel-object pointers (flow_keys, sk) are left out: not accessible.
 */
function skBuff(writable: readonly number[], meta: boolean): ProgramTypeRules['context'] {
  const field = (offset: number, size: number): ContextField => scalar(offset, size, !writable.includes(offset));
  return {
    size: 192,
    fields: [
      field(0, 4), field(4, 4), field(8, 4), field(12, 4), field(16, 4), field(20, 4), field(24, 4), field(28, 4),
      field(32, 4), field(36, 4), field(40, 4), field(44, 4),
      field(48, 4), field(52, 4), field(56, 4), field(60, 4), field(64, 4), // cb[5]
      field(68, 4), field(72, 4),
      { offset: 76, size: 4, kind: 'packet', readOnly: true },
      { offset: 80, size: 4, kind: 'packet_end', readOnly: true },
      field(84, 4), field(88, 4), field(92, 4), field(96, 4), field(100, 16), field(116, 16), field(132, 4), field(136, 4),
      ...(meta ? [{ offset: 140, size: 4, kind: 'packet_meta', readOnly: true } as ContextField] : []),
      field(152, 8), field(160, 4), field(164, 4), field(176, 4), field(184, 8),
    ],
  };
}

const CB = [48, 52, 56, 60, 64];

/** Socket filters: read the packet through data/data_end, write only mark, priority and cb[]. */
export const LINUX_SOCKET_FILTER: ProgramTypeRules = {
  name: 'linux-socket-filter',
  context: skBuff([8, 32, ...CB], false),
  helpers: SKB_HELPERS,
  checkReturn: true,
  legacyPacketLoads: true,
};

/**
 * cgroup_skb (ingress/egress filters): the skb context as socket filters see it (mark, priority
 * and cb[] writable); the kernel enforces the return value: 0 (drop) or 1 (allow).
 */
export const LINUX_CGROUP_SKB: ProgramTypeRules = {
  name: 'linux-cgroup-skb',
  context: skBuff([8, 32, ...CB], false),
  helpers: SKB_HELPERS,
  returnRange: [0n, 1n],
  checkReturn: true,
};

/** tc classifiers/actions: also queue_mapping, tc_index, tc_classid and tstamp are writable; data_meta exists. */
export const LINUX_SCHED_CLS: ProgramTypeRules = {
  name: 'linux-sched-cls',
  context: skBuff([8, 12, 32, 44, ...CB, 72, 152], true),
  helpers: SKB_HELPERS,
  checkReturn: true,
  legacyPacketLoads: true,
};

export const EFW_XDP: ProgramTypeRules = {
  name: 'efw-xdp',
  context: contextOf(EFW_XDP_MD),
  helpers: PORTABLE_HELPERS,
  returnRange: [1n, 3n],
  checkReturn: true,
};

/**
 * The platform PREVAIL's YAML tests assume: a 64-byte context with 4-byte packet pointers at 0
 * (data) and 4 (data_end), the rest plain writable scalars; r0 must be a number at `exit`.
 */
export const GENERIC: ProgramTypeRules = {
  name: 'generic',
  context: {
    size: 64,
    fields: [
      { offset: 0, size: 4, kind: 'packet', readOnly: true },
      { offset: 4, size: 4, kind: 'packet_end', readOnly: true },
      scalar(8, 56, false),
    ],
  },
  // Every map of the test platform has type 0, so map types are not checked there.
  helpers: new Map([...PORTABLE_HELPERS].map(([k, { mapTypes: _unused, ...h }]) => [k, h])),
  checkReturn: true,
  misalignedContext: true,
  misalignedAtomics: true,
  legacyPacketLoads: true,
  checkReleased: false,
};
