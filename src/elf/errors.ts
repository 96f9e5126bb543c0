/** An object file cannot be opened: malformed, or using a feature ebpf-ts does not support. */
export class ObjectError extends Error {
  override readonly name = 'ObjectError';
  constructor(
    message: string,
    /** Set when the object is well-formed but needs something unsupported (CO-RE, kfuncs…). */
    readonly unsupported = false,
  ) {
    super(message);
  }
}
