// ARRAY_OF_MAPS and HASH_OF_MAPS. User space stores an inner map's id; the map keeps the inner
// map's header address, so a program's lookup returns it directly, ready to pass to helpers, and
// user space reads the id back from the inner header. Inner maps must match the template
// (spec.innerMap) the way bpf_map_meta_equal requires.
//
// Layouts: ARRAY_OF_MAPS is an fd array (fd-array.ts) of header addresses; HASH_OF_MAPS is a
// HASH (hash.ts) whose 4-byte values are header addresses.

import { MapError, negative } from './errors.js';
import { FdArrayMap } from './fd-array.js';
import { HashMap } from './hash.js';
import { MapHeader, type BpfMap } from './map.js';
import { MapFlags, MapType, mapTypeName, type MapSpec } from './spec.js';

/** Why `inner` cannot be stored in a map whose template is `template`; undefined if it can. */
export function innerMapMismatch(template: MapSpec, inner: MapSpec): string | undefined {
  if (inner.type !== template.type) return `type ${mapTypeName(inner.type)} differs from the template's ${mapTypeName(template.type)}`;
  if (inner.keySize !== template.keySize) return `key size ${inner.keySize} differs from the template's ${template.keySize}`;
  if (inner.valueSize !== template.valueSize) return `value size ${inner.valueSize} differs from the template's ${template.valueSize}`;
  if (inner.flags !== template.flags) return `flags 0x${inner.flags.toString(16)} differ from the template's 0x${template.flags.toString(16)}`;
  // Programs may have array bounds inlined: they must hold for every inner array, unless the
  // template says sizes vary (BPF_F_INNER_MAP).
  const array = inner.type === MapType.ARRAY || inner.type === MapType.PERCPU_ARRAY;
  if (array && !(template.flags & MapFlags.INNER_MAP) && inner.maxEntries !== template.maxEntries) {
    return `max_entries ${inner.maxEntries} differs from the template's ${template.maxEntries}`;
  }
  return undefined;
}

/** The header address to store for inner map `id` of `outer`; throws EINVAL when it does not fit. */
function innerAddress(outer: BpfMap, id: number, fail: (reason: string) => MapError): number {
  const inner = outer.registry.byId(id);
  if (inner === undefined) throw fail(`no map has id ${id}`);
  const mismatch = innerMapMismatch(outer.spec.innerMap as MapSpec, inner.spec);
  if (mismatch !== undefined) throw fail(`map ${id} ("${inner.name}") cannot be an inner map here: ${mismatch}`);
  return inner.address;
}

function idAt(outer: BpfMap, headerAddress: number): number {
  return outer.registry.memory.view.getUint32(headerAddress + MapHeader.ID, true);
}

export class ArrayOfMapsMap extends FdArrayMap {
  protected slotFor(id: number): number {
    return innerAddress(this, id, (reason) => this.error('EINVAL', reason));
  }

  protected idOf(slot: number): number {
    return idAt(this, slot);
  }

  /** The inner map at `index`, if any. */
  mapAt(index: number): BpfMap | undefined {
    const slot = this.slot(index);
    return slot === 0 ? undefined : this.registry.byAddress(slot);
  }

  override lookupFromProgram(keyAddress: number, _cpu: number): number {
    this.reach(keyAddress + 4);
    return this.slot(this.view.getUint32(keyAddress, true));
  }
}

export class HashOfMapsMap extends HashMap {
  private encode(value: Uint8Array): Uint8Array {
    const id = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, innerAddress(this, id, (reason) => this.error('EINVAL', reason)), true);
    return out;
  }

  private decode(stored: Uint8Array): Uint8Array {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, idAt(this, new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0, true)), true);
    return out;
  }

  protected override lookupElem(key: Uint8Array): Uint8Array | undefined {
    const stored = super.lookupElem(key);
    return stored === undefined ? undefined : this.decode(stored);
  }

  protected override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    super.updateElem(key, this.encode(value), flags);
  }

  protected override lookupAndDeleteElem(): Uint8Array {
    throw this.error('ENOTSUPP', 'lookup-and-delete is not supported');
  }

  /** The inner map stored under `key`, if any. */
  mapAt(key: Uint8Array): BpfMap | undefined {
    this.checkKey(key);
    const stored = super.lookupElem(key);
    return stored === undefined ? undefined : this.registry.byAddress(new DataView(stored.buffer).getUint32(0, true));
  }

  override lookupFromProgram(keyAddress: number, cpu: number): number {
    const value = super.lookupFromProgram(keyAddress, cpu);
    return value === 0 ? 0 : this.view.getUint32(value, true);
  }

  // Programs may only look up maps of maps (the verifier refuses the rest).
  override updateFromProgram(): number {
    return negative('EINVAL');
  }

  override deleteFromProgram(): number {
    return negative('EINVAL');
  }

  override forEachFromProgram(): number {
    return negative('EINVAL');
  }
}
