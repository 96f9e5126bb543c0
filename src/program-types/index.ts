// The program types ebpf-ts knows, and the registry extensions add theirs to.
import { rawProgramType } from './raw.js';
import { skbProgramType } from './skb.js';
import type { ProgramType } from './types.js';
import { registerExtension, registeredRuntimes } from '../extension/registry.js';
import { xdpProgramType } from './xdp.js';
import { bindProgramType } from './bind.js';
import { sockAddrReturnName } from './sock-addr.js';
import { sockOpsProgramType } from './sockops.js';

export * from './types.js';
export { verifierRules, verifiableTypes } from './rules.js';
// The shared helper sets and contexts, for extensions that describe program types of their own.
export { PORTABLE_HELPERS, XDP_HELPERS, SKB_HELPERS, LINUX_XDP, LINUX_SOCKET_FILTER, LINUX_CGROUP_SKB, LINUX_SCHED_CLS, EFW_XDP, contextOf, rule as linuxHelperRule } from './base-rules.js';
export { xdpProgramType, createXdpFrameSlot, XDP_ACTIONS, XDP_PACKET_HEADROOM, type XdpFrameSlot } from './xdp.js';

const SKB_TYPES = ['socket_filter', 'sched_cls', 'sched_act', 'cgroup_skb', 'sk_skb', 'lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local', 'flow_dissector'];

export class ProgramTypeRegistry {
  private readonly types = new Map<string, ProgramType>();

  constructor(types: Iterable<ProgramType> = []) {
    for (const t of types) this.register(t);
  }

  register(type: ProgramType): this {
    if (this.types.has(type.name)) throw new Error(`program type ${type.name} is already registered`);
    this.types.set(type.name, type);
    return this;
  }

  /** The type of that name; types with no module of their own run with raw contexts. */
  get(name: string): ProgramType {
    return this.types.get(name) ?? rawProgramType(name);
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  names(): string[] {
    return [...this.types.keys()];
  }
}

// ebpf-ts' own runtimes, registered as any extension's are.
registerExtension({
  name: 'ebpf-ts program types',
  programTypes: [
    xdpProgramType,
    ...SKB_TYPES.map(skbProgramType),
    bindProgramType,
    // A context of plain numbers: test runs take it as given; the hook fills it from events.
    { ...rawProgramType('cgroup_sock_addr'), returnName: sockAddrReturnName },
    sockOpsProgramType,
  ].map((runtime) => ({ name: runtime.name, runtime })),
});

/** Every registered program type's runtime (ebpf-ts' own and extensions'), for a new execution context. */
export function builtinProgramTypes(): ProgramTypeRegistry {
  return new ProgramTypeRegistry(registeredRuntimes());
}
export { attachXdpToSocket, type XdpSocketLink, type XdpSocketStats } from './xdp-socket-hook.js';
export { BindHook, bindProgramType, MAX_APP_ID, type BindEvent, type BindOperation, type BindOutcome } from './bind.js';
export { SockAddrHook, type SockAddrEvent, type SockAddrOutcome } from './sock-addr.js';
export { SockOpsHook, sockOpsProgramType, type SockOpsEvent, type SockOpsFlow, type SockOpsOutcome } from './sockops.js';
export { addressText, type SocketEndpoint, type Transport } from './socket-context.js';
