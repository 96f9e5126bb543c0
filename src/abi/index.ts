// src/abi/: the two eBPF ABIs ebpf-ts understands, as data (DESIGN.md "ABI and compatibility").
// Linux UAPI numbering is native; ebpf-for-windows objects are translated with the tables and
// functions below. Pure data and lookups: this module imports nothing outside src/abi/ but the
// extension registry (for map types extensions add to ebpf-for-windows objects).

import { mapTypeOfEfwNumber } from '../extension/registry.js';
import {
  EFW_EXT_HELPER_FN_BASE,
  EFW_HELPERS,
  EFW_SOCK_ADDR_HELPERS,
  EFW_SOCK_OPS_HELPERS,
  EFW_TO_LINUX_EXT_HELPER,
  EFW_TO_LINUX_HELPER,
  EFW_TO_LINUX_MAP_TYPE,
  EFW_TO_LINUX_XDP_ACTION,
  EFW_XDP_HELPERS,
  LINUX_TO_EFW_MAP_TYPE,
} from './efw.js';
import { LINUX_HELPERS } from './linux.js';
import type { HelperDef } from './types.js';

export * from './types.js';
export * from './linux.js';
export * from './printf.js';
export * from './address-space.js';
export * from './efw.js';
export * from './builtins.js';

/** Which ABI an object was built for. */
export type AbiFlavour = 'linux' | 'efw';

const byId = (list: readonly HelperDef[]): ReadonlyMap<number, HelperDef> => new Map(list.map((h) => [h.id, h]));
const LINUX_BY_ID = byId(LINUX_HELPERS);
const EFW_BY_ID = byId(EFW_HELPERS);
const EFW_EXT_BY_TYPE: Readonly<Record<string, ReadonlyMap<number, HelperDef>>> = {
  XDP: byId(EFW_XDP_HELPERS),
  XDP_TEST: byId(EFW_XDP_HELPERS),
  CGROUP_SOCK_ADDR: byId(EFW_SOCK_ADDR_HELPERS),
  SOCK_OPS: byId(EFW_SOCK_OPS_HELPERS),
};

/** The Linux helper with this id, if any. */
export function linuxHelper(id: number): HelperDef | undefined {
  return LINUX_BY_ID.get(id);
}

/**
 * The EfW helper with this id: a global helper (1..34), or, given the EfW
 * program type name (key of EFW_PROG_TYPES), one of that type's own helpers
 * (ids above EFW_EXT_HELPER_FN_BASE).
 */
export function efwHelper(id: number, programType?: string): HelperDef | undefined {
  if (id > EFW_EXT_HELPER_FN_BASE) return programType === undefined ? undefined : EFW_EXT_BY_TYPE[programType]?.get(id);
  return EFW_BY_ID.get(id);
}

/** EfW map type number -> Linux number, or undefined for a number EfW does not define. */
export function efwMapTypeToLinux(efwType: number): number | undefined {
  // An extension's map type (the sample extension's 0xF000 …) carries its own ebpf-ts number.
  return Object.hasOwn(EFW_TO_LINUX_MAP_TYPE, efwType) ? EFW_TO_LINUX_MAP_TYPE[efwType] : mapTypeOfEfwNumber(efwType)?.type;
}

/** Linux map type number -> EfW number, or undefined when EfW has no such map type. */
export function linuxMapTypeToEfw(linuxType: number): number | undefined {
  return Object.hasOwn(LINUX_TO_EFW_MAP_TYPE, linuxType) ? LINUX_TO_EFW_MAP_TYPE[linuxType] : undefined;
}

/**
 * EfW helper id -> Linux helper id with the same semantics, or undefined when
 * the helper is EfW-only (memcpy_s, ...) or unknown. Hook-specific ids
 * (above EFW_EXT_HELPER_FN_BASE) need the EfW program type name.
 */
export function efwHelperToLinux(id: number, programType?: string): number | undefined {
  if (id > EFW_EXT_HELPER_FN_BASE) {
    if (programType === undefined) return undefined;
    const table = EFW_TO_LINUX_EXT_HELPER[programType];
    return table !== undefined && Object.hasOwn(table, id) ? table[id] : undefined;
  }
  return Object.hasOwn(EFW_TO_LINUX_HELPER, id) ? EFW_TO_LINUX_HELPER[id] : undefined;
}

/** EfW XDP return code -> Linux XDP return code (PASS 1 -> 2, DROP 2 -> 1, TX 3 -> 3). */
export function efwXdpActionToLinux(action: number): number | undefined {
  return Object.hasOwn(EFW_TO_LINUX_XDP_ACTION, action) ? EFW_TO_LINUX_XDP_ACTION[action] : undefined;
}
