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


export class HelperFault extends Error {
  override readonly name = 'HelperFault';
}
