// DEVMAP and DEVMAP_HASH: where bpf_redirect_map sends an XDP frame. A value names an interface
// (its ifindex, u32; Linux's struct bpf_devmap_val adds a program fd in 4 more bytes, which
// ebpf-ts keeps but does not run). DEVMAP is an array of u32 keys whose slots may be empty
// (ifindex 0: deleting a slot empties it); DEVMAP_HASH a hash of u32 keys. Programs read them
// (the verifier makes their values read-only to programs, as Linux does); user space fills them.
import { ArrayMap } from './array.js';
import { HashMap } from './hash.js';
import { negative } from './errors.js';

/** The interface a devmap slot names, or undefined when it names none. */
export interface DeviceMap {
  interfaceAt(key: number): number | undefined;
}

export class DevMap extends ArrayMap implements DeviceMap {
  interfaceAt(key: number): number | undefined {
    if (!(key >= 0 && key < this.spec.maxEntries)) return undefined;
    const ifindex = this.memory.view.getUint32(this.valueAddress(key), true);
    return ifindex === 0 ? undefined : ifindex;
  }

  protected override deleteElem(key: Uint8Array): void {
    this.updateElem(key, new Uint8Array(this.spec.valueSize), 0);
  }

  override deleteFromProgram(): number {
    return negative('EINVAL');
  }
}

export class DevMapHash extends HashMap implements DeviceMap {
  interfaceAt(key: number): number | undefined {
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, key >>> 0, true);
    const value = this.lookup(k);
    if (value === undefined) return undefined;
    const ifindex = new DataView(value.buffer, value.byteOffset).getUint32(0, true);
    return ifindex === 0 ? undefined : ifindex;
  }
}

export const isDeviceMap = (map: unknown): map is DeviceMap & { spec: { type: number } } => map instanceof DevMap || map instanceof DevMapHash;
