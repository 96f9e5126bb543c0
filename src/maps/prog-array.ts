// PROG_ARRAY: the jump table of bpf_tail_call. Slots hold program ids (layout in fd-array.ts);
// the VM reads them with programAt and enforces the tail-call depth limit itself.

import { FdArrayMap } from './fd-array.js';

export class ProgArrayMap extends FdArrayMap {
  /** The program id at `index`, undefined when the slot is empty or out of range. */
  programAt(index: number): number | undefined {
    if (!(Number.isInteger(index) && index >= 0)) return undefined;
    const id = this.slot(index);
    return id === 0 ? undefined : id;
  }

  protected slotFor(id: number): number {
    const exists = this.registry.programExists;
    // Without a runtime to ask, any id but 0 (never a program's) is taken on trust.
    if (id === 0 || (exists !== undefined && !exists(id))) throw this.error('EINVAL', `no program has id ${id}`);
    return id;
  }

  protected idOf(slot: number): number {
    return slot;
  }
}
