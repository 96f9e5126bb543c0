// The bind hook of ebpf-for-windows (section `bind`, bind_md_t): before a socket's bind takes
// effect (and after it, and at unbind) the program sees the process, the address and port, the
// protocol and the application's id, and answers
//   BIND_PERMIT_SOFT (0) / BIND_PERMIT_HARD (3): the bind goes ahead;
//   BIND_DENY (1): it fails (the application sees EACCES);
//   BIND_REDIRECT (2): it goes ahead (bind_md_t gives the program no field to redirect with);
//   any other value denies it, as ebpf-for-windows' bind hook does (its verifier, like ours for
//   this ABI, does not check the value). Stores to the context change nothing.
// A program that faults denies the bind (fail closed). Linux has no such type: its bind hooks are
// sock_addr programs (cgroup/bind4|6, sock-addr.ts).
//
// app_id_start/app_id_end delimit the application id like a packet: they always point into a
// buffer of this hook's own, never at bytes a caller chose.
import { EFW_BIND_ACTIONS, EFW_BIND_MD, EFW_BIND_OPERATIONS } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import type { LoadedProgram } from '../runtime/program.js';
import type { LinearMemory } from '../vm/memory.js';
import { addressFamily, addressOf, checkPort, familyOf, HookContext, IPPROTO, type SocketEndpoint, type Transport } from './socket-context.js';
import { ProgramTypeError, type ProgramType } from './types.js';

/** Longest application id the hook passes (bytes); a longer one is cut. */
export const MAX_APP_ID = 1024;

export type BindOperation = 'bind' | 'post_bind' | 'unbind';

export interface BindEvent {
  readonly operation: BindOperation;
  readonly protocol: Transport;
  readonly address: SocketEndpoint;
  readonly pid: number;
  /** The application's id (ebpf-for-windows: its image path, UTF-16LE). Default empty. */
  readonly appId?: Uint8Array;
}

export interface BindOutcome {
  readonly permit: boolean;
  readonly returnValue: bigint;
  readonly verdict: string;
  readonly fault?: Error;
}

const OPERATION: Readonly<Record<BindOperation, number>> = {
  bind: EFW_BIND_OPERATIONS.BIND_OPERATION_BIND,
  post_bind: EFW_BIND_OPERATIONS.BIND_OPERATION_POST_BIND,
  unbind: EFW_BIND_OPERATIONS.BIND_OPERATION_UNBIND,
};

const field = (name: string): number => {
  const f = EFW_BIND_MD.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`bind_md_t has no ${name}`);
  return f.offset;
};
const AT = {
  appIdStart: field('app_id_start'), appIdEnd: field('app_id_end'), processId: field('process_id'), socketAddress: field('socket_address'),
  socketAddressLength: field('socket_address_length'), operation: field('operation'), protocol: field('protocol'),
};
const SOCKET_ADDRESS_SIZE = 16;

export function bindReturnName(value: bigint): string | undefined {
  // BIND_PERMIT is the older name of BIND_PERMIT_SOFT: name the current one.
  return Object.entries(EFW_BIND_ACTIONS).find(([k, v]) => BigInt(v) === value && k !== 'BIND_PERMIT')?.[0];
}

/** Points app_id_start/app_id_end of the context at `ctx` to `length` bytes at `buffer`. */
function setAppId(view: DataView, ctx: number, buffer: number, length: number): void {
  view.setBigUint64(ctx + AT.appIdStart, BigInt(buffer), true);
  view.setBigUint64(ctx + AT.appIdEnd, BigInt(buffer + length), true);
}

/** Runs a bind program on bind events, one context and app-id buffer reused for all. */
export class BindHook {
  private readonly context: HookContext;
  private readonly appId: number;

  constructor(readonly program: LoadedProgram) {
    if (program.abi !== 'efw') throw new ProgramTypeError('the bind hook runs ebpf-for-windows programs; Linux binds are policed by cgroup/bind4|6 (sock_addr) programs');
    this.context = new HookContext(program, 'bind');
    this.appId = program.context.memory.alloc(MAX_APP_ID, 8);
  }

  run(event: BindEvent): BindOutcome {
    const { bytes, view, at } = this.context.begin();
    const appId = (event.appId ?? new Uint8Array(0)).subarray(0, MAX_APP_ID);
    bytes.set(appId, this.appId);
    setAppId(view, at, this.appId, appId.length);
    view.setBigUint64(at + AT.processId, BigInt(event.pid), true);
    const family = familyOf(event.address.address);
    // A SOCKADDR as Windows lays it out: family (host order), port (network order), then the
    // address (IPv4 at 4; IPv6 after the 4-byte flow info, cut at the field's 16 bytes).
    view.setUint16(at + AT.socketAddress, addressFamily('efw', family), true);
    view.setUint16(at + AT.socketAddress + 2, checkPort(event.address.port), false);
    const ip = addressOf(event.address.address, family);
    const ipAt = family === 4 ? 4 : 8;
    bytes.set(ip.subarray(0, SOCKET_ADDRESS_SIZE - ipAt), at + AT.socketAddress + ipAt);
    bytes[at + AT.socketAddressLength] = family === 4 ? 16 : 28;
    view.setUint32(at + AT.operation, OPERATION[event.operation], true);
    bytes[at + AT.protocol] = IPPROTO[event.protocol];
    const { value, fault } = this.context.run({ pid: event.pid });
    if (fault !== undefined) return { permit: false, returnValue: value, verdict: `fault: ${fault.message}`, fault };
    const name = bindReturnName(value);
    return { permit: name !== undefined && value !== BigInt(EFW_BIND_ACTIONS.BIND_DENY), returnValue: value, verdict: name ?? `${value} (denies)` };
  }
}

/** Test runs of bind programs (`ebpf run`): the context given, with the app id pointers made real. */
export const bindProgramType: ProgramType = {
  name: 'bind',
  contextSize: () => EFW_BIND_MD.size,
  prepareRun(input, memory: LinearMemory, abi: Abi) {
    if (abi !== 'efw') throw new ProgramTypeError('bind programs are ebpf-for-windows programs');
    const ctxBytes = input.ctx ?? new Uint8Array(0);
    if (ctxBytes.length > EFW_BIND_MD.size) throw new ProgramTypeError(`a bind_md_t is ${EFW_BIND_MD.size} bytes; got ${ctxBytes.length}`);
    const appId = (input.data ?? new Uint8Array(0)).subarray(0, MAX_APP_ID);
    const ctx = memory.alloc(EFW_BIND_MD.size, 8);
    const buffer = memory.alloc(Math.max(appId.length, 1), 8);
    memory.write(ctx, ctxBytes);
    memory.write(buffer, appId);
    // Whatever the caller put there, the pointers delimit the app id the hook owns.
    setAppId(memory.view, ctx, buffer, appId.length);
    return {
      r1: ctx,
      collect: () => ({ ctx: memory.read(ctx, EFW_BIND_MD.size), data: memory.read(buffer, appId.length) }),
    };
  },
  returnName: (value) => bindReturnName(value),
};
