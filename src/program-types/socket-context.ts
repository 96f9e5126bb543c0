// What the socket hooks (bind, sock_addr, sockops) share: addresses and ports as the two ABIs lay
// them out in a context, the address families and protocols by number, and one context region
// per hook in the program's linear memory, reused for every event (no allocation per event).
import type { Abi } from '../elf/spec.js';
import { addressBytes } from '../net/frames.js';
import type { LoadedProgram } from '../runtime/program.js';
import type { ProgramRunner } from '../vm/jit/engine.js';
import { verifierRules } from './rules.js';
import { ProgramTypeError } from './types.js';

export type Transport = 'tcp' | 'udp';

export interface SocketEndpoint {
  /** Dotted IPv4 or IPv6 text. */
  readonly address: string;
  readonly port: number;
}

export const IPPROTO: Readonly<Record<Transport, number>> = { tcp: 6, udp: 17 };
/** Linux calls a TCP socket SOCK_STREAM (1), a UDP one SOCK_DGRAM (2). */
export const SOCK_TYPE: Readonly<Record<Transport, number>> = { tcp: 1, udp: 2 };

/** AF_INET is 2 everywhere; AF_INET6 is 10 on Linux and 23 on Windows. */
export function addressFamily(abi: Abi, family: 4 | 6): number {
  return family === 4 ? 2 : abi === 'efw' ? 23 : 10;
}

export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** Address bytes in network order: 4 for IPv4, 16 for IPv6 (an IPv4 address in IPv6 context is mapped). */
export function addressOf(address: string, family: 4 | 6): Uint8Array {
  const b = addressBytes(address);
  if (family === 4) {
    if (b.length !== 4) throw new ProgramTypeError(`${address} is not an IPv4 address`);
    return b;
  }
  if (b.length === 16) return b;
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(b, 12);
  return mapped;
}

/** Dotted text of 4 or 16 address bytes (IPv6 in its plain full form, zeros compressed). */
export function addressText(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  const text = groups.join(':');
  // The longest run of zero groups becomes '::'.
  const runs = [...text.matchAll(/(^|:)0(:0)+(:|$)/g)].sort((a, b) => b[0].length - a[0].length);
  return runs.length === 0 ? text : text.replace(runs[0][0], '::');
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProgramTypeError(`port ${port} is not 0-65535`);
  return port;
}

/** One context of `type` in the program's memory, zeroed before every event. */
export class HookContext {
  readonly runner: ProgramRunner;
  readonly address: number;
  readonly size: number;

  constructor(
    readonly program: LoadedProgram,
    type: string,
  ) {
    const rules = verifierRules(type, program.abi);
    if (rules === undefined) throw new ProgramTypeError(`no ${type} hook in the ${program.abi} ABI`);
    if (program.type !== type) throw new ProgramTypeError(`${program.name} is a ${program.type} program; this hook runs ${type} programs`);
    const memory = program.context.memory;
    this.size = rules.context.size;
    this.address = memory.alloc(this.size, 8);
    this.runner = program.runner(0);
  }

  /** The context zeroed, with fresh views (the memory may have grown, and its buffer changed, since the last event). */
  begin(): { bytes: Uint8Array; view: DataView; at: number } {
    const memory = this.program.context.memory;
    const bytes = memory.bytes;
    bytes.fill(0, this.address, this.address + this.size);
    return { bytes, view: memory.view, at: this.address };
  }

  /**
   * Runs the program on the context; a fault is returned, never thrown. `socket` is what the
   * socket helpers answer during the run: the socket's cookie and the pid of its owner (default:
   * this process, where the hook runs).
   */
  run(socket: { readonly cookie?: bigint; readonly pid?: number } = {}): { value: bigint; fault?: Error } {
    const current = this.program.context.host.socket;
    current.cookie = socket.cookie ?? 0n;
    current.pidTgid = socket.pid === undefined ? this.program.context.host.pidTgid : (BigInt(socket.pid) << 32n) | BigInt(socket.pid);
    try {
      return { value: this.runner.run({ r1: this.address }) };
    } catch (e) {
      return { value: -1n, fault: e instanceof Error ? e : new Error(String(e)) };
    }
  }
}
