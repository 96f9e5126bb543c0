// ebpfsvc, the control plane (DESIGN.md, "Service and security model"): one local endpoint, the
// registry of objects, programs, maps, links and pins, verification in a verifier process, and
// placement of every object in the hook host that owns its attach point (its own context when
// there is none), or, for a program attached to every host, a copy in each host with the template
// in its own context. Requests that change the registry run one at a time; reads and map
// operations do not wait for them. Pins are saved in the state directory and restored on start.
import { existsSync, mkdirSync, chmodSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { openObject } from '../elf/index.js';
import { Connection } from './connection.js';
import { ensureToken, tokenMatches } from './credential.js';
import { HookHost, asServiceError } from './hook-host.js';
import { endpointFolderProblem } from './endpoint.js';
import { Log } from './log.js';
import { clientOps, EVERY_HOST, parseArgs, PROTOCOL_VERSION, ServiceError, type AttachPoint, type ClientOp, type ClientParsed, type HostCopy, type LinkInfo, type MapDumpResult, type MapInfo, type MapLookupResult, type ProgramInfo, type WireEntries } from './protocol.js';
import { Registry, type HostHandle, type MapRecord, type ObjectRecord, type PinRecord, type ProgramRecord } from './registry.js';
import { loadState, readObjectFile, saveObjectFile, saveState, type SavedObject, type SavedState } from './state-file.js';
import { verifyInProcess, type VerifierLimits } from './verifier-process.js';

export interface ServiceOptions {
  readonly endpoint: string;
  readonly stateDir: string;
  /** Echo the log to stderr. */
  readonly foreground?: boolean;
  readonly verifierLimits?: VerifierLimits;
  /** How often the maps of pinned objects are saved (what running programs wrote). Default 2 s. */
  readonly checkpointMs?: number;
  /** How long the service waits for a hook host's reply. Default 30 s. */
  readonly hostTimeoutMs?: number;
}

/** Operations that change something: they need the admin role. */
const ADMIN_OPS = new Set<ClientOp>(['program.add', 'program.delete', 'program.set', 'program.run', 'map.update', 'map.delete', 'pin', 'unpin', 'host.register', 'service.stop']);

import { mapTypeLabel } from '../maps/spec.js';

const samePoint = (a: AttachPoint, b: AttachPoint): boolean => a.type === b.type && a.name === b.name;

/**
 * Maps whose contents are saved and carried from host to host: not ring buffers and perf event
 * arrays (streams, read as they come), queues and stacks (no keys to dump), nor prog arrays and
 * maps of maps (their values are ids of one host's programs and maps); those start empty, or as
 * the object initialises them, wherever the object is loaded.
 */
const UNCARRIED_MAP_TYPES = new Set([3, 4, 12, 13, 22, 23, 27]);
/** Perf event arrays and ring buffers: read by taking their records. */
const STREAM_MAP_TYPES = new Set([4, 27]);
const carried = (m: MapRecord): boolean => !UNCARRIED_MAP_TYPES.has(m.type);

/** What a program attaches to: its type and, where its section names one, its attach type (connect4 …). */
interface Wanted {
  readonly type: string;
  readonly attach?: string;
}
const fits = (point: AttachPoint, wanted: Wanted): boolean => point.type === wanted.type && (point.attach === undefined || point.attach === wanted.attach);
const describeKind = (k: Wanted): string => (k.attach === undefined ? k.type : `${k.type} ${k.attach}`);
const wantedOf = (p: ProgramRecord): Wanted => ({ type: p.type, attach: p.attach });

/**
 * The program types hook hosts offer points for (DESIGN.md, "Hooks for applications"): a program
 * of one of these that names no point, host or pid is attached to every host, present and future
 * (a sock_addr program only when its section names its attach type: connect4 …). Others (sample,
 * socket_filter …) load unattached.
 */
const HOSTED_TYPES = new Set(['xdp', 'bind', 'cgroup_sock_addr', 'sock_ops']);
const everyHostFits = (k: Wanted): boolean => HOSTED_TYPES.has(k.type) && (k.type !== 'cgroup_sock_addr' || k.attach !== undefined);
const describeHost = (h: HostHandle): string => (h.pid === undefined ? h.name : `${h.name} (pid ${h.pid})`);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function endpointAnswers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = connect(endpoint);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether process `pid` runs the service, where /proc can say (Linux); elsewhere no. */
function runsService(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('daemon.js')) || (argv.some((a) => a.endsWith('main.js')) && argv.includes('service') && argv.includes('--foreground'));
  } catch {
    return false;
  }
}

export class Service {
  readonly registry = new Registry();
  readonly log: Log;
  private readonly token: string;
  private readonly local: HookHost;
  private readonly localHandle: HostHandle;
  private readonly hosts = new Map<number, HostHandle>();
  private nextHost = 1;
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  private exclusive: Promise<unknown> = Promise.resolve();
  /**
   * Per object attached to every host: its map changes and the loading of a new host's copy (from
   * the template's contents) take turns, so no change misses a copy that is being made.
   */
  private readonly mapTurns = new WeakMap<ObjectRecord, Promise<unknown>>();
  /** Last saved contents of the maps of pinned objects (what a restart restores). */
  private readonly saved = new Map<number, WireEntries>();
  private readonly objectFiles = new Map<number, string>();
  /** Saved objects that could not be restored at start: written back as they were. */
  private readonly unrestored: SavedObject[] = [];
  private lastWritten = '';
  private flushQueued: Promise<void> | undefined;
  private flushRunning: Promise<void> | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private stopping: Promise<void> | undefined;
  /** Resolves when the service has stopped (service.stop, or stop()). */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  private constructor(readonly options: ServiceOptions) {
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    this.log = new Log(join(options.stateDir, 'service.log'), options.foreground === true);
    this.token = ensureToken(options.stateDir);
    this.local = new HookHost();
    this.localHandle = { id: 0, name: 'ebpfsvc', label: 'ebpfsvc', local: true, pid: process.pid, points: this.local.points, call: (op, args) => this.local.handle(op, args) };
    this.hosts.set(0, this.localHandle);
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
  }

  static async start(options: ServiceOptions): Promise<Service> {
    const service = new Service(options);
    await service.claim();
    await service.restore();
    await service.listen();
    const every = options.checkpointMs ?? 2000;
    service.checkpointTimer = setInterval(() => void service.flush().catch((e) => service.log.error('checkpoint-failed', { error: String(e) })), every);
    service.checkpointTimer.unref();
    service.log.info('started', { pid: process.pid, endpoint: options.endpoint, stateDir: options.stateDir });
    return service;
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** One service per state directory and per endpoint; a stale socket of a crash is replaced. */
  private async claim(): Promise<void> {
    const pidFile = join(this.options.stateDir, 'service.pid');
    if (existsSync(pidFile)) {
      // "PID ENDPOINT". After a kill -9 the file stays and its pid may be reused by anything: it
      // names a running service only if that process answers at its endpoint or is a service.
      const [pidText, ...rest] = readFileSync(pidFile, 'utf8').trim().split(' ');
      const pid = Number.parseInt(pidText, 10);
      const theirs = rest.join(' ');
      if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid) && ((theirs !== '' && (await endpointAnswers(theirs))) || runsService(pid))) {
        throw new ServiceError('exists', `a service (pid ${pid}) already uses the state directory ${this.options.stateDir}`);
      }
    }
    const endpoint = this.options.endpoint;
    if (await endpointAnswers(endpoint)) throw new ServiceError('exists', `a service is already running at ${endpoint}`);
    if (process.platform !== 'win32') {
      mkdirSync(dirname(endpoint), { recursive: true, mode: 0o755 });
      const problem = endpointFolderProblem(endpoint);
      if (problem !== undefined) throw new ServiceError('invalid', `will not listen at ${endpoint}: ${problem}`);
      if (existsSync(endpoint)) {
        this.log.warn('stale-endpoint', { endpoint, why: 'nothing answers on it: left by a service that did not stop cleanly' });
        unlinkSync(endpoint);
      }
    }
    writeFileSync(pidFile, `${process.pid} ${endpoint}\n`, { mode: 0o644 });
  }

  private async listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.endpoint, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Anyone who can reach the endpoint may read; changes need the admin token on top.
    if (process.platform !== 'win32') chmodSync(this.options.endpoint, 0o666);
  }

  private accept(socket: Socket): void {
    const connection = new Connection(socket, (op, args, c) => this.handle(op, args, c), (what) => this.log.warn('bad-request', { what }));
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
  }

  // ---- requests ----

  private async handle(op: string, args: unknown, c: Connection): Promise<unknown> {
    const role = c.state.role as 'reader' | 'admin' | undefined;
    if (!Object.hasOwn(clientOps, op)) throw new ServiceError('unknown-op', `no operation '${op}'`);
    if (op === 'hello') {
      if (role !== undefined) throw new ServiceError('out-of-order', 'hello was already said on this connection');
      return this.hello(parseArgs(clientOps.hello, op, args), c);
    }
    if (role === undefined) throw new ServiceError('out-of-order', `${op} before hello: say hello with the protocol version first`);
    const o = op as ClientOp;
    if (ADMIN_OPS.has(o) && role !== 'admin') {
      throw new ServiceError('permission', `${op} needs the admin role (the token in ${join(this.options.stateDir, 'admin.token')})`);
    }
    try {
      return await this.dispatch(o, args, c);
    } catch (e) {
      throw asServiceError(e);
    }
  }

  private hello(a: ClientParsed<'hello'>, c: Connection): unknown {
    if (a.version !== PROTOCOL_VERSION) throw new ServiceError('version', `the service speaks protocol version ${PROTOCOL_VERSION}, the client ${a.version}`);
    if (a.role === 'admin' && (a.token === undefined || !tokenMatches(this.token, a.token))) {
      this.log.warn('bad-token', { client: a.client });
      throw new ServiceError('bad-token', 'the admin token is wrong');
    }
    c.state.role = a.role;
    c.state.client = a.client;
    return { version: PROTOCOL_VERSION, role: a.role, pid: process.pid };
  }

  /** Runs `body` when no other change is running: the registry changes one request at a time. */
  private serial<T>(body: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(body, body);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private async dispatch(op: ClientOp, raw: unknown, c: Connection): Promise<unknown> {
    switch (op) {
      case 'hello':
        throw new ServiceError('out-of-order', 'hello was already said');
      case 'service.status':
        parseArgs(clientOps[op], op, raw);
        return this.status();
      case 'service.stop':
        parseArgs(clientOps[op], op, raw);
        setImmediate(() => void this.stop());
        return { stopping: true };
      case 'program.add': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.serial(() => this.addProgram(a));
      }
      case 'program.delete': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.serial(() => this.deleteProgram(a.id));
      }
      case 'program.set': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.serial(() => this.setProgram(a));
      }
      case 'program.list': {
        const a = parseArgs(clientOps[op], op, raw);
        if (a.id !== undefined) this.program(a.id);
        return { programs: [...this.registry.programs.values()].filter((p) => (a.id === undefined || p.id === a.id) && (a.type === undefined || p.type === a.type) && (a.attached === 'any' || this.attached(p) === (a.attached === 'yes')) && (a.pinned === 'any' || (p.pins.size > 0) === (a.pinned === 'yes'))).map((p) => this.describeProgram(p)) };
      }
      case 'program.run': {
        const a = parseArgs(clientOps[op], op, raw);
        const p = this.program(a.id);
        return this.hostOf(this.object(p.object)).call('host.run', { program: p.id, data: a.data, repeat: a.repeat });
      }
      case 'map.list':
        parseArgs(clientOps[op], op, raw);
        return { maps: [...this.registry.maps.values()].map((m) => this.describeMap(m)) };
      case 'map.dump': {
        const a = parseArgs(clientOps[op], op, raw);
        const m = this.mapOf(a.map);
        if (STREAM_MAP_TYPES.has(m.type) && c.state.role !== 'admin') {
          throw new ServiceError('permission', `reading ${mapTypeLabel(m.type)} map ${m.id} takes its records (they are gone after): that needs the admin role`);
        }
        return this.dumpMap(m);
      }
      case 'map.lookup': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.lookupMap(this.mapOf(a.map), a.key);
      }
      case 'map.update':
      case 'map.delete': {
        const a = parseArgs(clientOps[op], op, raw) as { map: number | string; key: string; value?: string; flags?: number };
        const m = this.mapOf(a.map);
        const object = this.object(m.object);
        const args = { map: m.id, op: op === 'map.update' ? 'update' : 'delete', key: a.key, value: a.value, flags: a.flags ?? 0 };
        const { result, failed } = this.everywhere(object) ? await this.changeEverywhere(object, m, args) : { result: await this.hostOf(object).call('host.map', args), failed: undefined };
        // An acknowledged change of a map that survives restarts is on disk before the reply.
        if (this.registry.hasPins(object)) {
          await this.flush().catch((e: unknown) => {
            throw new ServiceError('internal', `the map was changed, but saving the state failed (the change may not survive a restart): ${messageOf(e)}`);
          });
        }
        if (failed !== undefined) throw failed;
        return result;
      }
      case 'link.list':
        parseArgs(clientOps[op], op, raw);
        return {
          links: [...this.registry.links.values()].map((l): LinkInfo => {
            const host = this.hosts.get(l.host);
            return { id: l.id, program: l.program, type: l.point.type, attachPoint: l.point.name, host: host?.name ?? `host ${l.host}`, hostPid: host?.pid ?? null };
          }),
        };
      case 'pin.list':
        parseArgs(clientOps[op], op, raw);
        return { pins: [...this.registry.pins.entries()].map(([path, p]) => ({ path, kind: p.kind, id: p.id })).sort((x, y) => x.path.localeCompare(y.path)) };
      case 'pin': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.serial(async () => {
          this.pin(a.kind, a.id, a.path);
          await this.flush();
          return { pinned: a.path };
        });
      }
      case 'unpin': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.serial(() => this.unpin(a.kind, a.id, a.path));
      }
      case 'host.register': {
        const a = parseArgs(clientOps[op], op, raw);
        return this.serial(() => this.registerHost(a.points, a.pid, c));
      }
      case 'attach-point.list':
        parseArgs(clientOps[op], op, raw);
        return { points: [...this.hosts.values()].flatMap((h) => h.points.map((p) => ({ ...p, host: h.name }))) };
    }
  }

  // ---- lookups ----

  private program(id: number): ProgramRecord {
    const p = this.registry.programs.get(id);
    if (p === undefined) throw new ServiceError('not-found', `no program with id ${id}`);
    return p;
  }

  private object(id: number): ObjectRecord {
    const o = this.registry.objects.get(id);
    if (o === undefined) throw new ServiceError('internal', `object ${id} is missing`);
    return o;
  }

  private mapOf(ref: number | string): MapRecord {
    if (typeof ref === 'number') {
      const m = this.registry.maps.get(ref);
      if (m === undefined) throw new ServiceError('not-found', `no map with id ${ref}`);
      return m;
    }
    const pin = this.registry.pins.get(ref);
    if (pin === undefined) throw new ServiceError('not-found', `nothing is pinned at ${ref}`);
    if (pin.kind !== 'map') throw new ServiceError('invalid', `${ref} is a pinned program, not a map`);
    return this.registry.maps.get(pin.id) as MapRecord;
  }

  private programsOf(object: ObjectRecord): ProgramRecord[] {
    return object.programs.map((id) => this.registry.programs.get(id) as ProgramRecord);
  }

  private mapsOf(object: ObjectRecord): MapRecord[] {
    return object.maps.map((id) => this.registry.maps.get(id) as MapRecord);
  }

  private hostOf(object: ObjectRecord): HostHandle {
    if (object.host === undefined) throw new ServiceError('host', `object ${object.id} has no hook host right now`);
    return object.host;
  }

  /** Whether a program of the object is attached to every host: its maps then have one copy per host. */
  private everywhere(object: ObjectRecord): boolean {
    return this.programsOf(object).some((p) => p.wildcard);
  }

  /** The hook hosts that hold a copy of an object attached to every host, in host order. */
  private copiesOf(object: ObjectRecord): HostHandle[] {
    return [...object.instances.values()].filter((h) => this.hosts.has(h.id)).sort((x, y) => x.id - y.id);
  }

  private attached(p: ProgramRecord): boolean {
    return p.wildcard || this.registry.linksOf(p.id).length > 0;
  }

  /** The offered attach point named `name` (and its host), which must run programs like `wanted`. */
  private findPoint(name: string, wanted: Wanted): { host: HostHandle; point: AttachPoint } {
    const all = [...this.hosts.values()].flatMap((host) => host.points.map((point) => ({ host, point })));
    const named = all.filter((x) => x.point.name === name);
    const typed = named.find((x) => fits(x.point, wanted));
    if (typed !== undefined) return typed;
    if (named.length > 0) throw new ServiceError('invalid', `attach point ${name} runs ${named.map((x) => describeKind(x.point)).join(', ')} programs; this program is ${describeKind(wanted)}`);
    const offered = all.map((x) => `${x.point.name} (${describeKind(x.point)}, in ${x.host.name})`);
    throw new ServiceError('not-found', `no hook host offers an attach point named ${name}; offered: ${offered.join(', ') || 'none (start a hook host first)'}`);
  }

  private describeProgram(p: ProgramRecord): ProgramInfo {
    const o = this.registry.objects.get(p.object);
    const links = this.registry.linksOf(p.id).map((l) => l.id);
    const attachPoint = p.wildcard ? { type: p.type, name: EVERY_HOST, ...(p.attach === undefined ? {} : { attach: p.attach }) } : (p.attachPoint ?? null);
    return {
      id: p.id, name: p.name, section: p.section, type: p.type, execution: p.execution, object: p.object, path: o?.path ?? null,
      pins: [...p.pins], link: links[0] ?? null, links, wildcard: p.wildcard, attachPoint, attached: this.attached(p),
      host: o?.host?.name ?? null, copies: o === undefined ? [] : this.copiesOf(o).map((h) => h.name), maps: o?.maps ?? [], instructions: p.instructions, verifiedMs: p.verifiedMs,
    };
  }

  private describeMap(m: MapRecord): MapInfo {
    const o = this.registry.objects.get(m.object);
    return {
      id: m.id, name: m.name, type: m.type, typeName: mapTypeLabel(m.type), keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, innerMapId: m.innerMapId,
      pins: [...m.pins], object: m.object, host: o?.host?.name ?? null, copies: o === undefined ? [] : this.copiesOf(o).map((h) => h.name),
    };
  }

  // ---- maps ----

  /** The entries (or records) of a map; for a wildcard program's map, the template's and each host's copy's. */
  private async dumpMap(m: MapRecord): Promise<MapDumpResult> {
    const object = this.object(m.object);
    const dump = (h: HostHandle): Promise<{ entries: WireEntries; records?: string[] }> => h.call('host.map', { map: m.id, op: 'dump' }) as Promise<{ entries: WireEntries; records?: string[] }>;
    const r = await dump(this.hostOf(object));
    const result: MapDumpResult = { map: this.describeMap(m), entries: r.entries, ...(r.records === undefined ? {} : { records: r.records }) };
    if (!this.everywhere(object)) return result;
    const stream = STREAM_MAP_TYPES.has(m.type);
    const hosts = await Promise.all(this.copiesOf(object).map(async (h) => {
      const who: HostCopy = { host: h.name, pid: h.pid ?? null };
      try {
        const x = await dump(h);
        return stream ? { ...who, records: x.records ?? [] } : { ...who, entries: x.entries };
      } catch (e) {
        return { ...who, ...(stream ? { records: [] } : { entries: [] }), error: messageOf(e) };
      }
    }));
    return { ...result, hosts };
  }

  /** A key's value; for a wildcard program's map, the template's (null when it has no such key) and each host's. */
  private async lookupMap(m: MapRecord, key: string): Promise<MapLookupResult> {
    const object = this.object(m.object);
    const lookup = async (h: HostHandle): Promise<string> => ((await h.call('host.map', { map: m.id, op: 'lookup', key })) as { value: string }).value;
    if (!this.everywhere(object)) return { value: await lookup(this.hostOf(object)) };
    const absent = (e: unknown): boolean => e instanceof ServiceError && e.code === 'not-found';
    let missing: unknown;
    const value = await lookup(this.hostOf(object)).catch((e: unknown) => {
      if (!absent(e)) throw e;
      missing = e;
      return null;
    });
    const hosts = await Promise.all(this.copiesOf(object).map(async (h) => {
      const who: HostCopy = { host: h.name, pid: h.pid ?? null };
      try {
        return { ...who, value: await lookup(h) };
      } catch (e) {
        return { ...who, value: null, ...(absent(e) ? {} : { error: messageOf(e) }) };
      }
    }));
    // No copy has the key: as for any map.
    if (value === null && hosts.every((h) => h.value === null)) throw missing;
    return { value, hosts };
  }

  /**
   * A map change of a wildcard program's object: the template first (when it says no, nothing
   * changed), then every host's copy. A host that fails is named in `failed`; the others keep the change.
   */
  private changeEverywhere(object: ObjectRecord, m: MapRecord, args: Record<string, unknown>): Promise<{ result: unknown; failed: ServiceError | undefined }> {
    return this.mapTurn(object, async () => {
      const result = await this.hostOf(object).call('host.map', args);
      const copies = this.copiesOf(object);
      const outcomes = await Promise.allSettled(copies.map((h) => h.call('host.map', args)));
      const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ host: copies[i], error: asServiceError(o.reason) }] : []));
      if (failures.length === 0) return { result, failed: undefined };
      const kept = [this.hostOf(object), ...copies.filter((h) => !failures.some((f) => f.host === h))].map(describeHost);
      const first = failures[0].error;
      const what = args.op === 'update' ? 'updated' : 'deleted from';
      const failed = new ServiceError(
        first instanceof ServiceError ? first.code : 'host',
        `map ${m.id} (${m.name}) was ${what} in ${kept.join(', ')}, which keep the change; it failed in ${failures.map((f) => `${describeHost(f.host)}: ${messageOf(f.error)}`).join('; ')}`,
      );
      this.log.warn('map-change-partial', { map: m.id, op: args.op, failed: failures.map((f) => f.host.name) });
      return { result, failed };
    });
  }

  /** Runs `body` in the object's turn for map changes and copies (see mapTurns). */
  private mapTurn<T>(object: ObjectRecord, body: () => Promise<T>): Promise<T> {
    const run = (this.mapTurns.get(object) ?? Promise.resolve()).then(body, body);
    this.mapTurns.set(object, run.catch(() => undefined));
    return run;
  }

  private status(): Record<string, unknown> {
    const r = this.registry;
    return {
      pid: process.pid, version: PROTOCOL_VERSION, endpoint: this.options.endpoint, stateDir: this.options.stateDir, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      programs: r.programs.size, maps: r.maps.size, links: r.links.size, pins: r.pins.size, clients: this.connections.size,
      hosts: [...this.hosts.values()].map((h) => ({ id: h.id, name: h.name, points: h.points })),
    };
  }

  // ---- changes ----

  private async addProgram(a: ClientParsed<'program.add'>): Promise<unknown> {
    const bytes = new Uint8Array(Buffer.from(a.object, 'base64'));
    if (bytes.length === 0) throw new ServiceError('invalid', 'the object file is empty');
    const pinned = a.pinned;
    const verdict = await verifyInProcess({ object: bytes, path: a.path, program: a.section, programType: a.type }, this.options.verifierLimits);
    if (!verdict.ok) {
      const why = verdict.refusedBy === 'process' ? verdict.message : `program ${verdict.program} (section ${verdict.section}) was refused by the verifier:\n${verdict.text}`;
      this.log.warn('program-refused', { path: a.path, section: a.section, why: why.split('\n')[0] });
      throw new ServiceError(verdict.refusedBy === 'process' && verdict.failure === 'bad-object' ? 'invalid' : 'refused', why);
    }
    // The verifier process opened this object and approved it: it is safe to open here.
    const spec = openObject(bytes, { path: a.path });
    const pinPath = a.pinPath ?? verdict.program;
    // Every pin this add makes is checked before anything loads: a refusal changes nothing.
    const pinPaths = pinned === 'none' ? [] : [pinPath, ...(pinned === 'all' ? spec.maps.map((m) => `${pinPath}/${m.name}`) : [])];
    for (const path of pinPaths) {
      const taken = this.registry.pins.get(path) ?? this.unrestoredPin(path);
      if (taken !== undefined) throw new ServiceError('exists', `${path} is already pinned (${taken.kind} ${taken.id}); give another pinpath= or pinned=none`);
    }
    const attach = spec.programs.find((q) => q.name === verdict.program)?.attachTo;
    const wanted = { type: verdict.type, attach };
    const chosen = a.host === undefined && a.pid === undefined ? undefined : { name: a.host, pid: a.pid };
    const wildcard = this.everyHostAsked(wanted, a.attachPoint, chosen);
    const target = wildcard ? undefined : this.placement(wanted, a.attachPoint, chosen);
    const object: ObjectRecord = {
      id: this.registry.allocate('object'), path: a.path, bytes, section: verdict.section, type: verdict.type, execution: a.execution,
      host: target?.host ?? this.localHandle, instances: new Map(), programs: [], maps: [],
    };
    const program: ProgramRecord = {
      id: this.registry.allocate('program'), object: object.id, name: verdict.program, section: verdict.section, type: verdict.type, execution: a.execution,
      pins: new Set(), attachPoint: target?.point, wildcard: false, instructions: verdict.report.instructions, verifiedMs: Math.round(verdict.ms * 10) / 10,
      ...(attach === undefined ? {} : { attach }),
    };
    object.programs.push(program.id);
    const maps: MapRecord[] = spec.maps.map((d) => ({ id: this.registry.allocate('map'), object: object.id, name: d.name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags, innerMapId: 0, pins: new Set() }));
    for (const m of maps) object.maps.push(m.id);
    await this.load(object, [program], maps, undefined);
    this.registry.objects.set(object.id, object);
    this.registry.programs.set(program.id, program);
    for (const m of maps) this.registry.maps.set(m.id, m);
    if (pinned !== 'none') this.pin('program', program.id, pinPath);
    if (pinned === 'all') for (const m of maps) this.pin('map', m.id, `${pinPath}/${m.name}`);
    try {
      if (target !== undefined) await this.attach(program, target.host, target.point);
      if (wildcard) await this.attachEverywhere(program, object);
    } catch (e) {
      // The add fails whole: nothing stays loaded, attached or pinned.
      await this.detach(program, true);
      for (const path of pinPaths) this.registry.pins.delete(path);
      this.registry.programs.delete(program.id);
      for (const m of maps) this.registry.maps.delete(m.id);
      this.registry.objects.delete(object.id);
      await object.host?.call('host.unload', { object: object.id }).catch(() => undefined);
      throw e;
    }
    // Always saved, pinned or not: the id counters must not hand these ids out again after a crash.
    await this.flush();
    this.log.info('program-loaded', { id: program.id, name: program.name, type: program.type, path: a.path, host: object.host?.name, attachPoint: wildcard ? EVERY_HOST : target?.point.name, verifiedMs: program.verifiedMs });
    return { ...this.describeProgram(program), verification: verdict.text };
  }

  /**
   * Whether a program like `wanted` is to be attached to every host: asked with the point `*`, or
   * by naming no point, host or pid when hook hosts offer points of its kind.
   */
  private everyHostAsked(wanted: Wanted, name: string | undefined, host: { name?: string; pid?: number } | undefined): boolean {
    if (name === EVERY_HOST) {
      if (host !== undefined) throw new ServiceError('invalid', `interface=${EVERY_HOST} is every hook host, and host= or pid= names one: give one or the other`);
      if (!everyHostFits(wanted)) throw new ServiceError('invalid', `hook hosts offer no points for ${describeKind(wanted)} programs: ${EVERY_HOST} (every host) is for xdp, bind, cgroup_sock_addr (with its attach type) and sock_ops programs`);
      return true;
    }
    return name === undefined && host === undefined && everyHostFits(wanted);
  }

  /**
   * Where a program like `wanted` goes when it is not attached to every host: the named point; else,
   * with a host (by its name or pid), that host's one point that fits; else the only point that fits
   * anywhere; else nowhere.
   */
  private placement(wanted: Wanted, name: string | undefined, host?: { name?: string; pid?: number }): { host: HostHandle; point: AttachPoint } | undefined {
    if (name !== undefined) return this.findPoint(name, wanted);
    const hosts = [...this.hosts.values()].filter((h) => host === undefined || ((host.name === undefined || h.label === host.name || h.name === host.name) && (host.pid === undefined || h.pid === host.pid)));
    const all = hosts.flatMap((h) => h.points.filter((p) => fits(p, wanted)).map((point) => ({ host: h, point })));
    if (host === undefined) return all.length === 1 ? all[0] : undefined;
    const which = [host.name === undefined ? '' : `host ${host.name}`, host.pid === undefined ? '' : `pid ${host.pid}`].filter((x) => x !== '').join(', ');
    if (hosts.length === 0) throw new ServiceError('not-found', `no hook host is ${which}; hosts: ${[...this.hosts.values()].map((h) => `${h.name}${h.pid === undefined ? '' : ` (pid ${h.pid})`}`).join(', ')}`);
    if (all.length === 1) return all[0];
    if (all.length === 0) throw new ServiceError('not-found', `${which} offers no attach point for ${describeKind(wanted)} programs`);
    throw new ServiceError('invalid', `${which} offers several points for ${describeKind(wanted)} programs: name one with interface= (${all.map((x) => x.point.name).join(', ')})`);
  }

  /** Loads an object into its host: its programs (none for pinned maps that outlived them) and maps. */
  private async load(object: ObjectRecord, programs: readonly ProgramRecord[], maps: readonly MapRecord[], contents: ReadonlyMap<number, WireEntries> | undefined): Promise<void> {
    await this.loadIn(this.hostOf(object), object, programs, maps, contents);
  }

  /** Loads an object into `host` (its own host, or a host that gets a copy): the same ids in every host. */
  private async loadIn(host: HostHandle, object: ObjectRecord, programs: readonly ProgramRecord[], maps: readonly MapRecord[], contents: ReadonlyMap<number, WireEntries> | undefined): Promise<void> {
    await host.call('host.load', {
      object: object.id,
      bytes: Buffer.from(object.bytes).toString('base64'),
      programs: programs.map((p) => ({ id: p.id, name: p.name, type: p.type, execution: p.execution })),
      maps: maps.map((m) => ({ id: m.id, name: m.name, ...(contents?.get(m.id) === undefined ? {} : { entries: contents.get(m.id) }) })),
    });
  }

  /** Attaches a program (loaded in `host`) to one of the host's points; returns the new link's id. */
  private async attach(program: ProgramRecord, host: HostHandle, point: AttachPoint): Promise<number> {
    const link = this.registry.allocate('link');
    await host.call('host.attach', { program: program.id, link, point });
    this.registry.links.set(link, { id: link, program: program.id, point, host: host.id });
    if (!program.wildcard) program.attachPoint = point;
    this.log.info('attached', { program: program.id, link, type: point.type, attachPoint: point.name, host: host.name });
    return link;
  }

  /** Attaches a program to every fitting point of every hook host present; hosts that come later are covered as they register. */
  private async attachEverywhere(program: ProgramRecord, object: ObjectRecord): Promise<void> {
    program.wildcard = true;
    program.attachPoint = undefined;
    for (const host of [...this.hosts.values()]) {
      if (!host.local) await this.cover(program, object, host);
    }
  }

  /**
   * Gives `host` a copy of a wildcard program's object (maps from the template's contents) and
   * attaches the program to each of its points that fit and are not linked yet; returns how many.
   * A failure leaves nothing of it in that host.
   */
  private async cover(program: ProgramRecord, object: ObjectRecord, host: HostHandle): Promise<number> {
    const linked = this.registry.linksOf(program.id).filter((l) => l.host === host.id);
    const points = host.points.filter((q) => fits(q, wantedOf(program)) && !linked.some((l) => samePoint(l.point, q)));
    if (points.length === 0) return 0;
    const added = !object.instances.has(host.id);
    const made: number[] = [];
    try {
      if (added) await this.addInstance(object, host);
      for (const point of points) made.push(await this.attach(program, host, point));
    } catch (e) {
      await Promise.all(made.map((id) => this.endLink(id)));
      if (added) await this.dropInstance(object, host);
      const error = asServiceError(e);
      throw new ServiceError(error instanceof ServiceError ? error.code : 'host', `attaching program ${program.id} to every hook host failed in ${describeHost(host)}: ${messageOf(error)}`);
    }
    return made.length;
  }

  /** Loads a copy of an object in `host` with the template's carried map contents, in the object's map turn. */
  private async addInstance(object: ObjectRecord, host: HostHandle): Promise<void> {
    await this.mapTurn(object, async () => {
      const contents = await this.contentsOf(object);
      await this.loadIn(host, object, this.programsOf(object), this.mapsOf(object), contents);
      object.instances.set(host.id, host);
    });
    this.log.info('copy-loaded', { object: object.id, host: host.name, why: 'attached to every host' });
  }

  /** Unloads a host's copy of an object (its links detached first). */
  private async dropInstance(object: ObjectRecord, host: HostHandle): Promise<void> {
    if (!object.instances.delete(host.id)) return;
    await host.call('host.unload', { object: object.id }).catch(() => undefined);
    this.log.info('copy-unloaded', { object: object.id, host: host.name });
  }

  /** The carried maps' contents of an object, from where it is loaded (the template for a wildcard object). */
  private async contentsOf(object: ObjectRecord): Promise<Map<number, WireEntries>> {
    const from = this.hostOf(object);
    const contents = new Map<number, WireEntries>();
    for (const m of this.mapsOf(object).filter(carried)) {
      const r = (await from.call('host.map', { map: m.id, op: 'dump' })) as { entries: WireEntries };
      contents.set(m.id, r.entries);
    }
    return contents;
  }

  private async endLink(id: number): Promise<void> {
    const link = this.registry.links.get(id);
    if (link === undefined) return;
    this.registry.links.delete(id);
    const host = this.hosts.get(link.host);
    await host?.call('host.detach', { link: id }).catch(() => undefined);
    this.log.info('detached', { program: link.program, link: id, attachPoint: link.point.name, host: host?.name });
  }

  /**
   * Ends every link of a program at once (all hosts' for a wildcard program, whose copies are then
   * unloaded: only the template stays); `forget` also forgets its point. Says whether it was attached.
   */
  private async detach(program: ProgramRecord, forget: boolean): Promise<boolean> {
    const links = this.registry.linksOf(program.id);
    const wasWildcard = program.wildcard;
    if (forget) program.attachPoint = undefined;
    program.wildcard = false;
    await Promise.all(links.map((l) => this.endLink(l.id)));
    const object = this.registry.objects.get(program.object);
    if (wasWildcard && object !== undefined && !this.everywhere(object)) await Promise.all([...object.instances.values()].map((h) => this.dropInstance(object, h)));
    return links.length > 0 || wasWildcard;
  }

  private async deleteProgram(id: number): Promise<unknown> {
    const p = this.program(id);
    const object = this.object(p.object);
    const unpinned = [...p.pins];
    for (const path of unpinned) this.registry.pins.delete(path);
    p.pins.clear();
    const detached = await this.detach(p, true);
    this.registry.programs.delete(p.id);
    object.programs.splice(object.programs.indexOf(p.id), 1);
    await this.endUnused(object);
    await this.flush();
    this.log.info('program-deleted', { id, unpinned });
    return { id, unpinned, detached };
  }

  /** Ends an object with no program left: its maps too, except pinned ones (which keep it loaded). */
  private async endUnused(object: ObjectRecord): Promise<void> {
    if (object.programs.length > 0) return;
    for (const mapId of [...object.maps]) {
      const m = this.registry.maps.get(mapId);
      if (m !== undefined && m.pins.size === 0) {
        this.registry.maps.delete(mapId);
        this.saved.delete(mapId);
        object.maps.splice(object.maps.indexOf(mapId), 1);
      }
    }
    if (object.maps.length > 0) return;
    this.registry.objects.delete(object.id);
    this.objectFiles.delete(object.id);
    await object.host?.call('host.unload', { object: object.id }).catch(() => undefined);
  }

  private async setProgram(a: ClientParsed<'program.set'>): Promise<unknown> {
    const p = this.program(a.id);
    const object = this.object(p.object);
    const done: string[] = [];
    if (a.pinPath === null) {
      for (const path of p.pins) {
        this.registry.pins.delete(path);
        done.push(`Unpinned ${p.id} from ${path}`);
      }
      p.pins.clear();
    } else if (a.pinPath !== undefined) {
      this.pin('program', p.id, a.pinPath);
      done.push(`Pinned ${p.id} at ${a.pinPath}`);
    }
    if (a.attached === false) {
      const links = this.registry.linksOf(p.id).length;
      const wasWildcard = p.wildcard;
      if (await this.detach(p, true)) done.push(wasWildcard ? `Detached ${p.id} from every hook host (${links} link${links === 1 ? '' : 's'})` : `Detached ${p.id}`);
    } else if (a.attachPoint !== undefined || a.host !== undefined || a.pid !== undefined || a.attached === true) {
      const wanted = wantedOf(p);
      const chosen = a.host === undefined && a.pid === undefined ? undefined : { name: a.host, pid: a.pid };
      const named = a.attachPoint !== undefined || chosen !== undefined;
      // Nothing named: where it was (every host, or its remembered point), else every host when hosts offer its kind.
      const everywhere = named ? this.everyHostAsked(wanted, a.attachPoint, chosen) : p.wildcard || (p.attachPoint === undefined && everyHostFits(wanted));
      if (everywhere) {
        if (!p.wildcard) {
          await this.detach(p, true);
          if (object.host !== this.localHandle) await this.move(object, this.localHandle);
        }
        try {
          await this.attachEverywhere(p, object);
        } catch (e) {
          await this.detach(p, true);
          const error = asServiceError(e);
          throw new ServiceError(error instanceof ServiceError ? error.code : 'host', `${messageOf(error)}; program ${p.id} is now detached`);
        }
        const links = this.registry.linksOf(p.id).length;
        done.push(`Attached ${p.id} to every hook host (${EVERY_HOST}): ${links} link${links === 1 ? '' : 's'} now`);
      } else {
        const target = named ? this.placement(wanted, a.attachPoint, chosen) : p.attachPoint !== undefined ? this.findPoint(p.attachPoint.name, wanted) : this.placement(wanted, undefined);
        if (target === undefined) throw new ServiceError('invalid', `say which attach point: interface=NAME (see ebpf show attachpoints)`);
        await this.detach(p, false);
        if (object.host !== target.host) await this.move(object, target.host);
        await this.attach(p, target.host, target.point);
        done.push(`Attached ${p.id} to ${target.point.name}`);
      }
    }
    await this.flush();
    return { ...this.describeProgram(p), done };
  }

  /** Moves an object (maps with their contents) to another host. */
  private async move(object: ObjectRecord, to: HostHandle): Promise<void> {
    const from = this.hostOf(object);
    const contents = await this.contentsOf(object);
    object.host = to;
    try {
      await this.load(object, this.programsOf(object), this.mapsOf(object), contents);
    } catch (e) {
      object.host = from;
      throw e;
    }
    await from.call('host.unload', { object: object.id }).catch(() => undefined);
    this.log.info('object-moved', { object: object.id, from: from.name, to: to.name });
  }

  /** A pin path of a saved object that could not be restored: still taken. */
  private unrestoredPin(path: string): PinRecord | undefined {
    for (const o of this.unrestored) {
      for (const p of o.programs) if (p.pins.includes(path)) return { kind: 'program', id: p.id };
      for (const m of o.maps) if (m.pins.includes(path)) return { kind: 'map', id: m.id };
    }
    return undefined;
  }

  private pin(kind: 'program' | 'map', id: number, path: string): void {
    const existing = this.registry.pins.get(path) ?? this.unrestoredPin(path);
    if (existing !== undefined) throw new ServiceError('exists', `${path} is already pinned (${existing.kind} ${existing.id})`);
    const record = kind === 'program' ? this.registry.programs.get(id) : this.registry.maps.get(id);
    if (record === undefined) throw new ServiceError('not-found', `no ${kind} with id ${id}`);
    record.pins.add(path);
    this.registry.pins.set(path, { kind, id });
    this.log.info('pinned', { kind, id, path });
  }

  private async unpin(kind: 'program' | 'map', id: number, path: string | undefined): Promise<unknown> {
    const record = kind === 'program' ? this.registry.programs.get(id) : this.registry.maps.get(id);
    if (record === undefined) throw new ServiceError('not-found', `no ${kind} with id ${id}`);
    if (path !== undefined && !record.pins.has(path)) throw new ServiceError('not-found', `${kind} ${id} is not pinned at ${path}`);
    const paths = path !== undefined ? [path] : [...record.pins];
    for (const p of paths) {
      record.pins.delete(p);
      this.registry.pins.delete(p);
    }
    if (kind === 'map') await this.endUnused(this.object((record as MapRecord).object));
    await this.flush();
    this.log.info('unpinned', { kind, id, paths });
    return { unpinned: paths };
  }

  // ---- hook hosts ----

  private async registerHost(points: readonly AttachPoint[], pid: number | undefined, c: Connection): Promise<unknown> {
    if (c.state.host !== undefined) throw new ServiceError('out-of-order', 'this connection is already a hook host');
    for (const p of points) {
      if (p.name === EVERY_HOST) throw new ServiceError('invalid', `an attach point cannot be named ${EVERY_HOST}: that name means every hook host`);
      for (const h of this.hosts.values()) {
        if (h.points.some((q) => samePoint(p, q))) throw new ServiceError('exists', `attach point ${p.type} ${p.name} is already offered by ${h.name}`);
      }
    }
    const label = (c.state.client as string | undefined) ?? 'host';
    const host: HostHandle = {
      id: this.nextHost++, name: `${label}#${this.nextHost - 1}`, label, local: false, points, ...(pid === undefined ? {} : { pid }),
      call: (op, args) => c.request(op, args, this.options.hostTimeoutMs ?? 30_000),
    };
    this.hosts.set(host.id, host);
    c.state.host = host.id;
    c.onClose(() => void this.serial(() => this.hostGone(host)));
    this.log.info('host-connected', { host: host.name, points });
    // Pinned programs that wait for one of these points go back to it (after this reply).
    setImmediate(() => void this.serial(() => this.returnToHost(host)));
    return { host: host.id, name: host.name };
  }

  /**
   * A host registered: pinned programs that wait for one of its points go back to it, then the
   * programs attached to every host get a copy in it, attached to its points that fit them.
   */
  private async returnToHost(host: HostHandle): Promise<void> {
    if (!this.hosts.has(host.id)) return;
    for (const p of this.registry.programs.values()) {
      const point = p.attachPoint;
      if (p.wildcard || point === undefined || this.registry.linksOf(p.id).length > 0 || !host.points.some((q) => samePoint(q, point))) continue;
      const object = this.object(p.object);
      try {
        if (object.host !== host) await this.move(object, host);
        await this.attach(p, host, point);
      } catch (e) {
        this.log.error('reattach-failed', { program: p.id, host: host.name, error: messageOf(e) });
      }
    }
    for (const p of [...this.registry.programs.values()].filter((q) => q.wildcard)) {
      try {
        await this.cover(p, this.object(p.object), host);
      } catch (e) {
        this.log.error('reattach-failed', { program: p.id, host: host.name, error: messageOf(e) });
      }
    }
    // New link ids are counted in the state file too.
    await this.flush().catch((e: unknown) => this.log.error('save-failed', { error: String(e) }));
  }

  /** A host went away: its links end; pinned objects come back to the service's context from their last save. */
  private async hostGone(host: HostHandle): Promise<void> {
    if (!this.hosts.has(host.id)) return;
    this.hosts.delete(host.id);
    this.log.warn('host-gone', { host: host.name });
    for (const link of [...this.registry.links.values()]) {
      if (link.host !== host.id) continue;
      this.registry.links.delete(link.id);
      this.log.warn('link-ended', { link: link.id, program: link.program, attachPoint: link.point.name, why: `host ${host.name} went away` });
    }
    for (const object of [...this.registry.objects.values()]) {
      // Its copy of a wildcard object went with it; the template and the other hosts' copies stay.
      if (object.instances.delete(host.id)) this.log.info('copy-ended', { object: object.id, host: host.name, why: 'the host went away' });
      if (object.host !== host) continue;
      object.host = undefined;
      if (!this.registry.hasPins(object)) {
        for (const id of object.programs) this.registry.programs.delete(id);
        for (const id of object.maps) this.registry.maps.delete(id);
        this.registry.objects.delete(object.id);
        this.log.info('object-ended', { object: object.id, why: `its host ${host.name} went away and nothing pinned it` });
        continue;
      }
      object.host = this.localHandle;
      try {
        const programs = this.programsOf(object);
        await this.load(object, programs, this.mapsOf(object), this.saved);
        const waiting = programs.flatMap((p) => (p.attachPoint === undefined ? [] : [p.attachPoint.name]));
        this.log.info('object-kept', { object: object.id, why: `pinned; reloaded in ebpfsvc from the last checkpoint${waiting.length === 0 ? '' : ` until ${waiting.join(', ')} is offered again`}` });
      } catch (e) {
        object.host = undefined;
        this.log.error('object-lost', { object: object.id, error: e instanceof Error ? e.message : String(e) });
      }
    }
    await this.flush().catch(() => undefined);
  }

  // ---- state ----

  /**
   * Saves the pinned objects with the maps' current contents. Calls that arrive while a save is
   * running share the next one, so every caller's change is on disk when its promise resolves.
   */
  flush(): Promise<void> {
    if (this.flushQueued !== undefined) return this.flushQueued;
    const queued = (async () => {
      await Promise.resolve();
      if (this.flushRunning !== undefined) await this.flushRunning.catch(() => undefined);
      this.flushQueued = undefined;
      const running = this.save();
      this.flushRunning = running;
      try {
        await running;
      } finally {
        if (this.flushRunning === running) this.flushRunning = undefined;
      }
    })();
    this.flushQueued = queued;
    return queued;
  }

  private async save(): Promise<void> {
    const objects: SavedState['objects'] = [];
    for (const o of this.registry.objects.values()) {
      if (!this.registry.hasPins(o)) continue;
      for (const { id } of this.mapsOf(o).filter(carried)) {
        if (o.host === undefined) continue;
        try {
          const r = (await o.host.call('host.map', { map: id, op: 'dump' })) as { entries: WireEntries };
          this.saved.set(id, r.entries);
        } catch {
          // The host went away mid-save: the last contents stand.
        }
      }
      let file = this.objectFiles.get(o.id);
      if (file === undefined) {
        file = saveObjectFile(this.options.stateDir, o.bytes);
        this.objectFiles.set(o.id, file);
      }
      objects.push({
        id: o.id, ...(o.path === undefined ? {} : { path: o.path }), file, section: o.section, type: o.type, execution: o.execution,
        programs: o.programs.map((id) => this.registry.programs.get(id) as ProgramRecord).map((p) => ({ id: p.id, name: p.name, pins: [...p.pins], attachPoint: p.attachPoint ?? null, ...(p.wildcard ? { wildcard: true } : {}) })),
        maps: o.maps.map((id) => this.registry.maps.get(id) as MapRecord).map((m) => ({ id: m.id, name: m.name, pins: [...m.pins], entries: this.saved.get(m.id) ?? [] })),
      });
    }
    const state: SavedState = { version: 1, next: { ...this.registry.next }, objects: [...objects, ...this.unrestored] };
    const text = JSON.stringify(state);
    if (text === this.lastWritten) return;
    saveState(this.options.stateDir, state);
    this.lastWritten = text;
  }

  /** Loads the saved pins again: each object verified anew, then placed in the service's context. */
  private async restore(): Promise<void> {
    let state: SavedState | undefined;
    try {
      state = loadState(this.options.stateDir);
    } catch (e) {
      throw new ServiceError('invalid', e instanceof Error ? e.message : String(e));
    }
    if (state === undefined) return;
    this.registry.next = { ...state.next };
    for (const saved of state.objects) {
      try {
        await this.restoreObject(saved);
      } catch (e) {
        // One object that cannot come back (its file gone, refused now) does not keep the others out.
        // It stays in the state file (not lost to one bad start), and is tried again at the next.
        this.unrestored.push(saved);
        this.log.error('restore-failed', { object: saved.id, path: saved.path, why: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async restoreObject(saved: SavedObject): Promise<void> {
    const bytes = readObjectFile(this.options.stateDir, saved.file);
    let verifiedMs = 0;
    for (const sp of saved.programs) {
      const verdict = await verifyInProcess({ object: bytes, path: saved.path, program: sp.name, programType: saved.type }, this.options.verifierLimits);
      if (!verdict.ok) throw new ServiceError('refused', `refused on restore: ${verdict.refusedBy === 'process' ? verdict.message : verdict.text.split('\n')[0]}`);
      verifiedMs = Math.round(verdict.ms * 10) / 10;
    }
    const spec = openObject(bytes, { path: saved.path });
    const object: ObjectRecord = { id: saved.id, path: saved.path, bytes, section: saved.section, type: saved.type, execution: saved.execution, host: this.localHandle, instances: new Map(), programs: [], maps: [] };
    const programs: ProgramRecord[] = saved.programs.map((p) => {
      const ps = spec.programs.find((q) => q.name === p.name);
      return {
        id: p.id, object: object.id, name: p.name, section: saved.section, type: saved.type, execution: saved.execution, pins: new Set(p.pins),
        attachPoint: p.attachPoint ?? undefined, wildcard: p.wildcard ?? false, instructions: ps?.instructions.length ?? 0, verifiedMs, ...(ps?.attachTo === undefined ? {} : { attach: ps.attachTo }),
      };
    });
    const maps: MapRecord[] = saved.maps.map((m) => {
      const d = spec.maps.find((x) => x.name === m.name);
      if (d === undefined) throw new ServiceError('invalid', `the saved object ${saved.file} has no map ${m.name}`);
      return { id: m.id, object: object.id, name: m.name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags, innerMapId: 0, pins: new Set(m.pins) };
    });
    const contents = new Map(saved.maps.map((m) => [m.id, m.entries] as const));
    await this.load(object, programs, maps, contents);
    object.programs.push(...programs.map((p) => p.id));
    object.maps.push(...maps.map((m) => m.id));
    this.registry.objects.set(object.id, object);
    this.objectFiles.set(object.id, saved.file);
    for (const p of programs) {
      this.registry.programs.set(p.id, p);
      for (const path of p.pins) this.registry.pins.set(path, { kind: 'program', id: p.id });
    }
    for (const m of maps) {
      this.registry.maps.set(m.id, m);
      this.saved.set(m.id, contents.get(m.id) ?? []);
      for (const path of m.pins) this.registry.pins.set(path, { kind: 'map', id: m.id });
    }
    this.log.info('restored', { object: object.id, programs: programs.map((p) => p.id), maps: maps.map((m) => m.id) });
  }

  /** Saves, closes every connection and the endpoint. */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = (async () => {
      if (this.checkpointTimer !== undefined) clearInterval(this.checkpointTimer);
      await this.exclusive.catch(() => undefined);
      await this.flush().catch((e) => this.log.error('save-failed', { error: String(e) }));
      for (const c of this.connections) c.close();
      this.local.close();
      await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
      rmSync(join(this.options.stateDir, 'service.pid'), { force: true });
      this.log.info('stopped', {});
      this.markStopped();
    })();
    return this.stopping;
  }
}

