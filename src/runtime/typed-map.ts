// Map contents as people read them: through BTF when the map's key and value types are known
// (structs become objects), else as integers when they are 1-8 bytes, else as hex bytes.
import type { Btf } from '../btf/index.js';
import type { MapDefinition } from '../elf/spec.js';
import type { BpfMap } from '../maps/index.js';

const PERCPU_TYPES = new Set([5, 6, 10]); // percpu_hash, percpu_array, lru_percpu_hash

function asNumber(bytes: Uint8Array): number | string {
  if (bytes.length === 0 || bytes.length > 8) return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`;
}

function decodeWith(btf: Btf | undefined, typeId: number | undefined, bytes: Uint8Array): unknown {
  if (btf !== undefined && typeId !== undefined) {
    try {
      return btf.decode(typeId, bytes);
    } catch {
      // Fall back to the plain form: a dump should never fail because of a type it cannot show.
    }
  }
  return asNumber(bytes);
}

export interface MapEntry {
  readonly key: unknown;
  readonly value: unknown;
}

/** Every entry of `map`, decoded; per-CPU maps give one value per CPU. */
export function mapEntries(map: BpfMap, def: MapDefinition | undefined, btf: Btf | undefined): MapEntry[] {
  const out: MapEntry[] = [];
  const valueSize = map.spec.valueSize;
  const stride = Math.ceil(valueSize / 8) * 8;
  for (const [key, value] of map.entries()) {
    let decoded: unknown;
    if (PERCPU_TYPES.has(map.spec.type)) {
      decoded = Array.from({ length: value.length / stride }, (_, cpu) => decodeWith(btf, def?.btfValueType, value.subarray(cpu * stride, cpu * stride + valueSize)));
    } else {
      decoded = decodeWith(btf, def?.btfValueType, value);
    }
    out.push({ key: decodeWith(btf, def?.btfKeyType, key), value: decoded });
  }
  return out;
}

