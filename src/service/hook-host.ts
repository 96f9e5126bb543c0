// A hook host (DESIGN.md, "Programs run where their hook is"): an execution context of its own,
// the attach points it offers, and the objects the service placed in it. It answers the service's
// host.* requests: load an approved object (maps restored from saved contents), attach a program
// to one of its points, detach, unload, the map operations the service routes to it, test runs.
// The service's own context is a HookHost too, called in-process; an application's is reached
// over its connection (connectHookHost in host-client.ts).
import { openObject } from '../elf/index.js';
import { ElfError, ObjectError } from '../elf/index.js';
import { MapError, PerfEventArrayMap, RingBufMap, type BpfMap } from '../maps/index.js';
import { ProgramTypeError } from '../program-types/index.js';
import { ExecutionContext, loadObject, LoadError, type LoadedObject } from '../runtime/index.js';
import type { LoadedProgram } from '../runtime/program.js';
import { BpfRuntimeError, ProgramLoadError } from '../vm/index.js';
import { fromHex, hostOps, parseArgs, ServiceError, toHex, type AttachPoint, type HostOp, type WireEntries } from './protocol.js';

/** What attaching a program to a point gives back. */
export interface HostLink {
  detach(): void;
}

/** An attach point a host offers: a type (the program type it runs) and a name. */
export interface AttachPointProvider {
  readonly point: AttachPoint;
  attach(program: LoadedProgram): HostLink;
}

interface HostedObject {
  readonly loaded: LoadedObject;
  readonly maps: Map<number, BpfMap>;
  readonly programs: Map<number, LoadedProgram>;
}

const pointKey = (p: AttachPoint): string => `${p.type}:${p.name}`;

export class HookHost {
  readonly context: ExecutionContext;
  private readonly providers = new Map<string, AttachPointProvider>();
  private readonly objects = new Map<number, HostedObject>();
  private readonly programs = new Map<number, LoadedProgram>();
  private readonly maps = new Map<number, BpfMap>();
  /** Links by id, with the program each runs. */
  private readonly links = new Map<number, { readonly program: number; readonly link: HostLink }>();

  constructor(providers: readonly AttachPointProvider[] = [], context = new ExecutionContext()) {
    this.context = context;
    for (const p of providers) this.offer(p);
  }

  offer(provider: AttachPointProvider): void {
    const key = pointKey(provider.point);
    if (this.providers.has(key)) throw new ServiceError('exists', `attach point ${provider.point.type} ${provider.point.name} is offered twice`);
    this.providers.set(key, provider);
  }

  get points(): AttachPoint[] {
    return [...this.providers.values()].map((p) => p.point);
  }

  /** Answers one host.* request (arguments checked against the protocol's schemas). */
  async handle(op: string, args: unknown): Promise<unknown> {
    if (!Object.hasOwn(hostOps, op)) throw new ServiceError('unknown-op', `a hook host has no operation '${op}'`);
    try {
      return this.dispatch(op as HostOp, args);
    } catch (e) {
      throw asServiceError(e);
    }
  }

  private dispatch(op: HostOp, raw: unknown): unknown {
    switch (op) {
      case 'host.load': {
        const a = parseArgs(hostOps[op], op, raw);
        if (this.objects.has(a.object)) throw new ServiceError('exists', `object ${a.object} is already loaded here`);
        const spec = openObject(new Uint8Array(Buffer.from(a.bytes, 'base64')));
        const engines = new Set(a.programs.map((p) => p.execution));
        if (engines.size > 1) throw new ServiceError('invalid', 'one object runs on one engine');
        const loaded = loadObject(spec, this.context, {
          programs: a.programs.map((p) => p.name),
          programType: a.programs[0]?.type,
          engine: a.programs[0]?.execution === 'interpret' ? 'interpreter' : 'jit',
          approved: new Set(a.programs.map((p) => p.name)),
        });
        const hosted: HostedObject = { loaded, maps: new Map(), programs: new Map() };
        for (const m of a.maps) {
          const map = loaded.map(m.name);
          hosted.maps.set(m.id, map);
          if (m.entries !== undefined && !map.frozen) restore(map, m.entries);
        }
        for (const p of a.programs) hosted.programs.set(p.id, loaded.program(p.name));
        this.objects.set(a.object, hosted);
        for (const [id, map] of hosted.maps) this.maps.set(id, map);
        for (const [id, program] of hosted.programs) this.programs.set(id, program);
        return { programs: a.programs.length, maps: a.maps.length };
      }
      case 'host.unload': {
        const a = parseArgs(hostOps[op], op, raw);
        const hosted = this.objects.get(a.object);
        if (hosted === undefined) return { unloaded: false };
        // A program that is unloaded runs nowhere: links the service did not end first end here.
        for (const [id, l] of this.links) {
          if (!hosted.programs.has(l.program)) continue;
          l.link.detach();
          this.links.delete(id);
        }
        for (const id of hosted.maps.keys()) this.maps.delete(id);
        for (const id of hosted.programs.keys()) this.programs.delete(id);
        this.objects.delete(a.object);
        // The context's memory is not given back object by object (LinearMemory only grows); a
        // host that loads and unloads without end is bounded by its memory limit.
        return { unloaded: true };
      }
      case 'host.attach': {
        const a = parseArgs(hostOps[op], op, raw);
        const program = this.program(a.program);
        const provider = this.providers.get(pointKey(a.point));
        if (provider === undefined) throw new ServiceError('not-found', `this host offers no attach point ${a.point.type} ${a.point.name}`);
        if (this.links.has(a.link)) throw new ServiceError('exists', `link ${a.link} exists`);
        this.links.set(a.link, { program: a.program, link: provider.attach(program) });
        return { attached: true };
      }
      case 'host.detach': {
        const a = parseArgs(hostOps[op], op, raw);
        const link = this.links.get(a.link);
        if (link === undefined) return { detached: false };
        link.link.detach();
        this.links.delete(a.link);
        return { detached: true };
      }
      case 'host.map': {
        const a = parseArgs(hostOps[op], op, raw);
        const map = this.maps.get(a.map);
        if (map === undefined) throw new ServiceError('not-found', `map ${a.map} is not in this host`);
        return mapOperation(map, a.op, a.key, a.value, a.flags);
      }
      case 'host.run': {
        const a = parseArgs(hostOps[op], op, raw);
        const r = this.program(a.program).testRun({ data: fromHex(a.data), repeat: a.repeat });
        return { returnValue: r.returnValue.toString(), returnName: r.returnName ?? null, data: r.data === undefined ? null : toHex(r.data), durationNs: r.durationNs };
      }
    }
  }

  private program(id: number): LoadedProgram {
    const p = this.programs.get(id);
    if (p === undefined) throw new ServiceError('not-found', `program ${id} is not in this host`);
    return p;
  }

  /** Detaches every link (the host is going away). */
  close(): void {
    for (const l of this.links.values()) l.link.detach();
    this.links.clear();
  }
}

function restore(map: BpfMap, entries: WireEntries): void {
  for (const [k, v] of entries) map.update(fromHex(k), fromHex(v));
}

function mapOperation(map: BpfMap, op: 'dump' | 'lookup' | 'update' | 'delete', key: string | undefined, value: string | undefined, flags: number): unknown {
  const need = (s: string | undefined, what: string, size: number): Uint8Array => {
    if (s === undefined) throw new ServiceError('bad-message', `${op} needs a ${what}`);
    const b = fromHex(s);
    if (b.length !== size) throw new ServiceError('invalid', `the ${what} is ${b.length} bytes; map ${map.name} has ${what}s of ${size}`);
    return b;
  };
  switch (op) {
    case 'dump': {
      // A stream has no keys: reading it takes the records waiting in it (once; they are gone after).
      const records: string[] = [];
      if (map instanceof RingBufMap) map.consume((r) => records.push(toHex(r)));
      else if (map instanceof PerfEventArrayMap) map.consume((_cpu, r) => records.push(toHex(r)));
      else return { entries: [...map.entries()].map(([k, v]) => [toHex(k), toHex(v)]) };
      return { entries: [], records };
    }
    case 'lookup': {
      const v = map.lookup(need(key, 'key', map.spec.keySize));
      if (v === undefined) throw new ServiceError('not-found', `map ${map.name} has no such key`);
      return { value: toHex(v) };
    }
    case 'update':
      map.update(need(key, 'key', map.spec.keySize), need(value, 'value', map.userValueSize), flags);
      return { updated: true };
    case 'delete':
      map.delete(need(key, 'key', map.spec.keySize));
      return { deleted: true };
  }
}

/** Errors of the loader and maps as error replies; anything else stays a bug. */
export function asServiceError(e: unknown): unknown {
  if (e instanceof ServiceError) return e;
  if (e instanceof MapError) return new ServiceError('map', e.message);
  if (e instanceof ElfError || e instanceof ObjectError || e instanceof LoadError || e instanceof ProgramTypeError || e instanceof ProgramLoadError || e instanceof BpfRuntimeError || e instanceof RangeError) {
    return new ServiceError('invalid', `${e.name}: ${e.message}`);
  }
  return e;
}
