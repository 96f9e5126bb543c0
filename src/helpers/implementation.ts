import type { HelperFunction, HelperPrototype } from '../vm/helpers.js';
import type { HelperHost } from './host.js';

/** A helper's behaviour, independent of the id an ABI gives it. */
export interface HelperImplementation {
  /** Linux's name without the bpf_ prefix (map_lookup_elem); EfW-only helpers keep theirs. */
  readonly name: string;
  readonly prototype: HelperPrototype;
  readonly kind?: 'tail-call';
  make(host: HelperHost): HelperFunction;
}

/** Negative errno values helpers return (Linux numbering). */
export const ERRNO = { EPERM: 1, ENOENT: 2, E2BIG: 7, EFAULT: 14, EBUSY: 16, EEXIST: 17, EINVAL: 22, ENOSPC: 28, ERANGE: 34 } as const;

export class HelperFault extends Error {
  override readonly name = 'HelperFault';
}
