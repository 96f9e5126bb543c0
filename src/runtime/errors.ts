/** An object cannot be loaded into an execution context. */
export class LoadError extends Error {
  override readonly name: string = 'LoadError';
}
