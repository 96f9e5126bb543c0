// Making a process a hook host (DESIGN.md, "Programs run where their hook is"): it connects to the
// service, offers its attach points, and from then on answers the service's host.* requests with a
// HookHost of its own: the verified programs attached to its points run here, in its own execution
// context, at native speed with no IPC per event. Closing the connection (or the process ending)
// ends its links at the service.
import type { Socket as DgramSocket } from 'node:dgram';
import { attachXdpToSocket } from '../program-types/xdp-socket-hook.js';
import type { ExecutionContext } from '../runtime/index.js';
import { ServiceClient, type ClientOptions } from './client.js';
import { HookHost, type AttachPointProvider } from './hook-host.js';

export interface HookHostOptions extends Omit<ClientOptions, 'handler' | 'role'> {
  readonly providers: readonly AttachPointProvider[];
  /** The context programs run in; default a new one. */
  readonly context?: ExecutionContext;
}

export interface ConnectedHookHost {
  readonly host: HookHost;
  readonly client: ServiceClient;
  /** The host's id and name at the service. */
  readonly id: number;
  readonly name: string;
  /** Ends the connection: the service ends this host's links. */
  close(): void;
}

/** Connects as a hook host (the admin role: a host runs what the service sends it). */
export async function connectHookHost(options: HookHostOptions): Promise<ConnectedHookHost> {
  const host = new HookHost(options.providers, options.context);
  const client = await ServiceClient.connect({ ...options, role: 'admin', handler: (op, args) => host.handle(op, args) });
  client.connection.onClose(() => host.close());
  try {
    const r = (await client.request('host.register', { points: host.points, pid: process.pid })) as { host: number; name: string };
    return { host, client, id: r.host, name: r.name, close: () => client.close() };
  } catch (e) {
    client.close();
    throw e;
  }
}

/** The XDP hook of a bound datagram socket as an attach point named `name` (e.g. "dns0"). */
export function xdpSocketAttachPoint(name: string, socket: DgramSocket): AttachPointProvider {
  return {
    point: { type: 'xdp', name },
    attach: (program) => attachXdpToSocket(program, socket),
  };
}
