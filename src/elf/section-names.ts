// Section name conventions: which program type a code section holds (libbpf's SEC() names and
// ebpf-for-windows' ones). Longest matching prefix wins. ebpf-ts' own conventions are registered
// in the extension registry like any extension's (src/extension/registry.ts), and looked up there.
import { registerExtension, registeredSectionRules, type SectionRule, type TypedSectionRule } from '../extension/registry.js';

const RULES: readonly TypedSectionRule[] = [
  { prefix: 'socket', type: 'socket_filter' },
  { prefix: 'sk_reuseport', type: 'sk_reuseport' },
  { prefix: 'kprobe/', type: 'kprobe', target: true },
  { prefix: 'kretprobe/', type: 'kprobe', target: true, attach: 'kretprobe' },
  { prefix: 'uprobe', type: 'kprobe', target: true, attach: 'uprobe' },
  { prefix: 'uretprobe', type: 'kprobe', target: true, attach: 'uretprobe' },
  { prefix: 'ksyscall/', type: 'kprobe', target: true },
  { prefix: 'kprobe.multi/', type: 'kprobe', target: true },
  { prefix: 'tc', type: 'sched_cls' },
  { prefix: 'classifier', type: 'sched_cls' },
  { prefix: 'action', type: 'sched_act' },
  { prefix: 'tracepoint/', type: 'tracepoint', target: true },
  { prefix: 'tp/', type: 'tracepoint', target: true },
  { prefix: 'raw_tracepoint/', type: 'raw_tracepoint', target: true },
  { prefix: 'raw_tp/', type: 'raw_tracepoint', target: true },
  { prefix: 'tp_btf/', type: 'tracing', target: true },
  { prefix: 'fentry/', type: 'tracing', target: true },
  { prefix: 'fexit/', type: 'tracing', target: true },
  { prefix: 'lsm/', type: 'lsm', target: true },
  { prefix: 'iter/', type: 'tracing', target: true },
  { prefix: 'xdp', type: 'xdp' },
  { prefix: 'xdp_test', type: 'xdp', efwOnly: true, attach: 'xdp_test' },
  { prefix: 'perf_event', type: 'perf_event' },
  { prefix: 'lwt_in', type: 'lwt_in' },
  { prefix: 'lwt_out', type: 'lwt_out' },
  { prefix: 'lwt_xmit', type: 'lwt_xmit' },
  { prefix: 'lwt_seg6local', type: 'lwt_seg6local' },
  { prefix: 'cgroup_skb/', type: 'cgroup_skb', target: true },
  { prefix: 'cgroup/skb', type: 'cgroup_skb' },
  { prefix: 'cgroup/sock', type: 'cgroup_sock' },
  { prefix: 'cgroup/post_bind', type: 'cgroup_sock', target: true },
  { prefix: 'cgroup/bind', type: 'cgroup_sock_addr', target: true },
  { prefix: 'cgroup/connect', type: 'cgroup_sock_addr', target: true },
  { prefix: 'cgroup/sendmsg', type: 'cgroup_sock_addr', target: true },
  { prefix: 'cgroup/recvmsg', type: 'cgroup_sock_addr', target: true },
  { prefix: 'cgroup/getpeername', type: 'cgroup_sock_addr', target: true },
  { prefix: 'cgroup/getsockname', type: 'cgroup_sock_addr', target: true },
  { prefix: 'cgroup/recv_accept', type: 'cgroup_sock_addr', target: true, efwOnly: true },
  { prefix: 'cgroup/listen', type: 'cgroup_sock_addr', target: true, efwOnly: true },
  { prefix: 'cgroup/dev', type: 'cgroup_device' },
  { prefix: 'cgroup/sysctl', type: 'cgroup_sysctl' },
  { prefix: 'cgroup/getsockopt', type: 'cgroup_sockopt' },
  { prefix: 'cgroup/setsockopt', type: 'cgroup_sockopt' },
  { prefix: 'sockops', type: 'sock_ops' },
  { prefix: 'sk_skb', type: 'sk_skb' },
  { prefix: 'sk_msg', type: 'sk_msg' },
  { prefix: 'lirc_mode2', type: 'lirc_mode2' },
  { prefix: 'flow_dissector', type: 'flow_dissector' },
  { prefix: 'sk_lookup', type: 'sk_lookup' },
  { prefix: 'syscall', type: 'syscall' },
  { prefix: 'netfilter', type: 'netfilter' },
  { prefix: 'struct_ops', type: 'struct_ops', target: true },
  { prefix: 'bind', type: 'bind', efwOnly: true, anySuffix: true },
];

// Registered as ebpf-ts' section conventions, grouped by the program type they declare.
registerExtension({
  name: 'ebpf-ts section names',
  programTypes: [...new Set(RULES.map((r) => r.type))].map((type) => ({
    name: type,
    sections: RULES.filter((r) => r.type === type).map(({ type: _type, ...rule }): SectionRule => rule),
  })),
});

export interface SectionProgramType {
  readonly type: string;
  readonly attachTo?: string;
  readonly efwOnly: boolean;
}

function matches(rule: TypedSectionRule, section: string): boolean {
  if (section === rule.prefix) return true;
  if (!section.startsWith(rule.prefix)) return false;
  // `xdp` must not swallow `xdp_test`: a prefix without a slash matches the whole name, the name
  // followed by '/' or '.', or (for rules whose suffix is the target, like cgroup/connect4) any suffix.
  return rule.prefix.endsWith('/') || /^[/.]/.test(section.slice(rule.prefix.length)) || rule.target === true || rule.anySuffix === true;
}

/** The program type a section name declares ('unspec' when no convention matches). */
export function programTypeOfSection(section: string): SectionProgramType {
  let best: TypedSectionRule | undefined;
  for (const rule of registeredSectionRules()) {
    if (matches(rule, section) && (best === undefined || rule.prefix.length > best.prefix.length)) best = rule;
  }
  if (best === undefined) return { type: 'unspec', efwOnly: false };
  let attachTo = best.attach;
  if (attachTo === undefined && best.target) {
    // cgroup/connect4 attaches to connect4; kprobe/do_sys_open to do_sys_open.
    const rest = section.startsWith('cgroup') ? section.slice(section.indexOf('/') + 1) : section.slice(best.prefix.length);
    attachTo = rest.replace(/^[/.]/, '') || undefined;
  }
  return { type: best.type, attachTo, efwOnly: best.efwOnly ?? false };
}
