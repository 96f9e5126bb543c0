// Socket hooks for a Node application (DESIGN.md, "Hooks for applications"): bind, connect,
// accept and connection events of this process, offered as attach points, with the programs
// attached to them run on every operation before it takes effect.
//
// Every socket API of Node ends in a few public funnels, and those are what this wraps, once:
//   net.Socket.prototype.connect   every TCP client: net, http/https agents, tls, fetch (undici)
//   net.Server.prototype.listen    every TCP server: net, http, https, tls
//   net.Server.prototype.emit      'connection': every accepted connection, before the app sees it
//   dgram.Socket.prototype.bind / connect   UDP
// With no program attached, each costs one array-length test and calls straight through.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import { BindHook, SockAddrHook, SockOpsHook, type SocketEndpoint, type Transport } from '../program-types/index.js';
import type { LoadedProgram } from '../runtime/program.js';
import type { AttachPointProvider, HostLink } from '../service/hook-host.js';

type SockAddrKind = 'connect4' | 'connect6' | 'recv_accept4' | 'recv_accept6' | 'bind4' | 'bind6';
const SOCK_ADDR_KINDS: readonly SockAddrKind[] = ['connect4', 'connect6', 'recv_accept4', 'recv_accept6', 'bind4', 'bind6'];

/** What is attached in this process, per hook. */
const attached = {
  sockAddr: Object.fromEntries(SOCK_ADDR_KINDS.map((k) => [k, [] as SockAddrHook[]])) as Record<SockAddrKind, SockAddrHook[]>,
  bind: [] as BindHook[],
  sockops: [] as SockOpsHook[],
};

function link<T>(list: T[], hook: T): HostLink {
  list.push(hook);
  return {
    detach() {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    },
  };
}

/** The attach points of this process, named `<host>/<hook>` (connect4, bind, sockops …). */
export function socketAttachPoints(host: string): AttachPointProvider[] {
  install();
  return [
    ...SOCK_ADDR_KINDS.map((kind): AttachPointProvider => ({
      point: { type: 'cgroup_sock_addr', name: `${host}/${kind}`, attach: kind },
      attach: (program: LoadedProgram) => link(attached.sockAddr[kind], new SockAddrHook(program)),
    })),
    { point: { type: 'bind', name: `${host}/bind` }, attach: (program) => link(attached.bind, new BindHook(program)) },
    { point: { type: 'sock_ops', name: `${host}/sockops` }, attach: (program) => link(attached.sockops, new SockOpsHook(program)) },
  ];
}

// ---- decisions ----

/** An error as the OS gives it (code, errno, syscall, address, port), saying who refused ("by eBPF program X"). */
function osError(code: 'EPERM' | 'EACCES', syscall: string, where: SocketEndpoint, by: string): NodeJS.ErrnoException & { address: string; port: number } {
  const text = code === 'EACCES' ? 'permission denied' : 'operation not permitted';
  const e = new Error(`${syscall} ${code}: ${text} ${where.address}:${where.port} (${by})`) as NodeJS.ErrnoException & { address: string; port: number };
  e.code = code;
  e.errno = -(os.constants.errno[code] ?? 1);
  e.syscall = syscall;
  e.address = where.address;
  e.port = where.port;
  return e;
}

/** An address in the family of the operation (an IPv4 peer of an IPv6 socket is v4-mapped). */
function addressIn(address: string, family: 4 | 6): string {
  const p = plain(address);
  return p.family === family ? p.address : family === 6 ? `::ffff:${p.address}` : p.address;
}

/** A v4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it maps. */
function plain(address: string): { address: string; family: 4 | 6 } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m !== null) return { address: m[1], family: 4 };
  return { address, family: net.isIPv6(address) ? 6 : 4 };
}

/**
 * Each socket's cookie (bpf_get_socket_cookie; ebpf-for-windows' flow id in sockops): a number
 * given the first time a hook sees the socket, the same for all its events, never reused while
 * the process lives (as Linux's cookies are never reused while the kernel runs).
 */
const cookies = new WeakMap<object, bigint>();
let lastCookie = 0n;
function cookieOf(socket: object): bigint {
  let cookie = cookies.get(socket);
  if (cookie === undefined) {
    cookie = ++lastCookie;
    cookies.set(socket, cookie);
  }
  return cookie;
}

interface Decision {
  readonly allowed: boolean;
  /** Who refused, as the error says it. */
  readonly by?: string;
  readonly address: SocketEndpoint;
}

/** A hook that cannot judge an operation (an address it cannot read, say) refuses it: policies fail closed. */
const hookFailed = (e: unknown): string => `the eBPF hook could not judge it: ${e instanceof Error ? e.message : String(e)}`;

const faultsNoted = new WeakSet<object>();

/**
 * A program that faulted at run time (its instruction limit, a helper that failed): its hook
 * applies the fault verdict (README, "Policing a Node app": the operation is refused, a sockops
 * event is left out). The application learns it from the error; whoever runs it, once per attached
 * program, from stderr. Returns who refused, as the error says it.
 */
function faulted(hook: { readonly program: { readonly name: string } }, fault: Error, verdict: string): string {
  if (!faultsNoted.has(hook)) {
    faultsNoted.add(hook);
    process.stderr.write(`ebpf-ts: eBPF program ${hook.program.name} faulted (${fault.message}); ${verdict}\n`);
  }
  return `eBPF program ${hook.program.name} faulted: ${fault.message}`;
}

/** What a sock_addr hook does with an operation its program faulted on, as stderr says it. */
const FAULT_VERDICT = { connect: 'connects it faults on fail with EPERM', recv_accept: 'connections it faults on are closed', bind: 'binds it faults on fail with EPERM' } as const;

/** A port Node would accept; anything else goes to Node, which raises its own error for it. */
const validPort = (port: unknown): port is number => typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535;

/**
 * Runs every program of a sock_addr hook: all must let the operation proceed; rewrites chain. `to`
 * is the destination (user_ip/user_port): where a connect goes, the local end of an accepted
 * connection, the address a bind takes; `from` the source (msg_src), where there is one: the peer
 * of an accepted connection.
 */
function decide(kind: 'connect' | 'recv_accept' | 'bind', to: SocketEndpoint, protocol: Transport, from: SocketEndpoint | undefined, socket: object): Decision {
  try {
    const cookie = cookieOf(socket);
    const { address, family } = plain(to.address);
    const hooks = attached.sockAddr[`${kind}${family}` as SockAddrKind];
    let current: SocketEndpoint = { address, port: to.port };
    const source = from === undefined ? undefined : { address: addressIn(from.address, family), port: from.port };
    for (const hook of hooks) {
      const r = hook.run({ family, protocol, address: current, cookie, ...(source === undefined ? {} : { source }) });
      if (r.fault !== undefined) return { allowed: false, by: faulted(hook, r.fault, FAULT_VERDICT[kind]), address: current };
      if (!r.proceed) return { allowed: false, by: `by eBPF program ${hook.program.name}`, address: current };
      // ebpf-for-windows acts on what a connect program writes (a redirect) and ignores what a bind
      // program writes; Linux honours both.
      if (kind !== 'bind' || hook.program.abi === 'linux') current = r.address;
    }
    return { allowed: true, address: current };
  } catch (e) {
    return { allowed: false, by: hookFailed(e), address: to };
  }
}

function hasSockAddr(kind: 'connect' | 'recv_accept' | 'bind'): boolean {
  return attached.sockAddr[`${kind}4`].length > 0 || attached.sockAddr[`${kind}6`].length > 0;
}

/** ebpf-for-windows bind programs: any deny denies. */
function bindDenied(to: SocketEndpoint, protocol: Transport): string | undefined {
  try {
    for (const hook of attached.bind) {
      const r = hook.run({ operation: 'bind', protocol, address: { ...to, address: plain(to.address).address }, pid: process.pid });
      if (r.fault !== undefined) return faulted(hook, r.fault, 'binds it faults on fail with EACCES');
      if (!r.permit) return `by eBPF program ${hook.program.name}`;
    }
    return undefined;
  } catch (e) {
    return hookFailed(e);
  }
}

/** Bind and listen decisions, both ABIs: undefined to go ahead (at `to`, maybe rewritten), else the error. */
function decideBind(syscall: string, to: SocketEndpoint, protocol: Transport, socket: object): { error?: Error; to: SocketEndpoint } {
  const denied = bindDenied(to, protocol);
  if (denied !== undefined) {
    return { error: osError('EACCES', syscall, to, denied), to };
  }
  if (!hasSockAddr('bind')) return { to };
  const d = decide('bind', to, protocol, undefined, socket);
  if (!d.allowed) {
    // Linux fails a bind its cgroup/bind4|6 program refuses with EPERM (ebpf-for-windows' bind hook: EACCES).
    return { error: osError('EPERM', syscall, to, d.by ?? 'by eBPF'), to };
  }
  return { to: d.address };
}

/** A connection's two ends, as a socket reports them (undefined once it is destroyed). */
interface Tuple {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

/**
 * The common end of listen and UDP bind: denied (an 'error' event, as the OS would fail it), gone
 * ahead as asked, or gone ahead at the port the program chose.
 */
function policeBind<T extends { emit(event: 'error', error: Error): boolean }>(target: T, syscall: string, to: SocketEndpoint, protocol: Transport, asked: () => T, redirected: (port: number) => T): T {
  const r = decideBind(syscall, to, protocol, target);
  if (r.error !== undefined) {
    const error = r.error;
    process.nextTick(() => target.emit('error', error));
    return target;
  }
  return r.to.port === to.port ? asked() : redirected(r.to.port);
}

function sockops(event: 'active_established' | 'passive_established' | 'closed', t: Tuple, socket: net.Socket): void {
  if (attached.sockops.length === 0 || t.remoteAddress === undefined || t.localAddress === undefined) return;
  const remote = plain(t.remoteAddress);
  const local = plain(t.localAddress);
  const family = remote.family === 4 && local.family === 4 ? 4 : 6;
  const flow = { event, family, protocol: 'tcp', local: { address: local.address, port: t.localPort ?? 0 }, remote: { address: remote.address, port: t.remotePort ?? 0 }, cookie: cookieOf(socket) } as const;
  try {
    for (const hook of attached.sockops) {
      const r = hook.run(flow);
      if (r.fault !== undefined) faulted(hook, r.fault, 'events it faults on are left out');
    }
  } catch {
    // An event the hook cannot describe is not reported; the connection is not the hook's to stop.
  }
}

/** Reports a socket's establishment now and its close later, to sockops programs. */
function watch(socket: net.Socket, event: 'active_established' | 'passive_established'): void {
  // The tuple is gone once the socket is closed: keep it from now.
  const tuple: Tuple = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort };
  sockops(event, tuple, socket);
  socket.once('close', () => sockops('closed', tuple, socket));
}

// ---- the funnels ----

let installed = false;

/** The original functions, called with the forms they take (their overloads do not matter here). */
type Loose = (this: unknown, ...args: unknown[]) => unknown;
type LookupCallback = (e: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
type Lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

type ConnectArgs = [options: net.NetConnectOpts & { lookup?: typeof dns.lookup }, callback?: () => void];

/** net.Socket#connect's forms: (options[, cb]), (port[, host][, cb]), (path[, cb]), or Node's own normalised array. */
function connectArgs(args: unknown[]): ConnectArgs {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  const cb = first.find((a) => typeof a === 'function') as (() => void) | undefined;
  const [a0, a1] = first;
  if (typeof a0 === 'object' && a0 !== null) return [a0 as ConnectArgs[0], cb];
  if (typeof a0 === 'string' && !/^\d+$/.test(a0)) return [{ path: a0 }, cb];
  return [{ port: Number(a0), ...(typeof a1 === 'string' ? { host: a1 } : {}) }, cb];
}

function install(): void {
  if (installed) return;
  installed = true;

  const connect = net.Socket.prototype.connect as unknown as Loose;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]): net.Socket {
    const watching = attached.sockops.length > 0;
    if (!hasSockAddr('connect')) {
      if (watching) this.once('connect', () => watch(this, 'active_established'));
      return connect.apply(this, args) as net.Socket;
    }
    const [options, cb] = connectArgs(args);
    if (!('port' in options) || options.port === undefined) return connect.apply(this, args) as net.Socket;
    if (watching) this.once('connect', () => watch(this, 'active_established'));
    const tcp = options as net.TcpNetConnectOpts & { lookup?: Lookup };
    const host = tcp.host ?? 'localhost';
    const port = Number(tcp.port);
    if (!validPort(port) || (tcp.port as unknown) === '') return connect.apply(this, args) as net.Socket;
    if (net.isIP(host) !== 0) {
      const d = decide('connect', { address: host, port }, 'tcp', undefined, this);
      if (!d.allowed) {
        const error = osError('EPERM', 'connect', { address: host, port }, d.by ?? 'by eBPF');
        process.nextTick(() => this.destroy(error));
        return this;
      }
      return connect.call(this, { ...tcp, host: d.address.address, port: d.address.port }, cb) as net.Socket;
    }
    // A host name: decided on the addresses it resolves to, in the lookup Node makes anyway.
    // (A rewritten address is honoured; the port is the one asked for, Node has already taken it.)
    const lookup = tcp.lookup ?? (dns.lookup as unknown as Lookup);
    const decided = (address: string): { address: string; error?: Error } => {
      const d = decide('connect', { address, port }, 'tcp', undefined, this);
      if (!d.allowed) return { address, error: osError('EPERM', 'connect', { address, port }, d.by ?? 'by eBPF') };
      return { address: d.address.address };
    };
    const policed: Lookup = (hostname, opts, callback) => {
      lookup(hostname, opts, (e, address, family) => {
        if (e !== null) return callback(e, address, family);
        if (Array.isArray(address)) {
          const results = address.map((a) => ({ ...decided(a.address), family: a.family }));
          const kept = results.filter((r) => r.error === undefined).map((r) => ({ address: r.address, family: net.isIPv6(r.address) ? 6 : 4 }));
          if (kept.length === 0) {
            return callback(results[0]?.error ?? osError('EPERM', 'connect', { address: hostname, port }, 'by eBPF'), []);
          }
          return callback(null, kept);
        }
        const r = decided(address);
        if (r.error !== undefined) {
          return callback(r.error, address, family);
        }
        return callback(null, r.address, net.isIPv6(r.address) ? 6 : 4);
      });
    };
    return connect.call(this, { ...tcp, lookup: policed }, cb) as net.Socket;
  } as typeof net.Socket.prototype.connect;

  const listen = net.Server.prototype.listen as unknown as Loose;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]): net.Server {
    if (attached.bind.length === 0 && !hasSockAddr('bind')) return listen.apply(this, args) as net.Server;
    const first = args[0];
    const options = typeof first === 'object' && first !== null ? (first as net.ListenOptions & { fd?: unknown; handle?: unknown; _handle?: unknown }) : undefined;
    // listen() and listen(cb) take any port, as listen(0) does.
    const port = options !== undefined ? (options.port ?? 0) : first === undefined || typeof first === 'function' ? 0 : typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)) ? Number(first) : undefined;
    if (!validPort(Number(port)) || options?.path !== undefined || options?.fd !== undefined || options?.handle !== undefined || options?._handle !== undefined) return listen.apply(this, args) as net.Server;
    const given = options !== undefined ? options.host : typeof args[1] === 'string' ? args[1] : undefined;
    const backlog = options === undefined && typeof args[1] === 'number' ? args[1] : options === undefined && typeof args[2] === 'number' ? args[2] : undefined;
    const cb = args.filter((a) => typeof a === 'function');
    // The same listen at `host` and `port`, in the options form (a host name resolved, a port chosen by the program).
    const at = (host: string | undefined, to: number): net.Server =>
      listen.call(this, { ...(options ?? {}), ...(backlog === undefined ? {} : { backlog }), ...(host === undefined ? {} : { host }), port: to }, ...cb) as net.Server;
    const police = (address: string, host: string | undefined): net.Server =>
      policeBind(this, 'listen', { address, port: Number(port) }, 'tcp', () => (host === given ? listen.apply(this, args) as net.Server : at(host, Number(port))), (to) => at(host, to));
    // No host: Node binds the IPv6 wildcard (dual stack) where it can, so the OS runs bind6 programs on it.
    if (given === undefined || given === '') return police(wildcard(6), given);
    if (net.isIP(given) !== 0) return police(given, given);
    // A host name: Node listens on the first address it resolves to; the decision is made on that address.
    dns.lookup(given, (e, address) => (e !== null ? listen.apply(this, args) : police(address, address)));
    return this;
  } as typeof net.Server.prototype.listen;

  const emit = net.Server.prototype.emit as unknown as Loose;
  net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'connection' || (attached.sockops.length === 0 && !hasSockAddr('recv_accept'))) return emit.call(this, event, ...args) as boolean;
    const socket = args[0] as net.Socket;
    if (hasSockAddr('recv_accept') && socket.remoteAddress !== undefined && socket.localAddress !== undefined) {
      // ebpf-for-windows' bpf_sock_addr_t names the source (msg_src: the peer) and the destination (user: this end).
      const d = decide('recv_accept', { address: socket.localAddress, port: socket.localPort ?? 0 }, 'tcp', { address: socket.remoteAddress, port: socket.remotePort ?? 0 }, socket);
      if (!d.allowed) {
        // Closed before the application sees it, as a connection the OS never handed over.
        socket.destroy();
        return false;
      }
    }
    watch(socket, 'passive_established');
    return emit.call(this, event, ...args) as boolean;
  } as typeof net.Server.prototype.emit;

  const bind = dgram.Socket.prototype.bind as unknown as Loose;
  dgram.Socket.prototype.bind = function (this: dgram.Socket, ...args: unknown[]): dgram.Socket {
    if (attached.bind.length === 0 && !hasSockAddr('bind')) return bind.apply(this, args) as dgram.Socket;
    const first = args[0];
    const options = typeof first === 'object' && first !== null ? (first as dgram.BindOptions) : undefined;
    const port = options !== undefined ? (options.port ?? 0) : typeof first === 'number' ? first : 0;
    if (!validPort(port) || options?.fd !== undefined) return bind.apply(this, args) as dgram.Socket;
    const family = udpFamily(this);
    const given = options !== undefined ? options.address : typeof args[1] === 'string' ? args[1] : undefined;
    const cb = args.find((a) => typeof a === 'function');
    const police = (address: string): dgram.Socket =>
      policeBind(this, 'bind', { address, port }, 'udp', () => (address === given || given === undefined || given === '' ? bind.apply(this, args) as dgram.Socket : bind.call(this, { ...(options ?? {}), address, port }, ...(cb === undefined ? [] : [cb])) as dgram.Socket), (to) =>
        bind.call(this, { ...(options ?? {}), address, port: to }, ...(cb === undefined ? [] : [cb])) as dgram.Socket);
    if (given === undefined || given === '') return police(wildcard(family));
    if (net.isIP(given) !== 0) return police(given);
    // A host name: decided on the address of the socket's family it resolves to, which Node then binds.
    dns.lookup(given, { family }, (e, address) => (e !== null ? bind.apply(this, args) : police(address)));
    return this;
  } as typeof dgram.Socket.prototype.bind;

  const udpConnect = dgram.Socket.prototype.connect as unknown as Loose;
  dgram.Socket.prototype.connect = function (this: dgram.Socket, port: number, ...rest: unknown[]): void {
    const given = typeof rest[0] === 'string' ? rest[0] : undefined;
    const cb = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
    if (!hasSockAddr('connect') || !validPort(port)) {
      udpConnect.call(this, port, ...rest);
      return;
    }
    const police = (address: string): void => {
      const d = decide('connect', { address, port }, 'udp', undefined, this);
      if (!d.allowed) {
        const error = osError('EPERM', 'connect', { address, port }, d.by ?? 'by eBPF');
        // As dgram reports a failed connect: to the callback when there is one, else as 'error'.
        process.nextTick(() => (cb !== undefined ? (cb as (e: Error) => void)(error) : this.emit('error', error)));
        return;
      }
      udpConnect.call(this, d.address.port, d.address.address, ...(cb === undefined ? [] : [cb]));
    };
    const family = udpFamily(this);
    // No address: dgram connects to the loopback address of the socket's family.
    if (given === undefined || given === '') return police(family === 6 ? '::1' : '127.0.0.1');
    if (net.isIP(given) !== 0) return police(given);
    // A host name: decided on the address of the socket's family it resolves to, which dgram then connects to.
    dns.lookup(given, { family }, (e, address) => (e !== null ? udpConnect.call(this, port, ...rest) : police(address)));
  } as typeof dgram.Socket.prototype.connect;
}

/** The address family of a UDP socket. */
const udpFamily = (socket: dgram.Socket): 4 | 6 => ((socket as unknown as { type: string }).type === 'udp6' ? 6 : 4);

let ipv6: boolean | undefined;

/**
 * The wildcard address Node binds when none is given: a TCP server takes the IPv6 one (dual stack)
 * when the host has IPv6 and falls back to IPv4 otherwise; a UDP socket, that of its family.
 */
function wildcard(family: 4 | 6): string {
  ipv6 ??= Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' || (i.family as unknown) === 6) === true);
  return family === 6 && ipv6 ? '::' : '0.0.0.0';
}
