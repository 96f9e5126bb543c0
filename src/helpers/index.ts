// Helper registries per ABI: the same implementations under Linux's ids or ebpf-for-windows' ids.
import { BUILTIN_HELPERS, EFW_HELPERS, EFW_PROGRAM_TYPE_HELPERS, LINUX_HELPERS } from '../abi/index.js';
import type { Abi } from '../elf/spec.js';
import { HelperRegistry } from '../vm/helpers.js';
import { BUILTIN_IMPLEMENTATIONS } from './builtin-helpers.js';
import { EFW_ONLY_HELPERS } from './efw-helpers.js';
import { EVENT_HELPERS } from './event-helpers.js';
import type { HelperHost } from './host.js';
import type { HelperImplementation } from './implementation.js';
import { KERNEL_HELPERS } from './kernel-helpers.js';
import { MAP_HELPERS } from './map-helpers.js';

export * from './host.js';
export * from './implementation.js';
export { formatPrintf } from './format.js';

/** Every helper ebpf-ts implements, by name. */
export const HELPER_IMPLEMENTATIONS: readonly HelperImplementation[] = [
  ...MAP_HELPERS,
  ...KERNEL_HELPERS,
  ...EVENT_HELPERS,
  ...EFW_ONLY_HELPERS,
];

/**
 * The helpers a program of this ABI can call, under that ABI's ids. `extra` are a program type's
 * own helpers (e.g. xdp_adjust_head); they override the common ones of the same name.
 */
export function buildHelperRegistry(host: HelperHost, abi: Abi, programType: string, extra: readonly HelperImplementation[] = []): HelperRegistry {
  const byName = new Map<string, HelperImplementation>();
  for (const impl of [...HELPER_IMPLEMENTATIONS, ...extra]) byName.set(impl.name, impl);
  const registry = new HelperRegistry();
  // ebpf-for-windows numbers a program type's own helpers above EFW_EXT_HELPER_FN_BASE, per type.
  const table = abi === 'efw' ? [...EFW_HELPERS, ...(EFW_PROGRAM_TYPE_HELPERS[programType] ?? [])] : LINUX_HELPERS;
  for (const { id, name } of table) {
    const impl = byName.get(name);
    if (impl === undefined) continue;
    registry.register({ id, name, prototype: impl.prototype, call: impl.make(host), kind: impl.kind });
  }
  // memset, memcpy… under ebpf-ts's own ids, the same in both ABIs (src/abi/builtins.ts).
  for (const { id, name } of BUILTIN_HELPERS) {
    const impl = BUILTIN_IMPLEMENTATIONS.find((b) => b.name === name);
    if (impl !== undefined) registry.register({ id, name, prototype: impl.prototype, call: impl.make(host) });
  }
  return registry;
}

/** Helper names of an ABI that have no implementation (for documentation and `ebpf show helpers`). */
export function unimplementedHelpers(abi: Abi, extra: readonly HelperImplementation[] = []): string[] {
  const names = new Set([...HELPER_IMPLEMENTATIONS, ...extra].map((i) => i.name));
  return (abi === 'efw' ? EFW_HELPERS : LINUX_HELPERS).filter((h) => !names.has(h.name)).map((h) => h.name);
}
