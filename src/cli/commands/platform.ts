// The netsh `ebpf` context's verbs, as clients of the service: add, delete and set program; show
// programs, maps, links and pins; pin and unpin; map dump, lookup, update and delete; run. Each
// parses its arguments, makes one or two requests and prints a table (ebpf-for-windows' layouts)
// or, with --json, the service's answer.
import { readFileSync } from 'node:fs';
import { ServiceClient } from '../../service/client.js';
import { locations } from '../../service/endpoint.js';
import { fromHex, ServiceError, type HostCopy, type LinkInfo, type MapDumpResult, type MapInfo, type MapLookupResult, type PinInfo, type ProgramInfo, type RunResult } from '../../service/protocol.js';
import { UsageError } from '../errors.js';
import { parseBytes } from '../map-values.js';
import { parseId, parseNetshArgs } from '../netsh-args.js';

export type Out = (s: string) => void;

export interface ServiceCommandOptions {
  endpoint?: string;
  stateDir?: string;
  json?: boolean;
}

/** Runs `body` with a client of the service; the connection is closed after. */
async function withClient<T>(options: ServiceCommandOptions, body: (c: ServiceClient) => Promise<T>): Promise<T> {
  const client = await ServiceClient.connect({ ...locations(options), client: 'ebpf' });
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

const json = (out: Out, value: unknown): number => {
  out(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
};

const right = (v: string | number, width: number): string => String(v).padStart(width);
const left = (v: string | number, width: number): string => String(v).padEnd(width);
const mode = (p: ProgramInfo): string => (p.execution === 'jit' ? 'JIT' : 'INTERPRET');
/** What a program attaches to: its type, and its attach type where its section names one (cgroup_sock_addr connect4). */
const attachKind = (p: ProgramInfo): string => (p.attachPoint?.attach === undefined ? p.type : `${p.type} ${p.attachPoint.attach}`);
/** The Links column: how many, and `*` for a program attached to every hook host. */
const linkCount = (p: ProgramInfo): string => `${p.links.length}${p.wildcard ? '*' : ''}`;

// ---- programs ----

/** host=NAME and pid=N: the hook host whose fitting attach point a program goes to. */
function hostOf(verb: string, a: Record<string, string>): { host?: string; pid?: number } {
  return { ...(a.host === undefined ? {} : { host: a.host }), ...(a.pid === undefined ? {} : { pid: parseId(verb, a.pid) }) };
}

const ADD_PARAMETERS = [
  { name: 'filename', required: true },
  { name: 'section' },
  { name: 'type' },
  { name: 'pinpath' },
  { name: 'interface' },
  { name: 'pinned', choices: ['none', 'first', 'all'] },
  { name: 'execution', choices: ['jit', 'interpret'] },
  { name: 'host' },
  { name: 'pid' },
] as const;

export async function addProgramCommand(args: string[], options: ServiceCommandOptions, out: Out): Promise<number> {
  const a = parseNetshArgs('add program', args, ADD_PARAMETERS);
  let bytes: Buffer;
  try {
    bytes = readFileSync(a.filename);
  } catch (e) {
    throw new UsageError(`cannot read ${a.filename}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return withClient(options, async (c) => {
    const r = (await c.request('program.add', {
      object: bytes.toString('base64'), path: a.filename, section: a.section, type: a.type, pinPath: a.pinpath, attachPoint: a.interface,
      pinned: a.pinned as 'none' | 'first' | 'all' | undefined, execution: a.execution as 'jit' | 'interpret' | undefined,
      ...hostOf('add program', a),
    })) as ProgramInfo & { verification: string };
    if (options.json === true) return json(out, r);
    out(`Loaded with ID ${r.id}\n`);
    if (r.wildcard) out(`Attached to * (every hook host's ${attachKind(r)} points, present and future): ${r.links.length} link${r.links.length === 1 ? '' : 's'} now\n`);
    else if (r.attached && r.attachPoint !== null) out(`Attached to ${r.attachPoint.name} (${r.attachPoint.type}) in ${r.host ?? '?'}\n`);
    return 0;
  });
}

export async function deleteProgramCommand(args: string[], options: ServiceCommandOptions, out: Out): Promise<number> {
  const a = parseNetshArgs('delete program', args, [{ name: 'id', required: true }]);
  const id = parseId('delete program', a.id);
  return withClient(options, async (c) => {
    const r = (await c.request('program.delete', { id })) as { id: number; unpinned: string[]; detached: boolean };
    if (options.json === true) return json(out, r);
    for (const path of r.unpinned) out(`Unpinned ${id} from ${path}\n`);
    if (r.detached) out(`Detached ${id}\n`);
    out(`Deleted program ${id}\n`);
    return 0;
  });
}

export async function setProgramCommand(args: string[], options: ServiceCommandOptions, out: Out): Promise<number> {
  const a = parseNetshArgs('set program', args, [{ name: 'id', required: true }, { name: 'attached', choices: ['yes', 'no'] }, { name: 'pinpath' }, { name: 'interface' }, { name: 'host' }, { name: 'pid' }]);
  const id = parseId('set program', a.id);
  if (a.attached === undefined && a.pinpath === undefined && a.interface === undefined && a.host === undefined && a.pid === undefined) {
    throw new UsageError('set program: say what to change: attached=yes|no, pinpath=PATH (or pinpath=none to unpin), interface=NAME, host=NAME or pid=N');
  }
  return withClient(options, async (c) => {
    const r = (await c.request('program.set', {
      id, ...(a.attached === undefined ? {} : { attached: a.attached === 'yes' }),
      ...(a.interface === undefined ? {} : { attachPoint: a.interface }),
      ...hostOf('set program', a),
      ...(a.pinpath === undefined ? {} : { pinPath: a.pinpath === 'none' || a.pinpath === '""' ? null : a.pinpath }),
    })) as ProgramInfo & { done: string[] };
    if (options.json === true) return json(out, r);
    for (const line of r.done) out(`${line}\n`);
    if (r.done.length === 0) out(`Program ${id} is unchanged\n`);
    return 0;
  });
}

const SHOW_PROGRAMS_PARAMETERS = [
  { name: 'type' },
  { name: 'attached', choices: ['any', 'yes', 'no'] },
  { name: 'pinned', choices: ['any', 'yes', 'no'] },
  { name: 'level', choices: ['normal', 'verbose'] },
  { name: 'id' },
] as const;

export async function showProgramsCommand(args: string[], options: ServiceCommandOptions, out: Out): Promise<number> {
  const a = parseNetshArgs('show programs', args, SHOW_PROGRAMS_PARAMETERS);
  const id = a.id === undefined ? undefined : parseId('show programs', a.id);
  return withClient(options, async (c) => {
    const r = (await c.request('program.list', {
      ...(a.type === undefined ? {} : { type: a.type }), ...(id === undefined ? {} : { id }),
      attached: (a.attached ?? 'any') as 'any' | 'yes' | 'no', pinned: (a.pinned ?? 'any') as 'any' | 'yes' | 'no',
    })) as { programs: ProgramInfo[] };
    if (options.json === true) return json(out, r.programs);
    if (a.level === 'verbose' || id !== undefined) {
      for (const p of r.programs) out(programDetails(p));
      return 0;
    }
    out(programsTable(r.programs));
    return 0;
  });
}

export function programsTable(programs: readonly ProgramInfo[]): string {
  // ebpf-for-windows' layout, with a Type column wide enough for cgroup_sock_addr.
  let s = '\n    ID  Pins  Links  Mode       Type              Name\n';
  s += '======  ====  =====  =========  ================  ====================\n';
  for (const p of programs) s += `${right(p.id, 6)}  ${right(p.pins.length, 4)}  ${right(linkCount(p), 5)}  ${left(mode(p), 9)}  ${left(p.type, 16)}  ${p.name}\n`;
  if (programs.some((p) => p.wildcard)) s += '\n* attached to every hook host, present and future (ebpf show links lists each host\'s links)\n';
  return s;
}

function programDetails(p: ProgramInfo): string {
  const rows: [string, string | number][] = [
    ['ID', p.id], ['File name', p.path ?? '-'], ['Section', p.section], ['Name', p.name], ['Program type', p.type], ['Mode', mode(p)],
    ['Instructions', p.instructions], ['Verified in', `${p.verifiedMs} ms`],
    ['Hook host', p.host === null ? 'none (its host went away)' : p.wildcard ? `${p.host} (the template)${p.copies.length === 0 ? '' : `, and a copy in ${p.copies.join(', ')}`}` : p.host],
    ['# map IDs', p.maps.length], ['map IDs', p.maps.join(', ') || '-'], ['# pinned paths', p.pins.length], ['pinned paths', p.pins.join(', ') || '-'],
    ['# links', p.links.length],
    ['Attach point', p.attachPoint === null ? '-' : p.wildcard ? `* (every hook host's ${attachKind(p)} points, present and future)` : `${p.attachPoint.name} (${p.attachPoint.type})${p.attached ? '' : ', waiting for its host'}`],
  ];
  return `\n${rows.map(([k, v]) => `${left(k, 15)}: ${v}\n`).join('')}`;
}

// ---- maps, links, pins ----

export async function showMapsCommand(options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const r = (await c.request('map.list', {})) as { maps: MapInfo[] };
    if (options.json === true) return json(out, r.maps);
    out(mapsTable(r.maps));
    return 0;
  });
}

export function mapsTable(maps: readonly MapInfo[]): string {
  let s = '\n                              Key  Value      Max  Inner\n';
  s += '     ID            Map Type  Size   Size  Entries     ID  Pins  Name\n';
  s += '=======  ==================  ====  =====  =======  =====  ====  ========\n';
  for (const m of maps) s += `${right(m.id, 7)}  ${right(m.typeName, 18)}  ${right(m.keySize, 4)}  ${right(m.valueSize, 5)}  ${right(m.maxEntries, 7)}  ${right(m.innerMapId, 5)}  ${right(m.pins.length, 4)}  ${m.name}\n`;
  return s;
}

export async function showLinksCommand(options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const r = (await c.request('link.list', {})) as { links: LinkInfo[] };
    if (options.json === true) return json(out, r.links);
    let s = '\n   Link  Program  Attach\n     ID       ID  Type              Attach point              Pid  Host\n';
    s += '=======  =======  ================  ====================  =======  ====================\n';
    for (const l of r.links) s += `${right(l.id, 7)}  ${right(l.program, 7)}  ${left(l.type, 16)}  ${left(l.attachPoint, 20)}  ${right(l.hostPid ?? '-', 7)}  ${l.host}\n`;
    out(s);
    return 0;
  });
}

export async function showPinsCommand(options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const r = (await c.request('pin.list', {})) as { pins: PinInfo[] };
    if (options.json === true) return json(out, r.pins);
    let s = '\n     ID     Type  Path\n';
    s += '=======  =======  ==============\n';
    for (const p of r.pins) s += `${right(p.id, 7)}  ${right(p.kind === 'program' ? 'Program' : 'Map', 7)}  ${p.path}\n`;
    out(s);
    return 0;
  });
}

export async function showAttachPointsCommand(options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const r = (await c.request('attach-point.list', {})) as { points: { type: string; name: string; host: string }[] };
    if (options.json === true) return json(out, r.points);
    let s = '\nType              Attach point          Host\n';
    s += '================  ====================  ====================\n';
    for (const p of r.points) s += `${left(p.type, 16)}  ${left(p.name, 20)}  ${p.host}\n`;
    out(s);
    return 0;
  });
}

function kindOf(verb: string, text: string): 'program' | 'map' {
  const k = text.toLowerCase();
  if (k !== 'program' && k !== 'map') throw new UsageError(`${verb}: '${text}' is neither program nor map`);
  return k;
}

export async function pinCommand(kind: string, id: string, path: string, options: ServiceCommandOptions, out: Out): Promise<number> {
  const k = kindOf('pin', kind);
  const n = parseId('pin', id);
  return withClient(options, async (c) => {
    const r = await c.request('pin', { kind: k, id: n, path });
    if (options.json === true) return json(out, r);
    out(`Pinned ${k} ${n} at ${path}\n`);
    return 0;
  });
}

export async function unpinCommand(kind: string, id: string, path: string | undefined, options: ServiceCommandOptions, out: Out): Promise<number> {
  const k = kindOf('unpin', kind);
  const n = parseId('unpin', id);
  return withClient(options, async (c) => {
    const r = (await c.request('unpin', { kind: k, id: n, ...(path === undefined ? {} : { path }) })) as { unpinned: string[] };
    if (options.json === true) return json(out, r);
    for (const p of r.unpinned) out(`Unpinned ${n} from ${p}\n`);
    return 0;
  });
}

// ---- map contents ----

/** A map argument: an id, or the path it is pinned at. */
export const mapReference = (text: string): number | string => (/^\d+$/.test(text) ? parseId('map', text) : text);

const spaced = (hex: string): string => (hex.match(/../g) ?? []).join(' ');

/** Little-endian unsigned value of up to 8 bytes, for the reader's convenience. */
function numberOf(hex: string): string | undefined {
  if (hex.length === 0 || hex.length > 16) return undefined;
  const b = fromHex(hex);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v.toString();
}

async function describeMap(c: ServiceClient, ref: number | string): Promise<MapInfo> {
  const r = (await c.request('map.list', {})) as { maps: MapInfo[] };
  if (typeof ref === 'number') {
    const m = r.maps.find((x) => x.id === ref);
    if (m === undefined) throw new ServiceError('not-found', `no map with id ${ref}`);
    return m;
  }
  const m = r.maps.find((x) => x.pins.includes(ref));
  if (m === undefined) throw new ServiceError('not-found', `no map is pinned at ${ref}`);
  return m;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A value as the CLI's JSON gives it: hex, and its number when it is one. */
const jsonValue = (value: string): { value: string; valueNumber?: string } => ({ value, ...(numberOf(value) === undefined ? {} : { valueNumber: numberOf(value) }) });
const valueText = (v: string): string => {
  const n = numberOf(v);
  return `${spaced(v)}${n === undefined ? '' : `  (${n})`}`;
};

/** The rows of a wildcard program's map (one copy per host): a Host and a Pid column, then what each holds. */
const HOST_HEADER = `${left('Host', 20)}  ${right('Pid', 7)}  `;
const HOST_RULE = `${'='.repeat(20)}  ${'='.repeat(7)}  `;
const hostRow = (host: string, pid: number | string | null, text: string): string => `${left(host, 20)}  ${right(pid ?? '-', 7)}  ${text}\n`;
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function serviceMapDumpCommand(ref: string, options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const r = (await c.request('map.dump', { map: mapReference(ref) })) as MapDumpResult;
    const template = `${r.map.host ?? '?'} (template)`;
    if (r.records !== undefined) {
      if (options.json === true) return json(out, { map: r.map, records: r.records, ...(r.hosts === undefined ? {} : { hosts: r.hosts.map((h) => ({ ...who(h), records: h.records ?? [] })) }) });
      // A wildcard program's map with no host's copy yet reads as any map.
      if (r.hosts === undefined || r.hosts.length === 0) {
        for (const [i, record] of r.records.entries()) out(`record ${i + 1}: ${spaced(record)}\n`);
        out(`Read ${plural(r.records.length, 'record')} from ${r.map.typeName} map ${r.map.id} (${r.map.name})\n`);
        return 0;
      }
      out(`${HOST_HEADER}Record\n${HOST_RULE}======\n`);
      for (const record of r.records) out(hostRow(template, c.servicePid, spaced(record)));
      for (const h of r.hosts) {
        if (h.error !== undefined) out(hostRow(h.host, h.pid, `error: ${h.error}`));
        for (const record of h.records ?? []) out(hostRow(h.host, h.pid, spaced(record)));
      }
      const fromHosts = r.hosts.reduce((n, h) => n + (h.records?.length ?? 0), 0);
      out(`Read ${plural(r.records.length + fromHosts, 'record')} from ${r.map.typeName} map ${r.map.id} (${r.map.name}): ${r.records.length} in ${r.map.host ?? '?'}, ${fromHosts} in ${plural(r.hosts.length, 'hook host')}\n`);
      return 0;
    }
    const entries = (list: readonly (readonly [string, string])[]) => list.map(([key, value]) => ({ key, ...jsonValue(value) }));
    if (options.json === true) return json(out, { map: r.map, entries: entries(r.entries), ...(r.hosts === undefined ? {} : { hosts: r.hosts.map((h) => ({ ...who(h), entries: entries(h.entries ?? []) })) }) });
    const entry = (k: string, v: string): string => `key: ${spaced(k)}  value: ${valueText(v)}`;
    if (r.hosts === undefined || r.hosts.length === 0) {
      for (const [k, v] of r.entries) out(`${entry(k, v)}\n`);
      out(`Found ${plural(r.entries.length, 'element')} in map ${r.map.id} (${r.map.name})\n`);
      return 0;
    }
    out(`${HOST_HEADER}Entry\n${HOST_RULE}=====\n`);
    for (const [k, v] of r.entries) out(hostRow(template, c.servicePid, entry(k, v)));
    for (const h of r.hosts) {
      if (h.error !== undefined) out(hostRow(h.host, h.pid, `error: ${h.error}`));
      for (const [k, v] of h.entries ?? []) out(hostRow(h.host, h.pid, entry(k, v)));
    }
    const inHosts = r.hosts.map((h) => `${h.entries?.length ?? 0} in ${h.host}`);
    out(`Found ${plural(r.entries.length, 'element')} in map ${r.map.id} (${r.map.name}) in ${r.map.host ?? '?'} (the template), and in its copies: ${inHosts.join(', ')}\n`);
    return 0;
  });
}

/** A host's copy, for JSON: its name, pid and (when it said nothing) why. */
const who = (h: HostCopy): HostCopy => ({ host: h.host, pid: h.pid, ...(h.error === undefined ? {} : { error: h.error }) });

export async function serviceMapLookupCommand(ref: string, key: string, options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const m = await describeMap(c, mapReference(ref));
    const k = hexOf(parseBytes(key, m.keySize, 'key'));
    const r = (await c.request('map.lookup', { map: m.id, key: k })) as MapLookupResult;
    const orNull = (v: string | null) => (v === null ? { value: null } : jsonValue(v));
    if (options.json === true) return json(out, { key: k, ...orNull(r.value), ...(r.hosts === undefined ? {} : { hosts: r.hosts.map((h) => ({ ...who(h), ...orNull(h.value) })) }) });
    if (r.hosts === undefined || r.hosts.length === 0) {
      out(`key: ${spaced(k)}  value: ${valueText(r.value ?? '')}\n`);
      return 0;
    }
    const text = (v: string | null, error?: string): string => (error !== undefined ? `error: ${error}` : v === null ? 'none (no such key)' : valueText(v));
    out(`key: ${spaced(k)}\n${HOST_HEADER}Value\n${HOST_RULE}=====\n`);
    out(hostRow(`${m.host ?? '?'} (template)`, c.servicePid, text(r.value)));
    for (const h of r.hosts) out(hostRow(h.host, h.pid, text(h.value, h.error)));
    return 0;
  });
}

export async function serviceMapUpdateCommand(ref: string, key: string, value: string, options: ServiceCommandOptions & { flags?: string }, out: Out): Promise<number> {
  const flags = options.flags === undefined ? 0 : ({ any: 0, noexist: 1, exist: 2 } as Record<string, number>)[options.flags.toLowerCase()];
  if (flags === undefined) throw new UsageError(`map update: --flags ${options.flags} is not one of any, noexist, exist`);
  return withClient(options, async (c) => {
    const m = await describeMap(c, mapReference(ref));
    const k = hexOf(parseBytes(key, m.keySize, 'key'));
    const v = hexOf(parseBytes(value, m.valueSize, 'value'));
    const r = await c.request('map.update', { map: m.id, key: k, value: v, flags });
    if (options.json === true) return json(out, r);
    out(`Updated map ${m.id} (${m.name})\n`);
    return 0;
  });
}

export async function serviceMapDeleteCommand(ref: string, key: string, options: ServiceCommandOptions, out: Out): Promise<number> {
  return withClient(options, async (c) => {
    const m = await describeMap(c, mapReference(ref));
    const k = hexOf(parseBytes(key, m.keySize, 'key'));
    const r = await c.request('map.delete', { map: m.id, key: k });
    if (options.json === true) return json(out, r);
    out(`Deleted the key from map ${m.id} (${m.name})\n`);
    return 0;
  });
}

export async function serviceRunCommand(id: string, options: ServiceCommandOptions & { dataHex?: string; data?: string; repeat?: string }, out: Out): Promise<number> {
  const n = parseId('run', id);
  let data = '';
  if (options.dataHex !== undefined) data = hexOf(parseBytes(`hex:${options.dataHex}`, options.dataHex.replace(/[\s_]/g, '').length / 2, '--data-hex'));
  else if (options.data !== undefined) data = readFileSync(options.data).toString('hex');
  const repeat = options.repeat === undefined ? 1 : Number(options.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError(`--repeat ${options.repeat} is not a positive integer`);
  return withClient(options, async (c) => {
    const r = (await c.request('program.run', { id: n, data, repeat })) as RunResult;
    if (options.json === true) return json(out, r);
    out(`program ${n} returned ${r.returnValue}${r.returnName === null ? '' : ` (${r.returnName})`} in ${(r.durationNs / 1000).toFixed(2)} µs per run (mean of ${repeat})\n`);
    return 0;
  });
}
