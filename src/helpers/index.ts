// Helper registries per ABI: the same implementations under Linux's ids or ebpf-for-windows' ids.
import { BUILTIN_HELPERS, EFW_HELPERS, EFW_PROGRAM_TYPE_HELPERS, LINUX_HELPERS } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import { HelperRegistry } from '../vm/helpers.js';
import { BUILTIN_IMPLEMENTATIONS } from './builtin-helpers.js';
import { EFW_ONLY_HELPERS } from './efw-helpers.js';
import { EVENT_HELPERS } from './event-helpers.js';
import type { HelperHost } from './host.js';
import type { HelperImplementation } from './implementation.js';
import { helpersFor, registerExtension, type HelperDefinition as RegisteredHelper } from '../extension/registry.js';
import { KERNEL_HELPERS } from './kernel-helpers.js';
import { MAP_HELPERS } from './map-helpers.js';
import { REDIRECT_HELPERS } from './redirect-helpers.js';

export * from './host.js';
export * from './implementation.js';
export { formatPrintf } from './format.js';

/** Every helper ebpf-ts implements, by name. */
export const HELPER_IMPLEMENTATIONS: readonly HelperImplementation[] = [
  ...MAP_HELPERS,
  ...KERNEL_HELPERS,
  ...EVENT_HELPERS,
  ...EFW_ONLY_HELPERS,
  ...REDIRECT_HELPERS,
];

/**
 * ebpf-ts' own helpers as helper definitions: each implementation under its id in every ABI
 * that has it (a program type's own ebpf-for-windows helpers, numbered from 65536, for that type
 * only), and the built-in C functions (memset …) under ebpf-ts' ids in both. Their verifier rules
 * are in the program types' rules (src/program-types/rules.ts), which differ per type.
 */
function builtinHelperDefinitions(): RegisteredHelper[] {
  const byName = new Map(HELPER_IMPLEMENTATIONS.map((i) => [i.name, i]));
  const out: RegisteredHelper[] = [];
  const global = new Map<string, { linux?: number; efw?: number }>();
  for (const h of LINUX_HELPERS) if (byName.has(h.name)) global.set(h.name, { ...global.get(h.name), linux: h.id });
  for (const h of EFW_HELPERS) if (byName.has(h.name)) global.set(h.name, { ...global.get(h.name), efw: h.id });
  for (const [name, ids] of global) {
    const impl = byName.get(name) as HelperImplementation;
    out.push({ name, ids, prototype: impl.prototype, make: impl.make, ...(impl.kind === undefined ? {} : { kind: impl.kind }) });
  }
  for (const [type, list] of Object.entries(EFW_PROGRAM_TYPE_HELPERS)) {
    for (const h of list) {
      const impl = byName.get(h.name);
      // A type's own helpers without a common implementation come from its runtime (helpers(host)).
      if (impl === undefined) continue;
      out.push({ name: h.name, ids: { efw: h.id }, programTypes: [type], prototype: impl.prototype, make: impl.make });
    }
  }
  for (const { id, name } of BUILTIN_HELPERS) {
    const impl = BUILTIN_IMPLEMENTATIONS.find((b) => b.name === name);
    if (impl !== undefined) out.push({ name, ids: { linux: id, efw: id }, prototype: impl.prototype, make: impl.make });
  }
  return out;
}

registerExtension({ name: 'ebpf-ts helpers', helpers: builtinHelperDefinitions() });

/**
 * The helpers a program of this ABI and type can call, under that ABI's ids: every registered
 * helper for it (ebpf-ts' own and extensions'). `extra` are the type's own implementations (e.g.
 * xdp_adjust_head): they replace the registered ones of the same name, and a type-specific
 * ebpf-for-windows helper with no common implementation is theirs alone.
 */
export function buildHelperRegistry(host: HelperHost, abi: Abi, programType: string, extra: readonly HelperImplementation[] = []): HelperRegistry {
  const own = new Map(extra.map((i) => [i.name, i]));
  const registry = new HelperRegistry();
  for (const { id, definition } of helpersFor(abi, programType)) {
    const impl = own.get(definition.name) ?? definition;
    registry.register({ id, name: definition.name, prototype: impl.prototype, call: impl.make(host), kind: impl.kind });
  }
  // Helpers of the ABI that only the type's runtime implements (xdp_adjust_head, sock_ops_cb_flags_set …).
  const table = abi === 'efw' ? [...EFW_HELPERS, ...(EFW_PROGRAM_TYPE_HELPERS[programType] ?? [])] : LINUX_HELPERS;
  for (const { id, name } of table) {
    const impl = own.get(name);
    if (impl !== undefined && !registry.has(id)) registry.register({ id, name, prototype: impl.prototype, call: impl.make(host), kind: impl.kind });
  }
  return registry;
}

/** Helper names of an ABI that have no implementation (for documentation and `ebpf show helpers`). */
export function unimplementedHelpers(abi: Abi, extra: readonly HelperImplementation[] = []): string[] {
  const names = new Set([...HELPER_IMPLEMENTATIONS, ...extra].map((i) => i.name));
  return (abi === 'efw' ? EFW_HELPERS : LINUX_HELPERS).filter((h) => !names.has(h.name)).map((h) => h.name);
}
