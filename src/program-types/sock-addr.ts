// sock_addr hooks (cgroup/connect4|6, cgroup/recv_accept4|6, and Linux's cgroup/bind4|6): the
// program sees one socket operation's address and may let it proceed or reject it; a Linux
// connect or bind program may also rewrite the address and port (user_ip4/6, user_port), and the
// hook honours what it wrote.
//   ebpf-for-windows bpf_sock_addr_t: returns BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT (1) or _HARD (2)
//     to proceed; REJECT (0) and any other value reject.
//   Linux struct bpf_sock_addr: returns 1 to proceed, 0 to reject.
// A program that faults rejects the operation (fail closed), and the fault is reported.
import { EFW_SOCK_ADDR_VERDICTS, LINUX_SOCK_ADDR_VERDICTS } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import type { LoadedProgram } from '../runtime/program.js';
import { addressFamily, addressOf, addressText, checkPort, HookContext, IPPROTO, SOCK_TYPE, type SocketEndpoint, type Transport } from './socket-context.js';

export interface SockAddrEvent {
  readonly family: 4 | 6;
  readonly protocol: Transport;
  /** user_ip/user_port: where a connect goes, who an accepted connection is from, what a bind takes. */
  readonly address: SocketEndpoint;
  /** msg_src_ip/port, where the ABI has them: the source of the operation (the peer of an accepted connection). */
  readonly source?: SocketEndpoint;
  /** The socket's cookie (bpf_get_socket_cookie); default 0. */
  readonly cookie?: bigint;
}

export interface SockAddrOutcome {
  readonly proceed: boolean;
  readonly returnValue: bigint;
  /** The return value's name (BPF_SOCK_ADDR_VERDICT_REJECT …), or why there is none. */
  readonly verdict: string;
  /** The address and port as the program left them. */
  readonly address: SocketEndpoint;
  readonly rewritten: boolean;
  readonly fault?: Error;
}

/** Field offsets of the two contexts. */
const LAYOUT = {
  efw: { family: 0, srcIp: 4, srcPort: 20, userIp: 24, userPort: 40, protocol: 44 },
  linux: { userFamily: 0, userIp4: 4, userIp: 8, userPort: 24, family: 28, type: 32, protocol: 36, srcIp4: 40, srcIp: 44 },
} as const;

export function sockAddrReturnName(value: bigint, abi: Abi): string | undefined {
  const table = abi === 'efw' ? EFW_SOCK_ADDR_VERDICTS : LINUX_SOCK_ADDR_VERDICTS;
  const names = Object.entries(table).filter(([, v]) => BigInt(v) === value).map(([k]) => k);
  // PROCEED is the older name of PROCEED_SOFT: name the current one.
  return names.find((n) => n !== 'BPF_SOCK_ADDR_VERDICT_PROCEED') ?? names[0];
}

function proceeds(value: bigint, abi: Abi): boolean {
  return abi === 'efw' ? value === 1n || value === 2n : value === 1n;
}

/** Runs a sock_addr program on socket operations, one context reused for all of them. */
export class SockAddrHook {
  private readonly context: HookContext;

  constructor(readonly program: LoadedProgram) {
    this.context = new HookContext(program, 'cgroup_sock_addr');
  }

  run(event: SockAddrEvent): SockAddrOutcome {
    const abi = this.program.abi;
    const { bytes, view, at } = this.context.begin();
    const ip = addressOf(event.address.address, event.family);
    const port = checkPort(event.address.port);
    const source = event.source === undefined ? undefined : { ip: addressOf(event.source.address, event.family), port: checkPort(event.source.port) };
    let ipAt: number;
    let portAt: number;
    if (abi === 'efw') {
      const l = LAYOUT.efw;
      view.setUint32(at + l.family, addressFamily(abi, event.family), true);
      ipAt = at + l.userIp;
      portAt = at + l.userPort;
      view.setUint32(at + l.protocol, IPPROTO[event.protocol], true);
      if (source !== undefined) {
        bytes.set(source.ip, at + l.srcIp);
        view.setUint16(at + l.srcPort, source.port, false);
      }
    } else {
      const l = LAYOUT.linux;
      const family = addressFamily(abi, event.family);
      view.setUint32(at + l.userFamily, family, true);
      view.setUint32(at + l.family, family, true);
      view.setUint32(at + l.type, SOCK_TYPE[event.protocol], true);
      view.setUint32(at + l.protocol, IPPROTO[event.protocol], true);
      ipAt = at + (event.family === 4 ? l.userIp4 : l.userIp);
      // user_port is a __u32 whose first two bytes are the port in network order.
      portAt = at + l.userPort;
      if (source !== undefined) bytes.set(source.ip, at + (event.family === 4 ? l.srcIp4 : l.srcIp));
    }
    bytes.set(ip, ipAt);
    view.setUint16(portAt, port, false);

    const { value, fault } = this.context.run({ cookie: event.cookie });
    // Read back through fresh views: a helper may have grown the memory.
    const after = this.program.context.memory;
    const outIp = after.bytes.slice(ipAt, ipAt + ip.length);
    const outPort = after.view.getUint16(portAt, false);
    const address = { address: addressText(outIp), port: outPort };
    const rewritten = outPort !== port || outIp.some((b, i) => b !== ip[i]);
    if (fault !== undefined) return { proceed: false, returnValue: value, verdict: `fault: ${fault.message}`, address, rewritten, fault };
    return { proceed: proceeds(value, abi), returnValue: value, verdict: sockAddrReturnName(value, abi) ?? `${value} (rejects)`, address, rewritten };
  }
}
