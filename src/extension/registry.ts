// The one registry of what programs can be (DESIGN.md, "Hooks (program types) and extensions"):
// program types (the section names that declare them, what the verifier must know of them per
// ABI, how they run), helpers (ids per ABI, the verifier's rule for a call, the implementation
// both engines call) and map types (their numbers in object files, how they are created).
//
// ebpf-ts' own program types, helpers and map types are registered here through
// registerExtension, the same call a third party makes (src/extension/index.ts is the public
// surface). This module imports types only, so every layer (ELF reader, verifier, runtime) can
// consult it without depending on the others.
import type { Abi } from '../elf/spec.js';
import type { HelperHost } from '../helpers/host.js';
import type { BpfMap } from '../maps/map.js';
import type { MapRegistry } from '../maps/registry.js';
import type { MapSpec } from '../maps/spec.js';
import type { ProgramType } from '../program-types/types.js';
import type { HelperRule, ProgramTypeRules } from '../verifier/program-type.js';
import type { HelperFunction, HelperPrototype } from '../vm/helpers.js';

/** A section name convention: sections whose name starts with `prefix` hold programs of a type. */
export interface SectionRule {
  readonly prefix: string;
  /** The rest of the name after the prefix is an attach target (kprobe/FUNC, tracepoint/CAT/NAME). */
  readonly target?: boolean;
  /** The attach type the name declares (xdp_test, kretprobe …). */
  readonly attach?: string;
  /** Only ebpf-for-windows uses this name. */
  readonly efwOnly?: boolean;
  /** Any name that starts with the prefix matches (ebpf-for-windows' rule: `bind_2` is a bind program). */
  readonly anySuffix?: boolean;
}

/** A section rule with the program type it declares. */
export interface TypedSectionRule extends SectionRule {
  readonly type: string;
}

/**
 * A program type, or part of one: an extension may give a type that exists already what it lacks
 * (section names, rules for another ABI, a runtime), but never a part it has.
 */
export interface ProgramTypeDefinition {
  /** Its name (xdp, bind, sample …): what section rules resolve to and `--type` names. */
  readonly name: string;
  /** Section names that declare it. */
  readonly sections?: readonly SectionRule[];
  /** What the verifier must know of it, per ABI: context, the helpers it may call by id, return values. */
  readonly rules?: Partial<Readonly<Record<Abi, ProgramTypeRules>>>;
  /** How it runs: test-run contexts, its own helpers' behaviour, return value names. */
  readonly runtime?: ProgramType;
}

/** A helper: its ids, who may call it, how the verifier checks a call, what it does. */
export interface HelperDefinition {
  /** Its name without bpf_ (map_lookup_elem, sample_ebpf_extension_find …). */
  readonly name: string;
  /** Its id in each ABI that has it (ebpf-for-windows numbers a type's own helpers from 65536). */
  readonly ids: Partial<Readonly<Record<Abi, number>>>;
  /** The program types that may call it; every type when absent. */
  readonly programTypes?: readonly string[];
  /**
   * How the verifier checks a call. Absent: the program types' rules say it (ebpf-ts' own
   * helpers, whose prototypes differ per type); present: it is added to every type above.
   */
  readonly rule?: Omit<HelperRule, 'name'>;
  /** Its arguments and result, as the engines marshal them. */
  readonly prototype: HelperPrototype;
  /** `tail-call`: the engine replaces the running program itself (bpf_tail_call). */
  readonly kind?: 'tail-call';
  /** Its behaviour, the same function for the interpreter and the JIT. */
  make(host: HelperHost): HelperFunction;
}

export type MapConstructor = new (registry: MapRegistry, id: number, spec: MapSpec, attachAt?: number) => BpfMap;

/** A map type: its number, how object files of each ABI name it, how a map of it is made. */
export interface MapTypeDefinition {
  readonly name: string;
  /**
   * The number maps of this type carry inside ebpf-ts (MapSpec.type). ebpf-ts' own types use
   * Linux's UAPI numbers; an extension's must be at least EXTENSION_MAP_TYPE_BASE.
   */
  readonly type: number;
  /** Its number in ebpf-for-windows objects (ebpf_map_type_t), where it has one. */
  readonly efwType?: number;
  /** Checks a spec of this type (sizes, flags), throwing MapError; ebpf-ts' own types are checked by validateSpec. */
  validate?(spec: MapSpec): void;
  /** The map class (a BpfMap laid out in linear memory). */
  readonly create: MapConstructor;
}

export interface Extension {
  /** Who registers (named in conflicts). */
  readonly name: string;
  readonly programTypes?: readonly ProgramTypeDefinition[];
  readonly helpers?: readonly HelperDefinition[];
  readonly mapTypes?: readonly MapTypeDefinition[];
}

/** Extension map types are numbered from here, clear of Linux's UAPI numbers. */
export const EXTENSION_MAP_TYPE_BASE = 0x1000;

export class ExtensionError extends Error {
  override readonly name = 'ExtensionError';
}

interface ProgramTypeEntry {
  sections: TypedSectionRule[];
  rules: Partial<Record<Abi, ProgramTypeRules>>;
  runtime?: ProgramType;
  /** Who gave each part, for conflict messages. */
  from: Map<string, string>;
}

const programTypes = new Map<string, ProgramTypeEntry>();
const sectionRules: TypedSectionRule[] = [];
const helpers: { definition: HelperDefinition; from: string }[] = [];
const mapTypes = new Map<number, { definition: MapTypeDefinition; from: string }>();
const extensions = new Set<string>();
const listeners = new Set<() => void>();

const ABIS: readonly Abi[] = ['linux', 'efw'];

/** The checks registerExtension makes, before anything is registered (a refused extension changes nothing). */
function check(ext: Extension): void {
  const fail = (why: string): never => {
    throw new ExtensionError(`extension ${ext.name}: ${why}`);
  };
  if (typeof ext.name !== 'string' || ext.name === '') fail('it needs a name');
  if (extensions.has(ext.name)) fail('is already registered');
  const seenTypes = new Set<string>();
  for (const t of ext.programTypes ?? []) {
    if (!/^[a-z][a-z0-9_]*$/.test(t.name)) fail(`program type name '${t.name}' must be lower-case letters, digits and _`);
    if (seenTypes.has(t.name)) fail(`names program type ${t.name} twice`);
    seenTypes.add(t.name);
    const existing = programTypes.get(t.name);
    for (const abi of ABIS) {
      if (t.rules?.[abi] !== undefined && existing?.rules[abi] !== undefined) fail(`program type ${t.name} already has ${abi} rules (from ${existing.from.get(`rules:${abi}`)})`);
    }
    if (t.runtime !== undefined && existing?.runtime !== undefined) fail(`program type ${t.name} already has a runtime (from ${existing.from.get('runtime')})`);
    if (t.runtime !== undefined && t.runtime.name !== t.name) fail(`program type ${t.name}'s runtime is named ${t.runtime.name}`);
    for (const s of t.sections ?? []) {
      if (typeof s.prefix !== 'string' || s.prefix === '') fail(`program type ${t.name}: a section prefix must be a non-empty string`);
      const taken = sectionRules.find((r) => r.prefix === s.prefix);
      if (taken !== undefined) fail(`section prefix '${s.prefix}' already declares program type ${taken.type}`);
    }
  }
  const ids = new Set<string>();
  for (const h of ext.helpers ?? []) {
    if (typeof h.name !== 'string' || h.name === '') fail('a helper needs a name');
    if (typeof h.make !== 'function') fail(`helper ${h.name} has no implementation (make)`);
    const abis = ABIS.filter((a) => h.ids[a] !== undefined);
    if (abis.length === 0) fail(`helper ${h.name} has no id in any ABI`);
    for (const abi of abis) {
      const id = h.ids[abi] as number;
      if (!Number.isInteger(id) || id < 1 || id > 0x7fffffff) fail(`helper ${h.name}: ${abi} id ${id} is not a positive 32-bit integer`);
      for (const type of h.programTypes ?? ['*']) {
        const key = `${abi}:${id}:${type}`;
        if (ids.has(key)) fail(`helper id ${id} (${abi}) is given twice`);
        ids.add(key);
        const clash = helpers.find((o) => o.definition.ids[abi] === id && overlaps(o.definition.programTypes, type === '*' ? undefined : [type]));
        if (clash !== undefined) fail(`helper ${h.name}: ${abi} id ${id} is taken by ${clash.definition.name} (from ${clash.from})`);
      }
    }
  }
  for (const m of ext.mapTypes ?? []) {
    if (!Number.isInteger(m.type) || m.type < 0) fail(`map type ${m.name}: its number ${m.type} is not a non-negative integer`);
    if (typeof m.create !== 'function') fail(`map type ${m.name} has no map class (create)`);
    const clash = mapTypes.get(m.type);
    if (clash !== undefined) fail(`map type number ${m.type} is taken by ${clash.definition.name} (from ${clash.from})`);
    if (m.efwType !== undefined) {
      const efw = [...mapTypes.values()].find((o) => o.definition.efwType === m.efwType);
      if (efw !== undefined) fail(`ebpf-for-windows map type number ${m.efwType} is taken by ${efw.definition.name} (from ${efw.from})`);
    }
  }
}

/** Whether two helpers' program type lists share a type (absent: every type). */
function overlaps(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.some((t) => b.includes(t));
}

/**
 * Registers an extension's program types, helpers and map types, for every execution context
 * created afterwards and every object opened afterwards. All or nothing: a conflict (a section
 * prefix, helper id or map type number already taken; a part of a program type it already has)
 * throws ExtensionError naming it, and nothing is registered.
 */
export function registerExtension(ext: Extension): void {
  check(ext);
  extensions.add(ext.name);
  for (const t of ext.programTypes ?? []) {
    const entry = programTypes.get(t.name) ?? { sections: [], rules: {}, from: new Map<string, string>() };
    for (const abi of ABIS) {
      const rules = t.rules?.[abi];
      if (rules !== undefined) {
        entry.rules[abi] = rules;
        entry.from.set(`rules:${abi}`, ext.name);
      }
    }
    if (t.runtime !== undefined) {
      entry.runtime = t.runtime;
      entry.from.set('runtime', ext.name);
    }
    for (const s of t.sections ?? []) {
      const typed = { ...s, type: t.name };
      entry.sections.push(typed);
      sectionRules.push(typed);
    }
    programTypes.set(t.name, entry);
  }
  for (const h of ext.helpers ?? []) helpers.push({ definition: h, from: ext.name });
  for (const m of ext.mapTypes ?? []) mapTypes.set(m.type, { definition: m, from: ext.name });
  for (const listener of listeners) listener();
}

/** Whether an extension of this name is registered. */
export function hasExtension(name: string): boolean {
  return extensions.has(name);
}

/** Calls `listener` after every registration (caches built from the registry rebuild). */
export function onRegistration(listener: () => void): void {
  listeners.add(listener);
}

// ---- lookups, for the ELF reader, the verifier and the runtime ----

/** Every section rule, in registration order. */
export function registeredSectionRules(): readonly TypedSectionRule[] {
  return sectionRules;
}

/** The verifier's rules of a program type for an ABI, as registered (helpers with rules of their own not merged in). */
export function registeredRules(type: string, abi: Abi): ProgramTypeRules | undefined {
  return programTypes.get(type)?.rules[abi];
}

/** Program types with rules for this ABI. */
export function typesWithRules(abi: Abi): string[] {
  return [...programTypes.entries()].filter(([, e]) => e.rules[abi] !== undefined).map(([name]) => name);
}

/** Every registered runtime (ProgramType). */
export function registeredRuntimes(): ProgramType[] {
  return [...programTypes.values()].flatMap((e) => (e.runtime === undefined ? [] : [e.runtime]));
}

/** The helpers a program of `type` may call in `abi`, with their ids there. */
export function helpersFor(abi: Abi, type: string): { id: number; definition: HelperDefinition }[] {
  const out: { id: number; definition: HelperDefinition }[] = [];
  for (const { definition } of helpers) {
    const id = definition.ids[abi];
    if (id === undefined) continue;
    if (definition.programTypes !== undefined && !definition.programTypes.includes(type)) continue;
    out.push({ id, definition });
  }
  return out;
}

export function mapTypeDefinition(type: number): MapTypeDefinition | undefined {
  return mapTypes.get(type)?.definition;
}

/** The map type an ebpf-for-windows object's number names, among the registered ones. */
export function mapTypeOfEfwNumber(efwType: number): MapTypeDefinition | undefined {
  for (const { definition } of mapTypes.values()) if (definition.efwType === efwType) return definition;
  return undefined;
}
