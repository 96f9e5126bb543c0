// `ebpf run FILE [PROGRAM] --data IN …`: BPF_PROG_TEST_RUN without a kernel. Loads the whole object
// into a fresh execution context (every program, as libbpf does, so prog-array slots and tail calls
// work; --only loads the one program), seeds maps, runs the program, and shows its return value,
// the data it left, its bpf_printk lines and the maps afterwards.
import { writeFileSync } from 'node:fs';
import type { LoadedObject } from '../../runtime/index.js';
import { ExecutionContext, loadObject, mapEntries } from '../../runtime/index.js';
import type { MapEntry } from '../../runtime/typed-map.js';
import { MapType } from '../../maps/index.js';
import { UsageError } from '../errors.js';
import { jsonReplacer, parseBytes } from '../map-values.js';
import { openObjectFile, parseAbi, selectProgram } from '../object-file.js';
import { readFileOrFail } from '../program-file.js';
import { didYouMean } from '../suggest.js';
import { loadForRun } from '../whole-object.js';
import { mapTypeLabel } from '../../maps/spec.js';
import { parseEngine } from './conformance.js';

export interface RunOptions {
  data?: string;
  dataHex?: string;
  ctx?: string;
  repeat: string;
  out?: string;
  ctxOut?: string;
  type?: string;
  abi?: string;
  cpu: string;
  cpus: string;
  set?: string[];
  dump?: string[] | boolean;
  allowPointerLeaks?: boolean;
  json?: boolean;
  engine: string;
  /** Load only the program asked for, not the whole object. */
  only?: boolean;
}

function positiveInteger(text: string, what: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${what} must be an integer ≥ ${min}, got '${text}'`);
  return n;
}

/** `MAP:KEY=VALUE` assignments, applied before the run. */
function seedMaps(object: LoadedObject, assignments: readonly string[]): void {
  for (const assignment of assignments) {
    const m = /^([^:]+):([^=]+)=(.+)$/.exec(assignment);
    if (m === null) throw new UsageError(`--set '${assignment}': expected MAP:KEY=VALUE`);
    const map = object.maps.get(m[1]);
    if (map === undefined) throw new UsageError(`--set: no map '${m[1]}'${didYouMean(m[1], [...object.maps.keys()])}; maps: ${[...object.maps.keys()].join(', ')}`);
    const key = parseBytes(m[2], map.spec.keySize, `--set ${m[1]} key`);
    const value = parseBytes(m[3], map.spec.valueSize, `--set ${m[1]} value`);
    map.update(key, value);
  }
}

/**
 * The entries of the maps `dump` names. Dumping every map skips the ones whose entries cannot be
 * listed (ring buffers: their records are consumed, not iterated); naming one is an error.
 */
function dumpMaps(object: LoadedObject, spec: LoadedObject['spec'], dump: RunOptions['dump']): { name: string; type: string; entries: MapEntry[] }[] {
  const all = dump === true || (Array.isArray(dump) && dump.length === 0);
  return selectedMaps(object, dump)
    .filter((name) => !all || object.map(name).spec.type !== MapType.RINGBUF)
    .map((name) => {
      const map = object.map(name);
      return { name, type: mapTypeLabel(map.spec.type), entries: mapEntries(map, spec.maps.find((m) => m.name === name), spec.btf) };
    });
}

function selectedMaps(object: LoadedObject, dump: RunOptions['dump']): string[] {
  if (dump === undefined || dump === false) return [];
  const all = [...object.maps.keys()];
  if (dump === true || dump.length === 0) return all;
  for (const name of dump) {
    if (!object.maps.has(name)) throw new UsageError(`--dump: no map '${name}'${didYouMean(name, all)}; maps: ${all.join(', ')}`);
  }
  return dump;
}

const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export function runCommand(file: string, programName: string | undefined, options: RunOptions, out: (s: string) => void): number {
  const spec = openObjectFile(file, parseAbi(options.abi));
  const programSpec = selectProgram(spec, programName);
  if (options.data !== undefined && options.dataHex !== undefined) throw new UsageError('give --data or --data-hex, not both');
  const data = options.data !== undefined ? readFileOrFail(options.data) : options.dataHex !== undefined ? parseBytes(`hex:${options.dataHex}`, options.dataHex.replace(/[\s_]/g, '').length / 2, '--data-hex') : undefined;
  const ctx = options.ctx !== undefined ? readFileOrFail(options.ctx) : undefined;
  const repeat = positiveInteger(options.repeat, '--repeat');
  const cpus = positiveInteger(options.cpus, '--cpus');
  const cpu = positiveInteger(options.cpu, '--cpu', 0);
  if (cpu >= cpus) throw new UsageError(`--cpu ${cpu} does not exist with --cpus ${cpus}`);

  const context = new ExecutionContext({ cpus });
  const object = loadForRun(spec, programSpec, context, {
    only: options.only, type: options.type, engine: parseEngine(options.engine), allowPointerLeaks: options.allowPointerLeaks,
  });
  seedMaps(object, options.set ?? []);
  const program = object.program(programSpec.name);
  const result = program.testRun({ data, ctx, repeat, cpu });
  if (options.out !== undefined && result.data !== undefined) writeFileSync(options.out, result.data);
  if (options.ctxOut !== undefined && result.ctx !== undefined) writeFileSync(options.ctxOut, result.ctx);
  const dumps = dumpMaps(object, spec, options.dump);
  const trace = context.trace.map((t) => t.text);

  if (options.json) {
    out(JSON.stringify({
      program: program.name,
      section: program.section,
      type: program.type,
      abi: program.abi,
      engine: program.engine,
      returnValue: result.returnValue,
      returnName: result.returnName,
      instructions: result.instructions,
      durationNs: result.durationNs,
      repeat,
      dataOut: result.data === undefined ? undefined : hexOf(result.data),
      ctxOut: result.ctx === undefined ? undefined : hexOf(result.ctx),
      trace,
      maps: dumps,
    }, jsonReplacer, 2) + '\n');
    return 0;
  }
  const name = result.returnName === undefined ? '' : ` (${result.returnName})`;
  out(`${program.name} (${program.type}, section ${program.section}, ${program.engine}): returned ${result.returnValue}${name}\n`);
  const executed = result.instructions === undefined ? '' : `${result.instructions} instructions executed, `;
  out(`  ${executed}${(result.durationNs / 1000).toFixed(2)} µs per run (mean of ${repeat})\n`);
  if (result.data !== undefined) {
    const same = data !== undefined && result.data.length === data.length && result.data.every((b, i) => b === data[i]);
    out(`  data out: ${result.data.length} bytes${same ? ' (unchanged)' : ''}${options.out !== undefined ? ` -> ${options.out}` : ''}\n`);
  }
  for (const line of trace) out(`  trace: ${line}\n`);
  for (const d of dumps) {
    out(`  map ${d.name} (${d.type}): ${d.entries.length === 0 ? 'empty' : ''}\n`);
    for (const e of d.entries) out(`    ${JSON.stringify(e.key, jsonReplacer)}: ${JSON.stringify(e.value, jsonReplacer)}\n`);
  }
  return 0;
}

export interface MapDumpOptions extends Omit<RunOptions, 'dump'> {
  program?: string;
}

/** `ebpf map dump FILE [MAP…]`: the maps as loaded, or after one test run when --data is given. */
export function mapDumpCommand(file: string, maps: string[], options: MapDumpOptions, out: (s: string) => void): number {
  if (options.data !== undefined || options.dataHex !== undefined || options.program !== undefined) {
    return runCommand(file, options.program, { ...options, dump: maps.length === 0 ? true : maps }, out);
  }
  const spec = openObjectFile(file, parseAbi(options.abi));
  const context = new ExecutionContext({ cpus: positiveInteger(options.cpus, '--cpus') });
  // No program is loaded: prog-array slots the object fills stay empty (a run, with --program, loads them).
  const object = loadObject(spec, context, { programs: [], unselectedSlots: 'leave-empty' });
  seedMaps(object, options.set ?? []);
  const dumps = dumpMaps(object, spec, maps.length === 0 ? true : maps);
  if (options.json) {
    out(JSON.stringify({ maps: dumps }, jsonReplacer, 2) + '\n');
    return 0;
  }
  for (const d of dumps) {
    out(`map ${d.name} (${d.type}): ${d.entries.length === 0 ? 'empty' : ''}\n`);
    for (const e of d.entries) out(`  ${JSON.stringify(e.key, jsonReplacer)}: ${JSON.stringify(e.value, jsonReplacer)}\n`);
  }
  return 0;
}
