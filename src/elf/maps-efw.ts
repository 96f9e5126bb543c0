// ebpf-for-windows' rules for map definitions, legacy and BTF alike: what its loader and
// ebpf_map_create refuse with EBPF_INVALID_ARGUMENT, checked when an EfW object is opened so the
// refusal names the map and the rule (EfW itself only logs a trace line). Linux objects keep
// Linux's rules. (Inner-map ids and indices are resolved, and checked, in maps-legacy.ts.)
import { EFW_MAP_TYPES_WITHOUT_KEY, EFW_MAP_TYPES_WITHOUT_VALUE, EFW_OBJ_NAME_LEN, EFW_PIN_TYPES, linuxMapTypeToEfw } from '../abi/index.js';
import { ObjectError } from './errors.js';
import type { MapDefinition } from './spec.js';

const PIN_TYPES = new Set(Object.values(EFW_PIN_TYPES));
const utf8Length = (text: string): number => new TextEncoder().encode(text).length;

/** Throws an ObjectError naming the map and the rule when EfW would refuse this definition. */
export function checkEfwMapDefinition(map: MapDefinition, options: { readonly isInnerTemplate?: boolean } = {}): void {
  const fail = (rule: string): never => {
    throw new ObjectError(`map ${map.name}: ${rule}`);
  };
  if (!PIN_TYPES.has(map.pinning)) {
    fail(`pinning type ${map.pinning} is neither LIBBPF_PIN_NONE (0) nor LIBBPF_PIN_BY_NAME (1), the two ebpf-for-windows knows`);
  }
  // An inner template's name is ours (`outer.inner`), not the object's: only real names count.
  if (options.isInnerTemplate !== true && utf8Length(map.name) >= EFW_OBJ_NAME_LEN) {
    fail(`its name is ${utf8Length(map.name)} bytes; ebpf-for-windows allows at most ${EFW_OBJ_NAME_LEN - 1} (BPF_OBJ_NAME_LEN ${EFW_OBJ_NAME_LEN}, with the NUL)`);
  }
  const efwType = linuxMapTypeToEfw(map.type) ?? -1;
  if (map.keySize === 0 && !EFW_MAP_TYPES_WITHOUT_KEY.includes(efwType)) fail('key_size is 0; in ebpf-for-windows only queue, stack, ring buffer and perf event array maps may have no key');
  if (map.valueSize === 0 && !EFW_MAP_TYPES_WITHOUT_VALUE.includes(efwType)) fail('value_size is 0; in ebpf-for-windows only ring buffer and perf event array maps may have no value');
  if (map.maxEntries === 0) fail('max_entries is 0; ebpf-for-windows needs at least one entry');
  if (map.innerMap !== undefined) checkEfwMapDefinition(map.innerMap, { isInnerTemplate: true });
}
