// BTF-defined maps (libbpf's `.maps` section): every map is a global variable whose type is an
// anonymous struct; each member's *type* carries one attribute (`int (*type)[BPF_MAP_TYPE_HASH]`
// is a pointer to an array of that many ints), `key`/`value` point at the key and value types, and
// `values` is an array of pointers for map-in-map templates and prog-array initial slots.
import { Btf, BtfKind, type BtfType } from '../btf/index.js';
import { ObjectError } from './errors.js';
import type { Abi, MapDefinition } from './spec.js';
import { efwMapTypeToLinux } from '../abi/index.js';
import type { Relocation } from './relocations.js';
import type { ElfSection, ElfSymbol } from './reader.js';

interface Attributes {
  type?: number;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  flags?: number;
  pinning?: number;
  keyType?: number;
  valueType?: number;
  values?: { member: { bitOffset: number }; pointee: BtfType; count: number };
}

/** `int (*name)[N]` → N (libbpf's __uint), or an enum with the single value N (its __ulong). */
function intAttribute(btf: Btf, mapName: string, member: string, typeId: number): number {
  const ptr = btf.resolve(typeId);
  if ((ptr.kind === BtfKind.ENUM || ptr.kind === BtfKind.ENUM64) && ptr.enumValues?.length === 1) {
    const value = ptr.enumValues[0].value;
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ObjectError(`map ${mapName}: attribute ${member} is out of range (${value})`);
    return Number(value);
  }
  if (ptr.kind !== BtfKind.PTR || ptr.type === undefined) {
    throw new ObjectError(`map ${mapName}: attribute ${member} is not declared as __uint(${member}, N)`);
  }
  const arr = btf.resolve(ptr.type);
  if (arr.kind !== BtfKind.ARRAY || arr.array === undefined) {
    throw new ObjectError(`map ${mapName}: attribute ${member} is not declared as __uint(${member}, N)`);
  }
  return arr.array.nelems;
}

/** `__uint(name, N)` members and the Attributes field each fills. */
const NUMERIC_ATTRIBUTES = {
  type: 'type',
  key_size: 'keySize',
  value_size: 'valueSize',
  max_entries: 'maxEntries',
  map_flags: 'flags',
  pinning: 'pinning',
} as const;

function attributesOf(btf: Btf, mapName: string, structType: BtfType): Attributes {
  if (structType.kind !== BtfKind.STRUCT || structType.members === undefined) {
    throw new ObjectError(`map ${mapName}: its type is not a struct of __uint/__type attributes`);
  }
  const a: Attributes = {};
  for (const m of structType.members) {
    switch (m.name) {
      case 'type':
      case 'key_size':
      case 'value_size':
      case 'max_entries':
      case 'map_flags':
      case 'pinning':
        a[NUMERIC_ATTRIBUTES[m.name]] = intAttribute(btf, mapName, m.name, m.type);
        break;
      case 'numa_node':
      case 'map_extra':
        intAttribute(btf, mapName, m.name, m.type);
        break;
      case 'key':
      case 'value': {
        const ptr = btf.resolve(m.type);
        if (ptr.kind !== BtfKind.PTR || ptr.type === undefined) throw new ObjectError(`map ${mapName}: ${m.name} must be declared with __type(${m.name}, T)`);
        if (m.name === 'key') a.keyType = ptr.type;
        else a.valueType = ptr.type;
        break;
      }
      case 'values': {
        const arr = btf.resolve(m.type);
        if (arr.kind !== BtfKind.ARRAY || arr.array === undefined) throw new ObjectError(`map ${mapName}: values must be declared with __array(values, …)`);
        const ptr = btf.resolve(arr.array.elemType);
        if (ptr.kind !== BtfKind.PTR || ptr.type === undefined) throw new ObjectError(`map ${mapName}: values must be an array of pointers`);
        a.values = { member: m, pointee: btf.resolve(ptr.type), count: arr.array.nelems };
        break;
      }
      default:
        throw new ObjectError(`map ${mapName}: unknown map attribute '${m.name}'`, true);
    }
  }
  return a;
}

function definitionOf(btf: Btf, name: string, structType: BtfType, inner: boolean, abi: Abi): MapDefinition {
  const a = attributesOf(btf, name, structType);
  if (a.type === undefined) throw new ObjectError(`map ${name}: no map type (__uint(type, …))`);
  // ebpf-for-windows objects carry its own map type numbers, in BTF maps as in legacy ones.
  const type = abi === 'efw' ? efwMapTypeToLinux(a.type) : a.type;
  if (type === undefined) throw new ObjectError(`map ${name}: unknown ebpf-for-windows map type ${a.type}`);
  let keySize = a.keySize;
  let valueSize = a.valueSize;
  if (a.keyType !== undefined) keySize = btf.sizeOf(a.keyType);
  if (a.valueType !== undefined) valueSize = btf.sizeOf(a.valueType);
  let innerMap: MapDefinition | undefined;
  if (a.values !== undefined && a.values.pointee.kind === BtfKind.STRUCT) {
    if (inner) throw new ObjectError(`map ${name}: an inner map cannot hold maps itself`, true);
    innerMap = definitionOf(btf, `${name}.inner`, a.values.pointee, true, abi);
    valueSize ??= 4;
  }
  if (a.values !== undefined && a.values.pointee.kind === BtfKind.FUNC_PROTO) valueSize ??= 4;
  return {
    name,
    type,
    keySize: keySize ?? 0,
    valueSize: valueSize ?? 0,
    maxEntries: a.maxEntries ?? 0,
    flags: a.flags ?? 0,
    pinning: a.pinning ?? 0,
    innerMap,
    readOnly: false,
    btfKeyType: a.keyType,
    btfValueType: a.valueType,
    origin: 'btf',
  };
}

/** Reads the maps of a `.maps` section; `relocations` fill map-in-map and prog-array slots. */
export function btfMaps(btf: Btf, section: ElfSection, relocations: readonly Relocation[], abi: Abi, symbols: readonly ElfSymbol[]): MapDefinition[] {
  const datasec = btf.datasec('.maps');
  if (datasec === undefined || datasec.vars === undefined) {
    throw new ObjectError('the object has a .maps section but its BTF has no .maps DATASEC (compile with -g)');
  }
  const out: MapDefinition[] = [];
  for (const v of datasec.vars) {
    const variable = btf.type(v.type);
    if (variable.kind !== BtfKind.VAR || variable.type === undefined) continue;
    const struct = btf.resolve(variable.type);
    const def = definitionOf(btf, variable.name, struct, false, abi);
    const a = attributesOf(btf, variable.name, struct);
    let initialSlots: { index: number; name: string }[] | undefined;
    // clang leaves DATASEC offsets for the loader to fill in: the map's symbol says where it is.
    const symbol = symbols.find((sym) => sym.sectionIndex === section.index && sym.name === variable.name);
    if (symbol === undefined) throw new ObjectError(`map ${variable.name} has no symbol in the .maps section`);
    const offset = symbol.value;
    if (a.values !== undefined) {
      const start = offset + a.values.member.bitOffset / 8;
      // `__array(values, …)` is a flexible array member: its slots run to max_entries.
      const slots = Math.max(a.values.count, def.maxEntries);
      for (const r of relocations) {
        if (r.offset < start || r.offset >= start + slots * 8) continue;
        initialSlots ??= [];
        initialSlots.push({ index: (r.offset - start) / 8, name: r.symbol.name });
      }
    }
    if (offset + btf.sizeOf(variable.type) > section.size) throw new ObjectError(`map ${variable.name} lies outside the .maps section`);
    out.push(initialSlots === undefined ? def : { ...def, initialSlots });
  }
  return out;
}
