// Kconfig externs (`extern int LINUX_KERNEL_VERSION __kconfig;`): libbpf fills them from the running
// kernel; ebpf-ts is not a kernel, so it gives fixed, documented values for the ones libbpf itself
// defines, 0 for weak CONFIG_* options, and refuses anything else by name. The values live in a
// read-only `.kconfig` array map, as in libbpf.
import { Btf, BtfKind } from '../btf/index.js';
import { ObjectError } from './errors.js';
import { SymbolBinding, type ElfSymbol } from './reader.js';
import type { MapDefinition } from './spec.js';

/** KERNEL_VERSION(6, 1, 0): the UAPI ebpf-ts follows (src/abi/linux.ts). */
export const KCONFIG_VALUES: Readonly<Record<string, bigint>> = {
  LINUX_KERNEL_VERSION: (6n << 16n) | (1n << 8n),
  LINUX_HAS_SYSCALL_WRAPPER: 1n,
  // bpf_get_attach_cookie is not implemented: programs must take the path without cookies.
  LINUX_HAS_BPF_COOKIE: 0n,
};

export interface KconfigLayout {
  readonly map: MapDefinition;
  readonly offsets: ReadonlyMap<string, number>;
}

/** Lays out the kconfig externs `symbols` refer to; refuses ksyms and unknown strong options. */
export function kconfigLayout(btf: Btf | undefined, externs: readonly ElfSymbol[]): KconfigLayout | undefined {
  if (externs.length === 0) return undefined;
  const kconfig = btf?.datasec('.kconfig');
  const ksyms = btf?.datasec('.ksyms');
  const varsOf = (sec: typeof kconfig) => new Map((sec?.vars ?? []).map((v) => [btf?.type(v.type).name ?? '', v.type]));
  const kconfigVars = varsOf(kconfig);
  const ksymVars = varsOf(ksyms);
  const offsets = new Map<string, number>();
  const values: { offset: number; size: number; value: bigint }[] = [];
  let size = 0;
  for (const symbol of externs) {
    if (offsets.has(symbol.name)) continue;
    if (ksymVars.has(symbol.name)) throw new ObjectError(`extern symbol ${symbol.name} is a ksym (a kernel symbol address): not supported`, true);
    const varType = kconfigVars.get(symbol.name);
    if (varType === undefined || btf === undefined) throw new ObjectError(`extern symbol ${symbol.name} is neither a kconfig nor a ksym extern BTF knows: not supported`, true);
    const variable = btf.type(varType);
    const bytes = variable.kind === BtfKind.VAR && variable.type !== undefined ? btf.sizeOf(variable.type) : 0;
    if (bytes < 1 || bytes > 8) throw new ObjectError(`kconfig extern ${symbol.name} is ${bytes} bytes: only 1-8 byte values are supported`, true);
    let value = KCONFIG_VALUES[symbol.name];
    if (value === undefined) {
      if (symbol.binding !== SymbolBinding.WEAK) {
        throw new ObjectError(`kconfig extern ${symbol.name} has no value here (ebpf-ts has no kernel configuration); declare it __weak to get 0`, true);
      }
      value = 0n;
    }
    size = Math.ceil(size / bytes) * bytes;
    offsets.set(symbol.name, size);
    values.push({ offset: size, size: bytes, value });
    size += bytes;
  }
  const initialValue = new Uint8Array(Math.max(8, Math.ceil(size / 8) * 8));
  const view = new DataView(initialValue.buffer);
  for (const v of values) {
    for (let i = 0; i < v.size; i++) view.setUint8(v.offset + i, Number((v.value >> BigInt(8 * i)) & 0xffn));
  }
  const map: MapDefinition = {
    name: '.kconfig', type: 2, keySize: 4, valueSize: initialValue.length, maxEntries: 1, flags: 0x80 /* BPF_F_RDONLY_PROG */,
    pinning: 0, initialValue, readOnly: true, origin: 'data',
  };
  return { map, offsets };
}
