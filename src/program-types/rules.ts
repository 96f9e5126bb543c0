// What the verifier must know of each program type, for both ABIs: the context a program gets in
// r1 (size, which fields are packet pointers, which it may write), the helpers it may call (by the
// ids of its ABI), and the values it may return. The verifier core knows none of this: it gets it
// from here (DESIGN.md: a program type is a plain module).
//
// Context layouts of types ebpf-ts cannot run yet (kprobe, tracepoint…) are described so their
// programs can be verified: the verifier keeps every access within the described size, and test
// runs allocate at least that much context, so a verified program never reads outside its memory.
import {
  BUILTIN_HELPERS, EFW_BIND_MD, EFW_BPF_SOCK_ADDR, EFW_BPF_SOCK_OPS, EFW_HELPERS, EFW_SOCK_ADDR_HELPERS,
  EFW_SOCK_OPS_HELPERS, EFW_XDP_HELPERS, type ContextLayout, EFW_XDP_MD, LINUX_BPF_SOCK_ADDR, LINUX_HELPER_IDS, LINUX_XDP_MD, efwHelperToLinux,
} from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import { EFW_ONLY_HELPERS } from '../helpers/efw-helpers.js';
import { helpersFor, onRegistration, registerExtension, registeredRules, typesWithRules } from '../extension/registry.js';
import type { HelperRule, ProgramTypeRules } from '../verifier/index.js';
import { LINUX_SCHED_CLS, LINUX_SOCKET_FILTER, PORTABLE_HELPERS, SKB_HELPERS, XDP_HELPERS, contextOf, rule } from './base-rules.js';

type Context = ProgramTypeRules['context'];

/** A read-only context of plain numbers (pt_regs, tracepoint records, raw tracepoint args). */
function scalars(size: number): Context {
  return { size, fields: [{ offset: 0, size, kind: 'scalar', readOnly: true }] };
}


/**
 * bpf_probe_read and its variants: (dst, size, unsafe_ptr). unsafe_ptr is ARG_ANYTHING in Linux:
 * any value, a pointer of any kind included; the helper reads from it with fault handling and
 * only the bytes read reach the program.
 */
const probeRead = (name: string): [number, HelperRule] => rule(name, ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything_or_pointer']);

/** Helpers of tracing programs (kprobe, tracepoint, raw_tracepoint, perf_event). */
const TRACING_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  ...PORTABLE_HELPERS,
  probeRead('probe_read'),
  probeRead('probe_read_str'),
  probeRead('probe_read_user'),
  probeRead('probe_read_kernel'),
  probeRead('probe_read_user_str'),
  probeRead('probe_read_kernel_str'),
  rule('get_current_uid_gid', []),
  rule('get_current_comm', ['ptr_to_uninit_mem', 'const_size']),
  rule('get_current_task', []),
  rule('perf_event_output', ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero']),
  rule('get_stackid', ['ptr_to_ctx', 'const_map_ptr', 'anything']),
  rule('get_stack', ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size_or_zero', 'anything']),
  rule('current_task_under_cgroup', ['const_map_ptr', 'anything']),
  rule('perf_event_read', ['const_map_ptr', 'anything']),
  rule('perf_event_read_value', ['const_map_ptr', 'anything', 'ptr_to_uninit_mem', 'const_size']),
  rule('perf_prog_read_value', ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size']),
  rule('override_return', ['ptr_to_ctx', 'anything']),
  rule('probe_write_user', ['anything', 'ptr_to_mem', 'const_size']),
  rule('get_current_cgroup_id', []),
  rule('trace_vprintk', ['ptr_to_mem', 'const_size', 'ptr_to_mem_or_null', 'const_size_or_zero']),
  rule('get_attach_cookie', ['ptr_to_ctx']),
  rule('get_ns_current_pid_tgid', ['anything', 'anything', 'ptr_to_uninit_mem', 'const_size']),
  rule('ktime_get_boot_ns', []),
  // A pointer to the current task the program may only pass on, never dereference here.
  rule('get_current_task_btf', []),
]);

/** Helpers of socket-address, socket and sock_ops programs. */
const SOCKET_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  ...PORTABLE_HELPERS,
  // ARG_PTR_TO_CTX_OR_NULL: with NULL it gives the cookie of the initial network namespace.
  rule('get_netns_cookie', ['ptr_to_ctx_or_null']),
  rule('setsockopt', ['ptr_to_ctx', 'anything', 'anything', 'ptr_to_mem', 'const_size']),
  rule('getsockopt', ['ptr_to_ctx', 'anything', 'anything', 'ptr_to_uninit_mem', 'const_size']),
  rule('sock_ops_cb_flags_set', ['ptr_to_ctx', 'anything']),
  rule('sock_map_update', ['ptr_to_ctx', 'const_map_ptr', 'ptr_to_map_key', 'anything']),
  rule('get_current_pid_tgid', []),
  rule('get_current_cgroup_id', []),
  rule('get_socket_cookie', ['ptr_to_ctx']),
  rule('get_current_uid_gid', []),
  rule('perf_event_output', ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero']),
]);

/** Networking helpers of tc and socket-buffer programs beyond the common skb set. */
const TC_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  ...SKB_HELPERS,
  rule('skb_get_tunnel_key', ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size', 'anything']),
  rule('skb_set_tunnel_key', ['ptr_to_ctx', 'ptr_to_mem', 'const_size', 'anything']),
  rule('fib_lookup', ['ptr_to_ctx', 'ptr_to_mem', 'const_size', 'anything']),
  rule('redirect_neigh', ['anything', 'ptr_to_mem_or_null', 'const_size_or_zero', 'anything']),
  rule('skb_under_cgroup', ['ptr_to_ctx', 'const_map_ptr', 'anything']),
  rule('get_current_comm', ['ptr_to_uninit_mem', 'const_size']),
  [LINUX_HELPER_IDS.skb_vlan_push, { name: 'skb_vlan_push', args: ['ptr_to_ctx', 'anything', 'anything'], ret: 'integer', changesPacket: true }],
  [LINUX_HELPER_IDS.skb_change_type, { name: 'skb_change_type', args: ['ptr_to_ctx', 'anything'], ret: 'integer' }],
  rule('get_netns_cookie', ['ptr_to_ctx_or_null']),
]);

/** Helpers Linux gives tc classifiers and actions only (tc_cls_act_func_proto), beyond TC_HELPERS. */
const TC_CLS_ACT_HELPERS: ReadonlyMap<number, HelperRule> = new Map<number, HelperRule>([
  ...TC_HELPERS,
  rule('skb_vlan_pop', ['ptr_to_ctx'], 'integer', true),
  rule('skb_get_tunnel_opt', ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size']),
  rule('skb_set_tunnel_opt', ['ptr_to_ctx', 'ptr_to_mem', 'const_size']),
  rule('set_hash_invalid', ['ptr_to_ctx'], 'void'),
]);

/**
 * The built-in C memory functions (src/abi/builtins.ts), available to every program type of both
 * ABIs. Their size is r3, for both buffers: memset writes n bytes at r1 (r2 is the fill byte, a
 * number); memcpy and memmove read n bytes at r2 and write n at r1; memcmp reads n at r1 and r2.
 * The first three return their r1 in C, which nothing compiled uses: here r0 is left unusable.
 */
const BUILTIN_ARGS: Readonly<Record<string, { args: HelperRule['args']; ret: HelperRule['ret'] }>> = {
  memset: { args: ['ptr_to_uninit_mem', 'anything', 'const_size_or_zero'], ret: 'void' },
  memcpy: { args: ['ptr_to_uninit_mem', 'ptr_to_mem', 'const_size_or_zero'], ret: 'void' },
  memmove: { args: ['ptr_to_uninit_mem', 'ptr_to_mem', 'const_size_or_zero'], ret: 'void' },
  memcmp: { args: ['ptr_to_mem', 'ptr_to_mem', 'const_size_or_zero'], ret: 'integer' },
};

const BUILTIN_RULES: readonly [number, HelperRule][] = BUILTIN_HELPERS.map((b) => {
  const proto = BUILTIN_ARGS[b.name];
  if (proto === undefined) throw new Error(`no verifier prototype for the built-in ${b.name}`);
  return [b.id, { name: b.name, ...proto, sizeRegister: 3 }];
});

const withBuiltins = (helpers: ReadonlyMap<number, HelperRule>): ReadonlyMap<number, HelperRule> => new Map([...helpers, ...BUILTIN_RULES]);

const skbContext = LINUX_SOCKET_FILTER.context;
const X86_64_PT_REGS = 21 * 8;

/** Linux allows ld_abs/ld_ind only where the context is an skb of a socket filter or tc program. */
const LEGACY_PACKET_LOADS = new Set(['socket_filter', 'sched_cls', 'sched_act']);

const linux = (name: string, context: Context, helpers: ReadonlyMap<number, HelperRule>, returnRange?: readonly [bigint, bigint]): ProgramTypeRules => ({
  name: `linux-${name}`,
  context,
  helpers: withBuiltins(helpers),
  returnRange,
  checkReturn: true,
  ...(LEGACY_PACKET_LOADS.has(name) ? { legacyPacketLoads: true } : {}),
});

/** Linux program types by the names src/elf/section-names.ts gives them. */
const LINUX_RULES: Readonly<Record<string, ProgramTypeRules>> = {
  // Linux does not check XDP return values (an unknown one acts as XDP_ABORTED).
  xdp: linux('xdp', contextOf(LINUX_XDP_MD), new Map([...XDP_HELPERS, rule('fib_lookup', ['ptr_to_ctx', 'ptr_to_mem', 'const_size', 'anything'])])),
  socket_filter: linux('socket_filter', skbContext, TC_HELPERS),
  sched_cls: linux('sched_cls', LINUX_SCHED_CLS.context, TC_CLS_ACT_HELPERS),
  sched_act: linux('sched_act', LINUX_SCHED_CLS.context, TC_CLS_ACT_HELPERS),
  cgroup_skb: linux('cgroup_skb', skbContext, SKB_HELPERS, [0n, 1n]),
  sk_skb: linux('sk_skb', skbContext, new Map([...TC_HELPERS, rule('sk_redirect_map', ['ptr_to_ctx', 'const_map_ptr', 'anything', 'anything'])])),
  lwt_in: linux('lwt_in', skbContext, SKB_HELPERS),
  lwt_out: linux('lwt_out', skbContext, SKB_HELPERS),
  lwt_xmit: linux('lwt_xmit', skbContext, SKB_HELPERS),
  lwt_seg6local: linux('lwt_seg6local', skbContext, SKB_HELPERS),
  flow_dissector: linux('flow_dissector', skbContext, SKB_HELPERS),
  kprobe: linux('kprobe', scalars(X86_64_PT_REGS), TRACING_HELPERS),
  tracepoint: linux('tracepoint', scalars(512), TRACING_HELPERS),
  raw_tracepoint: linux('raw_tracepoint', scalars(12 * 8), TRACING_HELPERS),
  perf_event: linux('perf_event', scalars(X86_64_PT_REGS + 16), TRACING_HELPERS),
  cgroup_sock_addr: linux('cgroup_sock_addr', contextOf(LINUX_BPF_SOCK_ADDR, ['user_ip4', 'user_ip6', 'user_port', 'msg_src_ip4', 'msg_src_ip6']), SOCKET_HELPERS, [0n, 1n]),
  // struct bpf_sock: bound_dev_if, family, type, protocol, mark, priority… (u32 fields).
  cgroup_sock: linux('cgroup_sock', { size: 80, fields: [{ offset: 0, size: 80, kind: 'scalar', readOnly: true }] }, SOCKET_HELPERS, [0n, 1n]),
  // struct bpf_sock_ops: op, args/reply union, family, addresses, ports, TCP state (u32 fields).
  sock_ops: linux('sock_ops', { size: 192, fields: [{ offset: 0, size: 4, kind: 'scalar', readOnly: true }, { offset: 4, size: 16, kind: 'scalar', readOnly: false }, { offset: 20, size: 172, kind: 'scalar', readOnly: true }] }, SOCKET_HELPERS),
};

/**
 * ebpf-for-windows helpers under its own ids: those with a Linux twin take its prototype; the rest
 * take the prototype of their implementation (src/helpers/efw-helpers.ts), the one source of what
 * each argument is (ebpf-for-windows declares every size of its memory and string helpers "may be
 * zero").
 */
function efwHelpers(ownHelpers: readonly { id: number; name: string }[], programType: string): ReadonlyMap<number, HelperRule> {
  const linuxRules = new Map<number, HelperRule>([...XDP_HELPERS, ...SKB_HELPERS, ...TRACING_HELPERS, ...SOCKET_HELPERS]);
  const out = new Map<number, HelperRule>();
  for (const h of [...EFW_HELPERS, ...ownHelpers]) {
    const linuxId = efwHelperToLinux(h.id, programType);
    const twin = linuxId === undefined ? undefined : linuxRules.get(linuxId);
    const count = /^trace_printk([2-5])$/.exec(h.name);
    if (count !== null && twin !== undefined) {
      // trace_printk2..5: the format and its size, then 0-3 numbers. ebpf-for-windows' verifier
      // does not read the format; its helper refuses (-1) a format that does not match its
      // arguments, and has no %s: it never reads memory the format names.
      out.set(h.id, { name: h.name, args: twin.args.slice(0, Number(count[1])).map((a, i) => (i < 2 ? a : 'anything')), ret: 'integer' });
      continue;
    }
    if (twin !== undefined) {
      out.set(h.id, { ...twin, name: h.name });
      continue;
    }
    const impl = EFW_ONLY_HELPERS.find((x) => x.name === h.name);
    if (impl === undefined) continue;
    out.set(h.id, { name: h.name, args: impl.prototype.args as HelperRule['args'], ret: 'integer', ...(EFW_HELPER_WRITES[h.name] === undefined ? {} : { writes: EFW_HELPER_WRITES[h.name] }) });
  }
  return out;
}

/** What the ebpf-for-windows helpers that write a buffer write on every outcome (HelperRule.writes). */
const EFW_HELPER_WRITES: Readonly<Record<string, HelperRule['writes']>> = {
  // memcpy_s and memmove_s copy src_size (r4) bytes, or fail writing nothing when it exceeds dst_size (r2).
  memcpy_s: { size: 4, ifAtMost: 2 },
  memmove_s: { size: 4, ifAtMost: 2 },
  // strncpy_s may fail (source too long) and writes only up to the source's NUL.
  strncpy_s: 'nothing',
  // It answers -1 here, writing nothing (no network context).
  sock_addr_get_network_context: 'nothing',
};

/**
 * The helpers every program type of an ABI may call, with their rules: for ebpf-for-windows its
 * global helpers (ids 1-34), for Linux the portable set; the built-in C functions in both. An
 * extension's program type starts from these (src/extension).
 */
export function commonHelperRules(abi: Abi): ReadonlyMap<number, HelperRule> {
  return withBuiltins(abi === 'efw' ? efwHelpers([], '') : PORTABLE_HELPERS);
}

/** Every field of a layout (contextOf keeps its packet pointers read-only whatever this says). */
const scalarFields = (layout: ContextLayout): string[] => layout.fields.map((f) => f.name);

const efw = (name: string, context: Context, helpers: ReadonlyMap<number, HelperRule>, returnRange?: readonly [bigint, bigint]): ProgramTypeRules => ({
  name: `efw-${name}`,
  context,
  helpers: withBuiltins(helpers),
  returnRange,
  checkReturn: true,
});

const EFW_RULES: Readonly<Record<string, ProgramTypeRules>> = {
  // No return-value range (ebpf-for-windows checks none): the XDP hooks drop on a value that is
  // not XDP_PASS (1), XDP_DROP (2) or XDP_TX (3), as they do on a fault.
  xdp: efw('xdp', contextOf(EFW_XDP_MD), efwHelpers(EFW_XDP_HELPERS, 'XDP')),
  // ebpf-for-windows checks no return value of these types, and lets programs store to any field
  // of their contexts but the app id pointers: what a hook does with other values and with
  // stores is its own rule (bind.ts, sock-addr.ts, sockops.ts say).
  bind: efw('bind', contextOf(EFW_BIND_MD, scalarFields(EFW_BIND_MD)), efwHelpers([], 'BIND')),
  cgroup_sock_addr: efw('sock_addr', contextOf(EFW_BPF_SOCK_ADDR, scalarFields(EFW_BPF_SOCK_ADDR)), efwHelpers(EFW_SOCK_ADDR_HELPERS, 'CGROUP_SOCK_ADDR')),
  sock_ops: efw('sockops', contextOf(EFW_BPF_SOCK_OPS, scalarFields(EFW_BPF_SOCK_OPS)), efwHelpers(EFW_SOCK_OPS_HELPERS, 'SOCK_OPS')),
};

// ebpf-ts' own rules, registered as any extension's are.
registerExtension({
  name: 'ebpf-ts verifier rules',
  programTypes: [...new Set([...Object.keys(LINUX_RULES), ...Object.keys(EFW_RULES)])].map((name) => ({
    name,
    rules: { ...(LINUX_RULES[name] === undefined ? {} : { linux: LINUX_RULES[name] }), ...(EFW_RULES[name] === undefined ? {} : { efw: EFW_RULES[name] }) },
  })),
});

const merged = new Map<string, ProgramTypeRules | undefined>();
onRegistration(() => merged.clear());

/**
 * The verifier's rules for a program type, or undefined when none are registered: the type's
 * own, with the registered helpers that bring a rule of their own (an extension's helpers for
 * this type) added under their ids.
 */
export function verifierRules(programType: string, abi: Abi): ProgramTypeRules | undefined {
  const key = `${abi}:${programType}`;
  if (merged.has(key)) return merged.get(key);
  const base = registeredRules(programType, abi);
  let rules = base;
  if (base !== undefined) {
    const extra = helpersFor(abi, programType).filter((h) => h.definition.rule !== undefined);
    if (extra.length > 0) {
      const helpers = new Map(base.helpers);
      for (const { id, definition } of extra) helpers.set(id, { ...(definition.rule as Omit<HelperRule, 'name'>), name: definition.name });
      rules = { ...base, helpers };
    }
  }
  merged.set(key, rules);
  return rules;
}

/** Program types with rules, per ABI. */
export function verifiableTypes(abi: Abi): string[] {
  return typesWithRules(abi);
}
