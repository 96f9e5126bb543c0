// PROG_ARRAY: the jump table of bpf_tail_call. Slots hold program ids (layout in fd-array.ts);
// the VM reads them with programAt and enforces the tail-call depth limit itself.

import { FdArrayMap } from './fd-array.js';

export class ProgArrayMap extends FdArrayMap {
  /**
   * The kind of program (type and ABI) this array jumps between, fixed by the first program that
   * goes in or loads with a reference to it (Linux's prog-array owner): a tail call runs the
   * target on the caller's context, so every program here must expect that context.
   */
  private ownerKind: string | undefined;

  get owner(): string | undefined {
    return this.ownerKind;
  }

  /** Makes `kind` the owner, or throws MapError (EINVAL) when the array already has another. */
  claim(kind: string, who: string): void {
    if (this.ownerKind === undefined) this.ownerKind = kind;
    else if (this.ownerKind !== kind) throw this.error('EINVAL', `${who} is a ${kind} program, but this prog array holds ${this.ownerKind} programs (a tail call runs its target on the caller's context)`);
  }

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
    const kind = this.registry.programKind?.(id);
    if (kind !== undefined) this.claim(kind, `program ${id}`);
    return id;
  }

  protected idOf(slot: number): number {
    return slot;
  }
}
