// The verifier's diagnostics in one table: stable codes, each with what it means.

export const ERROR_CODES = {
  'uninitialized-register': 'a register is read before it is written on some path',
  'uninitialized-stack': 'stack bytes are read before they are written on some path',
  'invalid-memory-access': 'memory is accessed through something that is not a pointer',
  'out-of-bounds-packet': 'a packet access is not proven to lie within the packet',
  'out-of-bounds-stack': 'a stack access is not proven to lie within the stack frame',
  'out-of-bounds-map-value': 'a map-value access is not proven to lie within the value',
  'out-of-bounds-alloc-mem': 'an access to helper-allocated memory is not proven to lie within it',
  'out-of-bounds-context': 'a context access does not match a field of the context',
  'null-dereference': 'a pointer that may be null is used before a null check',
  'invalid-pointer-arithmetic': 'arithmetic that is not allowed on a pointer',
  'invalid-pointer-comparison': 'a comparison that would reveal a pointer or mixes regions',
  'instruction-not-allowed': 'an instruction class the program type does not allow (legacy packet loads outside skb programs)',
  'misaligned-access': 'an atomic operation at an address not proven to be a multiple of its size',
  'write-to-read-only': 'a store to read-only memory or a read-only context field',
  'bad-helper-argument': 'a helper argument does not have the kind its prototype requires',
  'unknown-helper': 'a call to a helper the program type does not provide',
  'division-by-zero': 'a divisor may be zero (option allowDivisionByZero is off)',
  'invalid-divisor': 'a divisor is not a number',
  'unbounded-loop': 'a loop is not proven to terminate (option termination is on)',
  'bad-return-value': 'the value returned at exit is not allowed by the program type',
  'pointer-leak': 'a pointer could become visible outside the program',
  'spin-lock': 'bpf_spin_lock misuse: a lock taken twice, released when not held, held across a helper call or at exit',
  'invalid-jump': 'a jump leaves the program or lands inside an lddw',
  'no-exit': 'execution can run past the last instruction',
  'invalid-call': 'a local call that recurses, nests too deeply or has no target',
  'invalid-map': 'an lddw names a map the program does not have',
  'unsupported': 'a construct this verifier does not analyse yet, rejected to stay sound',
  'verifier-limit': 'the analysis ran out of its budget or failed internally',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Thrown by a transfer function when a check fails on the current path. */
export class Violation extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly pc?: number) {
    super(message);
    this.name = 'Violation';
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new Violation(code, message);
}
