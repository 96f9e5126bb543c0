/** A program's bytes are not a valid eBPF instruction stream. Names the slot and why. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly slot: number,
    readonly reason: string,
  ) {
    super(`slot ${slot}: ${reason}`);
  }
}

/** An instruction object cannot be encoded (a field out of range or not allowed). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Assembly source text is not valid; points at line and column (both 1-based). */
export class AssemblyError extends Error {
  override readonly name = 'AssemblyError';
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${line}:${column}: ${reason}`);
  }
}
