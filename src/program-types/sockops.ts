// sockops hooks: connection events with their flow tuple (established actively or passively, and
// closed). The program may count or log them (maps, ring buffers); its return value changes
// nothing here, and a fault is reported and otherwise ignored (the connection is not the
// program's to stop).
//   ebpf-for-windows bpf_sock_ops_t: op ACTIVE_ESTABLISHED (0), PASSIVE_ESTABLISHED (1),
//     CONNECTION_DELETED (2); ports in network order in their u32's first two bytes.
//   Linux struct bpf_sock_ops: op ACTIVE_ESTABLISHED_CB (4), PASSIVE_ESTABLISHED_CB (5), STATE_CB
//     (10, args[1] = the new state, BPF_TCP_CLOSE 7, for a close); remote_port in network order in
//     the u32's upper half (programs read it with bpf_ntohl), local_port in host order.
import { EFW_SOCK_OPS_OPS, LINUX_SOCK_OPS_OPS } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import type { HelperImplementation } from '../helpers/implementation.js';
import type { LoadedProgram } from '../runtime/program.js';
import { rawProgramType } from './raw.js';
import type { ProgramType } from './types.js';
import { addressFamily, addressOf, checkPort, HookContext, IPPROTO, type SocketEndpoint, type Transport } from './socket-context.js';

export type SockOpsEvent = 'active_established' | 'passive_established' | 'closed';

export interface SockOpsFlow {
  readonly event: SockOpsEvent;
  readonly family: 4 | 6;
  readonly protocol: Transport;
  readonly local: SocketEndpoint;
  readonly remote: SocketEndpoint;
  /** The connection's socket cookie (bpf_get_socket_cookie, ebpf-for-windows' flow id); default 0. */
  readonly cookie?: bigint;
}

export interface SockOpsOutcome {
  readonly returnValue: bigint;
  readonly fault?: Error;
}

/** Linux's BPF_TCP_CLOSE, the new state a STATE_CB reports for a closed connection. */
const BPF_TCP_CLOSE = 7;

const OPS: Readonly<Record<Abi, Readonly<Record<SockOpsEvent, number>>>> = {
  efw: {
    active_established: EFW_SOCK_OPS_OPS.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB,
    passive_established: EFW_SOCK_OPS_OPS.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB,
    closed: EFW_SOCK_OPS_OPS.BPF_SOCK_OPS_CONNECTION_DELETED_CB,
  },
  linux: {
    active_established: LINUX_SOCK_OPS_OPS.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB,
    passive_established: LINUX_SOCK_OPS_OPS.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB,
    closed: LINUX_SOCK_OPS_OPS.BPF_SOCK_OPS_STATE_CB,
  },
};

const EFW = { op: 0, family: 4, localIp: 8, localPort: 24, remoteIp: 28, remotePort: 44, protocol: 48 } as const;
const LINUX = { op: 0, args: 4, family: 20, remoteIp4: 24, localIp4: 28, remoteIp6: 32, localIp6: 48, remotePort: 64, localPort: 68, isFullsock: 72 } as const;

/**
 * bpf_sock_ops_cb_flags_set: a Linux program asks for the callbacks it wants (STATE_CB to hear of
 * the close). This hook reports every event to every program, so every flag is granted: 0.
 */
const SOCK_OPS_HELPERS: readonly HelperImplementation[] = [
  { name: 'sock_ops_cb_flags_set', prototype: { ret: 'integer', args: ['ptr_to_ctx', 'anything'] }, make: () => () => 0 },
];

/** Test runs take the context as given (plain numbers); the hook fills it from events. */
export const sockOpsProgramType: ProgramType = { ...rawProgramType('sock_ops'), helpers: () => SOCK_OPS_HELPERS };

/** Runs a sockops program on connection events, one context reused for all. */
export class SockOpsHook {
  private readonly context: HookContext;

  constructor(readonly program: LoadedProgram) {
    this.context = new HookContext(program, 'sock_ops');
  }

  run(flow: SockOpsFlow): SockOpsOutcome {
    const abi = this.program.abi;
    const { bytes, view, at } = this.context.begin();
    const local = addressOf(flow.local.address, flow.family);
    const remote = addressOf(flow.remote.address, flow.family);
    const localPort = checkPort(flow.local.port);
    const remotePort = checkPort(flow.remote.port);
    view.setUint32(at, OPS[abi][flow.event], true);
    if (abi === 'efw') {
      view.setUint32(at + EFW.family, addressFamily(abi, flow.family), true);
      bytes.set(local, at + EFW.localIp);
      view.setUint16(at + EFW.localPort, localPort, false);
      bytes.set(remote, at + EFW.remoteIp);
      view.setUint16(at + EFW.remotePort, remotePort, false);
      bytes[at + EFW.protocol] = IPPROTO[flow.protocol];
    } else {
      if (flow.event === 'closed') view.setUint32(at + LINUX.args + 4, BPF_TCP_CLOSE, true);
      view.setUint32(at + LINUX.family, addressFamily(abi, flow.family), true);
      bytes.set(local, at + (flow.family === 4 ? LINUX.localIp4 : LINUX.localIp6));
      bytes.set(remote, at + (flow.family === 4 ? LINUX.remoteIp4 : LINUX.remoteIp6));
      view.setUint16(at + LINUX.remotePort + 2, remotePort, false);
      view.setUint32(at + LINUX.localPort, localPort, true);
      view.setUint32(at + LINUX.isFullsock, 1, true);
    }
    const { value, fault } = this.context.run({ cookie: flow.cookie });
    return fault === undefined ? { returnValue: value } : { returnValue: value, fault };
  }
}
