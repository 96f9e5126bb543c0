// Built-in functions: the C library memory functions clang calls when it does not inline them.
// clang emits `call` with src_reg 1 (a bpf-to-bpf call) and an R_BPF_64_32 relocation against an
// undefined symbol (memset, memcpy, memmove, memcmp) when it cannot expand a copy or fill inline
// (a large or unaligned one, or an explicit call). Neither Linux nor ebpf-for-windows has
// helpers with these C prototypes, so ebpf-ts gives them ids of its own, above every helper id of
// both ABIs (Linux numbers its helpers from 1 up, ebpf-for-windows from 1 and from
// EFW_EXT_HELPER_FN_BASE + 1 up), and the loader turns such a call into a helper call of that id.
// This table is the one place these ids are defined.

import type { HelperDef } from './types.js';

/** Built-in function ids are BUILTIN_HELPER_BASE + 1, + 2, … (the same in both ABIs). */
export const BUILTIN_HELPER_BASE = 0x7fff0000;

/** The C prototypes, as the program sees them; the names are the C names (no `bpf_`). */
export const BUILTIN_HELPERS: readonly HelperDef[] = Object.freeze([
  { id: BUILTIN_HELPER_BASE + 1, name: 'memset', proto: 'void *memset(void *dst, int c, size_t n)' },
  { id: BUILTIN_HELPER_BASE + 2, name: 'memcpy', proto: 'void *memcpy(void *dst, const void *src, size_t n)' },
  { id: BUILTIN_HELPER_BASE + 3, name: 'memmove', proto: 'void *memmove(void *dst, const void *src, size_t n)' },
  { id: BUILTIN_HELPER_BASE + 4, name: 'memcmp', proto: 'int memcmp(const void *a, const void *b, size_t n)' },
]);

/** The built-in function an undefined symbol of this name stands for, if any. */
export function builtinByName(name: string): HelperDef | undefined {
  return BUILTIN_HELPERS.find((b) => b.name === name);
}

/** The built-in function with this helper id, if any. */
export function builtinById(id: number): HelperDef | undefined {
  return id > BUILTIN_HELPER_BASE ? BUILTIN_HELPERS.find((b) => b.id === id) : undefined;
}
